/**
 * The embedded store: one SQLite file (by default in the Node-RED userDir), through
 * better-sqlite3. The driver is required on first use, so the package still loads
 * where the native module cannot; the error then surfaces on the first operation.
 * Several processes may share the file: claims are single atomic statements and
 * locks are leases (rows with an expiry), so a crashed holder frees its lock.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteStoreConfig, Store, StoreError, StoreOptions, checkSchemaVersion } from './types';

type Database = BetterSqlite3.Database;

/** Schema steps, applied in order; a database records how many it has seen. */
const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS wxbridge_kv (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     expires_at INTEGER
   );
   CREATE INDEX IF NOT EXISTS wxbridge_kv_expires ON wxbridge_kv (expires_at);`,
];

const LOCK_LEASE_SECONDS = 60;
const LOCK_POLL_MS = 20;
const SWEEP_EVERY_MS = 60_000;

interface Statements {
  get: BetterSqlite3.Statement<[string, number], { value: string }>;
  put: BetterSqlite3.Statement<[string, string, number | null]>;
  delete: BetterSqlite3.Statement<[string]>;
  deleteIf: BetterSqlite3.Statement<[string, string]>;
  claim: BetterSqlite3.Statement<[string, string, number, number]>;
  sweep: BetterSqlite3.Statement<[number]>;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  private db: Database | null = null;
  private statements: Statements | null = null;
  private readonly now: () => number;
  private readonly lockWaitMs: number;
  private lastSweep = 0;

  constructor(
    private readonly config: SqliteStoreConfig,
    options: StoreOptions = {},
  ) {
    this.description = `SQLite ${config.path}`;
    this.now = options.now ?? Date.now;
    this.lockWaitMs = options.lockWaitMs ?? 30_000;
  }

  async get(key: string): Promise<string | undefined> {
    return this.open().get.get(key, this.now())?.value;
  }

  async put(key: string, value: string, ttlSeconds?: number): Promise<void> {
    const st = this.open();
    st.put.run(key, value, ttlSeconds === undefined ? null : this.now() + ttlSeconds * 1000);
    this.sweepSometimes();
  }

  async delete(key: string, ifValue?: string): Promise<boolean> {
    const st = this.open();
    const result = ifValue === undefined ? st.delete.run(key) : st.deleteIf.run(key, ifValue);
    return result.changes > 0;
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    return this.claimWith(key, '1', ttlSeconds);
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = `lock:${name}`;
    const owner = randomUUID();
    const giveUpAt = Date.now() + this.lockWaitMs;
    while (!this.claimWith(key, owner, LOCK_LEASE_SECONDS)) {
      if (Date.now() > giveUpAt) throw new StoreError(`timed out waiting for the lock "${name}" in ${this.description}`);
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    try {
      return await fn();
    } finally {
      // Only our own lease: if it expired and someone else took it, theirs stays.
      this.open().deleteIf.run(key, owner);
    }
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.statements = null;
    db?.close();
  }

  private claimWith(key: string, value: string, ttlSeconds: number): boolean {
    const now = this.now();
    const changed = this.open().claim.run(key, value, now + ttlSeconds * 1000, now).changes;
    this.sweepSometimes();
    return changed > 0;
  }

  /** Expired rows read as absent anyway; this only keeps the file from growing. */
  private sweepSometimes(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    this.open().sweep.run(now);
  }

  private open(): Statements {
    if (this.statements) return this.statements;
    const db = openDatabase(this.config.path);
    whileBusy(() => {
      if (this.config.path !== ':memory:') db.pragma('journal_mode = WAL');
      migrate(db);
    });
    this.db = db;
    this.statements = {
      get: db.prepare('SELECT value FROM wxbridge_kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)'),
      put: db.prepare(
        'INSERT INTO wxbridge_kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
      ),
      delete: db.prepare('DELETE FROM wxbridge_kv WHERE key = ?'),
      deleteIf: db.prepare('DELETE FROM wxbridge_kv WHERE key = ? AND value = ?'),
      // Inserts, or takes over a row whose claim has expired; otherwise changes nothing.
      claim: db.prepare(
        `INSERT INTO wxbridge_kv (key, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
         WHERE wxbridge_kv.expires_at IS NOT NULL AND wxbridge_kv.expires_at <= ?`,
      ),
      sweep: db.prepare('DELETE FROM wxbridge_kv WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    };
    return this.statements;
  }
}

function openDatabase(path: string): Database {
  let Driver: typeof BetterSqlite3;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Driver = require('better-sqlite3');
  } catch (err) {
    throw new StoreError(`the SQLite driver (better-sqlite3) could not be loaded: ${(err as Error).message}`);
  }
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Driver(path);
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Runs `step` again while SQLite answers SQLITE_BUSY. Two processes opening a new file
 * at once race to switch it to WAL and create the schema; SQLite reports that race at
 * once instead of waiting out busy_timeout, so the loser simply tries again.
 */
function whileBusy(step: () => void, attempts = 100): void {
  for (let i = 1; ; i++) {
    try {
      step();
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || i >= attempts) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.floor(Math.random() * 20));
    }
  }
}

/** Brings the schema up to date; IMMEDIATE so two processes never migrate at once. */
function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS wxbridge_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.transaction(() => {
    const row = db.prepare("SELECT value FROM wxbridge_meta WHERE name = 'schema_version'").get() as { value: string } | undefined;
    const version = row ? Number(row.value) : 0;
    checkSchemaVersion(version, MIGRATIONS.length);
    for (let i = version; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]);
    db.prepare(
      "INSERT INTO wxbridge_meta (name, value) VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    ).run(String(MIGRATIONS.length));
  }).immediate();
}
