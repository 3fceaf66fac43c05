import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Records, Store, StoreError, StoreOptions, createStore } from '../../../lib/store';

const catalogue = (lang: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'nodes', 'shared', 'locales', lang, 'lib.json'), 'utf8')) as Record<string, string>;
const fill = (text: string, params: Record<string, unknown>) => text.replace(/__(\w+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));

/** A transaction of one handle that holds the file's write lock until it is released. */
interface HeldLock {
  release: () => void;
  committed: Promise<void>;
}

/**
 * Starts a transaction on `store` that writes `held-by` = 'a' and then waits, holding
 * SQLite's write lock across the await, until released; resolves once it holds the lock.
 */
async function holdWriteLock(store: Store): Promise<HeldLock> {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let signalHolding = () => {};
  const holding = new Promise<void>((resolve) => (signalHolding = resolve));
  const committed = store.database().transaction(async (tx) => {
    await tx.run("INSERT INTO {kv} (key, value) VALUES ('held-by', 'a') ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    signalHolding();
    await released;
  });
  await Promise.race([holding, committed.then(() => Promise.reject(new Error('the holding transaction ended before it held the lock')))]);
  return { release, committed };
}

/**
 * Lets the event loop turn `turns` times (a timer each) and asserts that `promise` stayed
 * pending all along: a wait that blocked the thread would have settled it (failed) first.
 */
async function pendingThrough(promise: Promise<unknown>, turns: number): Promise<void> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  let turned = 0;
  while (turned < turns && !settled) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    turned++;
  }
  assert.equal(settled, false, `settled after ${turned} turns of the event loop, while the other handle still held the lock`);
}

/** What a promise rejected with; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  assert.ok('error' in outcome, `expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

function assertBusyError(err: unknown, store: Store, ms: number): void {
  assert.ok(err instanceof StoreError, String(err));
  assert.equal(err.code, 'store_busy');
  assert.deepEqual(err.params, { store: store.description, ms });
  assert.equal(fill(catalogue('en-US').store_busy, err.params), err.message);
  assert.doesNotMatch(fill(catalogue('zh-CN').store_busy, err.params), /__\w+__/);
}

describe('lib/store: SQLite handles on one file wait for each other without blocking', () => {
  const dirs: string[] = [];
  const opened: Store[] = [];
  const newPath = () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxb-busy-'));
    dirs.push(dir);
    return join(dir, 'shared.sqlite');
  };
  const handle = (path: string, options: StoreOptions = {}) => {
    const store = createStore({ kind: 'sqlite', path }, options);
    opened.push(store);
    return store;
  };
  /** Two handles on a new file, both opened (so that what follows waits on the lock, not on opening). */
  const openedPair = async (options: StoreOptions = {}) => {
    const path = newPath();
    const a = handle(path);
    const b = handle(path, options);
    await a.get('open');
    await b.get('open');
    return { path, a, b };
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  describe("a write of one handle while another handle's transaction holds the lock across an await", () => {
    it('put: waits, the event loop turning, and lands after the commit', async () => {
      const { a, b } = await openedPair();
      const held = await holdWriteLock(a);
      const put = b.put('held-by', 'b');
      await pendingThrough(put, 25);
      held.release();
      await Promise.all([held.committed, put]);
      assert.equal(await a.get('held-by'), 'b', "b's write came after a's");
    });

    it('claim: waits, then finds the entry the holder committed', async () => {
      const { a, b } = await openedPair();
      const held = await holdWriteLock(a);
      const claim = b.claim('held-by', 30);
      const fresh = b.claim('fresh', 30);
      await pendingThrough(Promise.race([claim, fresh]), 25);
      held.release();
      await held.committed;
      assert.deepEqual(await Promise.all([claim, fresh]), [false, true]);
    });

    it('enqueue and takeNext: wait, then queue and hand out the item', async () => {
      const { a, b } = await openedPair();
      assert.equal(await b.enqueue('q', 'before', 'p0', 60), true);
      const held = await holdWriteLock(a);
      const enqueued = b.enqueue('q', 'during', 'p1', 60);
      await pendingThrough(enqueued, 25);
      held.release();
      await held.committed;
      assert.equal(await enqueued, true);
      const again = await holdWriteLock(a);
      const taken = b.takeNext('q', 'worker-b', 30);
      await pendingThrough(taken, 25);
      again.release();
      await again.committed;
      assert.deepEqual(await taken, { id: 'before', payload: 'p0', attempts: 1 });
      assert.deepEqual(await b.takeNext('q', 'worker-b', 30), { id: 'during', payload: 'p1', attempts: 1 });
    });

    it('a transaction: waits to begin, then sees what the holder committed', async () => {
      const { a, b } = await openedPair();
      const held = await holdWriteLock(a);
      const seen = b.database().transaction(async (tx) => {
        const rows = await tx.all<{ value: string }>("SELECT value FROM {kv} WHERE key = 'held-by'");
        await tx.run("INSERT INTO {kv} (key, value) VALUES ('from-b', 'b')");
        return rows.map((r) => r.value);
      });
      await pendingThrough(seen, 25);
      held.release();
      await held.committed;
      assert.deepEqual(await seen, ['a']);
      assert.equal(await a.get('from-b'), 'b');
    });

    it('a records insert: migrates and inserts once the lock is free', async () => {
      const { a, b } = await openedPair();
      const held = await holdWriteLock(a);
      const inserted = new Records(b).insert('c', 'k', { from: 'b' });
      await pendingThrough(inserted, 25);
      held.release();
      await held.committed;
      assert.equal((await inserted).meta.version, 1);
      assert.deepEqual((await new Records(a).get('c', 'k'))?.value, { from: 'b' });
    });

    it('reads do not wait: WAL lets a reader in beside the writer', async () => {
      const { a, b } = await openedPair();
      await b.put('k', 'before');
      const held = await holdWriteLock(a);
      assert.equal(await b.get('k'), 'before');
      assert.equal(await b.get('held-by'), undefined, "a's write is not committed yet");
      held.release();
      await held.committed;
      assert.equal(await b.get('held-by'), 'a');
    });
  });

  describe('opening', () => {
    it('lets several handles open a brand-new file at the same moment', async () => {
      const path = newPath();
      const stores = [handle(path), handle(path), handle(path), handle(path)];
      await Promise.all(stores.map((s, i) => s.put(`from-${i}`, String(i))));
      await Promise.all([new Records(stores[0]).nextId('n'), new Records(stores[1]).nextId('n'), stores[2].enqueue('q', 'x', 'p', 60)]);
      for (const s of stores) assert.deepEqual(await Promise.all(stores.map((_, i) => s.get(`from-${i}`))), ['0', '1', '2', '3']);
      assert.equal(await new Records(stores[3]).nextId('n'), 3);
    });

    it('lets a handle open the file while another holds the lock, waiting without blocking', async () => {
      const { path, a } = await openedPair();
      const held = await holdWriteLock(a);
      const late = handle(path);
      const read = late.get('held-by');
      await pendingThrough(read, 25);
      held.release();
      await held.committed;
      assert.equal(await read, 'a');
    });
  });

  describe('a lock held longer than the wait budget', () => {
    const BUDGET_MS = 30;

    it('fails writes, transactions and opening with a StoreError, and the handle works once the lock is free', async () => {
      const { path, a, b } = await openedPair({ lockWaitMs: BUDGET_MS });
      const late = handle(path, { lockWaitMs: BUDGET_MS });
      const held = await holdWriteLock(a);
      assertBusyError(await rejection(b.put('k', 'v')), b, BUDGET_MS);
      assertBusyError(await rejection(b.enqueue('q', 'i', 'p', 60)), b, BUDGET_MS);
      assertBusyError(await rejection(b.database().transaction(async (tx) => tx.run("INSERT INTO {kv} (key, value) VALUES ('t', 't')"))), b, BUDGET_MS);
      assertBusyError(await rejection(late.get('held-by')), late, BUDGET_MS);
      held.release();
      await held.committed;
      await b.put('k', 'v');
      assert.equal(await b.database().transaction(async (tx) => tx.run("INSERT INTO {kv} (key, value) VALUES ('t', 't')")), 1);
      assert.equal(await late.get('k'), 'v', 'opening is tried again by the next operation');
      assert.equal(await a.get('t'), 't');
    });
  });

  describe('two processes', () => {
    it('serialise: 2 × 500 enqueued on a new file at once, every item taken exactly once', async function () {
      this.timeout(120_000);
      const path = newPath();
      const perWorker = 500;
      const taken = (await enqueueAndTakeInWorkers(path, ['w0', 'w1'], perWorker)).flat();
      const expected = ['w0', 'w1'].flatMap((name) => Array.from({ length: perWorker }, (_, i) => `${name}-${i}`));
      assert.equal(taken.length, expected.length, 'each item taken once');
      assert.deepEqual([...taken].sort(), [...expected].sort());
      const store = handle(path);
      assert.equal(await store.takeNext('shared', 'main', 30), null, 'nothing left');
    });
  });
});

/**
 * In each of the named worker threads (with a SQLite handle of its own: another process,
 * as far as SQLite knows), enqueues `count` items on a file nobody has opened yet and then
 * takes items until none is left. They start together, released at once through shared
 * memory; each resolves with the ids it took.
 */
async function enqueueAndTakeInWorkers(path: string, names: string[], count: number): Promise<string[][]> {
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { createStore } = require(workerData.lib);
    (async () => {
      const store = createStore({ kind: 'sqlite', path: workerData.path });
      const go = new Int32Array(workerData.go);
      parentPort.postMessage('ready');
      Atomics.wait(go, 0, 0);
      for (let i = 0; i < workerData.count; i++) {
        if (!(await store.enqueue('shared', workerData.name + '-' + i, String(i), 600))) throw new Error('enqueued twice');
      }
      const taken = [];
      for (let item; (item = await store.takeNext('shared', workerData.name, 60)); ) {
        taken.push(item.id);
        await store.complete('shared', item.id, workerData.name);
      }
      await store.close();
      parentPort.postMessage(taken);
    })();
  `;
  const go = new SharedArrayBuffer(4);
  const lib = join(__dirname, '..', '..', '..', 'lib', 'store');
  const ready: Promise<void>[] = [];
  const done: Promise<string[]>[] = [];
  for (const name of names) {
    const worker = new Worker(source, { eval: true, workerData: { lib, path, count, go, name } });
    let signalReady = () => {};
    ready.push(new Promise<void>((resolve) => (signalReady = resolve)));
    done.push(
      new Promise<string[]>((resolve, reject) => {
        worker.on('message', (message: 'ready' | string[]) => (message === 'ready' ? signalReady() : resolve(message)));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the worker exited with ${code} before answering`)));
      }),
    );
  }
  // A worker that fails before it is ready fails the wait instead of hanging it.
  await Promise.race([Promise.all(ready), Promise.all(done)]);
  const flag = new Int32Array(go);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  return Promise.all(done);
}
