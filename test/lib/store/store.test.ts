import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MigrationStep, Store, StoreError, createStore, embeddedStoreConfig } from '../../../lib/store';
import { pgConfig, usePostgresSchema, withPostgres } from './pg-support';

interface Clock {
  t: number;
  now: () => number;
}

function clock(): Clock {
  const c: Clock = { t: 1_700_000_000_000, now: () => c.t };
  return c;
}

/** Work that holds its lock for `ms`, and the most holders ever seen inside at once. */
function lockedWork(ms: number): { work: () => Promise<void>; maxInside: () => number } {
  let inside = 0;
  let max = 0;
  const work = async () => {
    inside++;
    max = Math.max(max, inside);
    await new Promise((r) => setTimeout(r, ms));
    inside--;
  };
  return { work, maxInside: () => max };
}

/** The same behaviour is required of both stores. */
function contract(name: string, open: (now: () => number) => Store): void {
  describe(`${name} store contract`, function () {
    let store: Store;
    let time: Clock;

    beforeEach(() => {
      time = clock();
      store = open(time.now);
    });
    afterEach(() => store.close());

    it('stores, overwrites and deletes values', async () => {
      assert.equal(await store.get('a'), undefined);
      await store.put('a', 'one');
      await store.put('a', 'two');
      assert.equal(await store.get('a'), 'two');
      assert.equal(await store.delete('a'), true);
      assert.equal(await store.get('a'), undefined);
      assert.equal(await store.delete('a'), false);
    });

    it('hides values once their ttl has passed', async () => {
      await store.put('ttl', 'v', 30);
      time.t += 29_999;
      assert.equal(await store.get('ttl'), 'v');
      time.t += 1;
      assert.equal(await store.get('ttl'), undefined);
    });

    it('deletes with ifValue only when the stored value matches', async () => {
      await store.put('k', 'theirs');
      assert.equal(await store.delete('k', 'mine'), false);
      assert.equal(await store.get('k'), 'theirs');
      assert.equal(await store.delete('k', 'theirs'), true);
    });

    it('claims a key once within its ttl, again after it expired', async () => {
      assert.equal(await store.claim('msg:1', 30), true);
      assert.equal(await store.claim('msg:1', 30), false);
      assert.equal(await store.claim('msg:2', 30), true);
      time.t += 30_000;
      assert.equal(await store.claim('msg:1', 30), true);
      assert.equal(await store.claim('msg:1', 30), false);
    });

    it('gives a burst of concurrent claims of one key exactly one winner', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.claim('burst', 60)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('claims with a value, and replaces it only while it still holds the expected one', async () => {
      assert.equal(await store.claim('lease', 3, 'pending:a'), true);
      assert.equal(await store.get('lease'), 'pending:a');
      assert.equal(await store.replace('lease', 'pending:b', 'done:b', 30), false, 'not the holder');
      assert.equal(await store.replace('lease', 'pending:a', 'pending:a', 3), true, 'renewed');
      time.t += 2_500;
      assert.equal(await store.claim('lease', 3, 'pending:b'), false, 'the renewed lease still holds');
      assert.equal(await store.replace('lease', 'pending:a', 'done:answer', 30), true);
      assert.equal(await store.get('lease'), 'done:answer');
      time.t += 30_000;
      assert.equal(await store.replace('lease', 'done:answer', 'x', 30), false, 'an expired entry cannot be replaced');
      assert.equal(await store.claim('lease', 3, 'pending:b'), true, 'an expired entry can be claimed again');
    });

    it('queues items once per id, hands each to one holder, and again once a lease ran out', async () => {
      assert.equal(await store.enqueue('q', 'n1', 'first', 60), true);
      assert.equal(await store.enqueue('q', 'n2', 'second', 60), true);
      assert.equal(await store.enqueue('q', 'n1', 'first again', 60), false, 'a repeat of a pending item');
      assert.equal(await store.enqueue('other', 'n1', 'elsewhere', 60), true, 'queues are separate');
      const a = await store.takeNext('q', 'owner-a', 5);
      assert.deepEqual(a, { id: 'n1', payload: 'first', attempts: 1 });
      const b = await store.takeNext('q', 'owner-b', 5);
      assert.deepEqual(b, { id: 'n2', payload: 'second', attempts: 1 });
      assert.equal(await store.takeNext('q', 'owner-b', 5), null, 'both are leased');
      assert.equal(await store.complete('q', 'n2', 'owner-b'), true);
      assert.equal(await store.complete('q', 'n2', 'owner-b'), false, 'done once');
      // owner-a dies holding n1: its lease runs out and the item is handed out again.
      time.t += 4_000;
      assert.equal(await store.renewLease('q', 'n1', 'owner-b', 5), false, 'only the holder renews');
      assert.equal(await store.takeNext('q', 'owner-b', 5), null);
      time.t += 1_000;
      assert.deepEqual(await store.takeNext('q', 'owner-b', 5), { id: 'n1', payload: 'first', attempts: 2 });
      assert.equal(await store.complete('q', 'n1', 'owner-a'), false, 'the dead holder no longer owns it');
      assert.equal(await store.renewLease('q', 'n1', 'owner-b', 5), true);
      assert.equal(await store.complete('q', 'n1', 'owner-b'), true);
      assert.equal(await store.enqueue('q', 'n1', 'within keep', 60), false, 'a done item is still a repeat within its keep time');
      time.t += 60_000;
      assert.equal(await store.enqueue('q', 'n1', 'after keep', 60), true);
      assert.deepEqual(await store.takeNext('q', 'owner-c', 5), { id: 'n1', payload: 'after keep', attempts: 1 });
    });

    it('hands a burst of concurrent takers each item once', async () => {
      for (let i = 0; i < 20; i++) await store.enqueue('burst', `i${i}`, String(i), 60);
      const taken = await Promise.all(Array.from({ length: 30 }, (_, i) => store.takeNext('burst', `w${i}`, 30)));
      const ids = taken.filter((t) => t !== null).map((t) => t!.id);
      assert.equal(ids.length, 20);
      assert.equal(new Set(ids).size, 20);
    });

    const NOTES: MigrationStep[] = [
      'CREATE TABLE {test_notes} (id TEXT PRIMARY KEY, body TEXT NOT NULL)',
      { sqlite: 'ALTER TABLE {test_notes} ADD COLUMN stars INTEGER NOT NULL DEFAULT 0', postgres: 'ALTER TABLE {test_notes} ADD COLUMN stars INTEGER NOT NULL DEFAULT 0' },
    ];

    it('lets a module own its tables: versioned steps applied once, in order, and a newer schema refused', async () => {
      const db = store.database();
      await db.migrate('test', NOTES.slice(0, 1));
      await db.run('INSERT INTO {test_notes} (id, body) VALUES (?, ?)', ['a', 'first']);
      await db.migrate('test', NOTES);
      await db.migrate('test', NOTES);
      assert.deepEqual(await db.all('SELECT id, body, stars FROM {test_notes}'), [{ id: 'a', body: 'first', stars: 0 }]);
      await assert.rejects(db.migrate('test', NOTES.slice(0, 1)), /newer than this package understands/);
      await assert.rejects(db.migrate('Bad-Name', NOTES), /module name/);
      assert.equal(await store.get('untouched'), undefined, 'the core tables are still there');
    });

    const TX_NOTES: MigrationStep[] = ['CREATE TABLE {test_tx_notes} (id TEXT PRIMARY KEY, body TEXT NOT NULL)'];

    it('commits a transaction as a whole or not at all, and keeps other work out of it', async () => {
      const db = store.database();
      await db.migrate('test_tx', TX_NOTES);
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO {test_tx_notes} (id, body) VALUES (?, ?)', ['t1', 'kept']);
        await tx.run('INSERT INTO {test_tx_notes} (id, body) VALUES (?, ?)', ['t2', 'kept too']);
      });
      let outside: Promise<void> = Promise.resolve();
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO {test_tx_notes} (id, body) VALUES (?, ?)', ['t3', 'rolled back']);
          // Work started meanwhile must not become part of the failing transaction.
          outside = store.put('during', 'the transaction');
          await new Promise((r) => setTimeout(r, 20));
          throw new Error('abort');
        }),
        /abort/,
      );
      await outside;
      const ids = (await db.all<{ id: string }>('SELECT id FROM {test_tx_notes} ORDER BY id')).map((r) => r.id);
      assert.deepEqual(ids, ['t1', 't2']);
      assert.equal(await store.get('during'), 'the transaction');
    });

    it('undoes exactly a failing savepoint of a transaction, keeps the parts around it and commits them together', async () => {
      const db = store.database();
      const keys = () => db.all<{ key: string }>("SELECT key FROM {kv} WHERE key LIKE 'sp-%' ORDER BY key");
      const outcome = await db.transaction(async (tx) => {
        await tx.run("INSERT INTO {kv} (key, value) VALUES ('sp-a', '1')");
        await tx.savepoint(() => tx.run("INSERT INTO {kv} (key, value) VALUES ('sp-b', '1')"));
        const failed = await tx
          .savepoint(async () => {
            await tx.run("INSERT INTO {kv} (key, value) VALUES ('sp-c', '1')");
            // A duplicate key: the statement fails (and on PostgreSQL the transaction with it, until the savepoint is undone).
            await tx.run("INSERT INTO {kv} (key, value) VALUES ('sp-a', '2')");
          })
          .then(() => 'kept', (err: Error) => err.message);
        await tx.run("INSERT INTO {kv} (key, value) VALUES ('sp-d', '1')");
        return failed;
      });
      assert.notEqual(outcome, 'kept');
      assert.deepEqual((await keys()).map((r) => r.key), ['sp-a', 'sp-b', 'sp-d']);
    });

    it('runs lock holders of one name one at a time and releases after a failure', async () => {
      const { work, maxInside } = lockedWork(5);
      await Promise.all(Array.from({ length: 5 }, () => store.withLock('L', work)));
      assert.equal(maxInside(), 1);
      await assert.rejects(store.withLock('L', async () => Promise.reject(new Error('boom'))), /boom/);
      assert.equal(await store.withLock('L', async () => 'free again'), 'free again');
    });
  });
}

describe('lib/store', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxb-store-'));
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  contract('sqlite', (now) => createStore({ kind: 'sqlite', path: join(tempDir(), 'db.sqlite') }, { now }));

  describe('sqlite specifics', () => {
    it('creates the schema on first use, records its version and keeps data across reopen', async () => {
      const path = join(tempDir(), 'nested', 'store.sqlite');
      const first = createStore({ kind: 'sqlite', path });
      await first.put('persist', 'yes');
      await first.close();
      const second = createStore({ kind: 'sqlite', path });
      assert.equal(await second.get('persist'), 'yes');
      await second.close();
      const db = new Database(path, { readonly: true });
      assert.deepEqual(db.prepare("SELECT value FROM wxbridge_meta WHERE name = 'schema_version'").get(), { value: '2' });
      db.close();
    });

    it('refuses a database written by a newer schema', async () => {
      const path = join(tempDir(), 'newer.sqlite');
      const db = new Database(path);
      db.exec("CREATE TABLE wxbridge_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO wxbridge_meta VALUES ('schema_version', '99')");
      db.close();
      const store = createStore({ kind: 'sqlite', path });
      await assert.rejects(store.get('x'), /newer than this package/);
      await store.close();
    });

    it('lets two handles on one file (two processes) share claims', async () => {
      const path = join(tempDir(), 'shared.sqlite');
      const a = createStore({ kind: 'sqlite', path });
      const b = createStore({ kind: 'sqlite', path });
      assert.equal(await a.claim('dedup:1', 30), true);
      assert.equal(await b.claim('dedup:1', 30), false);
      await Promise.all([a.close(), b.close()]);
    });

    it('runs the file in WAL with synchronous FULL unless the configuration asks for NORMAL, and refuses other levels', async () => {
      const levels: number[] = [];
      for (const synchronous of [undefined, 'normal', 'full'] as const) {
        const store = createStore({ kind: 'sqlite', path: join(tempDir(), `sync-${synchronous}.sqlite`), synchronous });
        const [journal] = await store.database().all<{ journal_mode: string }>('PRAGMA journal_mode');
        assert.equal(journal.journal_mode, 'wal');
        const [row] = await store.database().all<{ synchronous: number }>('PRAGMA synchronous');
        levels.push(row.synchronous);
        await store.close();
      }
      // SQLite's numbers: 1 NORMAL, 2 FULL.
      assert.deepEqual(levels, [2, 1, 2]);
      assert.throws(
        () => createStore({ kind: 'sqlite', path: join(tempDir(), 'off.sqlite'), synchronous: 'off' as 'full' }),
        (err: unknown) => err instanceof StoreError && err.code === 'store_synchronous' && /one of full, normal \(got off\)/.test(err.message),
      );
    });

    it('commits transactions queued together as a group, each still all or nothing, none resolved before the commit', async () => {
      const path = join(tempDir(), 'group.sqlite');
      const store = createStore({ kind: 'sqlite', path });
      const db = store.database();
      await db.run('SELECT 1');
      const reader = new Database(path, { readonly: true });
      const visible = () => (reader.prepare("SELECT key FROM wxbridge_kv WHERE key LIKE 'g-%' ORDER BY key").all() as Array<{ key: string }>).map((r) => r.key);
      const seenAtResolve: string[][] = [];
      const insert = (key: string, fail = false) =>
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO {kv} (key, value) VALUES (?, ?)', [`g-${key}-1`, 'v']);
          await tx.run('INSERT INTO {kv} (key, value) VALUES (?, ?)', [`g-${key}-2`, 'v']);
          if (fail) throw new Error(`transaction ${key} gave up`);
        }).then(() => void seenAtResolve.push(visible()));
      // The first begins at once; the next four wait for it and then go together.
      const outcomes = await Promise.allSettled([insert('a'), insert('b'), insert('c', true), insert('d'), insert('e')]);
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /transaction c gave up/);
      const all = ['g-a-1', 'g-a-2', 'g-b-1', 'g-b-2', 'g-d-1', 'g-d-2', 'g-e-1', 'g-e-2'];
      assert.deepEqual(visible(), all, 'c left nothing, the others everything');
      assert.ok(seenAtResolve.every((keys, i) => keys.length >= 2 * (i + 1)), 'each resolved once its own rows were visible to another connection');
      assert.deepEqual(seenAtResolve.at(-1), all);
      reader.close();
      await store.close();
    });

    it('puts the embedded default in the userDir', () => {
      assert.deepEqual(embeddedStoreConfig('/data/nr'), { kind: 'sqlite', path: '/data/nr/wechat-sap.sqlite' });
    });

    it('lets several handles on one file work side by side and close independently', async () => {
      const path = join(tempDir(), 'handles.sqlite');
      const one = createStore({ kind: 'sqlite', path });
      const two = createStore({ kind: 'sqlite', path });
      await one.put('k', 'v');
      await one.close();
      assert.equal(await two.get('k'), 'v');
      await two.close();
    });
  });

  describe('postgres', () => {
    const schema = usePostgresSchema();

    contract('postgres', (now) => createStore(pgConfig(schema), { now }));

    describe('postgres specifics', () => {
      it('creates its schema and tables with a prefix, and migrates concurrently without error', async () => {
        const stores = Array.from({ length: 4 }, () => createStore(pgConfig(schema, { tablePrefix: 'mig_' })));
        await Promise.all(stores.map((s, i) => s.put(`k${i}`, 'v')));
        const [version, rows] = await withPostgres(async (client) => [
          await client.query(`SELECT value FROM "${schema}"."mig_meta" WHERE name = 'schema_version'`),
          await client.query(`SELECT count(*)::int AS n FROM "${schema}"."mig_kv"`),
        ]);
        assert.equal(version.rows[0].value, '2');
        assert.equal(rows.rows[0].n, 4);
        await Promise.all(stores.map((s) => s.close()));
      });

      it('gives concurrent claims from two pools (two instances) exactly one winner', async () => {
        const a = createStore(pgConfig(schema));
        const b = createStore(pgConfig(schema));
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claim('cross', 30)));
        assert.equal(results.filter(Boolean).length, 1);
        await Promise.all([a.close(), b.close()]);
      });

      it('upgrades a version-1 database in place, keeping its entries', async () => {
        await withPostgres(async (client) => {
          await client.query(`CREATE TABLE "${schema}"."old_meta" (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
          await client.query(`INSERT INTO "${schema}"."old_meta" VALUES ('schema_version', '1')`);
          await client.query(`CREATE TABLE "${schema}"."old_kv" (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at BIGINT)`);
          await client.query(`INSERT INTO "${schema}"."old_kv" VALUES ('kept', 'yes', NULL)`);
        });
        const store = createStore(pgConfig(schema, { tablePrefix: 'old_' }));
        assert.equal(await store.get('kept'), 'yes');
        assert.equal(await store.enqueue('q', 'a', 'p', 10), true);
        await store.close();
      });

      it('hands items to two pools (two instances) without overlap', async () => {
        const a = createStore(pgConfig(schema));
        const b = createStore(pgConfig(schema));
        for (let i = 0; i < 30; i++) await a.enqueue('two', `i${i}`, String(i), 60);
        const taken = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).takeNext('two', `w${i}`, 30)));
        const ids = taken.filter((t) => t !== null).map((t) => t!.id);
        assert.deepEqual([ids.length, new Set(ids).size], [30, 30]);
        await Promise.all([a.close(), b.close()]);
      });

      it('serialises lock holders across two pools', async () => {
        const a = createStore(pgConfig(schema));
        const b = createStore(pgConfig(schema));
        const { work, maxInside } = lockedWork(10);
        await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).withLock('x', work)));
        assert.equal(maxInside(), 1);
        await Promise.all([a.close(), b.close()]);
      });
    });
  });

  it('opens nothing until first use, then reports an unreachable database as a StoreError without the password', async () => {
    const store = createStore({ kind: 'postgres', host: '127.0.0.1', port: 1, user: 'u', password: 'hunter2-secret', database: 'd' });
    assert.ok(!store.description.includes('hunter2'));
    const err = await store.get('k').then(
      () => null,
      (e: Error) => e,
    );
    assert.ok(err instanceof StoreError, String(err));
    assert.ok(!err.message.includes('hunter2'));
    await store.close();
  });

  it('rejects table prefixes that are not plain identifiers', () => {
    assert.throws(() => createStore({ kind: 'postgres', tablePrefix: 'x"; drop' }), StoreError);
  });
});
