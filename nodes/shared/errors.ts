/**
 * The one error path of every node. lib/ throws typed errors with a code and the
 * parameters its text needs; a node turns them into text in the runtime's language
 * (the texts of lib's codes are in nodes/shared/locales/<lang>/lib.json, merged into
 * each node's catalogue as "<type>.lib"), so a Chinese log reads Chinese. Errors that
 * a flow should see go to done(err), where Catch nodes get them.
 */
import type { NodeAPI } from 'node-red';

interface CodedError extends Error {
  /** The error's code; for errors whose `code` is the platform's (a WeChat errcode, SAP's code), `textCode` names the text. */
  code?: unknown;
  textCode?: unknown;
  params?: Record<string, unknown>;
}

function textCodeOf(err: CodedError): string | null {
  if (typeof err.textCode === 'string') return err.textCode;
  return typeof err.code === 'string' ? err.code : null;
}

/** The error's text in the runtime's language, or its own message when its code has no text. */
export function errorText(RED: NodeAPI, type: string, err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = textCodeOf(err as CodedError);
  if (!code) return err.message;
  const key = `${type}.lib.${code}`;
  const translated = RED._(key, { detail: err.message, ...(err as CodedError).params });
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
