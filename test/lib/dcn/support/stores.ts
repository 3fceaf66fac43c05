/**
 * The hub's tables must behave the same on both databases: `onBothStores` runs a
 * suite once on a fresh SQLite file per test and once on PostgreSQL, each test with
 * tables of its own (a table prefix in one schema dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, createStore } from '../../../../lib/store';
import { pgConfig, usePostgresSchema } from '../../store/pg-support';

export type StoreKindName = 'sqlite' | 'postgres';

export function onBothStores(title: string, suite: (open: () => Store, kind: StoreKindName) => void): void {
  describe(`${title} on sqlite`, () => {
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    suite(() => {
      const dir = mkdtempSync(join(tmpdir(), 'wxb-dcn-'));
      dirs.push(dir);
      return createStore({ kind: 'sqlite', path: join(dir, 'dcn.sqlite') });
    }, 'sqlite');
  });
  describe(`${title} on postgres`, () => {
    const schema = usePostgresSchema();
    suite(() => createStore(pgConfig(schema, { tablePrefix: `t${randomBytes(4).toString('hex')}_` })), 'postgres');
  });
}
