/**
 * Opening stores. `createStore` makes a private store object; `acquireStore` hands out
 * one shared store per database target in this process (reference counted), so every
 * node using the same database shares one connection pool or one SQLite handle.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PostgresStore } from './postgres-store';
import { SqliteStore } from './sqlite-store';
import { Store, StoreConfig, StoreOptions } from './types';

export * from './types';
export { PostgresStore } from './postgres-store';
export { SqliteStore } from './sqlite-store';

/** File name of the embedded store inside the Node-RED userDir. */
const EMBEDDED_STORE_FILE = 'wechat-sap.sqlite';

/** Node-RED's own default when settings name no userDir. */
export function defaultUserDir(userDir: string | undefined): string {
  return userDir || join(homedir(), '.node-red');
}

/** The embedded default: a SQLite file in the userDir. */
export function embeddedStoreConfig(userDir: string | undefined): StoreConfig {
  return { kind: 'sqlite', path: join(defaultUserDir(userDir), EMBEDDED_STORE_FILE) };
}

/** A new store; nothing is opened until its first operation. */
export function createStore(config: StoreConfig, options: StoreOptions = {}): Store {
  return config.kind === 'postgres' ? new PostgresStore(config, options) : new SqliteStore(config, options);
}

export interface StoreLease {
  readonly store: Store;
  /** Gives the store back; the last release closes it. Idempotent. */
  release(): Promise<void>;
}

/**
 * For a node's 'close' handler: gives the lease back (when there is one) and then calls
 * done, with the error if closing the store failed.
 */
export function releaseThen(lease: StoreLease | null, done: (err?: Error) => void): void {
  if (!lease) return done();
  lease.release().then(() => done(), done);
}

interface SharedEntry {
  store: Store;
  users: number;
}

const shared = new Map<string, SharedEntry>();

/** The process-wide store for this target; call release() when done with it. */
export function acquireStore(config: StoreConfig): StoreLease {
  const id = storeIdentity(config);
  let entry = shared.get(id);
  if (!entry) {
    entry = { store: createStore(config), users: 0 };
    shared.set(id, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    store: held.store,
    async release() {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      if (shared.get(id) === held) shared.delete(id);
      await held.store.close();
    },
  };
}

/** Same database and tables means same identity; credentials do not take part. */
function storeIdentity(config: StoreConfig): string {
  if (config.kind === 'sqlite') return `sqlite:${config.path === ':memory:' ? ':memory:' + Math.random() : resolve(config.path)}`;
  const target = config.connectionString
    ? stripPassword(config.connectionString)
    : `${config.user ?? ''}@${config.host ?? ''}:${config.port ?? ''}/${config.database ?? ''}`;
  return `postgres:${target}:${config.schema ?? 'public'}.${config.tablePrefix ?? 'wxbridge_'}`;
}

function stripPassword(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    url.password = '';
    return url.toString();
  } catch {
    return connectionString;
  }
}
export { QueueWorker, QueueWorkerOptions } from './queue-worker';
