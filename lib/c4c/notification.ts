/**
 * C4C event notifications as the receiver sees them. The payload's field names are only
 * partly documented, so the reader accepts the names seen in the field (businessObjectId,
 * event, odataServiceEndpoint) and the SAP Extension Factory variant (entity-id,
 * root-entity-id, topic Account.Root.Updated.v1), keeps everything else untouched in
 * `raw`, and refuses only a body that names no changed instance at all.
 */
import { ContentKeyError, contentKey } from '../common/content-key';

export interface C4CNotification {
  /** e.g. 'Customer', 'Opportunity'; '' when the payload does not say. */
  businessObject: string;
  /** ObjectID of the changed root instance. */
  rootId: string;
  /** Id of the changed node instance when it differs from the root. */
  entityId: string;
  /** Normalised to 'created' | 'updated' | 'deleted' when recognisable, else as sent. */
  event: string;
  /** URL to GET the changed entity, when the payload carries one. */
  odataEndpoint: string;
  /** A hash of the whole notification: a repeat has the same key, any other notification another. */
  dedupeKey: string;
  raw: Record<string, unknown>;
}

export type NotificationErrorCode = 'notification_not_object' | 'notification_no_instance' | 'too_deep';

/** A notification refused for its shape; the message is the protocol's English (it is the HTTP answer), the code names its translated text. */
export class NotificationError extends Error {
  constructor(
    readonly code: NotificationErrorCode,
    message: string,
    /** What the translated text of `code` needs (see nodes/shared/locales/…/lib.json). */
    readonly params: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'NotificationError';
  }
}

function pick(raw: Record<string, unknown>, names: string[]): string {
  for (const name of names) {
    const v = raw[name];
    if (typeof v === 'string' && v.trim()) return v.trim();
    if (typeof v === 'number') return String(v);
  }
  return '';
}

/** 'Update', 'UPDATE', 'Account.Root.Updated.v1', 'CustomerRootUpdate' → 'updated'. */
export function normaliseEvent(event: string): string {
  const e = event.toLowerCase();
  if (/creat/.test(e)) return 'created';
  if (/updat|chang|modif/.test(e)) return 'updated';
  if (/delet|remov/.test(e)) return 'deleted';
  return event;
}

/** The collection name in an OData URL, e.g. …/IndividualCustomerCollection('…') → 'IndividualCustomer'. */
function objectFromEndpoint(endpoint: string): string {
  const m = /\/([A-Za-z0-9_]+?)(?:Collection)?(?:\([^)]*\))?(?:\?.*)?$/.exec(endpoint);
  return m ? m[1] : '';
}

function idFromEndpoint(endpoint: string): string {
  const m = /\('([^']+)'\)/.exec(endpoint);
  return m ? m[1] : '';
}

/** Nesting deeper than this is refused: no notification needs it, and it protects whatever walks the payload later. */
export const MAX_NOTIFICATION_DEPTH = 64;

/** `dedupeKey` may be given when the caller already hashed the body (see contentKey). */
export function parseNotification(body: unknown, dedupeKey?: string): C4CNotification {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new NotificationError('notification_not_object', 'the notification body is not a JSON object');
  const raw = body as Record<string, unknown>;
  const data = raw.data && typeof raw.data === 'object' && !Array.isArray(raw.data) ? (raw.data as Record<string, unknown>) : {};
  const odataEndpoint = pick(raw, ['odataServiceEndpoint', 'odataServiceEndPoint', 'odataEndpoint', 'odataUrl']);
  const topic = pick(raw, ['topic', 'type', 'eventType']);
  const rootId =
    pick(raw, ['businessObjectId', 'rootEntityId', 'root-entity-id', 'rootObjectId']) || pick(data, ['root-entity-id', 'entity-id']) || idFromEndpoint(odataEndpoint);
  const entityId = pick(raw, ['entityId', 'entity-id', 'nodeId']) || pick(data, ['entity-id']) || rootId;
  if (!rootId && !odataEndpoint) throw new NotificationError('notification_no_instance', 'the notification names no business object instance (businessObjectId or odataServiceEndpoint)');
  const businessObject =
    pick(raw, ['businessObject', 'businessObjectName', 'businessObjectType', 'entity', 'boName']) || (topic.includes('.') ? topic.split('.')[0] : '') || objectFromEndpoint(odataEndpoint);
  const eventSent = pick(raw, ['event', 'operation', 'action', 'changeType']) || topic;
  const event = eventSent ? normaliseEvent(eventSent) : '';
  return {
    businessObject,
    rootId,
    entityId,
    event,
    odataEndpoint,
    dedupeKey: dedupeKey ?? keyOf(raw),
    raw,
  };
}

function keyOf(raw: Record<string, unknown>): string {
  try {
    return contentKey(raw, MAX_NOTIFICATION_DEPTH).key;
  } catch (err) {
    if (err instanceof ContentKeyError) throw new NotificationError('too_deep', err.message, { maxDepth: err.maxDepth });
    throw err;
  }
}

/**
 * Remembers keys for `windowMs`, so a delivery repeated within the window is seen once.
 * Bounded: the oldest keys are dropped first when `maxKeys` is reached.
 */
export class DedupeWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time a key is seen within the window. */
  firstSeen(key: string): boolean {
    const t = this.now();
    this.expire(t);
    const at = this.seen.get(key);
    if (at !== undefined && t - at < this.windowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, t);
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value as string);
    return true;
  }

  private expire(t: number): void {
    // Map keeps insertion order, and first-seen times only grow, so expired keys are at the front.
    for (const [key, at] of this.seen) {
      if (t - at < this.windowMs) break;
      this.seen.delete(key);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
