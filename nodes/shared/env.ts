/**
 * Settings given as ${NAME}: Node-RED substitutes set variables in properties and
 * credentials, and leaves "${NAME}" as it is when the variable is not set.
 */
import type { Node, NodeAPI } from 'node-red';

/** A value whose whole text is still ${NAME}: Node-RED found no such environment variable. */
export const UNSET_ENV = /^\$\{\w+\}$/;

/** The variable's name when `value` is an unset ${NAME}, else null. */
export function unsetVariable(value: string | undefined): string | null {
  const text = (value ?? '').trim();
  return UNSET_ENV.test(text) ? text.slice(2, -1) : null;
}

/** The value, or '' when it is an unset ${NAME}. */
export function setOrEmpty(value: string | undefined): string {
  const text = (value ?? '').trim();
  return UNSET_ENV.test(text) ? '' : text;
}

/** Names the settings that still read ${NAME}, without ever logging a value that was set. */
export function warnUnsetEnv(RED: NodeAPI, node: Node, messageKey: string, values: Record<string, string | undefined>): void {
  for (const [property, value] of Object.entries(values)) {
    const variable = unsetVariable(value);
    if (variable) node.warn(RED._(messageKey, { property, variable }));
  }
}
