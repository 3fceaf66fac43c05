/**
 * JSON records for flows, kept in the package's store: (collection, key) → a JSON value
 * with a version (1 on creation, +1 per write) and created / updated times. The module
 * owns two tables, created through the store's migrate(): `records` and
 * `record_counters` (per-collection counters for nextId). Every statement is written
 * once for both databases; keys are compared byte-wise on both (COLLATE "C" on
 * PostgreSQL, SQLite's BINARY), so lists come in the same order everywhere.
 * Every write is one statement, so instances sharing the database cannot interleave
 * a read and a write: compare-and-set and counters hold across processes.
 */
import { ModuleTables } from './module-tables';
import { MigrationStep, SqlDatabase, SqlExecutor } from './sql';
import type { Store } from './types';

/** The largest value accepted, serialised as JSON, in bytes. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** The longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 200;
/** The longest collection name accepted. */
export const MAX_COLLECTION_LENGTH = 100;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

const MODULE = 'records';

const STEPS: MigrationStep[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS {records} (
       collection TEXT NOT NULL,
       key TEXT NOT NULL,
       value TEXT NOT NULL,
       version INTEGER NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       PRIMARY KEY (collection, key)
     );
     CREATE TABLE IF NOT EXISTS {record_counters} (
       collection TEXT PRIMARY KEY,
       value INTEGER NOT NULL
     )`,
    // COLLATE "C": byte-wise order, as SQLite's, whatever the database's locale.
    postgres: `CREATE TABLE IF NOT EXISTS {records} (
       collection TEXT COLLATE "C" NOT NULL,
       key TEXT COLLATE "C" NOT NULL,
       value TEXT NOT NULL,
       version INTEGER NOT NULL,
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL,
       PRIMARY KEY (collection, key)
     );
     CREATE TABLE IF NOT EXISTS {record_counters} (
       collection TEXT COLLATE "C" PRIMARY KEY,
       value BIGINT NOT NULL
     )`,
  },
];

/** What is known about a stored record besides its value; times are ISO-8601. */
export interface RecordMeta {
  collection: string;
  key: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface StoredRecord {
  /** The stored value, as JSON.parse gives it back. */
  value: unknown;
  meta: RecordMeta;
}

export interface InsertOptions {
  /**
   * Top-level fields (field → value, as `where` of a list) that no record of the
   * collection may already match: one that does is a conflict, and the insert does
   * nothing. E.g. `{ requester, status: 'draft' }` keeps one draft per requester.
   */
  unique?: Record<string, unknown>;
}

export interface WriteOptions {
  /** Only when the stored record is at exactly this version. */
  ifVersion?: number;
}

export interface ListQuery {
  /** Top-level fields of the value that must equal these (deep JSON equality). */
  where?: Record<string, unknown>;
  /** Only keys that start with this. */
  prefix?: string;
  /** At most this many records (default 100, at most 1000). */
  limit?: number;
}

export interface RecordsOptions {
  /** Clock in milliseconds, for the created / updated times. */
  now?: () => number;
}

/** What a flow can ask of the records. */
export const RECORD_OPERATIONS = ['get', 'list', 'insert', 'put', 'delete', 'next-id'] as const;
export type RecordOperation = (typeof RECORD_OPERATIONS)[number];

export type RecordErrorCode = 'record_conflict' | 'record_invalid';

/**
 * A refused record operation. `code` says which kind (a conflict with what is stored,
 * or an input that cannot be a record); `textCode` names the text of
 * nodes/shared/locales/…/lib.json that says exactly what went wrong.
 */
export class RecordError extends Error {
  readonly code: RecordErrorCode;
  readonly textCode: string;
  readonly params: Record<string, string | number>;
  /** For a unique insert's conflict: the stored record that already matches. */
  readonly stored?: RecordMeta;

  constructor(code: RecordErrorCode, textCode: string, message: string, params: Record<string, string | number> = {}, stored?: RecordMeta) {
    super(message);
    this.name = 'RecordError';
    this.code = code;
    this.textCode = textCode;
    this.params = params;
    if (stored) this.stored = stored;
  }
}

function invalid(textCode: string, message: string, params: Record<string, string | number> = {}): RecordError {
  return new RecordError('record_invalid', textCode, message, params);
}

interface RecordRow {
  key: string;
  value: string;
  version: number | string;
  created_at: number | string;
  updated_at: number | string;
}

type MetaRow = Omit<RecordRow, 'key' | 'value'>;

/** Records in one store; create one per store user, it migrates its tables on first use. */
export class Records {
  private readonly db: SqlDatabase;
  private readonly now: () => number;
  private readonly tables: ModuleTables;

  constructor(store: Store | SqlDatabase, options: RecordsOptions = {}) {
    this.db = 'database' in store ? store.database() : store;
    this.now = options.now ?? Date.now;
    this.tables = new ModuleTables(this.db, MODULE, STEPS);
  }

  /** The record, or null when there is none. */
  async get(collection: string, key: string): Promise<StoredRecord | null> {
    checkCollection(collection);
    checkKey(key);
    await this.migrated();
    const rows = await this.db.all<RecordRow>('SELECT key, value, version, created_at, updated_at FROM {records} WHERE collection = ? AND key = ?', [collection, key]);
    return rows[0] ? recordOf(collection, rows[0]) : null;
  }

  /**
   * Creates the record at version 1; a record already there is a conflict. With
   * `unique`, so is any record of the collection whose fields match it.
   */
  async insert(collection: string, key: string, value: unknown, options: InsertOptions = {}): Promise<StoredRecord> {
    checkCollection(collection);
    checkKey(key);
    const unique = checkUnique(options.unique);
    const json = serialise(value);
    await this.migrated();
    if (!unique) return this.insertRow(this.db, collection, key, json);
    return this.db.transaction(async (tx) => {
      // Unique inserts into one collection take turns: the upsert holds the collection's
      // guard row until the commit (PostgreSQL; on SQLite the file's write lock does), so
      // two of them cannot both find no match. Not Store.withLock: the row lock is part of
      // the insert's own transaction (no second connection, no polling as withLock does on
      // SQLite), and Records may be given a bare SqlDatabase. ':' is in no collection name.
      await tx.run(`INSERT INTO {record_counters} AS c (collection, value) VALUES (?, 0) ON CONFLICT (collection) DO UPDATE SET value = c.value`, [`unique:${collection}`]);
      const [match] = await this.scan(tx, collection, { where: unique, limit: 1 });
      if (match) {
        const fields = JSON.stringify(unique);
        throw new RecordError('record_conflict', 'record_unique', `the record ${collection}/${match.meta.key} already has ${fields}`, { collection, key: match.meta.key, fields }, match.meta);
      }
      return this.insertRow(tx, collection, key, json);
    });
  }

  private async insertRow(db: SqlExecutor, collection: string, key: string, json: string): Promise<StoredRecord> {
    const now = this.now();
    const rows = await db.all<MetaRow>(
      `INSERT INTO {records} (collection, key, value, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)
       ON CONFLICT (collection, key) DO NOTHING
       RETURNING version, created_at, updated_at`,
      [collection, key, json, now, now],
    );
    if (!rows[0]) throw new RecordError('record_conflict', 'record_exists', `the record ${collection}/${key} already exists`, { collection, key });
    return written(collection, key, json, rows[0]);
  }

  /**
   * Creates or replaces the record. With `ifVersion`, only replaces a record at exactly
   * that version (compare-and-set); any other state is a conflict.
   */
  async put(collection: string, key: string, value: unknown, options: WriteOptions = {}): Promise<StoredRecord> {
    checkCollection(collection);
    checkKey(key);
    const ifVersion = checkIfVersion(options.ifVersion);
    const json = serialise(value);
    await this.migrated();
    const now = this.now();
    if (ifVersion === undefined) {
      const rows = await this.db.all<MetaRow>(
        `INSERT INTO {records} AS r (collection, key, value, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value, version = r.version + 1, updated_at = excluded.updated_at
         RETURNING version, created_at, updated_at`,
        [collection, key, json, now, now],
      );
      return written(collection, key, json, rows[0]);
    }
    const rows = await this.db.all<MetaRow>(
      `UPDATE {records} SET value = ?, version = version + 1, updated_at = ?
       WHERE collection = ? AND key = ? AND version = ?
       RETURNING version, created_at, updated_at`,
      [json, now, collection, key, ifVersion],
    );
    if (!rows[0]) throw await this.versionConflict(collection, key, ifVersion);
    return written(collection, key, json, rows[0]);
  }

  /**
   * Removes the record; resolves true when one was removed. With `ifVersion`, only a
   * record at exactly that version, and anything else is a conflict.
   */
  async delete(collection: string, key: string, options: WriteOptions = {}): Promise<boolean> {
    checkCollection(collection);
    checkKey(key);
    const ifVersion = checkIfVersion(options.ifVersion);
    await this.migrated();
    if (ifVersion === undefined) return (await this.db.run('DELETE FROM {records} WHERE collection = ? AND key = ?', [collection, key])) > 0;
    const removed = await this.db.run('DELETE FROM {records} WHERE collection = ? AND key = ? AND version = ?', [collection, key, ifVersion]);
    if (removed === 0) throw await this.versionConflict(collection, key, ifVersion);
    return true;
  }

  /**
   * Records of the collection ordered by key (byte-wise), optionally only keys with a
   * prefix and values whose top-level fields equal `where`. The field comparison is
   * done here, on the parsed values, so it means the same on both databases; rows are
   * read in pages until the limit is filled.
   */
  async list(collection: string, query: ListQuery = {}): Promise<StoredRecord[]> {
    checkCollection(collection);
    const checked = checkListQuery(query);
    await this.migrated();
    return this.scan(this.db, collection, checked);
  }

  /** The records of a checked list query, read through `db` (the store, or a transaction). */
  private async scan(db: SqlExecutor, collection: string, query: { where?: Record<string, unknown>; prefix?: string; limit: number }): Promise<StoredRecord[]> {
    const { where, prefix, limit } = query;
    const found: StoredRecord[] = [];
    const pageSize = where ? Math.max(limit, 200) : limit;
    let after: string | null = null;
    for (;;) {
      const rows = await this.page(db, collection, prefix, after, pageSize);
      for (const row of rows) {
        const record = recordOf(collection, row);
        if (where && !matches(record.value, where)) continue;
        found.push(record);
        if (found.length === limit) return found;
      }
      if (rows.length < pageSize) return found;
      after = rows[rows.length - 1].key;
    }
  }

  /** The collection's next number: 1, 2, 3, …, each handed out once across every instance sharing the database. */
  async nextId(collection: string): Promise<number> {
    checkCollection(collection);
    await this.migrated();
    const rows = await this.db.all<{ value: number | string }>(
      `INSERT INTO {record_counters} AS c (collection, value) VALUES (?, 1)
       ON CONFLICT (collection) DO UPDATE SET value = c.value + 1
       RETURNING value`,
      [collection],
    );
    return Number(rows[0].value);
  }

  /** One page of rows after key `after`; the prefix is compared with substr, so `%` and `_` are plain characters. */
  private page(db: SqlExecutor, collection: string, prefix: string | undefined, after: string | null, size: number): Promise<RecordRow[]> {
    const conditions = ['collection = ?'];
    const params: (string | number)[] = [collection];
    if (prefix) {
      // `key >= prefix` lets the primary key find the start; substr decides.
      conditions.push('key >= ?', 'substr(key, 1, ?) = ?');
      params.push(prefix, characters(prefix), prefix);
    }
    if (after !== null) {
      conditions.push('key > ?');
      params.push(after);
    }
    params.push(size);
    return db.all<RecordRow>(`SELECT key, value, version, created_at, updated_at FROM {records} WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT ?`, params);
  }

  /** The conflict of an ifVersion write that changed nothing, saying what is stored now. */
  private async versionConflict(collection: string, key: string, expected: number): Promise<RecordError> {
    const rows = await this.db.all<{ version: number | string }>('SELECT version FROM {records} WHERE collection = ? AND key = ?', [collection, key]);
    if (!rows[0]) {
      return new RecordError('record_conflict', 'record_version_absent', `the record ${collection}/${key} does not exist, so it is not at version ${expected}`, { collection, key, expected });
    }
    const actual = Number(rows[0].version);
    return new RecordError('record_conflict', 'record_version', `the record ${collection}/${key} is at version ${actual}, not ${expected}`, { collection, key, expected, actual });
  }

  private migrated(): Promise<void> {
    return this.tables.migrated();
  }
}

/** An operation named by a flow (msg.operation). */
export function recordOperation(value: unknown): RecordOperation {
  const found = RECORD_OPERATIONS.find((op) => op === value);
  if (!found) {
    throw invalid('record_invalid_operation', `the operation "${String(value)}" is not one of ${RECORD_OPERATIONS.join(', ')}`, { operation: String(value), operations: RECORD_OPERATIONS.join(', ') });
  }
  return found;
}

/** A collection name: lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit. */
export function checkCollection(collection: unknown): string {
  if (typeof collection !== 'string' || !new RegExp(`^[a-z0-9][a-z0-9._-]{0,${MAX_COLLECTION_LENGTH - 1}}$`).test(collection)) {
    throw invalid('record_invalid_collection', `the collection "${String(collection)}" must be 1 to ${MAX_COLLECTION_LENGTH} lower-case letters, digits, "-", "_" or "." starting with a letter or digit`, {
      collection: String(collection),
      max: MAX_COLLECTION_LENGTH,
    });
  }
  return collection;
}

/**
 * A record key from a flow: a non-empty string of at most 200 characters, or a whole
 * number, which becomes its decimal string. No NUL and no lone surrogates: PostgreSQL
 * text cannot hold the one and would silently alter the other.
 */
export function recordKey(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string') {
    throw invalid('record_invalid_key_type', `the key must be a string or a whole number (got ${typeName(value)})`, { type: typeName(value) });
  }
  return checkKey(value);
}

function checkKey(key: string): string {
  const length = characters(key);
  if (length === 0 || length > MAX_KEY_LENGTH) {
    throw invalid('record_invalid_key_length', `the key must be 1 to ${MAX_KEY_LENGTH} characters long, not ${length}`, { length, max: MAX_KEY_LENGTH });
  }
  if (key.includes('\u0000') || LONE_SURROGATE.test(key)) throw invalid('record_invalid_key_chars', 'the key holds a NUL character or a broken UTF-16 surrogate');
  return key;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** An ifVersion from a flow: absent, or a whole number ≥ 1 (no record is ever at another version). */
export function checkIfVersion(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid('record_invalid_version', `ifVersion must be a whole number of at least 1 (got ${shown(value)})`, { value: shown(value) });
  }
  return value;
}

/** A list query from a flow: where an object, prefix a string, limit a whole number from 1 to 1000. */
export function checkListQuery(query: { where?: unknown; prefix?: unknown; limit?: unknown }): { where?: Record<string, unknown>; prefix?: string; limit: number } {
  const { where, prefix, limit } = query;
  if (where !== undefined && where !== null && (typeof where !== 'object' || Array.isArray(where))) {
    throw invalid('record_invalid_where', `where must be an object of field names and values (got ${typeName(where)})`, { type: typeName(where) });
  }
  if (prefix !== undefined && prefix !== null && typeof prefix !== 'string') {
    throw invalid('record_invalid_prefix', `prefix must be a string (got ${typeName(prefix)})`, { type: typeName(prefix) });
  }
  if (limit !== undefined && limit !== null && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)) {
    throw invalid('record_invalid_limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT} (got ${shown(limit)})`, { value: shown(limit), max: MAX_LIST_LIMIT });
  }
  const fields = where && Object.keys(where).length ? (where as Record<string, unknown>) : undefined;
  return { where: fields, prefix: prefix || undefined, limit: typeof limit === 'number' ? limit : DEFAULT_LIST_LIMIT };
}

/** A unique insert's fields from a flow: absent, or an object of at least one field name and value. */
export function checkUnique(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) {
    // The JSON type, the same word in every language; an object without fields shows as {}.
    const type = typeof value === 'object' && !Array.isArray(value) ? '{}' : typeName(value);
    throw invalid('record_invalid_unique', `unique must be an object of at least one field name and value (got ${type})`, { type });
  }
  return value as Record<string, unknown>;
}

/** The value as JSON; refused when JSON cannot hold it or it is larger than 1 MiB. */
function serialise(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw invalid('record_invalid_value', `the value cannot be stored as JSON: ${(err as Error).message}`, { detail: (err as Error).message });
  }
  if (json === undefined) throw invalid('record_invalid_value', `the value cannot be stored as JSON: ${typeName(value)} has no JSON form`, { detail: `${typeName(value)} has no JSON form` });
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_RECORD_BYTES) {
    throw invalid('record_too_large', `the value is ${bytes} bytes as JSON, more than the ${MAX_RECORD_BYTES} allowed`, { bytes, max: MAX_RECORD_BYTES });
  }
  return json;
}

function written(collection: string, key: string, json: string, row: MetaRow): StoredRecord {
  return { value: JSON.parse(json) as unknown, meta: metaOf(collection, key, row) };
}

function recordOf(collection: string, row: RecordRow): StoredRecord {
  return { value: JSON.parse(row.value) as unknown, meta: metaOf(collection, row.key, row) };
}

/** PostgreSQL gives BIGINT columns as strings. */
function metaOf(collection: string, key: string, row: MetaRow): RecordMeta {
  return {
    collection,
    key,
    version: Number(row.version),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

function matches(value: unknown, where: Record<string, unknown>): boolean {
  if (!isObject(value)) return false;
  return Object.entries(where).every(([field, expected]) => Object.prototype.hasOwnProperty.call(value, field) && sameJson(value[field], expected));
}

/** Deep equality of JSON values; object fields in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Length in characters (code points), as both databases count them. */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The JSON-ish type of a value, for messages (the same word in every language). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** A number as itself, anything else as its type. */
function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeName(value);
}
