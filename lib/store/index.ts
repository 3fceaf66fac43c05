/**
 * Opening stores. Each store object belongs to the config node that created it (a
 * wechat-sap-store, or an account using the embedded file), which closes it when it
 * closes; several handles on one SQLite file or pools on one database work side by side.
 * Records (./records) keep flows' JSON records in a store.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from './postgres-store';
import { SqliteStore } from './sqlite-store';
import { SqliteStoreConfig, Store, StoreConfig, StoreOptions } from './types';

export * from './types';
export * from './sql';
export { PostgresStore } from './postgres-store';
export { SqliteStore } from './sqlite-store';

/** File name of the embedded store inside the Node-RED userDir. */
const EMBEDDED_STORE_FILE = 'wechat-sap.sqlite';

/** Node-RED's own default when settings name no userDir. */
export function defaultUserDir(userDir: string | undefined): string {
  return userDir || join(homedir(), '.node-red');
}

/** The embedded default: a SQLite file in the userDir. */
export function embeddedStoreConfig(userDir: string | undefined): SqliteStoreConfig {
  return { kind: 'sqlite', path: join(defaultUserDir(userDir), EMBEDDED_STORE_FILE) };
}

/** A new store; nothing is opened until its first operation. */
export function createStore(config: StoreConfig, options: StoreOptions = {}): Store {
  return config.kind === 'postgres' ? new PostgresStore(config, options) : new SqliteStore(config, options);
}

/**
 * For a config node's 'close' handler: closes the store it owns (when there is one) and
 * then calls done, with the error if closing failed.
 */
export function closeThen(store: Store | null, done: (err?: Error) => void): void {
  if (!store) return done();
  store.close().then(() => done(), done);
}
export { DrainLoop, DrainLoopOptions } from './drain-loop';
export { ModuleTables } from './module-tables';
export { QueueWorker, QueueWorkerOptions } from './queue-worker';
export * from './records';
