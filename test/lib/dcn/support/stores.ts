/**
 * The hub's tables must behave the same on both databases: `onBothStores` runs a
 * suite once on a fresh SQLite file per test and once on PostgreSQL, each test with
 * tables of its own (a table prefix in one schema dropped afterwards). `reopen` opens
 * the database of the last `open` again, as a restarted process would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StoreConfig, createStore } from '../../../../lib/store';
import { pgConfig, usePostgresSchema } from '../../store/pg-support';

export type StoreKindName = 'sqlite' | 'postgres';

export interface StoreOpeners {
  open: () => Store;
  reopen: () => Store;
}

export function onBothStores(title: string, suite: (open: () => Store, kind: StoreKindName, reopen: () => Store) => void): void {
  describe(`${title} on sqlite`, () => {
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    const openers = opening(() => {
      const dir = mkdtempSync(join(tmpdir(), 'wxb-dcn-'));
      dirs.push(dir);
      return { kind: 'sqlite', path: join(dir, 'dcn.sqlite') };
    });
    suite(openers.open, 'sqlite', openers.reopen);
  });
  describe(`${title} on postgres`, () => {
    const schema = usePostgresSchema();
    const openers = opening(() => pgConfig(schema, { tablePrefix: `t${randomBytes(4).toString('hex')}_` }));
    suite(openers.open, 'postgres', openers.reopen);
  });
}

function opening(fresh: () => StoreConfig): StoreOpeners {
  let last: StoreConfig | null = null;
  return {
    open: () => createStore((last = fresh())),
    reopen: () => {
      if (!last) throw new Error('reopen() before open()');
      return createStore(last);
    },
  };
}
