/**
 * The one error path of every node. lib/ throws typed errors with a code and the
 * parameters its text needs; a node turns them into text in the runtime's language
 * (the texts of lib's codes are in nodes/shared/locales/<lang>/lib.json, merged into
 * each node's catalogue as "<type>.lib"), so a Chinese log reads Chinese. Errors that
 * a flow should see go to done(err), where Catch nodes get them.
 */
import type { NodeAPI } from 'node-red';

interface CodedError {
  code: string;
  params?: Record<string, unknown>;
  message: string;
}

function isCoded(err: unknown): err is CodedError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

/** The error's text in the runtime's language, or its own message when its code has no text. */
export function errorText(RED: NodeAPI, type: string, err: unknown): string {
  if (!isCoded(err)) return err instanceof Error ? err.message : String(err);
  const key = `${type}.lib.${err.code}`;
  const translated = RED._(key, { detail: err.message, ...err.params });
  return translated === key ? err.message : translated;
}

/**
 * An Error for done(): the translated text as its message, the code and any fields of
 * the original (a C4C error's status, a WeChat errcode) kept, the original as its cause.
 */
export function flowError(RED: NodeAPI, type: string, err: unknown): Error {
  const text = errorText(RED, type, err);
  if (err instanceof Error && text === err.message) return err;
  const wrapped = new Error(text, { cause: err });
  if (err instanceof Error) Object.assign(wrapped, err, { message: text, name: err.name });
  return wrapped;
}
