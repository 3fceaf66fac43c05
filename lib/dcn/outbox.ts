/**
 * The WF-DCN hub's outbox on the package's store: one row per message for one device,
 * committed in the caller's transaction together with the data it announces, then
 * leased to delivery. At least once: a message stays pending until it is acknowledged,
 * and a lease that runs out (the holder died, or the flow never answered) makes it due
 * again with the next attempt number. Instances sharing a PostgreSQL store lease with
 * `FOR UPDATE SKIP LOCKED`, so each message has one holder at a time; on SQLite every
 * lease is one write statement, which the file's write lock serialises across processes.
 *
 * The module `dcn_outbox` owns two tables: `dcn_outbox_messages` and
 * `dcn_outbox_requests` (per security configuration and WF-DCN id: how many times the
 * id was upserted, the index a retraction starts from).
 *
 * Choices where the SAP Mobile Platform contract is silent:
 * - A message's id is readable: `<id>/<security>/<user>/<deviceId>/<kind>/<n>`, each part
 *   with `%` and `/` escaped, `n` counting the :upserts of that id (1 for the first).
 *   It never changes between attempts, so receivers de-duplicate on it.
 * - A second :upsert of an id replaces the first: the first's messages not yet delivered
 *   are cancelled, its inbox entries leave the inbox, and new messages (n + 1) go out.
 * - A retraction cancels what is not yet delivered and sends a retraction message to
 *   every device that got (or may be getting: leased, not acknowledged) the message; an
 *   inbox entry is simply removed. A second retraction of the same id changes nothing.
 * - Messages to 'inbox' devices are stored as delivered when they are created.
 */
import { ModuleTables } from '../store/module-tables';
import type { SqlDatabase, SqlExecutor, SqlValue } from '../store/sql';
import type { Device, DeviceChannel, Outbox, OutboxKind, OutboxMessage, OutboxState, OutboxStats, RetractionOutcome, WfDcnRequest } from './types';

const MODULE = 'dcn_outbox';

/** The longest failure text kept with a message. */
export const MAX_ERROR_LENGTH = 2000;
/** Rows per INSERT when a fan-out creates many messages. */
const INSERT_CHUNK = 100;
/** Why a message is handed out again without a failure being reported. */
export const LEASE_EXPIRED_ERROR = 'not acknowledged within the visibility timeout';

const MESSAGE_COLUMNS = `seq INTEGER PRIMARY KEY AUTOINCREMENT,
       message_id TEXT NOT NULL UNIQUE,
       request_id TEXT NOT NULL,
       security TEXT NOT NULL,
       generation INTEGER NOT NULL,
       kind TEXT NOT NULL,
       channel TEXT NOT NULL,
       user_name TEXT NOT NULL,
       device_id TEXT NOT NULL,
       device TEXT NOT NULL,
       content TEXT NOT NULL,
       state TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       due_at INTEGER NOT NULL,
       lease_owner TEXT,
       lease_until INTEGER,
       last_error TEXT,
       dead_taken INTEGER NOT NULL DEFAULT 0,
       retracted INTEGER NOT NULL DEFAULT 0,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL`;

const REQUEST_COLUMNS = `security TEXT NOT NULL,
       request_id TEXT NOT NULL,
       generation INTEGER NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       PRIMARY KEY (security, request_id)`;

/** Index definitions, shared; SQLite needs names (made unique by the table prefix), PostgreSQL names them itself. */
const INDEXES: { name: string; on: string }[] = [
  // What lease() scans: the pending messages in the order they are due.
  { name: 'dcn_outbox_due', on: "{dcn_outbox_messages} (due_at, seq) WHERE state = 'pending'" },
  { name: 'dcn_outbox_request', on: '{dcn_outbox_messages} (security, request_id)' },
  { name: 'dcn_outbox_dead', on: "{dcn_outbox_messages} (seq) WHERE state = 'dead' AND dead_taken = 0" },
  { name: 'dcn_outbox_inbox', on: "{dcn_outbox_messages} (security, user_name, seq) WHERE channel = 'inbox' AND state = 'delivered'" },
  { name: 'dcn_outbox_state', on: '{dcn_outbox_messages} (state)' },
];

const STEPS = [
  {
    sqlite: [
      `CREATE TABLE IF NOT EXISTS {dcn_outbox_messages} (${MESSAGE_COLUMNS})`,
      `CREATE TABLE IF NOT EXISTS {dcn_outbox_requests} (${REQUEST_COLUMNS})`,
      ...INDEXES.map((index) => `CREATE INDEX IF NOT EXISTS {${index.name}} ON ${index.on}`),
    ].join(';\n'),
    postgres: [
      `CREATE TABLE IF NOT EXISTS {dcn_outbox_messages} (${MESSAGE_COLUMNS.replace('INTEGER PRIMARY KEY AUTOINCREMENT', 'BIGSERIAL PRIMARY KEY').replace(/(due_at|lease_until|created_at|updated_at) INTEGER/g, '$1 BIGINT')})`,
      `CREATE TABLE IF NOT EXISTS {dcn_outbox_requests} (${REQUEST_COLUMNS.replace(/(created_at|updated_at) INTEGER/g, '$1 BIGINT')})`,
      // Each step runs once per database, so the indexes need no IF NOT EXISTS and hence no name.
      ...INDEXES.map((index) => `CREATE INDEX ON ${index.on}`),
    ].join(';\n'),
  },
];

/** What a row gives back; PostgreSQL returns BIGINT columns as strings. */
interface MessageRow {
  seq: number | string;
  message_id: string;
  request_id: string;
  kind: string;
  channel: string;
  user_name: string;
  device_id: string;
  device: string;
  content: string;
  attempts: number | string;
  lease_until: number | string | null;
  last_error: string | null;
  created_at: number | string;
}

type DueRow = MessageRow & { due_at: number | string };

const ROW_COLUMNS = 'seq, message_id, request_id, kind, channel, user_name, device_id, device, content, attempts, lease_until, last_error, created_at';

/** The message's text, as the WF-DCN request gave it; stored as one JSON column. */
interface Content {
  subject: string;
  from: string;
  body: string;
  received: string;
  read: boolean;
  priority: boolean;
}

export interface SqlOutboxOptions {
  /** Clock in milliseconds: due times, leases and the created / updated times. */
  now?: () => number;
}

export class SqlOutbox implements Outbox {
  private readonly now: () => number;
  private readonly tables: ModuleTables;

  constructor(
    private readonly db: SqlDatabase,
    options: SqlOutboxOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.tables = new ModuleTables(db, MODULE, STEPS);
  }

  /**
   * Creates or upgrades the tables. Await it before the first `…InTx` call: those run in
   * the caller's transaction, where a migration (a transaction of its own) cannot.
   * The other methods wait for it themselves.
   */
  migrate(): Promise<void> {
    return this.tables.migrated();
  }

  /**
   * One message per device, in the caller's transaction: visible to delivery once it
   * commits, gone if it rolls back. A repeated :upsert of the same id replaces the
   * earlier one's undelivered messages (see the module's comment). `security` is the
   * request's security configuration; without it, the devices' own is used.
   */
  async createInTx(tx: SqlExecutor, request: WfDcnRequest, devices: Device[], security?: string): Promise<OutboxMessage[]> {
    const now = this.now();
    const content = contentOf(request);
    const created: OutboxMessage[] = [];
    for (const [configuration, targets] of bySecurity(devices, security)) {
      const generation = await this.nextGeneration(tx, configuration, request.id, now);
      await tx.run(
        `UPDATE {dcn_outbox_messages} SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE security = ? AND request_id = ? AND kind = 'message'
           AND (state = 'pending' OR (state = 'delivered' AND channel = 'inbox'))`,
        [now, configuration, request.id],
      );
      const rows = uniqueDevices(targets).map((device) => newRow(request.id, configuration, generation, 'message', device, content, now));
      await this.insert(tx, rows);
      created.push(...rows.map(messageOfNew));
    }
    return created;
  }

  /**
   * Withdraws an earlier :upsert in the caller's transaction: its pending messages are
   * cancelled, each device that got it (or holds it leased, so may be getting it) gets a
   * retraction message on the same channel, and inbox entries leave the inbox (counted
   * as retractions: the retraction reached that device at once).
   */
  async retractInTx(tx: SqlExecutor, requestId: string, security: string): Promise<RetractionOutcome> {
    const known = await tx.all<{ generation: number | string }>('SELECT generation FROM {dcn_outbox_requests} WHERE security = ? AND request_id = ?', [security, requestId]);
    if (!known[0]) return { known: false, cancelled: 0, retractions: 0 };
    const generation = Number(known[0].generation);
    const now = this.now();
    // The lease stays as it was: RETURNING shows it, which tells the messages in flight.
    const cancelled = await tx.all<MessageRow>(
      `UPDATE {dcn_outbox_messages} SET state = 'cancelled', retracted = 1, updated_at = ?
       WHERE security = ? AND request_id = ? AND kind = 'message' AND state = 'pending'
       RETURNING ${ROW_COLUMNS}`,
      [now, security, requestId],
    );
    const delivered = await tx.all<MessageRow>(
      `UPDATE {dcn_outbox_messages} SET retracted = 1, updated_at = ?, state = CASE WHEN channel = 'inbox' THEN 'cancelled' ELSE state END
       WHERE security = ? AND request_id = ? AND kind = 'message' AND state = 'delivered' AND retracted = 0
       RETURNING ${ROW_COLUMNS}`,
      [now, security, requestId],
    );
    const inFlight = cancelled.filter((row) => row.lease_until !== null && Number(row.lease_until) > now);
    const removedFromInbox = delivered.filter((row) => row.channel === 'inbox').length;
    const reached = latestPerDevice([...delivered.filter((row) => row.channel !== 'inbox'), ...inFlight]);
    const retractions = reached.map((row) => newRow(requestId, security, generation, 'retraction', JSON.parse(row.device) as Device, JSON.parse(row.content) as Content, now));
    await this.insert(tx, retractions);
    return { known: true, cancelled: cancelled.length, retractions: retractions.length + removedFromInbox };
  }

  /**
   * Leases up to `limit` due messages of `channels`, oldest due first, each attempt
   * counted. With `maxAttempts`, messages whose last allowed lease ran out unanswered
   * become dead instead of going out again.
   */
  async lease(owner: string, limit: number, leaseSeconds: number, channels: readonly DeviceChannel[], maxAttempts?: number): Promise<OutboxMessage[]> {
    if (channels.length === 0 || limit < 1) return [];
    await this.migrate();
    const now = this.now();
    if (maxAttempts !== undefined) await this.buryUnanswered(now, maxAttempts);
    const places = channels.map(() => '?').join(', ');
    // Never the last attempt's expired lease again, even if another instance leased before it was buried.
    const attemptsLeft = maxAttempts === undefined ? '' : 'AND (lease_until IS NULL OR attempts < ?)';
    const due = `state = 'pending' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ${attemptsLeft} AND channel IN (${places})`;
    const dueParams: SqlValue[] = [now, now, ...(maxAttempts === undefined ? [] : [maxAttempts]), ...channels];
    // A lease that ran out is a failed attempt: say so to the next holder.
    const set = 'lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?, last_error = CASE WHEN lease_until IS NULL THEN last_error ELSE ? END';
    const setParams: SqlValue[] = [owner, now + leaseSeconds * 1000, now, LEASE_EXPIRED_ERROR];
    const rows =
      this.db.dialect === 'postgres'
        ? await this.db.all<DueRow>(
            `WITH picked AS MATERIALIZED (
               SELECT seq FROM {dcn_outbox_messages} WHERE ${due} ORDER BY due_at, seq LIMIT ? FOR UPDATE SKIP LOCKED
             )
             UPDATE {dcn_outbox_messages} AS m SET ${set} FROM picked WHERE m.seq = picked.seq
             RETURNING ${qualified('m', ROW_COLUMNS)}, m.due_at`,
            [...dueParams, limit, ...setParams],
          )
        : await this.db.all<DueRow>(
            `UPDATE {dcn_outbox_messages} SET ${set}
             WHERE seq IN (SELECT seq FROM {dcn_outbox_messages} WHERE ${due} ORDER BY due_at, seq LIMIT ?)
             RETURNING ${ROW_COLUMNS}, due_at`,
            [...setParams, ...dueParams, limit],
          );
    return inDueOrder(rows).map(messageOf);
  }

  async acknowledge(messageId: string): Promise<boolean> {
    await this.migrate();
    const changed = await this.db.run(
      "UPDATE {dcn_outbox_messages} SET state = 'delivered', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE message_id = ? AND state = 'pending'",
      [this.now(), messageId],
    );
    return changed > 0;
  }

  async fail(messageId: string, error: string, retryAfterSeconds: number, maxAttempts: number): Promise<'retry' | 'dead' | 'unknown'> {
    await this.migrate();
    const now = this.now();
    const rows = await this.db.all<{ state: OutboxState }>(
      `UPDATE {dcn_outbox_messages}
       SET state = CASE WHEN attempts >= ? THEN 'dead' ELSE 'pending' END,
           due_at = CASE WHEN attempts >= ? THEN due_at ELSE ? END,
           lease_owner = NULL, lease_until = NULL, last_error = ?, updated_at = ?
       WHERE message_id = ? AND state = 'pending'
       RETURNING state`,
      [maxAttempts, maxAttempts, now + Math.max(0, retryAfterSeconds) * 1000, error.slice(0, MAX_ERROR_LENGTH), now, messageId],
    );
    if (!rows[0]) return 'unknown';
    return rows[0].state === 'dead' ? 'dead' : 'retry';
  }

  /** Dead messages not yet taken, oldest first, of `channels` when given; each is taken once, across instances. */
  async takeDead(limit: number, channels?: readonly DeviceChannel[]): Promise<OutboxMessage[]> {
    if (limit < 1 || channels?.length === 0) return [];
    await this.migrate();
    const byChannel = channels ? `AND channel IN (${channels.map(() => '?').join(', ')})` : '';
    const where = `state = 'dead' AND dead_taken = 0 ${byChannel}`;
    const params: SqlValue[] = [...(channels ?? []), limit];
    const now = this.now();
    const rows =
      this.db.dialect === 'postgres'
        ? await this.db.all<MessageRow>(
            `WITH picked AS MATERIALIZED (SELECT seq FROM {dcn_outbox_messages} WHERE ${where} ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED)
             UPDATE {dcn_outbox_messages} AS m SET dead_taken = 1, updated_at = ? FROM picked WHERE m.seq = picked.seq
             RETURNING ${qualified('m', ROW_COLUMNS)}`,
            [...params, now],
          )
        : await this.db.all<MessageRow>(
            `UPDATE {dcn_outbox_messages} SET dead_taken = 1, updated_at = ?
             WHERE seq IN (SELECT seq FROM {dcn_outbox_messages} WHERE ${where} ORDER BY seq LIMIT ?)
             RETURNING ${ROW_COLUMNS}`,
            [now, ...params],
          );
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(messageOf);
  }

  /** Pending counts messages waiting and those leased but not yet acknowledged. */
  async stats(): Promise<OutboxStats> {
    await this.migrate();
    const rows = await this.db.all<{ state: string; n: number | string }>(
      "SELECT state, COUNT(*) AS n FROM {dcn_outbox_messages} WHERE state IN ('pending', 'delivered', 'dead') GROUP BY state",
    );
    const count = (state: OutboxState) => Number(rows.find((row) => row.state === state)?.n ?? 0);
    return { pending: count('pending'), delivered: count('delivered'), dead: count('dead') };
  }

  async inbox(security: string, user: string, limit: number): Promise<OutboxMessage[]> {
    if (limit < 1) return [];
    await this.migrate();
    const rows = await this.db.all<MessageRow>(
      `SELECT ${ROW_COLUMNS} FROM {dcn_outbox_messages}
       WHERE channel = 'inbox' AND state = 'delivered' AND security = ? AND user_name = ?
       ORDER BY seq DESC LIMIT ?`,
      [security, user, limit],
    );
    return rows.map(messageOf);
  }

  /** Counts this :upsert of the id: 1 for the first, then 2, 3, … */
  private async nextGeneration(tx: SqlExecutor, security: string, requestId: string, now: number): Promise<number> {
    const rows = await tx.all<{ generation: number | string }>(
      `INSERT INTO {dcn_outbox_requests} AS r (security, request_id, generation, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
       ON CONFLICT (security, request_id) DO UPDATE SET generation = r.generation + 1, updated_at = excluded.updated_at
       RETURNING generation`,
      [security, requestId, now, now],
    );
    return Number(rows[0].generation);
  }

  /** The last messages whose lease ran out unanswered become dead; SKIP LOCKED so instances doing this at once never wait on each other. */
  private async buryUnanswered(now: number, maxAttempts: number): Promise<void> {
    const lock = this.db.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
    await this.db.run(
      `UPDATE {dcn_outbox_messages} SET state = 'dead', lease_owner = NULL, lease_until = NULL, last_error = ?, updated_at = ?
       WHERE seq IN (SELECT seq FROM {dcn_outbox_messages}
                     WHERE state = 'pending' AND lease_until IS NOT NULL AND lease_until <= ? AND attempts >= ? ${lock})`,
      [LEASE_EXPIRED_ERROR, now, now, maxAttempts],
    );
  }

  private async insert(tx: SqlExecutor, rows: NewRow[]): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      const tuple = `(${NEW_ROW_COLUMNS.map(() => '?').join(', ')})`;
      await tx.run(
        `INSERT INTO {dcn_outbox_messages} (${NEW_ROW_COLUMNS.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}
         ON CONFLICT (message_id) DO NOTHING`,
        chunk.flatMap((row) => NEW_ROW_COLUMNS.map((column) => row[column])),
      );
    }
  }
}

/**
 * The stable id of one message to one device: readable, every part kept apart by `/`
 * (escaped inside a part, as is `%`), unique per :upsert of the id (`generation`).
 */
export function messageIdOf(requestId: string, security: string, device: Pick<Device, 'user' | 'deviceId'>, kind: OutboxKind, generation: number): string {
  return [requestId, security, device.user, device.deviceId, kind, String(generation)].map(escapePart).join('/');
}

function escapePart(part: string): string {
  return part.replace(/%/g, '%25').replace(/\//g, '%2F');
}

const NEW_ROW_COLUMNS = [
  'message_id',
  'request_id',
  'security',
  'generation',
  'kind',
  'channel',
  'user_name',
  'device_id',
  'device',
  'content',
  'state',
  'attempts',
  'due_at',
  'created_at',
  'updated_at',
] as const;

type NewRow = Record<(typeof NEW_ROW_COLUMNS)[number], string | number> & { parsedDevice: Device; parsedContent: Content };

function newRow(requestId: string, security: string, generation: number, kind: OutboxKind, device: Device, content: Content, now: number): NewRow {
  // The inbox is in this store: a message to it is delivered by being written.
  const inbox = device.channel === 'inbox';
  return {
    message_id: messageIdOf(requestId, security, device, kind, generation),
    request_id: requestId,
    security,
    generation,
    kind,
    channel: device.channel,
    user_name: device.user,
    device_id: device.deviceId,
    device: JSON.stringify(device),
    content: JSON.stringify(content),
    state: inbox ? 'delivered' : 'pending',
    attempts: inbox ? 1 : 0,
    due_at: now,
    created_at: now,
    updated_at: now,
    parsedDevice: device,
    parsedContent: content,
  };
}

function messageOfNew(row: NewRow): OutboxMessage {
  return {
    messageId: String(row.message_id),
    requestId: String(row.request_id),
    kind: row.kind as OutboxKind,
    device: row.parsedDevice,
    ...row.parsedContent,
    attempt: Number(row.attempts),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

function messageOf(row: MessageRow): OutboxMessage {
  const message: OutboxMessage = {
    messageId: row.message_id,
    requestId: row.request_id,
    kind: row.kind as OutboxKind,
    device: JSON.parse(row.device) as Device,
    ...(JSON.parse(row.content) as Content),
    attempt: Number(row.attempts),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
  if (row.last_error !== null) message.lastError = row.last_error;
  return message;
}

function contentOf(request: WfDcnRequest): Content {
  return { subject: request.subject, from: request.from, body: request.body, received: request.received, read: request.read, priority: request.priority };
}

/** The devices grouped by the security configuration their messages are kept under. */
function bySecurity(devices: Device[], security: string | undefined): Map<string, Device[]> {
  const groups = new Map<string, Device[]>();
  if (security !== undefined) groups.set(security, []);
  for (const device of devices) {
    const key = security ?? device.security;
    groups.set(key, [...(groups.get(key) ?? []), device]);
  }
  return groups;
}

/** One message per device, even when the registry lookup named a device twice. */
function uniqueDevices(devices: Device[]): Device[] {
  const seen = new Map<string, Device>();
  for (const device of devices) seen.set(JSON.stringify([device.user, device.deviceId]), device);
  return [...seen.values()];
}

/** Per device, the newest of its rows: what its retraction repeats. */
function latestPerDevice(rows: MessageRow[]): MessageRow[] {
  const latest = new Map<string, MessageRow>();
  for (const row of rows) {
    const key = JSON.stringify([row.user_name, row.device_id]);
    const seen = latest.get(key);
    if (!seen || Number(seen.seq) < Number(row.seq)) latest.set(key, row);
  }
  return [...latest.values()].sort((a, b) => Number(a.seq) - Number(b.seq));
}

/** RETURNING gives rows in no promised order. */
function inDueOrder(rows: DueRow[]): MessageRow[] {
  return rows.sort((a, b) => Number(a.due_at) - Number(b.due_at) || Number(a.seq) - Number(b.seq));
}

function qualified(alias: string, columns: string): string {
  return columns
    .split(',')
    .map((column) => `${alias}.${column.trim()}`)
    .join(', ');
}
