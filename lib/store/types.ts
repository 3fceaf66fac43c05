/**
 * The storage contract every stateful part of the package uses: access tokens, the
 * de-duplication and claims of inbound callbacks, and durable queues (C4C
 * notifications accepted before they reach a flow). Values are strings (callers
 * serialise); every entry may carry an expiry, after which it reads as absent.
 */
import type { SqlDatabase } from './sql';

export type StoreKind = 'sqlite' | 'postgres';

export interface Store {
  readonly kind: StoreKind;
  /** Where the data lives, for logs and status: never contains a password. */
  readonly description: string;

  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Writes the value; with ttlSeconds it expires then, otherwise it is kept. */
  put(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /**
   * Removes the entry. With `ifValue`, only when the stored value is exactly that
   * (compare-and-delete), so one instance cannot remove what another just wrote.
   * Resolves true when a row was removed.
   */
  delete(key: string, ifValue?: string): Promise<boolean>;
  /**
   * Atomically claims the key for ttlSeconds, writing `value` (default '1'): true for
   * the first caller, false for every caller (in any instance sharing this store)
   * until the claim expires. Used for de-duplicating callbacks that WeChat delivers up
   * to three times, and for leases.
   */
  claim(key: string, ttlSeconds: number, value?: string): Promise<boolean>;
  /**
   * Compare-and-set: writes `value` with a new expiry only while the live entry holds
   * exactly `expected`. Resolves true when it did. Renews or finalises a lease that
   * only its holder may touch.
   */
  replace(key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean>;
  /**
   * Adds an item to a durable queue, committed when the promise resolves. Resolves
   * false (and changes nothing) when the queue already holds `id`, pending or done
   * within its `keepSeconds`: the id is also the item's de-duplication key.
   */
  enqueue(queue: string, id: string, payload: string, keepSeconds: number): Promise<boolean>;
  /**
   * Leases the oldest item that is neither done nor leased by a live holder, for
   * leaseSeconds. An item whose holder died becomes available again once its lease
   * runs out, so every enqueued item is handed out at least once.
   */
  takeNext(queue: string, owner: string, leaseSeconds: number): Promise<QueueItem | null>;
  /** Extends the holder's lease on an item; false when the item is no longer its own. */
  renewLease(queue: string, id: string, owner: string, leaseSeconds: number): Promise<boolean>;
  /** Marks the holder's item done; it is kept (for de-duplication) until its keepSeconds end. */
  complete(queue: string, id: string, owner: string): Promise<boolean>;
  /**
   * Runs fn while holding a lock named `name` that every instance sharing this store
   * respects; calls with the same name run one at a time.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** SQL on the same database, for modules that own tables of their own (see ./sql). */
  database(): SqlDatabase;
  close(): Promise<void>;
}

export interface QueueItem {
  id: string;
  payload: string;
  /** How many times the item has been handed out, this time included. */
  attempts: number;
}

export interface SqliteStoreConfig {
  kind: 'sqlite';
  /** The database file; ':memory:' for a private in-memory database. */
  path: string;
  /**
   * When a commit reaches the disk (SQLite's `synchronous`, in WAL mode), default 'full':
   * every commit is flushed before it returns, so a committed write survives a power loss
   * or an operating-system crash. 'normal' flushes at checkpoints only: a commit still
   * survives a crash of the process, the last ones may be lost on a power loss.
   */
  synchronous?: SqliteSynchronous;
}

export const SQLITE_SYNCHRONOUS = ['full', 'normal'] as const;
export type SqliteSynchronous = (typeof SQLITE_SYNCHRONOUS)[number];

/** The synchronous level a configuration names (default 'full'); anything else is a StoreError. */
export function checkSynchronous(value: unknown): SqliteSynchronous {
  if (value === undefined) return 'full';
  const found = SQLITE_SYNCHRONOUS.find((level) => level === value);
  if (!found) throw new StoreError(`synchronous must be one of ${SQLITE_SYNCHRONOUS.join(', ')} (got ${String(value).slice(0, 40)})`, 'store_synchronous', { value: String(value).slice(0, 40), levels: SQLITE_SYNCHRONOUS.join(', ') });
  return found;
}

export interface PostgresStoreConfig {
  kind: 'postgres';
  /** postgres://user:password@host:port/database; alternatively the separate fields. */
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  ssl?: boolean;
  /** Schema holding our tables (created when missing); default 'public'. */
  schema?: string;
  /** Prefix of our table names; default 'wxbridge_'. */
  tablePrefix?: string;
  /** Upper bound of pooled connections; default 10. */
  maxConnections?: number;
}

export type StoreConfig = SqliteStoreConfig | PostgresStoreConfig;

export interface StoreOptions {
  /** Clock in milliseconds; tests move it to expire entries. */
  now?: () => number;
  /**
   * SQLite only, in ms (default 30 000): how long withLock waits for another holder's
   * lease, and how long any operation waits for the file's write lock held by another
   * handle or process before it fails with a StoreError (code store_busy).
   */
  lockWaitMs?: number;
}

export class StoreError extends Error {
  constructor(
    message: string,
    /** Names the text of nodes/shared/locales/…/lib.json that says this in the runtime's language. */
    readonly code = 'store',
    readonly params: Record<string, string | number> = { detail: message },
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Identifiers end up inside SQL text, so only plain lower-case names are accepted. */
export function checkIdentifier(value: string, what: string): string {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(value)) {
    throw new StoreError(`${what} "${value}" must be lower-case letters, digits and underscores`, 'store_identifier', { what, value });
  }
  return value;
}

/** Refuses a database whose recorded schema version is newer than the steps this package knows. */
export function checkSchemaVersion(version: number, known: number, module = 'core'): void {
  if (version > known) {
    const which = module === 'core' ? 'the database schema' : `the database schema of "${module}"`;
    throw new StoreError(`${which} (version ${version}) is newer than this package understands (${known})`, 'store_newer', { module, version, known });
  }
}
