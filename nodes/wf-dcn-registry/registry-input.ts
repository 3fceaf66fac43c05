/**
 * The shape of the inputs of the hub's registry, cache and inbox operations, before
 * they reach lib/dcn (which checks a device field by field itself): wf-dcn-registry
 * reads them from msg.payload, the hub's admin routes from the path, the query and a
 * JSON body. A refusal names its reason and field, so the node says it in the runtime's
 * language and the routes in English.
 */

export const INBOX_DEFAULT_LIMIT = 50;
export const INBOX_MAX_LIMIT = 1000;

export type InputReason = 'object' | 'required' | 'text' | 'key' | 'limit';

/** What the input lacks; `params` fill in the text of `reason`. */
export class RegistryInputError extends Error {
  constructor(
    readonly reason: InputReason,
    readonly params: Record<string, string | number>,
  ) {
    super(englishText(reason, params));
    this.name = 'RegistryInputError';
  }
}

function englishText(reason: InputReason, params: Record<string, string | number>): string {
  switch (reason) {
    case 'object':
      return 'the input must be an object';
    case 'required':
      return `${params.field} must be a non-empty string`;
    case 'text':
      return `${params.field} must be a string when given`;
    case 'key':
      return 'key must be an object of key attributes and their values';
    case 'limit':
      return `limit must be a whole number from 1 to ${params.max}`;
  }
}

type Fields = Record<string, unknown>;

export function inputObject(value: unknown): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RegistryInputError('object', {});
  return value as Fields;
}

export function requiredText(fields: Fields, field: string): string {
  const value = fields[field];
  if (typeof value !== 'string' || value.trim() === '') throw new RegistryInputError('required', { field });
  return value.trim();
}

export function optionalText(fields: Fields, field: string): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new RegistryInputError('text', { field });
  return value.trim() === '' ? undefined : value.trim();
}

/** Key attributes to read the cache by; undefined for all rows of the MBO. */
export function keyInput(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new RegistryInputError('key', {});
  return Object.keys(value).length ? (value as Record<string, unknown>) : undefined;
}

export function inboxLimit(value: unknown): number {
  if (value === undefined || value === null || value === '') return INBOX_DEFAULT_LIMIT;
  const limit = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > INBOX_MAX_LIMIT) throw new RegistryInputError('limit', { max: INBOX_MAX_LIMIT });
  return limit;
}
