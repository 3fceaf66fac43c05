/** The PostgreSQL server the benchmarks use when it is there (the same one as the tests). */
import { Client } from 'pg';

export const PG_URL = process.env.WXBRIDGE_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export async function pgReachable(): Promise<boolean> {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
