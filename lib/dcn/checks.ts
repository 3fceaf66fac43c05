/**
 * Small checks of values that come from outside (requests, flows, configuration),
 * each refusal a DcnError naming the field it is about. Shared by the request parser,
 * the cache and the registry; not part of the module's entry.
 */
import { DcnError } from './types';

/** Ids, user names, MBO and operation names, packages, security configurations. */
export const NAME_CHARS = 200;

/** A name: at most NAME_CHARS characters, no NUL and no broken surrogate (PostgreSQL text holds neither). */
export function checkName(text: string, field: string): string {
  if (text.length > NAME_CHARS) throw tooLong(field, text.length, NAME_CHARS);
  return checkChars(text, field);
}

export function checkChars(text: string, field: string): string {
  if (text.includes('\u0000') || LONE_SURROGATE.test(text)) {
    throw new DcnError(400, 'dcn_bad_chars', `${field} holds a NUL character or a broken UTF-16 surrogate`, { field });
  }
  return text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON type of a value, for messages (the same word in every language). */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

type Expected = 'string' | 'object' | 'array' | 'boolean';

const ARTICLE: Record<Expected, string> = { string: 'a string', object: 'an object', array: 'an array', boolean: 'a boolean' };

export function expected(kind: Expected, field: string, value: unknown): DcnError {
  return new DcnError(400, `dcn_expected_${kind}`, `${field} must be ${ARTICLE[kind]} (got ${typeName(value)})`, { field, type: typeName(value) });
}

export function empty(field: string): DcnError {
  return new DcnError(400, 'dcn_empty', `${field} must not be empty`, { field });
}

export function tooLong(field: string, length: number, max: number): DcnError {
  return new DcnError(400, 'dcn_too_long', `${field} is ${length} characters long, more than the ${max} allowed`, { field, length, max });
}

/** A value sent by the caller, cut short for a message. */
export function shortened(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
