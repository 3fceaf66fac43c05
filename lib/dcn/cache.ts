/**
 * The data cache (SMP's CDB): (package, MBO, key) → row, written by the :upsert and
 * :delete messages of DCN requests and read back by apps "retrieving data from the
 * cache". The MBOs are those configured on the hub; a message naming another MBO, an
 * attribute the MBO does not list, or lacking a key attribute fails.
 *
 * Rules [U] (the SMP documentation is silent; ../../README.md "WF-DCN hub" says so):
 * - packages are compared without their `:version`;
 * - a key value is compared by its text, so `77` and `"77"` name the same row (CDB key
 *   columns are typed; a sender writing either means the same row);
 * - :upsert merges: attributes it names replace the stored ones, others stay;
 * - :delete needs only the key attributes and ignores any others.
 *
 * One table, module `dcn_cache`; writes join the caller's transaction (applyInTx, writeInTx).
 */
import type { MigrationStep, SqlDatabase, SqlExecutor } from '../store/sql';
import { checkName, empty, expected, isPlainObject, typeName } from './checks';
import { withoutVersion } from './request';
import { ModuleTables } from '../store/module-tables';
import { CachedRow, DcnError, DcnMessage, MboDefinition } from './types';

const MODULE = 'dcn_cache';

const STEPS: MigrationStep[] = [
  {
    sqlite: `CREATE TABLE IF NOT EXISTS {dcn_cache} (
       package TEXT NOT NULL,
       mbo TEXT NOT NULL,
       key TEXT NOT NULL,
       row TEXT NOT NULL,
       updated_at INTEGER NOT NULL,
       PRIMARY KEY (package, mbo, key)
     )`,
    // COLLATE "C": rows in byte-wise key order, as SQLite's, whatever the locale.
    postgres: `CREATE TABLE IF NOT EXISTS {dcn_cache} (
       package TEXT COLLATE "C" NOT NULL,
       mbo TEXT COLLATE "C" NOT NULL,
       key TEXT COLLATE "C" NOT NULL,
       row TEXT NOT NULL,
       updated_at BIGINT NOT NULL,
       PRIMARY KEY (package, mbo, key)
     )`,
  },
];

/** A key's stored form stays well inside PostgreSQL's index row limit (about 2.7 kB). */
export const MAX_KEY_BYTES = 1500;
export const DEFAULT_READ_LIMIT = 1000;
const READ_PAGE = 500;

/** What a cache message comes to once checked: the definition, the key's stored form and values. */
export interface CacheChange {
  definition: MboDefinition;
  op: ':upsert' | ':delete';
  key: string;
  cols: Record<string, unknown>;
}

interface Row {
  key: string;
  row: string;
  updated_at: number | string;
}

export class DataCache {
  private readonly definitions = new Map<string, MboDefinition>();
  private readonly tables: ModuleTables;
  private readonly now: () => number;

  constructor(
    private readonly db: SqlDatabase,
    mbos: MboDefinition[],
    options: { now?: () => number } = {},
  ) {
    for (const mbo of checkMboDefinitions(mbos)) this.definitions.set(definitionKey(mbo.package, mbo.name), mbo);
    this.tables = new ModuleTables(db, MODULE, STEPS);
    this.now = options.now ?? Date.now;
  }

  migrate(): Promise<void> {
    return this.tables.migrated();
  }

  /** The MBOs this cache knows. */
  mbos(): MboDefinition[] {
    return [...this.definitions.values()];
  }

  /** The MBO `name` of package `pkg` (its version ignored), or a DcnError saying it is unknown. */
  definition(pkg: string, name: string): MboDefinition {
    const found = this.definitions.get(definitionKey(withoutVersion(pkg), name));
    if (!found) {
      throw new DcnError(400, 'dcn_unknown_mbo', `the package ${withoutVersion(pkg)} has no MBO ${name} (MBO names are case-sensitive)`, { package: withoutVersion(pkg), mbo: name });
    }
    return found;
  }

  /** Whether an op writes the cache (:upsert, :delete) rather than naming an MBO operation. */
  static isCacheOperation(op: string): op is ':upsert' | ':delete' {
    return op === ':upsert' || op === ':delete';
  }

  /** Checks a :upsert or :delete message against its MBO without touching the store. */
  check(pkg: string, message: DcnMessage): CacheChange {
    const definition = this.definition(pkg, message.mbo);
    const op = message.op;
    if (!DataCache.isCacheOperation(op)) {
      throw new DcnError(400, 'dcn_not_cache_op', `${op} is a named operation of ${message.mbo}, not :upsert or :delete`, { op, mbo: message.mbo });
    }
    const key = storedKey(definition, message.cols, op);
    if (op === ':upsert' && definition.attributes.length > 0) {
      const allowed = new Set([...definition.keys, ...definition.attributes]);
      const unknown = Object.keys(message.cols).find((name) => !allowed.has(name));
      if (unknown !== undefined) {
        throw new DcnError(400, 'dcn_unknown_attribute', `the MBO ${definition.name} has no attribute ${unknown}`, { mbo: definition.name, attribute: unknown });
      }
    }
    return { definition, op, key, cols: message.cols };
  }

  /** Applies a :upsert or :delete inside the caller's transaction. */
  async applyInTx(tx: SqlExecutor, pkg: string, message: DcnMessage): Promise<void> {
    await this.writeInTx(tx, this.check(pkg, message));
  }

  /** Writes a change `check` made of a message, inside the caller's transaction. */
  async writeInTx(tx: SqlExecutor, change: CacheChange): Promise<void> {
    await this.migrate();
    const where = [change.definition.package, change.definition.name, change.key];
    if (change.op === ':delete') {
      await tx.run('DELETE FROM {dcn_cache} WHERE package = ? AND mbo = ? AND key = ?', [...where]);
      return;
    }
    const now = this.now();
    // Read, merge, write; FOR UPDATE keeps another PostgreSQL instance's merge of the
    // same row waiting (SQLite's write transaction holds the whole file already).
    const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
    for (let attempt = 1; ; attempt++) {
      const rows = await tx.all<{ row: string }>(`SELECT row FROM {dcn_cache} WHERE package = ? AND mbo = ? AND key = ?${lock}`, [...where]);
      if (rows[0]) {
        const merged = { ...(JSON.parse(rows[0].row) as Record<string, unknown>), ...change.cols };
        await tx.run('UPDATE {dcn_cache} SET row = ?, updated_at = ? WHERE package = ? AND mbo = ? AND key = ?', [JSON.stringify(merged), now, ...where]);
        return;
      }
      const inserted = await tx.run('INSERT INTO {dcn_cache} (package, mbo, key, row, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (package, mbo, key) DO NOTHING', [
        ...where,
        JSON.stringify(change.cols),
        now,
      ]);
      // Another instance inserted it meanwhile: merge into theirs (READ COMMITTED sees it now).
      if (inserted > 0) return;
      if (attempt >= 3) throw new Error(`the cache row ${change.key} of ${change.definition.name} could neither be read nor inserted`);
    }
  }

  /**
   * The rows of an MBO in key order, at most `limit` (default 1000). With `key`, only
   * rows whose key attributes named there equal the values given (compared by text,
   * so query-string values match numbers); all key attributes given find one row at once.
   */
  async read(pkg: string, mbo: string, key?: Record<string, unknown>, limit = DEFAULT_READ_LIMIT): Promise<CachedRow[]> {
    const definition = this.definition(pkg, mbo);
    const filter = keyFilter(definition, key ?? {});
    await this.migrate();
    const base = [definition.package, definition.name];
    if (filter.size === definition.keys.length) {
      const rows = await this.db.all<Row>('SELECT key, row, updated_at FROM {dcn_cache} WHERE package = ? AND mbo = ? AND key = ?', [
        ...base,
        keyText(definition.keys.map((k) => filter.get(k)!)),
      ]);
      return rows.slice(0, limit).map((r) => cachedRow(definition, r));
    }
    const found: CachedRow[] = [];
    let after: string | null = null;
    for (;;) {
      const rows: Row[] =
        after === null
          ? await this.db.all<Row>('SELECT key, row, updated_at FROM {dcn_cache} WHERE package = ? AND mbo = ? ORDER BY key LIMIT ?', [...base, READ_PAGE])
          : await this.db.all<Row>('SELECT key, row, updated_at FROM {dcn_cache} WHERE package = ? AND mbo = ? AND key > ? ORDER BY key LIMIT ?', [...base, after, READ_PAGE]);
      for (const row of rows) {
        const cached = cachedRow(definition, row);
        if ([...filter].every(([name, value]) => String(cached.key[name]) === value)) found.push(cached);
        if (found.length === limit) return found;
      }
      if (rows.length < READ_PAGE) return found;
      after = rows[rows.length - 1].key;
    }
  }
}

/**
 * MBO definitions as configured (on the hub node, as JSON): package (its version
 * ignored), name, key attributes (at least one) and attributes (empty: any). Each
 * refusal names the entry and field, e.g. `mbos[1].keys`.
 */
export function checkMboDefinitions(value: unknown): MboDefinition[] {
  if (!Array.isArray(value)) throw expected('array', 'mbos', value);
  const seen = new Set<string>();
  return value.map((entry, i) => {
    const field = `mbos[${i}]`;
    if (!isPlainObject(entry)) throw expected('object', field, entry);
    const pkg = withoutVersion(definitionName(entry.package, `${field}.package`));
    const name = definitionName(entry.name, `${field}.name`);
    const keys = nameList(entry.keys, `${field}.keys`);
    if (keys.length === 0) throw empty(`${field}.keys`);
    const attributes = entry.attributes === undefined || entry.attributes === null ? [] : nameList(entry.attributes, `${field}.attributes`);
    const id = definitionKey(pkg, name);
    if (seen.has(id)) throw new DcnError(400, 'dcn_duplicate_mbo', `${field} defines the MBO ${name} of package ${pkg} a second time`, { field, package: pkg, mbo: name });
    seen.add(id);
    return { package: pkg, name, keys, attributes };
  });
}

function definitionName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw expected('string', field, value);
  const text = value.trim();
  if (text === '') throw empty(field);
  return checkName(text, field);
}

function nameList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw expected('array', field, value);
  const names = value.map((item, i) => definitionName(item, `${field}[${i}]`));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new DcnError(400, 'dcn_duplicate_name', `${field} names ${duplicate} twice`, { field, name: duplicate });
  return names;
}

function definitionKey(pkg: string, name: string): string {
  return `${pkg}\u0000${name}`;
}

/** The key's stored form: the key attributes' values as text, in the definition's order, as a JSON array. */
function storedKey(definition: MboDefinition, cols: Record<string, unknown>, op: string): string {
  const values = definition.keys.map((name) => {
    const value = cols[name];
    if (value === undefined) {
      throw new DcnError(400, 'dcn_missing_key', `${op} of ${definition.name} needs the key attribute ${name}`, { op, mbo: definition.name, key: name });
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new DcnError(400, 'dcn_bad_key_value', `the key attribute ${name} of ${definition.name} must be a string, number or boolean (got ${typeName(value)})`, {
        mbo: definition.name,
        key: name,
        type: typeName(value),
      });
    }
    return String(value);
  });
  const text = keyText(values);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new DcnError(400, 'dcn_key_too_long', `the key of ${definition.name} takes ${bytes} bytes, more than the ${MAX_KEY_BYTES} allowed`, { mbo: definition.name, bytes, max: MAX_KEY_BYTES });
  }
  return text;
}

function keyText(values: string[]): string {
  return JSON.stringify(values);
}

/** A read's key filter: key attributes only, each value compared as text. */
function keyFilter(definition: MboDefinition, key: Record<string, unknown>): Map<string, string> {
  const filter = new Map<string, string>();
  for (const [name, value] of Object.entries(key)) {
    if (!definition.keys.includes(name)) {
      throw new DcnError(400, 'dcn_not_a_key', `${name} is not a key attribute of ${definition.name} (its keys: ${definition.keys.join(', ')})`, {
        mbo: definition.name,
        attribute: name,
        keys: definition.keys.join(', '),
      });
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new DcnError(400, 'dcn_bad_key_value', `the key attribute ${name} of ${definition.name} must be a string, number or boolean (got ${typeName(value)})`, {
        mbo: definition.name,
        key: name,
        type: typeName(value),
      });
    }
    filter.set(name, String(value));
  }
  return filter;
}

function cachedRow(definition: MboDefinition, stored: Row): CachedRow {
  const row = JSON.parse(stored.row) as Record<string, unknown>;
  const key: Record<string, unknown> = {};
  for (const name of definition.keys) key[name] = row[name];
  return { package: definition.package, mbo: definition.name, key, row, updatedAt: new Date(Number(stored.updated_at)).toISOString() };
}
