/**
 * PostgreSQL for tests: WXBRIDGE_PG_URL or the local default. Each call gets its own
 * schema, so parallel runs never collide; drop it afterwards. When PostgreSQL cannot
 * be reached the tests skip, unless WXBRIDGE_REQUIRE_PG=1 (CI), where they fail.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { PostgresStoreConfig } from '../../../lib/store';

export const PG_URL = process.env.WXBRIDGE_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const PG_REQUIRED = process.env.WXBRIDGE_REQUIRE_PG === '1';

let reachable: Promise<string | null> | null = null;

/** null when reachable, otherwise why not. */
function probe(): Promise<string | null> {
  reachable ??= (async () => {
    const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/**
 * Call in a mocha `before`: skips the suite when PostgreSQL is unreachable and not
 * required; throws (failing the suite) when it is required.
 */
export async function requirePostgres(context: Mocha.Context): Promise<void> {
  const problem = await probe();
  if (!problem) return;
  if (PG_REQUIRED) throw new Error(`PostgreSQL is required (WXBRIDGE_REQUIRE_PG=1) but unreachable at ${PG_URL}: ${problem}`);
  context.skip();
}

export function uniqueSchema(): string {
  return `wxb_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function pgConfig(schema: string, extra: Partial<PostgresStoreConfig> = {}): PostgresStoreConfig {
  return { kind: 'postgres', connectionString: PG_URL, schema, ...extra };
}

/** Runs fn with a connected client of its own, closed afterwards. */
export async function withPostgres<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withPostgres((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/**
 * Call inside a `describe`: a fresh schema for its tests. The suite needs PostgreSQL
 * (see requirePostgres) and drops the schema when it is done.
 */
export function usePostgresSchema(): string {
  const schema = uniqueSchema();
  before(function () {
    return requirePostgres(this);
  });
  after(() => dropSchema(schema).catch(() => undefined));
  return schema;
}
