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
import { MigrationStep, SqlDatabase, SqlExecutor, SqlValue, applySteps, qualifyTables } from './sql';
import { QueueItem, SqliteStoreConfig, Store, StoreError, StoreOptions, checkSchemaVersion } from './types';

type Database = BetterSqlite3.Database;

/** Schema steps, applied in order; a database records how many it has seen. */
const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS wxbridge_kv (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     expires_at INTEGER
   );
   CREATE INDEX IF NOT EXISTS wxbridge_kv_expires ON wxbridge_kv (expires_at);`,
  `CREATE TABLE IF NOT EXISTS wxbridge_queue (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     queue TEXT NOT NULL,
     id TEXT NOT NULL,
     payload TEXT NOT NULL,
     done INTEGER NOT NULL DEFAULT 0,
     owner TEXT,
     lease_until INTEGER,
     attempts INTEGER NOT NULL DEFAULT 0,
     keep_until INTEGER NOT NULL,
     UNIQUE (queue, id)
   );
   CREATE INDEX IF NOT EXISTS wxbridge_queue_ready ON wxbridge_queue (queue, done, seq);`,
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
  replace: BetterSqlite3.Statement<[string, number | null, string, string, number]>;
  sweep: BetterSqlite3.Statement<[number]>;
  dropExpiredItem: BetterSqlite3.Statement<[string, string, number]>;
  enqueue: BetterSqlite3.Statement<[string, string, string, number]>;
  nextItem: BetterSqlite3.Statement<[string, number], { seq: number; id: string; payload: string; attempts: number }>;
  leaseItem: BetterSqlite3.Statement<[string, number, number]>;
  renewItem: BetterSqlite3.Statement<[number, string, string, string]>;
  completeItem: BetterSqlite3.Statement<[string, string, string]>;
  sweepQueue: BetterSqlite3.Statement<[number]>;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  private db: Database | null = null;
  private statements: Statements | null = null;
  private readonly now: () => number;
  private readonly lockWaitMs: number;
  private lastSweep = 0;
  /** Transactions run one at a time; other operations wait while any is queued (see database()). */
  private transactions: Promise<unknown> = Promise.resolve();
  private queuedTransactions = 0;
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly config: SqliteStoreConfig,
    options: StoreOptions = {},
  ) {
    this.description = `SQLite ${config.path}`;
    this.now = options.now ?? Date.now;
    this.lockWaitMs = options.lockWaitMs ?? 30_000;
  }

  async get(key: string): Promise<string | undefined> {
    await this.outsideTransactions();
    return this.open().get.get(key, this.now())?.value;
  }

  async put(key: string, value: string, ttlSeconds?: number): Promise<void> {
    await this.outsideTransactions();
    const st = this.open();
    st.put.run(key, value, ttlSeconds === undefined ? null : this.now() + ttlSeconds * 1000);
    this.sweepSometimes();
  }

  async delete(key: string, ifValue?: string): Promise<boolean> {
    await this.outsideTransactions();
    const st = this.open();
    const result = ifValue === undefined ? st.delete.run(key) : st.deleteIf.run(key, ifValue);
    return result.changes > 0;
  }

  async claim(key: string, ttlSeconds: number, value = '1'): Promise<boolean> {
    await this.outsideTransactions();
    return this.claimWith(key, value, ttlSeconds);
  }

  async replace(key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean> {
    await this.outsideTransactions();
    const now = this.now();
    return this.open().replace.run(value, ttlSeconds === undefined ? null : now + ttlSeconds * 1000, key, expected, now).changes > 0;
  }

  async enqueue(queue: string, id: string, payload: string, keepSeconds: number): Promise<boolean> {
    await this.outsideTransactions();
    const st = this.open();
    const now = this.now();
    // A done item whose keep time is over no longer counts as a repeat, even before the sweep removed it.
    st.dropExpiredItem.run(queue, id, now);
    const added = st.enqueue.run(queue, id, payload, now + keepSeconds * 1000).changes > 0;
    this.sweepSometimes();
    return added;
  }

  async takeNext(queue: string, owner: string, leaseSeconds: number): Promise<QueueItem | null> {
    await this.outsideTransactions();
    const st = this.open();
    const now = this.now();
    const take = this.db!.transaction(() => {
      const row = st.nextItem.get(queue, now);
      if (!row) return null;
      st.leaseItem.run(owner, now + leaseSeconds * 1000, row.seq);
      return { id: row.id, payload: row.payload, attempts: row.attempts + 1 };
    });
    // IMMEDIATE: two processes sharing the file never lease the same item.
    return take.immediate();
  }

  async renewLease(queue: string, id: string, owner: string, leaseSeconds: number): Promise<boolean> {
    await this.outsideTransactions();
    return this.open().renewItem.run(this.now() + leaseSeconds * 1000, queue, id, owner).changes > 0;
  }

  async complete(queue: string, id: string, owner: string): Promise<boolean> {
    await this.outsideTransactions();
    return this.open().completeItem.run(queue, id, owner).changes > 0;
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = `lock:${name}`;
    const owner = randomUUID();
    const giveUpAt = Date.now() + this.lockWaitMs;
    for (;;) {
      await this.outsideTransactions();
      if (this.claimWith(key, owner, LOCK_LEASE_SECONDS)) break;
      if (Date.now() > giveUpAt) throw new StoreError(`timed out waiting for the lock "${name}" in ${this.description}`, 'store_lock', { name, store: this.description });
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    try {
      return await fn();
    } finally {
      // Only our own lease: if it expired and someone else took it, theirs stays.
      await this.outsideTransactions();
      this.open().deleteIf.run(key, owner);
    }
  }

  database(): SqlDatabase {
    const executor = (): SqlExecutor => ({
      dialect: 'sqlite',
      run: async (sql, params = []) => this.statement(sql).run(...params).changes,
      all: async <Row extends object>(sql: string, params: SqlValue[] = []) => this.statement(sql).all(...params) as Row[],
    });
    const inside = executor();
    return {
      dialect: 'sqlite',
      run: async (sql, params) => {
        await this.outsideTransactions();
        return inside.run(sql, params);
      },
      all: async <Row extends object>(sql: string, params?: SqlValue[]) => {
        await this.outsideTransactions();
        return inside.all<Row>(sql, params);
      },
      transaction: (work) => this.transaction(() => work(inside)),
      migrate: (module: string, steps: MigrationStep[]) =>
        this.transaction(() => applySteps(inside, 'wxbridge_meta', module, steps, (name) => `wxbridge_${name}`)),
    };
  }

  /**
   * One transaction at a time on this handle: better-sqlite3 runs statements at once, so
   * anything else reaching the handle between the awaits of `work` would land inside it.
   * IMMEDIATE takes the write lock up front, so processes sharing the file wait for each other.
   */
  private transaction<T>(work: () => Promise<T>): Promise<T> {
    this.queuedTransactions++;
    const run = async (): Promise<T> => {
      const db = this.handle();
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work();
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    };
    const result = this.transactions.then(run, run).finally(() => this.queuedTransactions--);
    this.transactions = result.catch(() => undefined);
    return result;
  }

  private async outsideTransactions(): Promise<void> {
    while (this.queuedTransactions > 0) await this.transactions;
  }

  private statement(sql: string): BetterSqlite3.Statement {
    let prepared = this.prepared.get(sql);
    if (!prepared) {
      prepared = this.handle().prepare(qualifyTables(sql, (name) => `wxbridge_${name}`));
      this.prepared.set(sql, prepared);
    }
    return prepared;
  }

  private handle(): Database {
    this.open();
    return this.db!;
  }

  async close(): Promise<void> {
    this.prepared.clear();
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
    const st = this.open();
    st.sweep.run(now);
    st.sweepQueue.run(now);
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
      replace: db.prepare(
        'UPDATE wxbridge_kv SET value = ?, expires_at = ? WHERE key = ? AND value = ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      sweep: db.prepare('DELETE FROM wxbridge_kv WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      dropExpiredItem: db.prepare('DELETE FROM wxbridge_queue WHERE queue = ? AND id = ? AND done = 1 AND keep_until <= ?'),
      enqueue: db.prepare('INSERT INTO wxbridge_queue (queue, id, payload, keep_until) VALUES (?, ?, ?, ?) ON CONFLICT (queue, id) DO NOTHING'),
      nextItem: db.prepare(
        `SELECT seq, id, payload, attempts FROM wxbridge_queue
         WHERE queue = ? AND done = 0 AND (lease_until IS NULL OR lease_until <= ?) ORDER BY seq LIMIT 1`,
      ),
      leaseItem: db.prepare('UPDATE wxbridge_queue SET owner = ?, lease_until = ?, attempts = attempts + 1 WHERE seq = ?'),
      renewItem: db.prepare('UPDATE wxbridge_queue SET lease_until = ? WHERE queue = ? AND id = ? AND owner = ? AND done = 0'),
      completeItem: db.prepare(
        "UPDATE wxbridge_queue SET done = 1, payload = '', owner = NULL, lease_until = NULL WHERE queue = ? AND id = ? AND owner = ? AND done = 0",
      ),
      sweepQueue: db.prepare('DELETE FROM wxbridge_queue WHERE done = 1 AND keep_until <= ?'),
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
    throw new StoreError(`the SQLite driver (better-sqlite3) could not be loaded: ${(err as Error).message}`, 'store_driver', { driver: 'better-sqlite3', detail: (err as Error).message });
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
