import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueItem, QueueWorker, Store, createStore } from '../../../lib/store';

describe('lib/store/queue-worker', () => {
  let dir: string;
  let store: Store;
  const workers: QueueWorker[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wxb-queue-'));
    store = createStore({ kind: 'sqlite', path: join(dir, 'queue.sqlite') });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const until = async (what: string, check: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('hands items over in order, one at a time, and marks each done even when its handler fails', async () => {
    const seen: string[] = [];
    const errors: string[] = [];
    let inside = 0;
    const worker = new QueueWorker(
      store,
      'q',
      async (item) => {
        inside++;
        assert.equal(inside, 1);
        await new Promise((r) => setTimeout(r, 5));
        seen.push(item.payload);
        inside--;
        if (item.payload === 'two') throw new Error('handler failed');
      },
      { onError: (e) => errors.push(e.message), pollMs: 50 },
    );
    workers.push(worker);
    for (const p of ['one', 'two', 'three']) await store.enqueue('q', p, p, 60);
    worker.kick();
    await until('three items', () => seen.length === 3);
    assert.deepEqual(seen, ['one', 'two', 'three']);
    assert.deepEqual(errors, ['handler failed']);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(seen.length, 3, 'nothing is handed out twice');
    assert.equal(await store.enqueue('q', 'two', 'again', 60), false, 'done items still count as repeats');
  });

  it('takes over an item whose worker died holding it, once the lease runs out', async () => {
    await store.enqueue('q', 'orphan', 'left behind', 60);
    // A worker that died: it leased the item and will never renew or complete it.
    assert.ok(await store.takeNext('q', 'dead-owner', 1));
    const handled: QueueItem[] = [];
    workers.push(new QueueWorker(store, 'q', async (item) => void handled.push(item), { pollMs: 100, leaseSeconds: 1 }));
    await until('the take-over', () => handled.length === 1, 3000);
    assert.deepEqual([handled[0].payload, handled[0].attempts], ['left behind', 2]);
  });

  it('keeps a slow item leased while it is handled, so no other worker takes it', async () => {
    await store.enqueue('q', 'slow', 'slow', 60);
    const starts: string[] = [];
    const slow = new QueueWorker(store, 'q', async () => {
      starts.push('a');
      await new Promise((r) => setTimeout(r, 1800));
    }, { pollMs: 50, leaseSeconds: 0.6 });
    workers.push(slow);
    await until('the first worker', () => starts.length === 1);
    workers.push(new QueueWorker(store, 'q', async () => void starts.push('b'), { pollMs: 50, leaseSeconds: 0.6 }));
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(starts, ['a']);
  });
});
