/**
 * The shared store for several Node-RED instances: PostgreSQL through pg. The driver
 * is required and the schema created or upgraded on first use. Locks are session
 * advisory locks, which PostgreSQL releases by itself if a holder's connection dies.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { MigrationStep, SqlDatabase, SqlExecutor, SqlTransaction, SqlValue, applySteps, numberedPlaceholders, qualifyTables, withSavepoints } from './sql';
import { PostgresStoreConfig, QueueItem, Store, StoreError, StoreOptions, checkIdentifier } from './types';

interface Tables {
  kv: string;
  queue: string;
  meta: string;
  /** Text hashed into advisory-lock keys, so two schemas never share a lock. */
  lockScope: string;
}

/** The core module's schema steps; `{kv}` and `{queue}` name our tables, `{prefix}` is the table prefix (for index names). */
const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS {kv} (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     expires_at BIGINT
   );
   CREATE INDEX IF NOT EXISTS "{prefix}kv_expires" ON {kv} (expires_at);`,
  `CREATE TABLE IF NOT EXISTS {queue} (
     seq BIGSERIAL PRIMARY KEY,
     queue TEXT NOT NULL,
     id TEXT NOT NULL,
     payload TEXT NOT NULL,
     done BOOLEAN NOT NULL DEFAULT FALSE,
     owner TEXT,
     lease_until BIGINT,
     attempts INTEGER NOT NULL DEFAULT 0,
     keep_until BIGINT NOT NULL,
     UNIQUE (queue, id)
   );
   CREATE INDEX IF NOT EXISTS "{prefix}queue_ready" ON {queue} (queue, done, seq);`,
];

const SWEEP_EVERY_MS = 60_000;

/** A pool or one of its clients: what a statement runs on. */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }>;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly description: string;
  private readonly tables: Tables;
  private readonly schema: string;
  private readonly prefix: string;
  /** The pool once connected and migrated; null until the first operation and after close. */
  private ready: Promise<Pool> | null = null;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(
    private readonly config: PostgresStoreConfig,
    options: StoreOptions = {},
  ) {
    this.schema = checkIdentifier(config.schema ?? 'public', 'schema');
    this.prefix = checkIdentifier(config.tablePrefix ?? 'wxbridge_', 'table prefix');
    this.tables = {
      kv: `"${this.schema}"."${this.prefix}kv"`,
      queue: `"${this.schema}"."${this.prefix}queue"`,
      meta: `"${this.schema}"."${this.prefix}meta"`,
      lockScope: `${this.schema}.${this.prefix}`,
    };
    this.description = `PostgreSQL ${describeTarget(config)} (${this.schema}.${this.prefix}*)`;
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<string | undefined> {
    const pool = await this.open();
    const result = await pool.query<{ value: string }>(
      `SELECT value FROM ${this.tables.kv} WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)`,
      [key, this.now()],
    );
    return result.rows[0]?.value;
  }

  async put(key: string, value: string, ttlSeconds?: number): Promise<void> {
    const pool = await this.open();
    await pool.query(
      `INSERT INTO ${this.tables.kv} (key, value, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [key, value, ttlSeconds === undefined ? null : this.now() + ttlSeconds * 1000],
    );
    await this.sweepSometimes(pool);
  }

  async delete(key: string, ifValue?: string): Promise<boolean> {
    const pool = await this.open();
    const result =
      ifValue === undefined
        ? await pool.query(`DELETE FROM ${this.tables.kv} WHERE key = $1`, [key])
        : await pool.query(`DELETE FROM ${this.tables.kv} WHERE key = $1 AND value = $2`, [key, ifValue]);
    return (result.rowCount ?? 0) > 0;
  }

  async claim(key: string, ttlSeconds: number, value = '1'): Promise<boolean> {
    const pool = await this.open();
    const now = this.now();
    // One statement: PostgreSQL serialises the conflict, so exactly one caller wins.
    const result = await pool.query(
      `INSERT INTO ${this.tables.kv} AS kv (key, value, expires_at) VALUES ($1, $4, $2)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
       WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= $3`,
      [key, now + ttlSeconds * 1000, now, value],
    );
    await this.sweepSometimes(pool);
    return (result.rowCount ?? 0) > 0;
  }

  async replace(key: string, expected: string, value: string, ttlSeconds?: number): Promise<boolean> {
    const pool = await this.open();
    const now = this.now();
    const result = await pool.query(
      `UPDATE ${this.tables.kv} SET value = $1, expires_at = $2
       WHERE key = $3 AND value = $4 AND (expires_at IS NULL OR expires_at > $5)`,
      [value, ttlSeconds === undefined ? null : now + ttlSeconds * 1000, key, expected, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async enqueue(queue: string, id: string, payload: string, keepSeconds: number): Promise<boolean> {
    const pool = await this.open();
    const now = this.now();
    // A done item whose keep time is over no longer counts as a repeat, even before the sweep removed it.
    await pool.query(`DELETE FROM ${this.tables.queue} WHERE queue = $1 AND id = $2 AND done AND keep_until <= $3`, [queue, id, now]);
    const result = await pool.query(
      `INSERT INTO ${this.tables.queue} (queue, id, payload, keep_until) VALUES ($1, $2, $3, $4) ON CONFLICT (queue, id) DO NOTHING`,
      [queue, id, payload, now + keepSeconds * 1000],
    );
    await this.sweepSometimes(pool);
    return (result.rowCount ?? 0) > 0;
  }

  async takeNext(queue: string, owner: string, leaseSeconds: number): Promise<QueueItem | null> {
    const pool = await this.open();
    const now = this.now();
    // SKIP LOCKED: instances polling at once each lease a different item, none waits on another.
    const result = await pool.query<{ id: string; payload: string; attempts: number }>(
      `UPDATE ${this.tables.queue} SET owner = $1, lease_until = $2, attempts = attempts + 1
       WHERE seq = (SELECT seq FROM ${this.tables.queue}
                    WHERE queue = $3 AND NOT done AND (lease_until IS NULL OR lease_until <= $4)
                    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, payload, attempts`,
      [owner, now + leaseSeconds * 1000, queue, now],
    );
    return result.rows[0] ?? null;
  }

  async renewLease(queue: string, id: string, owner: string, leaseSeconds: number): Promise<boolean> {
    const pool = await this.open();
    const result = await pool.query(
      `UPDATE ${this.tables.queue} SET lease_until = $1 WHERE queue = $2 AND id = $3 AND owner = $4 AND NOT done`,
      [this.now() + leaseSeconds * 1000, queue, id, owner],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async complete(queue: string, id: string, owner: string): Promise<boolean> {
    const pool = await this.open();
    const result = await pool.query(
      `UPDATE ${this.tables.queue} SET done = TRUE, payload = '', owner = NULL, lease_until = NULL
       WHERE queue = $1 AND id = $2 AND owner = $3 AND NOT done`,
      [queue, id, owner],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const pool = await this.open();
    const client = await pool.connect();
    const lockKey = `${this.tables.lockScope}:${name}`;
    let broken: Error | undefined;
    const discard = (err: Error) => {
      // Discarding the connection ends the session, which releases any lock it holds.
      broken = err;
      throw err;
    };
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]).catch(discard);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch((err: Error) => {
          broken = err;
        });
      }
    } finally {
      client.release(broken);
    }
  }

  /** Statements on a pool or one client, with our placeholders and table names. */
  private executorOn(query: () => Promise<Queryable>): SqlExecutor {
    const prepare = (sql: string) => numberedPlaceholders(qualifyTables(sql, (name) => this.table(name)));
    return {
      dialect: 'postgres',
      run: async (sql, params = []) => ((await (await query()).query(prepare(sql), params)).rowCount ?? 0),
      all: async <Row extends object>(sql: string, params: SqlValue[] = []) => (await (await query()).query(prepare(sql), params)).rows as Row[],
    };
  }

  database(): SqlDatabase {
    const on = (query: () => Promise<Queryable>) => this.executorOn(query);
    const transaction = async <T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> => {
      const client = await (await this.open()).connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const parts = withSavepoints(on(async () => client), (sql) => client.query(sql));
        const result = await work(parts.tx);
        const undoFailed = parts.broken();
        if (undoFailed) throw undoFailed;
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
        throw err;
      } finally {
        client.release(broken);
      }
    };
    return {
      ...on(() => this.open()),
      transaction,
      migrate: (module: string, steps: MigrationStep[]) =>
        transaction(async (tx) => {
          // Instances starting together migrate one at a time; the lock ends with the transaction.
          await tx.all('SELECT pg_advisory_xact_lock(hashtext(?))', [`${this.tables.lockScope}:migrate:${module}`]);
          await applySteps(tx, this.tables.meta, module, steps, (name) => this.table(name));
        }),
    };
  }

  /** The qualified name of one of our tables. */
  private table(name: string): string {
    return `"${this.schema}"."${this.prefix}${name}"`;
  }

  async close(): Promise<void> {
    const ready = this.ready;
    this.ready = null;
    // A connection still being opened is ended too, once it is there.
    const pool = await ready?.catch(() => null);
    await pool?.end();
  }

  private open(): Promise<Pool> {
    this.ready ??= this.connect().catch((err: Error) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  private async connect(): Promise<Pool> {
    let pg: typeof import('pg');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pg = require('pg');
    } catch (err) {
      throw new StoreError(`the PostgreSQL driver (pg) could not be loaded: ${(err as Error).message}`, 'store_driver', { driver: 'pg', detail: (err as Error).message });
    }
    const pool = new pg.Pool(poolConfig(this.config));
    // An idle client losing its connection must not crash the process.
    pool.on('error', () => undefined);
    try {
      await this.migrate(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new StoreError(`PostgreSQL store ${this.description} is not usable: ${(err as Error).message}`, 'store_unusable', { store: this.description, detail: (err as Error).message });
    }
    return pool;
  }

  /** Creates or upgrades our tables; an advisory lock keeps concurrent instances in line. */
  private async migrate(pool: Pool): Promise<void> {
    const client: PoolClient = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.tables.lockScope}:migrate`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.tables.meta} (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      // The core tables are the "core" module, migrated as every module's are; index names carry the prefix.
      const steps = MIGRATIONS.map((step) => step.replaceAll('{prefix}', this.prefix));
      await applySteps(this.executorOn(async () => client), this.tables.meta, 'core', steps, (name) => this.table(name));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async sweepSometimes(pool: Pool): Promise<void> {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    await pool.query(`DELETE FROM ${this.tables.kv} WHERE expires_at IS NOT NULL AND expires_at <= $1`, [now]);
    await pool.query(`DELETE FROM ${this.tables.queue} WHERE done AND keep_until <= $1`, [now]);
  }
}

function poolConfig(config: PostgresStoreConfig): PoolConfig {
  return {
    connectionString: config.connectionString || undefined,
    host: config.host || undefined,
    port: config.port || undefined,
    database: config.database || undefined,
    user: config.user || undefined,
    password: config.password || undefined,
    ssl: config.ssl ? { rejectUnauthorized: true } : undefined,
    max: config.maxConnections ?? 10,
    connectionTimeoutMillis: 10_000,
  };
}

/** host:port/database without user or password, for messages. */
function describeTarget(config: PostgresStoreConfig): string {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return '(connection string)';
    }
  }
  return `${config.host || 'localhost'}:${config.port || 5432}/${config.database || ''}`;
}
