/**
 * The generic v2 push API: targets, the notification's fields, user lists split into
 * requests of at most 1000, and the per-target results.
 */
import { JsonObject } from './micro-app';
import { inputError } from './errors';

export const MAX_USERS_PER_REQUEST = 1000;

export type PushTarget =
  | { kind: 'users'; users: string[] }
  | { kind: 'device'; user: string; device: string }
  | { kind: 'group'; group: string }
  | { kind: 'topic'; topic: string }
  | { kind: 'all' };

/** The notification fields the v2 API names; the provider objects pass as they are. */
export const NOTIFICATION_FIELDS = ['alert', 'badge', 'sound', 'priority', 'data', 'custom', 'apns', 'gcm', 'wns', 'baidu', 'w3c'] as const;

export interface PushResult {
  target?: string;
  notificationId?: string;
  code: number;
  message?: string;
}

export interface PushAnswer {
  status: JsonObject | null;
  pushResults: PushResult[];
  correlationId?: string;
}

/** A notification from a flow's object: known fields only, each of the type the API expects. */
export function checkedNotification(value: unknown): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw inputError('ms_notification', 'the notification must be an object');
  const input = value as JsonObject;
  const unknown = Object.keys(input).filter((k) => !(NOTIFICATION_FIELDS as readonly string[]).includes(k));
  if (unknown.length) throw inputError('ms_notification_field', `unknown notification fields: ${unknown.join(', ')}`, { fields: unknown.join(', ') });
  const wrong = (field: string, expected: string) => inputError('ms_notification_type', `notification.${field} must be ${expected}`, { field, expected });
  for (const field of ['alert', 'sound', 'priority'] as const) {
    if (input[field] !== undefined && typeof input[field] !== 'string') throw wrong(field, 'a string');
  }
  if (input.badge !== undefined && !(Number.isInteger(input.badge) && (input.badge as number) >= 0)) throw wrong('badge', 'a whole number ≥ 0');
  for (const field of ['data', 'custom', 'apns', 'gcm', 'wns', 'baidu', 'w3c'] as const) {
    const v = input[field];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) throw wrong(field, 'an object');
  }
  return { ...input };
}

/** A user list from a flow: an array, or ids separated by commas, '|' or white space. */
export function userList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' || typeof value === 'number' ? String(value).split(/[,|\s]+/) : [];
  return [...new Set(items.map((u) => u.trim()).filter(Boolean))];
}

export function chunks<T>(items: T[], size = MAX_USERS_PER_REQUEST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The path below `/v2/backend/applications/{appId}/` and the body of a push to `target`. */
/** `topicField`: the body field that names a topic (not confirmed; 'topic' is the likeliest). */
export function targetRequest(target: PushTarget, notification: JsonObject, topicField = 'topic'): { path: string; body: JsonObject } {
  const enc = encodeURIComponent;
  switch (target.kind) {
    case 'users':
      return { path: 'notifications/users', body: { users: target.users, notification } };
    case 'device':
      return { path: `users/${enc(target.user)}/devices/${enc(target.device)}/notifications`, body: { notification } };
    case 'group':
      return { path: `groups/${enc(target.group)}/notifications`, body: { notification } };
    case 'topic':
      return { path: 'topics/notifications', body: { [topicField]: target.topic, notification } };
    case 'all':
      return { path: 'notifications', body: { notification } };
  }
}

export function failedResults(results: PushResult[]): PushResult[] {
  return results.filter((r) => r.code !== 0);
}

/** What the server answered, read defensively: pushResults may be null or missing. */
export function pushAnswer(body: unknown): PushAnswer {
  const b = typeof body === 'object' && body !== null ? (body as JsonObject) : {};
  const results = Array.isArray(b.pushResults) ? b.pushResults : [];
  const pushResults = results
    .filter((r): r is JsonObject => typeof r === 'object' && r !== null)
    .map((r) => ({
      target: typeof r.target === 'string' ? r.target : undefined,
      notificationId: r.notificationId === undefined ? undefined : String(r.notificationId),
      code: Number(r.code ?? 0),
      message: typeof r.message === 'string' ? r.message : undefined,
    }));
  const status = typeof b.status === 'object' && b.status !== null ? (b.status as JsonObject) : null;
  const correlationId = typeof b.correlationId === 'string' ? b.correlationId : typeof status?.correlationId === 'string' ? status.correlationId : undefined;
  return correlationId ? { status, pushResults, correlationId } : { status, pushResults };
}
