import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LEASE_EXPIRED_ERROR, SqlOutbox, messageIdOf } from '../../../lib/dcn/outbox';
import type { OutboxMessage } from '../../../lib/dcn/types';
import { SqlDatabase, Store } from '../../../lib/store';
import { withPostgres } from '../store/pg-support';
import { Clock, SECURITY, SUPADMIN_DEVICES, T0, commitMany, device, idsOf, onBothStores, wfRequest } from './outbox-support';

const ALL: ('wecom' | 'wechat' | 'mobile-services')[] = ['wecom', 'wechat', 'mobile-services'];

describe('lib/dcn/outbox', () => {
  onBothStores((kind) => {
    let store: Store;
    let db: SqlDatabase;
    let clock: Clock;
    let outbox: SqlOutbox;
    const extra: Store[] = [];

    beforeEach(async () => {
      clock = new Clock();
      store = kind.open();
      db = store.database();
      outbox = new SqlOutbox(db, { now: clock.now });
      await outbox.migrate();
    });
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((s) => s.close()));
      await store.close();
    });

    const commit = (id: string, devices = SUPADMIN_DEVICES, overrides = {}) => db.transaction((tx) => outbox.createInTx(tx, wfRequest(id, overrides), devices));

    it('creates one message per device, with a readable id that keeps its parts apart, visible once committed', async () => {
      const created = await commit('TR-1001');
      assert.deepEqual(idsOf(created), ['TR-1001/default/SUPAdmin/wecom-SUPAdmin/message/1', 'TR-1001/default/SUPAdmin/ms-SUPAdmin/message/1']);
      assert.deepEqual(created[0], {
        messageId: 'TR-1001/default/SUPAdmin/wecom-SUPAdmin/message/1',
        requestId: 'TR-1001',
        kind: 'message',
        device: SUPADMIN_DEVICES[0],
        subject: 'Trip request approval required',
        from: 'travel-backend',
        body: 'Trip TR-1001 to Shanghai, 6 to 8 May',
        received: '2024-05-06T17:00:00+08:00',
        read: false,
        priority: true,
        attempt: 0,
        createdAt: new Date(T0).toISOString(),
      });
      assert.deepEqual(await outbox.stats(), { pending: 2, delivered: 0, dead: 0 });
      const leased = await outbox.lease('a', 10, 30, ALL);
      assert.deepEqual(
        leased.map((m) => [m.messageId, m.attempt, m.device.channel]),
        [
          ['TR-1001/default/SUPAdmin/wecom-SUPAdmin/message/1', 1, 'wecom'],
          ['TR-1001/default/SUPAdmin/ms-SUPAdmin/message/1', 1, 'mobile-services'],
        ],
      );
      assert.equal(messageIdOf('a/b%c', 's', { user: 'u/1', deviceId: 'd' }, 'retraction', 3), 'a%2Fb%25c/s/u%2F1/d/retraction/3');
    });

    it('keeps nothing of a fan-out whose transaction rolled back', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await outbox.createInTx(tx, wfRequest('TR-1001'), SUPADMIN_DEVICES);
          throw new Error('the registry lookup failed after the messages');
        }),
        /registry lookup failed/,
      );
      assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 0, dead: 0 });
      assert.deepEqual(await outbox.lease('a', 10, 30, ALL), []);
      const outcome = await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', SECURITY));
      assert.equal(outcome.known, false, 'the rolled-back :upsert left no trace to retract');
    });

    it('lets no lease see a fan-out before its transaction commits', async () => {
      let resolvedBeforeCommit: boolean | null = null;
      let committed = false;
      let leasing: Promise<OutboxMessage[]> = Promise.resolve([]);
      await db.transaction(async (tx) => {
        await outbox.createInTx(tx, wfRequest('TR-1001'), SUPADMIN_DEVICES);
        leasing = outbox.lease('other', 10, 30, ALL).then((messages) => {
          resolvedBeforeCommit ??= !committed;
          return messages;
        });
        // Gives a lease that does not wait for the transaction every chance to finish first.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 2));
        committed = true;
      });
      const early = await leasing;
      if (resolvedBeforeCommit) assert.deepEqual(early, [], 'a lease during the transaction sees none of its messages');
      else assert.equal(early.length, 2, 'a lease that waited for the commit sees them');
      assert.equal((await outbox.lease('after', 10, 30, ALL)).length, resolvedBeforeCommit ? 2 : 0);
    });

    it('hands each message to one holder at a time', async () => {
      await commitMany(store, outbox, 40);
      const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => outbox.lease(`holder-${i}`, 7, 30, ALL)));
      const ids = batches.flatMap(idsOf);
      assert.equal(ids.length, 40);
      assert.equal(new Set(ids).size, 40, 'no message went to two holders');
      assert.deepEqual(await outbox.lease('late', 10, 30, ALL), [], 'leased messages are not due');
      assert.deepEqual(await outbox.stats(), { pending: 40, delivered: 0, dead: 0 }, 'leased is still pending');
    });

    it('hands out a message again, same id, next attempt, once its lease ran out unacknowledged', async () => {
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      const [first] = await outbox.lease('a', 10, 30, ALL);
      assert.equal(first.attempt, 1);
      assert.equal(first.lastError, undefined);
      clock.advance(29);
      assert.deepEqual(await outbox.lease('b', 10, 30, ALL), [], 'still leased to a');
      clock.advance(1);
      const [again] = await outbox.lease('b', 10, 30, ALL);
      assert.equal(again.messageId, first.messageId);
      assert.equal(again.attempt, 2);
      assert.equal(again.lastError, LEASE_EXPIRED_ERROR);
    });

    it('acknowledges once: delivered, never handed out again, and a second acknowledgement is false', async () => {
      const [message] = await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      await outbox.lease('a', 10, 30, ALL);
      assert.equal(await outbox.acknowledge(message.messageId), true);
      assert.equal(await outbox.acknowledge(message.messageId), false);
      assert.equal(await outbox.acknowledge('no/such/message'), false);
      clock.advance(3600);
      assert.deepEqual(await outbox.lease('b', 10, 30, ALL), []);
      assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 1, dead: 0 });
      assert.equal(await outbox.fail(message.messageId, 'late failure', 5, 5), 'unknown', 'a delivered message stays delivered');
    });

    it('retries a failed message once its delay has passed, with the failure as lastError', async () => {
      const [message] = await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      await outbox.lease('a', 10, 30, ALL);
      assert.equal(await outbox.fail(message.messageId, 'wechat-send: errcode 45015', 10, 5), 'retry');
      clock.advance(9);
      assert.deepEqual(await outbox.lease('a', 10, 30, ALL), [], 'not due before the delay');
      clock.advance(1);
      const [retry] = await outbox.lease('a', 10, 30, ALL);
      assert.deepEqual([retry.messageId, retry.attempt, retry.lastError], [message.messageId, 2, 'wechat-send: errcode 45015']);
      assert.equal(await outbox.fail('no/such/message', 'x', 1, 5), 'unknown');
    });

    it('makes a message dead after its last attempt and hands each dead message out once', async () => {
      const [message] = await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [leased] = await outbox.lease('a', 10, 30, ALL);
        assert.equal(leased.attempt, attempt);
        assert.equal(await outbox.fail(message.messageId, `failure ${attempt}`, 0, 3), attempt < 3 ? 'retry' : 'dead');
      }
      clock.advance(3600);
      assert.deepEqual(await outbox.lease('a', 10, 30, ALL), []);
      assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 0, dead: 1 });
      assert.equal(await outbox.acknowledge(message.messageId), false, 'too late to acknowledge');
      const [dead] = await outbox.takeDead(10);
      assert.deepEqual([dead.messageId, dead.attempt, dead.lastError], [message.messageId, 3, 'failure 3']);
      assert.deepEqual(await outbox.takeDead(10), [], 'taken once');
      assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 0, dead: 1 }, 'still counted as dead');
    });

    it('makes a message dead when its last allowed lease ran out, given maxAttempts', async () => {
      const [message] = await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      assert.equal((await outbox.lease('a', 10, 30, ALL, 2))[0].attempt, 1);
      clock.advance(30);
      assert.equal((await outbox.lease('a', 10, 30, ALL, 2))[0].attempt, 2);
      clock.advance(30);
      assert.deepEqual(await outbox.lease('a', 10, 30, ALL, 2), [], 'no third attempt');
      const [dead] = await outbox.takeDead(10);
      assert.deepEqual([dead.messageId, dead.attempt, dead.lastError], [message.messageId, 2, LEASE_EXPIRED_ERROR]);
    });

    it('leases and takes dead only the channels asked for', async () => {
      const devices = [device('SUPAdmin', 'wecom-1', 'wecom'), device('SUPAdmin', 'wechat-1', 'wechat', 'oFollower1'), device('SUPAdmin', 'ms-1', 'mobile-services')];
      await commit('TR-1001', devices);
      assert.deepEqual(
        (await outbox.lease('a', 10, 30, ['wechat'])).map((m) => m.device.deviceId),
        ['wechat-1'],
      );
      assert.deepEqual(await outbox.lease('a', 10, 30, []), []);
      const rest = await outbox.lease('a', 10, 30, ['wecom', 'mobile-services']);
      assert.deepEqual(rest.map((m) => m.device.deviceId).sort(), ['ms-1', 'wecom-1']);
      for (const m of rest) await outbox.fail(m.messageId, 'gone', 0, 1);
      assert.deepEqual(await outbox.takeDead(10, ['wechat']), []);
      assert.deepEqual(
        (await outbox.takeDead(10, ['mobile-services'])).map((m) => m.device.deviceId),
        ['ms-1'],
      );
      assert.deepEqual(
        (await outbox.takeDead(10)).map((m) => m.device.deviceId),
        ['wecom-1'],
      );
    });

    it('retracts: cancels what is pending, sends a retraction where it was delivered or is in flight, and only once', async () => {
      const devices = [device('SUPAdmin', 'wecom-1', 'wecom'), device('SUPAdmin', 'ms-1', 'mobile-services'), device('jdoe', 'wecom-2', 'wecom'), device('jdoe', 'wechat-2', 'wechat', 'oJdoe')];
      const created = await commit('TR-1001', devices, { to: ['SUPAdmin', 'jdoe'] });
      const leased = await outbox.lease('a', 3, 30, ALL);
      assert.deepEqual(
        leased.map((m) => m.device.deviceId),
        ['wecom-1', 'ms-1', 'wecom-2'],
      );
      await outbox.acknowledge(leased[0].messageId);
      await outbox.acknowledge(leased[1].messageId);
      // wecom-2 is in flight (leased, unanswered); wechat-2 was never handed out.
      const outcome = await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', SECURITY));
      assert.deepEqual(outcome, { known: true, cancelled: 2, retractions: 3 });
      assert.equal(await outbox.acknowledge(leased[2].messageId), false, 'the in-flight one was cancelled');
      const retractions = await outbox.lease('a', 10, 30, ALL);
      assert.deepEqual(
        retractions.map((m) => [m.messageId, m.kind, m.device.deviceId, m.subject, m.attempt]),
        [
          ['TR-1001/default/SUPAdmin/wecom-1/retraction/1', 'retraction', 'wecom-1', 'Trip request approval required', 1],
          ['TR-1001/default/SUPAdmin/ms-1/retraction/1', 'retraction', 'ms-1', 'Trip request approval required', 1],
          ['TR-1001/default/jdoe/wecom-2/retraction/1', 'retraction', 'wecom-2', 'Trip request approval required', 1],
        ],
      );
      assert.ok(!retractions.some((m) => m.device.deviceId === 'wechat-2'), 'nothing to withdraw where nothing went');
      assert.equal(created.length, 4);
      assert.deepEqual(await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', SECURITY)), { known: true, cancelled: 0, retractions: 0 });
      assert.deepEqual(await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', 'other-security')), { known: false, cancelled: 0, retractions: 0 });
      assert.deepEqual(await db.transaction((tx) => outbox.retractInTx(tx, 'TR-9999', SECURITY)), { known: false, cancelled: 0, retractions: 0 });
    });

    it('keeps messages to inbox devices as delivered, readable newest first, and removes them on retraction', async () => {
      const inbox = device('SUPAdmin', 'inbox', 'inbox');
      await commit('TR-1001', [inbox, SUPADMIN_DEVICES[0]]);
      clock.advance(1);
      await commit('TR-1002', [inbox], { subject: 'Second trip' });
      assert.deepEqual(await outbox.stats(), { pending: 1, delivered: 2, dead: 0 });
      assert.deepEqual(
        (await outbox.lease('a', 10, 30, ['wecom', 'wechat', 'mobile-services', 'inbox'])).map((m) => m.device.channel),
        ['wecom'],
        'the inbox is never handed out',
      );
      const read = await outbox.inbox(SECURITY, 'SUPAdmin', 10);
      assert.deepEqual(
        read.map((m) => [m.messageId, m.subject, m.attempt]),
        [
          ['TR-1002/default/SUPAdmin/inbox/message/1', 'Second trip', 1],
          ['TR-1001/default/SUPAdmin/inbox/message/1', 'Trip request approval required', 1],
        ],
      );
      assert.equal((await outbox.inbox(SECURITY, 'SUPAdmin', 1)).length, 1);
      assert.deepEqual(await outbox.inbox(SECURITY, 'jdoe', 10), []);
      assert.deepEqual(await outbox.inbox('other-security', 'SUPAdmin', 10), []);
      const outcome = await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1002', SECURITY));
      assert.deepEqual(outcome, { known: true, cancelled: 0, retractions: 1 });
      assert.deepEqual(idsOf(await outbox.inbox(SECURITY, 'SUPAdmin', 10)), ['TR-1001/default/SUPAdmin/inbox/message/1']);
      assert.deepEqual(await outbox.lease('a', 10, 30, ALL), [], 'no retraction message for an inbox');
    });

    it('replaces an earlier :upsert of the same id: its undelivered messages cancelled, new ids for the new one', async () => {
      const inbox = device('SUPAdmin', 'inbox', 'inbox');
      await commit('TR-1001', [SUPADMIN_DEVICES[0], inbox]);
      const second = await commit('TR-1001', [SUPADMIN_DEVICES[0], inbox], { subject: 'Trip request changed' });
      assert.deepEqual(idsOf(second), ['TR-1001/default/SUPAdmin/wecom-SUPAdmin/message/2', 'TR-1001/default/SUPAdmin/inbox/message/2']);
      assert.deepEqual(
        (await outbox.lease('a', 10, 30, ALL)).map((m) => [m.messageId, m.subject]),
        [['TR-1001/default/SUPAdmin/wecom-SUPAdmin/message/2', 'Trip request changed']],
      );
      assert.deepEqual(
        (await outbox.inbox(SECURITY, 'SUPAdmin', 10)).map((m) => m.subject),
        ['Trip request changed'],
      );
      assert.deepEqual(await outbox.stats(), { pending: 1, delivered: 1, dead: 0 });
    });

    it('withdraws a device once even when it got several :upserts of the id', async () => {
      const [first] = await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      await outbox.lease('a', 10, 30, ALL);
      await outbox.acknowledge(first.messageId);
      const [second] = await commit('TR-1001', [SUPADMIN_DEVICES[0]], { subject: 'changed' });
      await outbox.lease('a', 10, 30, ALL);
      await outbox.acknowledge(second.messageId);
      assert.deepEqual(await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', SECURITY)), { known: true, cancelled: 0, retractions: 1 });
      const [retraction] = await outbox.lease('a', 10, 30, ALL);
      assert.deepEqual([retraction.messageId, retraction.subject], ['TR-1001/default/SUPAdmin/wecom-SUPAdmin/retraction/2', 'changed']);
      // Sent again after the retraction, and withdrawn again: ids never collide.
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      const [third] = await outbox.lease('a', 10, 30, ALL);
      await outbox.acknowledge(third.messageId);
      assert.deepEqual(await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', SECURITY)), { known: true, cancelled: 0, retractions: 1 });
      assert.deepEqual(idsOf(await outbox.lease('a', 10, 30, ALL)), ['TR-1001/default/SUPAdmin/wecom-SUPAdmin/retraction/3']);
    });

    it('knows an id upserted to nobody when the security configuration is given, and creates one message per device named twice', async () => {
      assert.deepEqual(await db.transaction((tx) => outbox.createInTx(tx, wfRequest('TR-1001'), [], SECURITY)), []);
      assert.deepEqual(await db.transaction((tx) => outbox.retractInTx(tx, 'TR-1001', SECURITY)), { known: true, cancelled: 0, retractions: 0 });
      const twice = await commit('TR-1002', [SUPADMIN_DEVICES[0], SUPADMIN_DEVICES[0]]);
      assert.equal(twice.length, 1);
    });

    it('counts pending, delivered and dead, and creates a large fan-out in one transaction', async () => {
      const devices = Array.from({ length: 250 }, (_, i) => device(`user-${i % 10}`, `d-${i}`, i % 5 === 0 ? 'inbox' : 'wecom'));
      const created = await commit('TR-BIG', devices);
      assert.equal(created.length, 250);
      assert.deepEqual(await outbox.stats(), { pending: 200, delivered: 50, dead: 0 });
      const leased = await outbox.lease('a', 3, 30, ALL);
      await outbox.acknowledge(leased[0].messageId);
      await outbox.fail(leased[1].messageId, 'x', 0, 1);
      assert.deepEqual(await outbox.stats(), { pending: 198, delivered: 51, dead: 1 });
    });

    it('keeps every message across closing and reopening the store (a restart)', async () => {
      await commit('TR-1001');
      await outbox.lease('a', 1, 30, ALL);
      await store.close();
      store = kind.openAgain();
      db = store.database();
      outbox = new SqlOutbox(db, { now: clock.now });
      await outbox.migrate();
      await outbox.migrate();
      assert.deepEqual(await outbox.stats(), { pending: 2, delivered: 0, dead: 0 });
      const [untouched] = await outbox.lease('b', 10, 30, ALL);
      assert.deepEqual([untouched.device.deviceId, untouched.attempt], ['ms-SUPAdmin', 1]);
      await outbox.acknowledge(untouched.messageId);
      clock.advance(30);
      assert.deepEqual(
        (await outbox.lease('b', 10, 30, ALL)).map((m) => [m.device.deviceId, m.attempt]),
        [['wecom-SUPAdmin', 2]],
      );
    });

    if (kind.name === 'postgres') {
      const twoInstances = () => {
        const other = kind.openAgain();
        extra.push(other);
        return new SqlOutbox(other.database(), { now: clock.now });
      };

      it('lets two instances on one database lease 500 messages at once: each handed out once, none lost', async function () {
        this.timeout(60_000);
        const ids = await commitMany(store, outbox, 500);
        const instances = [outbox, twoInstances()];
        const taken: string[][] = [[], []];
        await Promise.all(
          instances.map(async (instance, i) => {
            for (;;) {
              const batch = await instance.lease(`instance-${i}`, 7, 30, ALL);
              if (batch.length === 0) return;
              taken[i].push(...idsOf(batch));
              assert.ok(batch.every((m) => m.attempt === 1));
              await Promise.all(batch.map((m) => instance.acknowledge(m.messageId)));
            }
          }),
        );
        assert.equal(taken[0].length + taken[1].length, 500);
        assert.deepEqual([...taken[0], ...taken[1]].sort(), [...ids].sort());
        assert.ok(taken[0].length > 0 && taken[1].length > 0, 'both instances leased');
        assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 500, dead: 0 });
      });

      it('lets another instance take over what a dead instance had leased, once the visibility timeout is over', async () => {
        const ids = await commitMany(store, outbox, 30);
        const survivor = twoInstances();
        const dying = await outbox.lease('dying', 20, 30, ALL);
        // The instance dies holding its lease: its pool goes away, nothing is acknowledged.
        await store.close();
        store = kind.openAgain();
        const before = await survivor.lease('survivor', 100, 30, ALL);
        assert.equal(before.length, 10, 'only the messages nobody held');
        await Promise.all(before.map((m) => survivor.acknowledge(m.messageId)));
        clock.advance(30);
        const after = await survivor.lease('survivor', 100, 30, ALL);
        assert.deepEqual(idsOf(after).sort(), idsOf(dying).sort());
        assert.ok(after.every((m) => m.attempt === 2));
        assert.deepEqual([...idsOf(before), ...idsOf(after)].sort(), [...ids].sort());
      });

      it('owns its tables under the store prefix, beside the core ones', async () => {
        const { schema, prefix } = kind.where();
        const tables = await withPostgres(
          async (client) =>
            (await client.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND starts_with(table_name, $2) ORDER BY table_name', [schema, prefix])).rows,
        );
        assert.deepEqual(
          tables.map((t) => t.table_name),
          ['dcn_outbox_messages', 'dcn_outbox_requests', 'kv', 'meta', 'queue'].map((name) => `${prefix}${name}`),
        );
      });
    }

    if (kind.name === 'sqlite') {
      it('lets two processes on one file lease 500 messages at once: each handed out once, none lost', async function () {
        this.timeout(60_000);
        const ids = await commitMany(store, outbox, 500);
        await store.close();
        const taken = await leaseInWorkers(kind.where().path ?? '', 2);
        assert.deepEqual(taken.flat().sort(), [...ids].sort());
        assert.ok(taken.every((batch) => batch.length > 0), 'both processes leased');
        store = kind.openAgain();
        outbox = new SqlOutbox(store.database(), { now: clock.now });
        assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 500, dead: 0 });
      });
    }
  });
});

/**
 * Leases and acknowledges everything in `workers` worker threads, each with a SQLite
 * handle of its own (another process, as far as SQLite knows), released together.
 */
async function leaseInWorkers(path: string, workers: number): Promise<string[][]> {
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { createStore } = require(workerData.store);
    const { SqlOutbox } = require(workerData.outbox);
    (async () => {
      const store = createStore({ kind: 'sqlite', path: workerData.path });
      const outbox = new SqlOutbox(store.database());
      await outbox.migrate();
      await outbox.stats();
      const go = new Int32Array(workerData.go);
      parentPort.postMessage('ready');
      Atomics.wait(go, 0, 0);
      const ids = [];
      for (;;) {
        const batch = await outbox.lease('worker-' + workerData.n, 5, 30, ['wecom']);
        if (batch.length === 0) break;
        // A delivery takes time: the pause leaves the file unlocked, as a real send
        // would, so the other process gets its turn instead of retrying behind a
        // lease loop that never lets go.
        await new Promise((resolve) => setTimeout(resolve, 2));
        for (const m of batch) {
          if (m.attempt !== 1) throw new Error('attempt ' + m.attempt + ' of ' + m.messageId);
          ids.push(m.messageId);
          await outbox.acknowledge(m.messageId);
        }
      }
      await store.close();
      parentPort.postMessage(ids);
    })();
  `;
  const go = new SharedArrayBuffer(4);
  const lib = join(__dirname, '..', '..', '..', 'lib');
  const ready: Promise<void>[] = [];
  const done: Promise<string[]>[] = [];
  for (let n = 0; n < workers; n++) {
    const worker = new Worker(source, { eval: true, workerData: { store: join(lib, 'store'), outbox: join(lib, 'dcn', 'outbox'), path, go, n } });
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
  await Promise.all(ready);
  const flag = new Int32Array(go);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  return Promise.all(done);
}
