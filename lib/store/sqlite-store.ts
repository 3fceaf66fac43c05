/**
 * The embedded store: one SQLite file (by default in the Node-RED userDir), through
 * better-sqlite3. The driver is required on first use, so the package still loads
 * where the native module cannot; the error then surfaces on the first operation.
 * Several processes may share the file: claims are single atomic statements and
 * locks are leases (rows with an expiry), so a crashed holder frees its lock.
 *
 * Several handles share the file inside one process too (each node that uses the
 * embedded store opens its own), and a transaction holds the file's write lock across
 * the awaits of its work. The driver's own busy wait would block the thread that holder
 * needs to finish, so it is off (busy_timeout 0): a statement that finds the file locked
 * is tried again after a pause on a timer, and the event loop keeps turning meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { MigrationStep, SqlDatabase, SqlExecutor, SqlTransaction, SqlValue, applySteps, qualifyTables, withSavepoints } from './sql';
import { QueueItem, SqliteStoreConfig, SqliteSynchronous, Store, StoreError, StoreOptions, checkSchemaVersion, checkSynchronous } from './types';

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
/** Pauses between attempts at a locked file: the first, doubling up to the longest, each with jitter. */
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

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

/** A transaction waiting for its group: its work and how to settle it once the group committed. */
interface GroupMember {
  work: (file: OpenFile) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** The most transactions one commit serves: bounds how long the first of a group waits for it. */
const MAX_GROUP = 64;
const MEMBER_SAVEPOINT = 'wxbridge_transaction';

/** The file once opened and migrated: the connection, the core statements and those of database(). */
interface OpenFile {
  db: Database;
  statements: Statements;
  prepared: Map<string, BetterSqlite3.Statement>;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  private readonly now: () => number;
  private readonly lockWaitMs: number;
  private readonly synchronous: SqliteSynchronous;
  /** Set by the first operation; every operation awaits it. */
  private opening: Promise<OpenFile> | null = null;
  private lastSweep = 0;
  /** Transactions run one at a time; other operations wait while any is queued (see transaction()). */
  private transactions: Promise<unknown> = Promise.resolve();
  private queuedTransactions = 0;
  /** Transactions not yet begun, and whether a group is being committed (see transaction()). */
  private readonly waiting: GroupMember[] = [];
  private committing = false;

  constructor(
    private readonly config: SqliteStoreConfig,
    options: StoreOptions = {},
  ) {
    this.description = `SQLite ${config.path}`;
    this.synchronous = checkSynchronous(config.synchronous);
    this.now = options.now ?? Date.now;
    this.lockWaitMs = options.lockWaitMs ?? 30_000;
  }

  async get(key: string): Promise<string | undefined> {
    return this.outside(({ statements }) => statements.get.get(key, this.now())?.value);
  }

  async put(key: string, value: string, ttlSeconds?: number): Promise<void> {
    await this.outside(({ statements }) => statements.put.run(key, value, ttlSeconds === undefined ? null : this.now() + ttlSeconds * 1000));
    await this.sweepSometimes();
  }

  async delete(key: string, ifValue?: string): Promise<boolean> {
    const result = await this.outside(({ statements }) => (ifValue === undefined ? statements.delete.run(key) : statements.deleteIf.run(key, ifValue)));
    return result.changes > 0;
  }

  async claim(key: string, ttlSeconds: number, value = '1'): Promise<boolean> {
    return this.claimWith(key, value, ttlSeconds);
  }

  async replace(key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean> {
    const result = await this.outside(({ statements }) => {
      const now = this.now();
      return statements.replace.run(value, ttlSeconds === undefined ? null : now + ttlSeconds * 1000, key, expected, now);
    });
    return result.changes > 0;
  }

  async enqueue(queue: string, id: string, payload: string, keepSeconds: number): Promise<boolean> {
    const added = await this.outside(({ db, statements }) =>
      immediately(db, () => {
        const now = this.now();
        // A done item whose keep time is over no longer counts as a repeat, even before the sweep removed it.
        statements.dropExpiredItem.run(queue, id, now);
        return statements.enqueue.run(queue, id, payload, now + keepSeconds * 1000).changes > 0;
      }),
    );
    await this.sweepSometimes();
    return added;
  }

  async takeNext(queue: string, owner: string, leaseSeconds: number): Promise<QueueItem | null> {
    // IMMEDIATE: two processes sharing the file never lease the same item.
    return this.outside(({ db, statements }) =>
      immediately(db, () => {
        const now = this.now();
        const row = statements.nextItem.get(queue, now);
        if (!row) return null;
        statements.leaseItem.run(owner, now + leaseSeconds * 1000, row.seq);
        return { id: row.id, payload: row.payload, attempts: row.attempts + 1 };
      }),
    );
  }

  async renewLease(queue: string, id: string, owner: string, leaseSeconds: number): Promise<boolean> {
    const result = await this.outside(({ statements }) => statements.renewItem.run(this.now() + leaseSeconds * 1000, queue, id, owner));
    return result.changes > 0;
  }

  async complete(queue: string, id: string, owner: string): Promise<boolean> {
    const result = await this.outside(({ statements }) => statements.completeItem.run(queue, id, owner));
    return result.changes > 0;
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = `lock:${name}`;
    const owner = randomUUID();
    const giveUpAt = Date.now() + this.lockWaitMs;
    while (!(await this.claimWith(key, owner, LOCK_LEASE_SECONDS))) {
      if (Date.now() > giveUpAt) throw new StoreError(`timed out waiting for the lock "${name}" in ${this.description}`, 'store_lock', { name, store: this.description });
      await pause(LOCK_POLL_MS);
    }
    try {
      return await fn();
    } finally {
      // Only our own lease: if it expired and someone else took it, theirs stays.
      await this.outside(({ statements }) => statements.deleteIf.run(key, owner));
    }
  }

  database(): SqlDatabase {
    return {
      dialect: 'sqlite',
      run: (sql, params = []) => this.outside((file) => prepared(file, sql).run(...params).changes),
      all: <Row extends object>(sql: string, params: SqlValue[] = []) => this.outside((file) => prepared(file, sql).all(...params) as Row[]),
      transaction: <T>(work: (tx: SqlTransaction) => Promise<T>) =>
        this.transaction(async (file) => {
          const parts = withSavepoints(insideTransaction(file), async (sql) => file.db.exec(sql));
          const result = await work(parts.tx);
          const broken = parts.broken();
          if (broken) throw broken;
          return result;
        }),
      migrate: (module: string, steps: MigrationStep[]) =>
        this.transaction((file) => applySteps(insideTransaction(file), 'wxbridge_meta', module, steps, (name) => `wxbridge_${name}`)),
    };
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = null;
    // A file still being opened is closed once it is open, not left open behind our back.
    const file = await opening?.catch(() => null);
    file?.db.close();
  }

  /**
   * One transaction at a time on this handle: better-sqlite3 runs statements at once, so
   * anything else reaching the handle between the awaits of `work` would land inside it.
   * IMMEDIATE takes the write lock up front, so handles and processes sharing the file
   * wait for each other here (asynchronously), and no statement inside finds it busy.
   *
   * Group commit: the transactions queued while one commits run next as one group, one
   * after the other inside ONE database transaction, each under a savepoint of its own.
   * Each is still all or nothing: one whose work rejects is rolled back to its savepoint
   * (the others keep theirs), and none resolves before the group's commit, which a
   * failing commit rejects for all. A commit with synchronous=FULL waits for the disk,
   * and holds the thread while it does, so under load one flush serves many.
   */
  private transaction<T>(work: (file: OpenFile) => Promise<T>): Promise<T> {
    this.queuedTransactions++;
    const result = new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
    }).finally(() => this.queuedTransactions--);
    if (!this.committing) this.transactions = this.commitWaiting();
    return result;
  }

  /**
   * Commits the waiting transactions, a group at a time, until none waits. Before each
   * group the event loop turns once: a commit holds the thread, so requests that arrived
   * meanwhile are still unread in their sockets, and this lets them join the group.
   */
  private async commitWaiting(): Promise<void> {
    this.committing = true;
    try {
      while (this.waiting.length > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        await this.commitGroup(this.waiting.splice(0, MAX_GROUP));
      }
    } finally {
      this.committing = false;
    }
  }

  /** One database transaction for the group; settles every member, never rejects. */
  private async commitGroup(group: GroupMember[]): Promise<void> {
    let file: OpenFile;
    try {
      file = await this.opened();
      await this.whileLocked(() => file.db.exec('BEGIN IMMEDIATE'));
    } catch (err) {
      for (const member of group) member.reject(err);
      return;
    }
    const done: Array<{ member: GroupMember; value: unknown }> = [];
    for (const [i, member] of group.entries()) {
      try {
        file.db.exec(`SAVEPOINT ${MEMBER_SAVEPOINT}`);
        const value = await member.work(file);
        file.db.exec(`RELEASE ${MEMBER_SAVEPOINT}`);
        done.push({ member, value });
      } catch (err) {
        if (!file.db.inTransaction) {
          // SQLite rolled the whole transaction back (a full disk, an I/O error): the group's earlier work went with it.
          for (const other of [...done.map((d) => d.member), ...group.slice(i)]) other.reject(err);
          return;
        }
        file.db.exec(`ROLLBACK TO ${MEMBER_SAVEPOINT}`);
        file.db.exec(`RELEASE ${MEMBER_SAVEPOINT}`);
        member.reject(err);
      }
    }
    try {
      // In WAL mode a commit never waits; should the file not be in WAL, it waits for readers.
      await this.whileLocked(() => file.db.exec('COMMIT'));
    } catch (err) {
      if (file.db.inTransaction) file.db.exec('ROLLBACK');
      for (const { member } of done) member.reject(err);
      return;
    }
    for (const { member, value } of done) member.resolve(value);
  }

  /**
   * Runs `step` (synchronous, so nothing else reaches the handle meanwhile) once no
   * transaction of this handle is queued; while the file is locked, again after a pause.
   * A step that failed on the lock changed nothing, so trying it again is safe.
   */
  private async outside<T>(step: (file: OpenFile) => T): Promise<T> {
    const file = await this.opened();
    const wait = new LockWait(this.lockWaitMs, this.description);
    for (;;) {
      // Checked again right before the step: a transaction may have started during any pause.
      while (this.queuedTransactions > 0) await this.transactions;
      try {
        return step(file);
      } catch (err) {
        if (!isLockedOut(err)) throw err;
        // In autocommit mode a failed statement leaves no transaction, but a step of several might.
        if (file.db.inTransaction) file.db.exec('ROLLBACK');
        await wait.pause();
      }
    }
  }

  /** Runs `step` again, after a pause, while the file is locked by another handle or process. */
  private async whileLocked<T>(step: () => T, wait = new LockWait(this.lockWaitMs, this.description)): Promise<T> {
    for (;;) {
      try {
        return step();
      } catch (err) {
        if (!isLockedOut(err)) throw err;
        await wait.pause();
      }
    }
  }

  private opened(): Promise<OpenFile> {
    this.opening ??= this.openFile().catch((err: unknown) => {
      // Tried again by the next operation: the file may be usable by then.
      this.opening = null;
      throw err;
    });
    return this.opening;
  }

  /**
   * Opens the file, switches it to WAL (readers then never wait for the writer), sets when
   * a commit reaches the disk (per connection: every handle sets its own) and brings
   * the schema up to date. Handles opening a new file at once race for both steps; the
   * loser finds the file locked and simply waits its turn.
   */
  private async openFile(): Promise<OpenFile> {
    const db = openDatabase(this.config.path);
    // One budget for opening as a whole.
    const wait = new LockWait(this.lockWaitMs, this.description);
    try {
      if (this.config.path !== ':memory:') await this.whileLocked(() => db.pragma('journal_mode = WAL'), wait);
      db.pragma(`synchronous = ${this.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      await this.whileLocked(() => migrate(db), wait);
      return { db, statements: prepareStatements(db), prepared: new Map() };
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private async claimWith(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const result = await this.outside(({ statements }) => {
      const now = this.now();
      return statements.claim.run(key, value, now + ttlSeconds * 1000, now);
    });
    await this.sweepSometimes();
    return result.changes > 0;
  }

  /** Expired rows read as absent anyway; this only keeps the file from growing. */
  private async sweepSometimes(): Promise<void> {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    await this.outside(({ db, statements }) =>
      immediately(db, () => {
        statements.sweep.run(now);
        statements.sweepQueue.run(now);
      }),
    );
  }
}

/**
 * Waits between attempts at a locked file: a few ms, doubling up to 50, each pause
 * drawn at random from its upper half so that waiters do not retry in step. The budget
 * starts at the first lock found, so time spent queued behind this handle's own
 * transactions does not count; once spent, a StoreError.
 */
class LockWait {
  private next = FIRST_PAUSE_MS;
  private giveUpAt: number | null = null;

  constructor(
    private readonly budgetMs: number,
    private readonly store: string,
  ) {}

  async pause(): Promise<void> {
    const now = Date.now();
    this.giveUpAt ??= now + this.budgetMs;
    const left = this.giveUpAt - now;
    if (left <= 0) {
      throw new StoreError(`the store ${this.store} stayed locked by another writer for more than ${this.budgetMs} ms`, 'store_busy', { store: this.store, ms: this.budgetMs });
    }
    const ms = this.next / 2 + Math.random() * (this.next / 2);
    this.next = Math.min(this.next * 2, LONGEST_PAUSE_MS);
    await pause(Math.min(ms, left));
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** SQLITE_BUSY (another connection holds the lock) and SQLITE_LOCKED, with their extended codes. */
function isLockedOut(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Runs `work` (synchronous) in an IMMEDIATE transaction: committed when it returns, rolled back when it throws. */
function immediately<T>(db: Database, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/** Statements of database() users, prepared once per open file. */
function prepared(file: OpenFile, sql: string): BetterSqlite3.Statement {
  let statement = file.prepared.get(sql);
  if (!statement) {
    statement = file.db.prepare(qualifyTables(sql, (name) => `wxbridge_${name}`));
    file.prepared.set(sql, statement);
  }
  return statement;
}

/** Statements inside a transaction of this handle, which holds the write lock: they run as they are. */
function insideTransaction(file: OpenFile): SqlExecutor {
  return {
    dialect: 'sqlite',
    run: async (sql, params = []) => prepared(file, sql).run(...params).changes,
    all: async <Row extends object>(sql: string, params: SqlValue[] = []) => prepared(file, sql).all(...params) as Row[],
  };
}

function prepareStatements(db: Database): Statements {
  return {
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
  // Never the driver's busy wait: it would block the thread, and with it the lock holder (see above).
  db.pragma('busy_timeout = 0');
  return db;
}

/**
 * Brings the schema up to date; IMMEDIATE so two processes never migrate at once. Every
 * part may be run again after finding the file locked: each is idempotent or rolled back.
 */
function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS wxbridge_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
  immediately(db, () => {
    const row = db.prepare("SELECT value FROM wxbridge_meta WHERE name = 'schema_version'").get() as { value: string } | undefined;
    const version = row ? Number(row.value) : 0;
    checkSchemaVersion(version, MIGRATIONS.length);
    for (let i = version; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]);
    db.prepare(
      "INSERT INTO wxbridge_meta (name, value) VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    ).run(String(MIGRATIONS.length));
  });
}
