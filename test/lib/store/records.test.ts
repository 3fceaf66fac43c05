import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MAX_RECORD_BYTES, RecordError, Records, Store, StoredRecord, createStore, recordKey, recordOperation } from '../../../lib/store';
import { pgConfig, usePostgresSchema, withPostgres } from './pg-support';

const catalogue = (lang: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'nodes', 'shared', 'locales', lang, 'lib.json'), 'utf8')) as Record<string, string>;
const fill = (text: string, params: Record<string, unknown>) => text.replace(/__(\w+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));

const T0 = Date.UTC(2024, 4, 6, 9, 0, 0);

/** The RecordError a promise rejects with (failing when it resolves or rejects otherwise). */
async function refusal(promise: Promise<unknown>): Promise<RecordError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  assert.ok('error' in outcome, `expected a RecordError, got ${JSON.stringify(outcome)}`);
  assert.ok(outcome.error instanceof RecordError, String(outcome.error));
  return outcome.error;
}

const keysOf = (records: StoredRecord[]) => records.map((r) => r.meta.key);

/** The same behaviour is required on both databases. */
function contract(name: string, open: () => Store): void {
  describe(`records on ${name}`, () => {
    let store: Store;
    let records: Records;
    let time: number;

    beforeEach(() => {
      time = T0;
      store = open();
      records = new Records(store, { now: () => time });
    });
    afterEach(() => store.close());

    it('inserts a record at version 1, reads it back, and refuses a second insert of the key as a conflict', async () => {
      assert.equal(await records.get('timeoff.requests', '1'), null);
      const value = { requester: 'P000001', days: 3, dates: ['2024-05-06', '2024-05-08'], note: '探亲', approved: null };
      const inserted = await records.insert('timeoff.requests', '1', value);
      const meta = { collection: 'timeoff.requests', key: '1', version: 1, createdAt: '2024-05-06T09:00:00.000Z', updatedAt: '2024-05-06T09:00:00.000Z' };
      assert.deepEqual(inserted, { value, meta });
      assert.deepEqual(await records.get('timeoff.requests', '1'), { value, meta });
      time += 5000;
      const err = await refusal(records.insert('timeoff.requests', '1', { other: true }));
      assert.equal(err.code, 'record_conflict');
      assert.deepEqual(err.params, { collection: 'timeoff.requests', key: '1' });
      assert.deepEqual((await records.get('timeoff.requests', '1'))?.value, value, 'the stored record is untouched');
    });

    it('inserts with unique fields only when no record of the collection matches them, naming the one that does', async () => {
      await records.insert('leave', '1', { requester: 'P1', status: 'submitted' }, { unique: { requester: 'P1', status: 'draft' } });
      await records.insert('leave', '2', { requester: 'P1', status: 'draft' }, { unique: { requester: 'P1', status: 'draft' } });
      await records.insert('other', '1', { requester: 'P1', status: 'draft' }, { unique: { requester: 'P1', status: 'draft' } });
      const err = await refusal(records.insert('leave', '3', { requester: 'P1', status: 'draft' }, { unique: { requester: 'P1', status: 'draft' } }));
      assert.equal(err.code, 'record_conflict');
      assert.equal(err.textCode, 'record_unique');
      assert.deepEqual(err.params, { collection: 'leave', key: '2', fields: '{"requester":"P1","status":"draft"}' });
      assert.equal(err.stored?.key, '2');
      assert.equal(await records.get('leave', '3'), null, 'nothing was inserted');
      await records.insert('leave', '4', { requester: 'P2', status: 'draft' }, { unique: { requester: 'P2', status: 'draft' } });
      assert.deepEqual(keysOf(await records.list('leave', { where: { status: 'draft' } })), ['2', '4']);
      assert.equal((await refusal(records.insert('leave', '2', { x: 1 }, { unique: { x: 1 } }))).textCode, 'record_exists', 'the key is still unique');
    });

    it('lets exactly one of a burst of unique inserts with one set of fields in', async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => records.insert('leave', String(i + 1), { requester: 'P1', status: 'draft' }, { unique: { requester: 'P1', status: 'draft' } })));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const lost of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) assert.equal((lost.reason as RecordError).textCode, 'record_unique');
      assert.equal((await records.list('leave')).length, 1);
    });

    it('puts: creates at version 1, then each write adds one, keeping the creation time', async () => {
      const first = await records.put('c', 'k', 'one');
      assert.equal(first.meta.version, 1);
      time += 60_000;
      const second = await records.put('c', 'k', { now: 'two' });
      assert.deepEqual(second, {
        value: { now: 'two' },
        meta: { collection: 'c', key: 'k', version: 2, createdAt: '2024-05-06T09:00:00.000Z', updatedAt: '2024-05-06T09:01:00.000Z' },
      });
      await records.put('c', 'k', null);
      const read = await records.get('c', 'k');
      assert.equal(read?.value, null, 'null is a value like any other');
      assert.equal(read?.meta.version, 3);
    });

    it('puts with ifVersion only over exactly that version, and says what is stored when it does not match', async () => {
      await records.put('c', 'k', 'v1');
      await records.put('c', 'k', 'v2');
      const stale = await refusal(records.put('c', 'k', 'from a stale read', { ifVersion: 1 }));
      assert.equal(stale.code, 'record_conflict');
      assert.deepEqual(stale.params, { collection: 'c', key: 'k', expected: 1, actual: 2 });
      assert.equal((await records.get('c', 'k'))?.value, 'v2');
      const updated = await records.put('c', 'k', 'v3', { ifVersion: 2 });
      assert.equal(updated.meta.version, 3);
      const absent = await refusal(records.put('c', 'nothing', 'x', { ifVersion: 1 }));
      assert.equal(absent.code, 'record_conflict');
      assert.deepEqual(absent.params, { collection: 'c', key: 'nothing', expected: 1 });
      assert.equal(await records.get('c', 'nothing'), null, 'a compare-and-set never creates');
    });

    it('deletes: true when a record went, false when there was none, and with ifVersion only that version', async () => {
      assert.equal(await records.delete('c', 'k'), false);
      await records.put('c', 'k', 'v1');
      await records.put('c', 'k', 'v2');
      const err = await refusal(records.delete('c', 'k', { ifVersion: 1 }));
      assert.equal(err.code, 'record_conflict');
      assert.equal(err.params.actual, 2);
      assert.equal((await records.get('c', 'k'))?.meta.version, 2, 'still there');
      assert.equal(await records.delete('c', 'k', { ifVersion: 2 }), true);
      assert.equal(await records.get('c', 'k'), null);
      assert.equal((await refusal(records.delete('c', 'k', { ifVersion: 2 }))).code, 'record_conflict');
      await records.put('c', 'k', 'again');
      assert.equal((await records.get('c', 'k'))?.meta.version, 1, 'a deleted record starts over');
      assert.equal(await records.delete('c', 'k'), true);
    });

    it('keeps collections apart', async () => {
      await records.put('a', 'same', 'in a');
      await records.put('b', 'same', 'in b');
      assert.equal((await records.get('a', 'same'))?.value, 'in a');
      assert.deepEqual(
        (await records.list('b')).map((r) => r.value),
        ['in b'],
      );
      assert.equal(await records.delete('a', 'same'), true);
      assert.equal((await records.get('b', 'same'))?.value, 'in b');
    });

    it('lists ordered by key, byte-wise, with a limit', async () => {
      for (const key of ['b', 'a', 'B', '10', '9', 'ä', 'aa']) await records.put('order', key, { key });
      const all = await records.list('order');
      assert.deepEqual(keysOf(all), ['10', '9', 'B', 'a', 'aa', 'b', 'ä']);
      assert.deepEqual(all[0].value, { key: '10' });
      assert.equal(all[0].meta.version, 1);
      assert.deepEqual(keysOf(await records.list('order', { limit: 2 })), ['10', '9']);
      assert.deepEqual(await records.list('empty'), []);
    });

    it('lists by key prefix, with % and _ as plain characters and case mattering', async () => {
      for (const key of ['a%', 'a%b', 'a_', 'ab', 'aXb', 'a\\b', 'A%', 'b%']) await records.put('wild', key, key);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: 'a%' })), ['a%', 'a%b']);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: 'a_' })), ['a_']);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: 'a\\' })), ['a\\b']);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: 'a' })), ['a%', 'a%b', 'aXb', 'a\\b', 'a_', 'ab']);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: 'A' })), ['A%']);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: '%' })), []);
      assert.deepEqual(keysOf(await records.list('wild', { prefix: 'a', limit: 2 })), ['a%', 'a%b']);
    });

    it('lists by equality of top-level fields, deep for objects and arrays, an absent field never equal to null', async () => {
      await records.put('req', '1', { status: 'pending', approver: 'P000002', span: { from: '2024-05-06', to: '2024-05-08' }, tags: ['family'] });
      await records.put('req', '2', { status: 'approved', approver: 'P000002', span: { to: '2024-06-02', from: '2024-06-01' } });
      await records.put('req', '3', { status: 'pending', approver: 'P000003', note: null });
      await records.put('req', '4', 'not an object');
      await records.put('req', '5', ['pending']);
      assert.deepEqual(keysOf(await records.list('req', { where: { status: 'pending' } })), ['1', '3']);
      assert.deepEqual(keysOf(await records.list('req', { where: { status: 'pending', approver: 'P000002' } })), ['1']);
      assert.deepEqual(keysOf(await records.list('req', { where: { span: { from: '2024-06-01', to: '2024-06-02' } } })), ['2']);
      assert.deepEqual(keysOf(await records.list('req', { where: { tags: ['family'] } })), ['1']);
      assert.deepEqual(keysOf(await records.list('req', { where: { note: null } })), ['3']);
      assert.deepEqual(keysOf(await records.list('req', { where: { status: 'pend' } })), []);
      assert.deepEqual(keysOf(await records.list('req', { where: {} })), ['1', '2', '3', '4', '5'], 'an empty where matches everything');
    });

    it('fills a filtered list across pages of rows', async () => {
      const keys = Array.from({ length: 450 }, (_, i) => `r${String(i).padStart(3, '0')}`);
      for (const [i, key] of keys.entries()) await records.put('many', key, { even: i % 2 === 0, third: i % 3 === 0 });
      const thirds = await records.list('many', { where: { third: true }, limit: 120 });
      assert.equal(thirds.length, 120);
      assert.deepEqual(keysOf(thirds), keys.filter((_, i) => i % 3 === 0).slice(0, 120));
      const odd = await records.list('many', { where: { even: false }, limit: 1000 });
      assert.equal(odd.length, 225);
      assert.equal(odd.at(-1)?.meta.key, 'r449');
      assert.equal((await records.list('many', { prefix: 'r4', limit: 1000 })).length, 50);
    });

    it('counts per collection: 1, 2, 3, … and each number once in a burst', async () => {
      assert.deepEqual([await records.nextId('ids.a'), await records.nextId('ids.a'), await records.nextId('ids.b'), await records.nextId('ids.a')], [1, 2, 1, 3]);
      const burst = await Promise.all(Array.from({ length: 50 }, () => records.nextId('ids.burst')));
      assert.deepEqual(
        [...burst].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    it('accepts a value of exactly 1 MiB as JSON and a key of 200 characters, and refuses one more', async () => {
      const big = 'x'.repeat(MAX_RECORD_BYTES - 2);
      assert.equal((await records.put('big', 'k', big)).meta.version, 1);
      assert.equal((await records.get('big', 'k'))?.value, big);
      const tooBig = await refusal(records.put('big', 'k', big + 'x'));
      assert.equal(tooBig.code, 'record_invalid');
      assert.deepEqual(tooBig.params, { bytes: MAX_RECORD_BYTES + 1, max: MAX_RECORD_BYTES });
      const longKey = '键'.repeat(200);
      await records.put('big', longKey, 1);
      assert.equal((await records.get('big', longKey))?.value, 1);
      assert.equal((await refusal(records.put('big', longKey + 'x', 1))).params.length, 201);
      const emoji = '😀'.repeat(200);
      await records.put('big', emoji, 'two hundred characters, four hundred UTF-16 units');
      assert.deepEqual(keysOf(await records.list('big', { prefix: '😀' })), [emoji]);
    });

    it('refuses what cannot be a record as invalid, before touching the database', async () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const attempts: Array<[string, Promise<unknown>]> = [
        ['collection with capitals', records.get('Timeoff', 'k')],
        ['collection with a slash', records.put('a/b', 'k', 1)],
        ['empty collection', records.nextId('')],
        ['collection starting with a dot', records.list('.hidden')],
        ['empty key', records.get('c', '')],
        ['key with NUL', records.put('c', 'a\u0000b', 1)],
        ['key with a lone surrogate', records.put('c', 'a\uD800', 1)],
        ['undefined value', records.put('c', 'k', undefined)],
        ['function value', records.insert('c', 'k', () => 1)],
        ['circular value', records.put('c', 'k', circular)],
        ['bigint value', records.put('c', 'k', { n: 1n })],
        ['ifVersion 0', records.put('c', 'k', 1, { ifVersion: 0 })],
        ['fractional ifVersion', records.delete('c', 'k', { ifVersion: 1.5 })],
        ['limit 0', records.list('c', { limit: 0 })],
        ['limit 1001', records.list('c', { limit: 1001 })],
      ];
      for (const [what, attempt] of attempts) assert.equal((await refusal(attempt)).code, 'record_invalid', what);
      assert.deepEqual(await records.list('c'), [], 'nothing was written');
    });
  });
}

describe('lib/store records', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxb-records-'));
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  contract('sqlite', () => createStore({ kind: 'sqlite', path: join(tempDir(), 'records.sqlite') }));

  describe('on one SQLite file', () => {
    it('keeps records and counters across closing and reopening the store (a restart)', async () => {
      const path = join(tempDir(), 'restart.sqlite');
      const before = createStore({ kind: 'sqlite', path });
      await new Records(before).put('timeoff.requests', '7', { status: 'pending' });
      await new Records(before).nextId('timeoff.requests');
      await before.close();
      const after = createStore({ kind: 'sqlite', path });
      const records = new Records(after);
      assert.deepEqual((await records.get('timeoff.requests', '7'))?.value, { status: 'pending' });
      assert.equal(await records.nextId('timeoff.requests'), 2);
      await after.close();
    });

    it('hands out each number once to two processes counting at the same time', async function () {
      this.timeout(60_000);
      const path = join(tempDir(), 'race.sqlite');
      // Created first, so the race is on the counter and not on creating the file.
      const setup = createStore({ kind: 'sqlite', path });
      await new Records(setup).nextId('warm-up');
      await setup.close();
      const perWorker = 1000;
      const results = await countInWorkers(path, 2, perWorker);
      assert.deepEqual(
        results.flat().sort((a, b) => a - b),
        Array.from({ length: 2 * perWorker }, (_, i) => i + 1),
      );
      for (const ids of results) assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), 'each counter only goes up');
    });

    it('lets two handles start on a new file at the same moment', async function () {
      this.timeout(60_000);
      const path = join(tempDir(), 'together.sqlite');
      const a = createStore({ kind: 'sqlite', path });
      const b = createStore({ kind: 'sqlite', path });
      await Promise.all([new Records(a).put('c', 'from-a', 1), new Records(b).put('c', 'from-b', 2), new Records(a).nextId('c'), new Records(b).nextId('c')]);
      assert.deepEqual(keysOf(await new Records(a).list('c')), ['from-a', 'from-b']);
      assert.equal(await new Records(b).nextId('c'), 3);
      await Promise.all([a.close(), b.close()]);
    });

    it('lets one compare-and-set of two handles win and the other conflict', async () => {
      const path = join(tempDir(), 'cas.sqlite');
      const a = createStore({ kind: 'sqlite', path });
      const b = createStore({ kind: 'sqlite', path });
      await new Records(a).put('c', 'k', 'v1');
      assert.equal((await new Records(b).get('c', 'k'))?.meta.version, 1, 'b sees what a wrote');
      const outcomes = await Promise.allSettled([new Records(a).put('c', 'k', 'from a', { ifVersion: 1 }), new Records(b).put('c', 'k', 'from b', { ifVersion: 1 })]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
      await Promise.all([a.close(), b.close()]);
    });
  });

  describe('postgres', () => {
    const schema = usePostgresSchema();

    // Tables of their own for each test, as each SQLite test has a file of its own.
    contract('postgres', () => createStore(pgConfig(schema, { tablePrefix: `t${randomBytes(4).toString('hex')}_` })));

    it('owns its tables beside the core ones, under the table prefix', async () => {
      const store = createStore(pgConfig(schema, { tablePrefix: 'rec_' }));
      await new Records(store).put('c', 'k', 1);
      await store.close();
      const tables = await withPostgres(async (client) => (await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'rec\\_%' ORDER BY table_name`, [schema])).rows);
      assert.deepEqual(
        tables.map((t: { table_name: string }) => t.table_name),
        ['rec_kv', 'rec_meta', 'rec_queue', 'rec_record_counters', 'rec_records'],
      );
    });

    it('hands out each number once to two instances counting at the same time', async () => {
      const a = createStore(pgConfig(schema));
      const b = createStore(pgConfig(schema));
      const [ra, rb] = [new Records(a), new Records(b)];
      const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? ra : rb).nextId('race')));
      assert.deepEqual(
        [...ids].sort((x, y) => x - y),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      await Promise.all([a.close(), b.close()]);
    });

    it('lets exactly one of two instances win a compare-and-set of the same version', async () => {
      const a = createStore(pgConfig(schema));
      const b = createStore(pgConfig(schema));
      const [ra, rb] = [new Records(a), new Records(b)];
      await ra.put('cas', 'k', { n: 0 });
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? ra : rb).put('cas', 'k', { n: i }, { ifVersion: 1 })));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const lost of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) assert.equal((lost.reason as RecordError).code, 'record_conflict');
      assert.equal((await rb.get('cas', 'k'))?.meta.version, 2);
      await Promise.all([a.close(), b.close()]);
    });

    it('lets exactly one of two instances insert with the same unique fields at the same time', async () => {
      const a = createStore(pgConfig(schema, { tablePrefix: 'uniq_' }));
      const b = createStore(pgConfig(schema, { tablePrefix: 'uniq_' }));
      const [ra, rb] = [new Records(a), new Records(b)];
      for (let round = 0; round < 5; round++) {
        const requester = `P${round}`;
        const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? ra : rb).insert('leave', `${round}-${i}`, { requester, status: 'draft' }, { unique: { requester, status: 'draft' } })));
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${round}`);
      }
      assert.equal((await ra.list('leave')).length, 5);
      await Promise.all([a.close(), b.close()]);
    });

    it('migrates from several instances starting together', async () => {
      const stores = Array.from({ length: 4 }, () => createStore(pgConfig(schema, { tablePrefix: 'mig_rec_' })));
      await Promise.all(stores.map((s, i) => new Records(s).put('c', `k${i}`, i)));
      assert.equal((await new Records(stores[0]).list('c')).length, 4);
      await Promise.all(stores.map((s) => s.close()));
    });
  });

  describe('texts', () => {
    it('says in English exactly what each refusal says, and fills every parameter in Chinese', async () => {
      const store = createStore({ kind: 'sqlite', path: ':memory:' });
      const records = new Records(store);
      await records.put('c', 'k', 1);
      await records.put('c', 'k', 2);
      await records.put('c', 'open', { state: 'open' });
      const en = catalogue('en-US');
      const zh = catalogue('zh-CN');
      const refusals = await Promise.all([
        refusal(records.insert('c', 'k', 1)),
        refusal(records.insert('c', 'k2', { state: 'open' }, { unique: { state: 'open' } })),
        refusal(records.insert('c', 'k2', 1, { unique: {} })),
        refusal(records.put('c', 'k', 1, { ifVersion: 1 })),
        refusal(records.delete('c', 'absent', { ifVersion: 3 })),
        refusal(records.get('Bad', 'k')),
        refusal(records.get('c', 'x'.repeat(201))),
        refusal(records.put('c', 'a\u0000', 1)),
        refusal(records.put('c', 'k', undefined)),
        refusal(records.put('c', 'k', 'x'.repeat(MAX_RECORD_BYTES))),
        refusal(records.put('c', 'k', 1, { ifVersion: -1 })),
        refusal(records.list('c', { limit: 5000 })),
        refusal(Promise.resolve().then(() => records.list('c', { where: ['a'] as unknown as Record<string, unknown> }))),
        refusal(Promise.resolve().then(() => records.list('c', { prefix: 3 as unknown as string }))),
        refusal(Promise.resolve().then(() => recordKey({}))),
        refusal(Promise.resolve().then(() => recordOperation('upsert'))),
      ]);
      const codes = new Set<string>();
      for (const err of refusals) {
        assert.ok(en[err.textCode] && zh[err.textCode], `a text for ${err.textCode}`);
        assert.equal(fill(en[err.textCode], err.params), err.message, err.textCode);
        assert.doesNotMatch(fill(zh[err.textCode], err.params), /__\w+__/, err.textCode);
        codes.add(err.textCode);
      }
      assert.equal(codes.size, refusals.length, 'each refusal has a text of its own');
      await store.close();
    });
  });
});

/**
 * Counts `count` times in each of `workers` worker threads, each with a SQLite handle of
 * its own (another process, as far as SQLite knows). They open the file first and
 * start counting together, released at once through shared memory.
 */
async function countInWorkers(path: string, workers: number, count: number): Promise<number[][]> {
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { createStore, Records } = require(workerData.lib);
    (async () => {
      const store = createStore({ kind: 'sqlite', path: workerData.path });
      const records = new Records(store);
      await records.get('warm-up', 'k');
      const go = new Int32Array(workerData.go);
      parentPort.postMessage('ready');
      Atomics.wait(go, 0, 0);
      const ids = [];
      for (let i = 0; i < workerData.count; i++) ids.push(await records.nextId('race'));
      await store.close();
      parentPort.postMessage(ids);
    })();
  `;
  const go = new SharedArrayBuffer(4);
  const lib = join(__dirname, '..', '..', '..', 'lib', 'store');
  const ready: Promise<void>[] = [];
  const done: Promise<number[]>[] = [];
  for (let i = 0; i < workers; i++) {
    const worker = new Worker(source, { eval: true, workerData: { lib, path, count, go } });
    let signalReady = () => {};
    ready.push(new Promise<void>((resolve) => (signalReady = resolve)));
    done.push(
      new Promise<number[]>((resolve, reject) => {
        worker.on('message', (message: 'ready' | number[]) => (message === 'ready' ? signalReady() : resolve(message)));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the worker exited with ${code} before answering`)));
      }),
    );
  }
  await Promise.all(ready);
  const flag = new Int32Array(go);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  return Promise.all(done);
}
