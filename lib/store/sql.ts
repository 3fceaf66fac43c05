/**
 * SQL for the modules that keep tables in the package's store: a connection to run
 * statements on, transactions, and versioned migrations that each module owns. The KV
 * and queue tables are the "core" module; the WF-DCN cache, registry and outbox are
 * modules of their own. Statements are written once with `?` placeholders and table
 * names in braces (`{dcn_cache}`); the store turns them into its dialect and into its
 * qualified table names (schema and prefix on PostgreSQL, `wxbridge_` on SQLite).
 */
import { StoreError, checkSchemaVersion } from './types';

export type SqlDialect = 'sqlite' | 'postgres';
export type SqlValue = string | number | bigint | boolean | null | Buffer;

export interface SqlExecutor {
  readonly dialect: SqlDialect;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /** Runs a query; resolves with its rows. */
  all<Row extends object>(sql: string, params?: SqlValue[]): Promise<Row[]>;
}

/** Statements inside a transaction, which may set parts of itself apart. */
export interface SqlTransaction extends SqlExecutor {
  /**
   * Runs `work` (statements on this transaction) under a savepoint: kept when it
   * resolves; when it rejects, exactly what it did is undone, the rejection passes on,
   * and the transaction goes on. One commit can so hold several all-or-nothing parts.
   */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it
   * rejects. Other work on this store waits until it is done.
   */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /**
   * Brings `module`'s tables to the last of its steps; each step runs once per
   * database, in order, in a transaction of its own, and instances migrating at once
   * wait for each other. A database newer than the steps is refused.
   */
  migrate(module: string, steps: MigrationStep[]): Promise<void>;
}

/**
 * Savepoints on a transaction, the same on both databases. `control` runs a statement
 * of transaction control. Should undoing a savepoint itself fail, what it did may still
 * be there: `broken()` then says so, and the store rolls the transaction back instead of
 * committing it.
 */
export function withSavepoints(tx: SqlExecutor, control: (sql: string) => Promise<unknown>): { tx: SqlTransaction; broken(): Error | undefined } {
  let made = 0;
  let broken: Error | undefined;
  const savepoint = async <T>(work: () => Promise<T>): Promise<T> => {
    const name = `wxbridge_part_${++made}`;
    await control(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await work();
    } catch (err) {
      try {
        await control(`ROLLBACK TO SAVEPOINT ${name}`);
        await control(`RELEASE SAVEPOINT ${name}`);
      } catch (undoErr) {
        broken ??= undoErr as Error;
      }
      throw err;
    }
    await control(`RELEASE SAVEPOINT ${name}`);
    return result;
  };
  return { tx: { dialect: tx.dialect, run: (sql, params) => tx.run(sql, params), all: (sql, params) => tx.all(sql, params), savepoint }, broken: () => broken };
}

/** One schema step: the same SQL for both dialects, or one per dialect. */
export type MigrationStep = string | { sqlite: string; postgres: string };

/** The meta-table row that holds a module's schema version; the core module keeps the original name. */
export function versionKey(module: string): string {
  return module === 'core' ? 'schema_version' : `schema_version:${module}`;
}

export function checkModuleName(module: string): string {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(module)) throw new StoreError(`module name "${module}" must be lower-case letters, digits and underscores`, 'store_identifier', { what: 'module name', value: module });
  return module;
}

export function stepSql(step: MigrationStep, dialect: SqlDialect): string {
  return typeof step === 'string' ? step : step[dialect];
}

/** Replaces `{name}` with the qualified name of table `name`; names are plain identifiers only. */
export function qualifyTables(sql: string, qualify: (name: string) => string): string {
  return sql.replace(/\{([a-z][a-z0-9_]*)\}/g, (_m, name: string) => qualify(name));
}

/** `?` placeholders to PostgreSQL's `$1, $2, …`; a `?` inside a quoted literal stays as it is. */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/**
 * Applies the steps `module` has not seen, given an executor inside a transaction that
 * already holds the migration lock. Shared by both stores.
 */
export async function applySteps(tx: SqlExecutor, meta: string, module: string, steps: MigrationStep[], qualify: (name: string) => string): Promise<void> {
  const key = versionKey(checkModuleName(module));
  const rows = await tx.all<{ value: string }>(`SELECT value FROM ${meta} WHERE name = ?`, [key]);
  const version = rows[0] ? Number(rows[0].value) : 0;
  checkSchemaVersion(version, steps.length, module);
  if (version === steps.length) return;
  for (let i = version; i < steps.length; i++) {
    for (const statement of splitStatements(qualifyTables(stepSql(steps[i], tx.dialect), qualify))) await tx.run(statement);
  }
  await tx.run(`INSERT INTO ${meta} (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [key, String(steps.length)]);
}

/** A step may hold several statements separated by `;` (none of ours has one inside a literal). */
function splitStatements(sql: string): string[] {
  return sql
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
