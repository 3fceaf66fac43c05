/**
 * The WF-DCN hub's vocabulary, shared by its parts: the request a back end posts (the
 * SAP Mobile Platform contract: ../../README.md "WF-DCN hub"), the data cache, the
 * device registry, the outbox of messages to deliver, and the hub that ties them
 * together on one store. No Node-RED in here.
 */
import type { SqlExecutor } from '../store/sql';

// ── The request ─────────────────────────────────────────────────────────────────

export type DcnCommand = 'wf' | 'dcn';

/** Which servlet took the call: Basic credentials, or credentials as parameters. */
export type DcnServlet = 'http-auth' | 'parameters';

/** What the HTTP layer hands the hub: parameters from the query and a form body, the raw body, the Basic header. */
export interface DcnHttpCall {
  servlet: DcnServlet;
  method: 'GET' | 'POST';
  /** Query and form-encoded body parameters, merged (body wins); every value a string. */
  parameters: Record<string, string>;
  /** The raw POST body when it is not form-encoded (JSON); '' otherwise. */
  rawBody: string;
  /** The Authorization header, when sent. */
  authorization?: string;
  /** Request headers, lower-case names (what a pre-process filter sees). */
  headers: Record<string, string>;
}

/** A sender a back end authenticates as; admin senders may address every security configuration. */
export interface DcnSender {
  user: string;
  password: string;
  /** The sender's own security configuration. */
  security: string;
  /** A sender in the admin or default configuration: may address all. */
  admin: boolean;
}

/** The call once authenticated and its parameters checked. */
export interface DcnCall {
  cmd: DcnCommand;
  sender: string;
  /** `security` (wf): combined with each `to` user to find the receiver. */
  security: string;
  /** `package` (dcn): `<package>:<version>`. */
  package: string;
  domain: string;
  /** `dcn_filter`: names the pre/post-process filter the flow supplies; '' for none. */
  filter: string;
  /** `dcn_request` or the raw body: the JSON request text (after the pre-process filter when there is one). */
  request: string;
  headers: Record<string, string>;
}

export type DcnOperation = ':upsert' | ':delete' | string;

/** One message of a general DCN request: `op` :upsert / :delete, or a named MBO operation. */
export interface DcnMessage {
  id: string;
  mbo: string;
  op: DcnOperation;
  cols: Record<string, unknown>;
}

/** A general DCN request: one transaction against the data cache. */
export interface DcnRequest {
  id: string;
  pkg: string;
  messages: DcnMessage[];
}

/** A WF-DCN request: data first, then one message per device of each receiver. */
export interface WfDcnRequest {
  op: ':upsert' | ':delete';
  id: string;
  /** Receivers' user names: from one name, a comma-separated list or an array. */
  to: string[];
  subject: string;
  from: string;
  body: string;
  /** ISO-8601 with offset, as sent; '' when absent. */
  received: string;
  read: boolean;
  priority: boolean;
  data: DcnRequest[];
}

/** SMP 2.x's result record, one per DCN request (and one for the message fan-out). */
export interface DcnResultRecord {
  recordID: string;
  success: boolean;
  statusMessage: string;
}

/** What the hub answers; the HTTP layer writes it as it is. */
export interface DcnResponse {
  status: 200 | 400 | 401 | 403 | 413 | 500;
  /** JSON text: the result records (200), `{ "error": … }` (4xx) or the log records (500); or what the post-process filter returned. */
  body: string;
  headers: Record<string, string>;
}

// ── MBOs and the data cache ───────────────────────────────────────────────────────

/** An MBO the hub knows: its package (without version), name, key attributes and, when listed, its only attributes. */
export interface MboDefinition {
  package: string;
  name: string;
  keys: string[];
  /** When non-empty, `cols` may only name these (and the keys). */
  attributes: string[];
}

export interface CachedRow {
  package: string;
  mbo: string;
  /** The key attributes' values, in the definition's key order. */
  key: Record<string, unknown>;
  row: Record<string, unknown>;
  /** ISO time of the last change. */
  updatedAt: string;
}

// ── The device registry ───────────────────────────────────────────────────────────

/** How a device is reached: a WeCom UserID, a WeChat OpenID, a Mobile Services user (and device), or the store's inbox. */
export type DeviceChannel = 'wecom' | 'wechat' | 'mobile-services' | 'inbox';

export const DEVICE_CHANNELS: readonly DeviceChannel[] = ['wecom', 'wechat', 'mobile-services', 'inbox'];

export interface Device {
  security: string;
  user: string;
  /** Unique per user and security configuration, e.g. 'wecom-P000001'. */
  deviceId: string;
  channel: DeviceChannel;
  /** UserID, OpenID or Mobile Services user name; for 'inbox' the user name. */
  address: string;
  /** Mobile Services: the device registration to push to; '' pushes to the user. */
  msDevice: string;
  /** ISO time of registration. */
  registeredAt: string;
}

// ── The outbox ────────────────────────────────────────────────────────────────────

export type OutboxKind = 'message' | 'retraction';
export type OutboxState = 'pending' | 'delivered' | 'cancelled' | 'dead';

/** One message for one device, as committed in the fan-out and handed to delivery. */
export interface OutboxMessage {
  /** Stable across attempts and instances: receivers de-duplicate on it. */
  messageId: string;
  /** The WF-DCN request's `id`. */
  requestId: string;
  kind: OutboxKind;
  device: Device;
  subject: string;
  from: string;
  body: string;
  received: string;
  read: boolean;
  priority: boolean;
  /** This hand-out's number, 1 for the first. */
  attempt: number;
  createdAt: string;
  /** Set once it failed before: the last error's text. */
  lastError?: string;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  dead: number;
}

/** What a retraction (a :delete with an earlier :upsert's id) did. */
export interface RetractionOutcome {
  /** Messages not yet delivered, now cancelled. */
  cancelled: number;
  /** Retraction messages created for devices that had the message. */
  retractions: number;
  /** False when no earlier :upsert had this id. */
  known: boolean;
}

/** The outbox, on the hub's store; the `Tx` methods join the caller's transaction. */
export interface Outbox {
  /** `security`: the call's security configuration (recorded even when no device was found); by default each device's own. */
  createInTx(tx: SqlExecutor, request: WfDcnRequest, devices: Device[], security?: string): Promise<OutboxMessage[]>;
  retractInTx(tx: SqlExecutor, requestId: string, security: string): Promise<RetractionOutcome>;
  /**
   * Leases up to `limit` pending messages due now, of the given channels, for
   * `leaseSeconds` (the visibility timeout); each is handed to one holder at a time,
   * across every instance sharing the store. With `maxAttempts`, a message whose last
   * attempt's lease ran out unanswered becomes dead instead.
   */
  lease(owner: string, limit: number, leaseSeconds: number, channels: readonly DeviceChannel[], maxAttempts?: number): Promise<OutboxMessage[]>;
  /** Marks a message delivered; false when it was not pending (already acknowledged, cancelled or dead). */
  acknowledge(messageId: string): Promise<boolean>;
  /** Records a failed attempt: due again after `retryAfterSeconds`, or dead after the last attempt. */
  fail(messageId: string, error: string, retryAfterSeconds: number, maxAttempts: number): Promise<'retry' | 'dead' | 'unknown'>;
  /** Dead messages not yet handed to a dead-letter output, oldest first (only of `channels` when given); marks them handed out. */
  takeDead(limit: number, channels?: readonly DeviceChannel[]): Promise<OutboxMessage[]>;
  stats(): Promise<OutboxStats>;
  /** The 'inbox' channel's messages of one user, newest first. */
  inbox(security: string, user: string, limit: number): Promise<OutboxMessage[]>;
}

// ── Errors ────────────────────────────────────────────────────────────────────────

/** Why the hub refused or failed a call; `status` is what the HTTP layer answers. */
export class DcnError extends Error {
  constructor(
    readonly status: DcnResponse['status'],
    /** Names the text in nodes/shared/locales/…/lib.json. */
    readonly code: string,
    message: string,
    readonly params: Record<string, string | number> = { detail: message },
  ) {
    super(message);
    this.name = 'DcnError';
  }
}
