/**
 * The one typed reader of RED.settings for every node: runtime settings from
 * settings.js (our own, registered with a node type, and Node-RED's).
 */
import type { NodeAPI } from 'node-red';
import { defaultUserDir } from '../../lib/store';
import { numericSetting } from './numeric-setting';

function settingsOf(RED: NodeAPI): Record<string, unknown> {
  return RED.settings as unknown as Record<string, unknown>;
}

/** A numeric setting; anything unset or not a number gives `fallback`. */
export function numberSetting(RED: NodeAPI, name: string, fallback: number, min = 0, max = Number.POSITIVE_INFINITY): number {
  return numericSetting(settingsOf(RED)[name], fallback, min, max);
}

/** The runtime's user directory (Node-RED's default when settings name none). */
export function userDir(RED: NodeAPI): string {
  const value = settingsOf(RED).userDir;
  return defaultUserDir(typeof value === 'string' ? value : undefined);
}

/** httpNodeRoot: false when HTTP nodes are disabled, else the root path. */
export function httpNodeRoot(RED: NodeAPI): string | false {
  const value = settingsOf(RED).httpNodeRoot;
  return value === false ? false : typeof value === 'string' ? value : '/';
}

type Middleware = (req: unknown, res: unknown, next: (err?: unknown) => void) => void;

/** settings.httpNodeMiddleware as a list (it may be one function or an array). */
export function httpNodeMiddleware(RED: NodeAPI): Middleware[] {
  const value = settingsOf(RED).httpNodeMiddleware;
  if (Array.isArray(value)) return value.filter((m): m is Middleware => typeof m === 'function');
  return typeof value === 'function' ? [value as Middleware] : [];
}
