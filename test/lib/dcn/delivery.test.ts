import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DeliveryWorker, DeliveryWorkerOptions, defaultRetryDelaySeconds } from '../../../lib/dcn/delivery';
import { LEASE_EXPIRED_ERROR, SqlOutbox } from '../../../lib/dcn/outbox';
import type { DeviceChannel, Outbox, OutboxMessage } from '../../../lib/dcn/types';
import { SqlDatabase, Store, StoreConfig } from '../../../lib/store';
import { Clock, SUPADMIN_DEVICES, commitMany, device, idsOf, onBothStores, until, wfRequest } from './outbox-support';

/** A deliverer that keeps what it was given. */
function recorder(channels: readonly DeviceChannel[], onDeliver: (m: OutboxMessage) => void = () => undefined) {
  const delivered: OutboxMessage[] = [];
  const dead: OutboxMessage[] = [];
  return {
    delivered,
    dead,
    deliverer: {
      channels,
      deliver: (m: OutboxMessage) => {
        delivered.push(m);
        onDeliver(m);
      },
      dead: (m: OutboxMessage) => void dead.push(m),
    },
  };
}

const flushed = (worker: DeliveryWorker) => worker.flush();

describe('lib/dcn/delivery', () => {
  describe('the default retry delay', () => {
    it('starts at 5 s, doubles, stops at 300 s, spread by at most 20 % either way', () => {
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => defaultRetryDelaySeconds(attempt, () => 0.5)),
        [5, 10, 20, 40, 80, 160, 300, 300],
      );
      assert.equal(defaultRetryDelaySeconds(1, () => 0), 4);
      assert.equal(defaultRetryDelaySeconds(1, () => 0.999999).toFixed(3), '6.000');
      assert.equal(defaultRetryDelaySeconds(3, () => 0), 16);
      assert.equal(defaultRetryDelaySeconds(8, () => 0), 240);
      assert.equal(defaultRetryDelaySeconds(8, () => 0.999), 300, 'never more than 300 s');
      for (let i = 0; i < 200; i++) {
        const delay = defaultRetryDelaySeconds(2);
        assert.ok(delay >= 8 && delay <= 12, String(delay));
      }
    });

    it('refuses options that cannot work', () => {
      const outbox = {} as Outbox;
      for (const options of [{ pollMs: 0 }, { batch: 0 }, { batch: 1.5 }, { visibilitySeconds: -1 }, { maxAttempts: 0 }, { pollMs: Number.NaN }] as DeliveryWorkerOptions[]) {
        assert.throws(() => new DeliveryWorker(outbox, options), RangeError, JSON.stringify(options));
      }
    });
  });

  onBothStores((kind) => {
    let store: Store;
    let db: SqlDatabase;
    let clock: Clock;
    let outbox: SqlOutbox;
    const workers: DeliveryWorker[] = [];
    const stores: Store[] = [];

    beforeEach(async () => {
      clock = new Clock();
      store = kind.open();
      db = store.database();
      outbox = new SqlOutbox(db, { now: clock.now });
      await outbox.migrate();
    });
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await Promise.all(stores.splice(0).map((s) => s.close()));
      await store.close();
    });

    /** A worker driven by kick(): its poll is a minute away. */
    const worker = (options: DeliveryWorkerOptions = {}, on: Outbox = outbox) => {
      const created = new DeliveryWorker(on, { pollMs: 60_000, now: clock.now, ...options });
      workers.push(created);
      return created;
    };
    const commit = (id: string, devices = SUPADMIN_DEVICES) => db.transaction((tx) => outbox.createInTx(tx, wfRequest(id), devices));

    it('hands each message to a deliverer of its channel and leases no other channel', async () => {
      const w = worker();
      const sent = recorder(['wecom', 'mobile-services']);
      w.addDeliverer(sent.deliverer);
      await commit('TR-1001', [...SUPADMIN_DEVICES, device('SUPAdmin', 'wechat-1', 'wechat', 'oFollower1')]);
      w.kick();
      await until('two deliveries', () => sent.delivered.length === 2);
      await flushed(w);
      assert.deepEqual(
        sent.delivered.map((m) => [m.device.channel, m.attempt, m.subject]),
        [
          ['wecom', 1, 'Trip request approval required'],
          ['mobile-services', 1, 'Trip request approval required'],
        ],
      );
      const [wechat] = await outbox.lease('probe', 10, 30, ['wechat']);
      assert.equal(wechat.attempt, 1, 'the WeChat message was never leased by the worker');
    });

    it('records the acknowledgement: delivered, not handed out again, and a second one is false', async () => {
      const w = worker({ visibilitySeconds: 30 });
      const sent = recorder(['wecom', 'mobile-services']);
      w.addDeliverer(sent.deliverer);
      await commit('TR-1001');
      w.kick();
      await until('two deliveries', () => sent.delivered.length === 2);
      assert.equal(await w.acknowledge(sent.delivered[0].messageId), true);
      assert.equal(await w.acknowledge(sent.delivered[0].messageId), false);
      assert.deepEqual(await w.stats(), { pending: 1, delivered: 1, dead: 0 });
      clock.advance(30);
      await flushed(w);
      assert.deepEqual(
        sent.delivered.map((m) => [m.messageId, m.attempt]),
        [
          [sent.delivered[0].messageId, 1],
          [sent.delivered[1].messageId, 1],
          [sent.delivered[1].messageId, 2],
        ],
        'only the unanswered one went out again',
      );
      assert.equal(sent.delivered[2].lastError, LEASE_EXPIRED_ERROR);
    });

    it('delivers at kick() without waiting for the poll, and by the poll without a kick', async () => {
      const kicked = worker();
      const sent = recorder(['wecom']);
      kicked.addDeliverer(sent.deliverer);
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      kicked.kick();
      await until('the kicked delivery', () => sent.delivered.length === 1);
      await kicked.stop();
      const polling = worker({ pollMs: 20 });
      const polled = recorder(['wecom']);
      polling.addDeliverer(polled.deliverer);
      await commit('TR-1002', [SUPADMIN_DEVICES[0]]);
      await until('the polled delivery', () => polled.delivered.length === 1);
      assert.equal(polled.delivered[0].requestId, 'TR-1002');
    });

    it('retries a failure after its delay and, after the last attempt, hands the dead message once to every deliverer of its channel', async () => {
      const w = worker({ maxAttempts: 3, retryDelaySeconds: (attempt) => attempt * 10 });
      const first = recorder(['wecom']);
      const second = recorder(['wecom', 'mobile-services']);
      const other = recorder(['wechat']);
      for (const r of [first, second, other]) w.addDeliverer(r.deliverer);
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      const sends = () => [...first.delivered, ...second.delivered].sort((a, b) => a.attempt - b.attempt);
      const expected: ('retry' | 'dead')[] = ['retry', 'retry', 'dead'];
      for (let attempt = 1; attempt <= 3; attempt++) {
        await flushed(w);
        assert.equal(sends().length, attempt, `attempt ${attempt} went out`);
        const message = sends()[attempt - 1];
        assert.equal(message.attempt, attempt);
        assert.equal(await w.fail(message.messageId, `errcode 4000${attempt}`), expected[attempt - 1]);
        clock.advance(attempt * 10 - 1);
        await flushed(w);
        assert.equal(sends().length, attempt, 'not before the delay');
        clock.advance(1);
      }
      await until('the dead letters', () => first.dead.length === 1 && second.dead.length === 1);
      await flushed(w);
      assert.deepEqual(
        [...first.dead, ...second.dead].map((m) => [m.attempt, m.lastError]),
        [
          [3, 'errcode 40003'],
          [3, 'errcode 40003'],
        ],
      );
      assert.deepEqual(other.dead, [], 'not to a deliverer of another channel');
      assert.equal(sends()[1].lastError, 'errcode 40001');
      assert.deepEqual(await w.stats(), { pending: 0, delivered: 0, dead: 1 });
    });

    it('lets the deliverers of one channel take turns, each message to one of them', async () => {
      const w = worker();
      const a = recorder(['wecom']);
      const b = recorder(['wecom']);
      w.addDeliverer(a.deliverer);
      w.addDeliverer(b.deliverer);
      const ids = await commitMany(store, outbox, 10);
      await flushed(w);
      assert.equal(a.delivered.length, 5);
      assert.equal(b.delivered.length, 5);
      assert.deepEqual([...idsOf(a.delivered), ...idsOf(b.delivered)].sort(), [...ids].sort());
    });

    it('counts a deliverer that throws as a failed attempt, with its error', async () => {
      const errors: string[] = [];
      const w = worker({ retryDelaySeconds: () => 5, onError: (err) => errors.push(err.message) });
      let throws = true;
      const sent = recorder(['wecom'], () => {
        if (throws) throw new Error('the flow is not wired');
      });
      w.addDeliverer(sent.deliverer);
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      await flushed(w);
      assert.deepEqual(await outbox.lease('probe', 1, 30, ['wecom']), [], 'due again only after the retry delay');
      throws = false;
      clock.advance(5);
      await flushed(w);
      assert.deepEqual(
        sent.delivered.map((m) => [m.attempt, m.lastError]),
        [
          [1, undefined],
          [2, 'the flow is not wired'],
        ],
      );
      assert.deepEqual(errors, ['the flow is not wired']);
    });

    it('stops handing messages to a deliverer once it is removed', async () => {
      const w = worker();
      const sent = recorder(['wecom']);
      const remove = w.addDeliverer(sent.deliverer);
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      await flushed(w);
      assert.equal(sent.delivered.length, 1);
      remove();
      await commit('TR-1002', [SUPADMIN_DEVICES[0]]);
      await flushed(w);
      assert.equal(sent.delivered.length, 1);
      assert.equal((await outbox.lease('probe', 10, 30, ['wecom']))[0].attempt, 1, 'left pending, never leased');
    });

    it('reports the outbox failing through onError and delivers once it works again', async () => {
      const errors: string[] = [];
      let broken = true;
      const flaky: Outbox = Object.assign(Object.create(outbox) as Outbox, {
        lease: (...args: Parameters<Outbox['lease']>) => (broken ? Promise.reject(new Error('connection refused')) : outbox.lease(...args)),
      });
      const w = worker({ onError: (err) => errors.push(err.message) }, flaky);
      const sent = recorder(['wecom']);
      w.addDeliverer(sent.deliverer);
      await commit('TR-1001', [SUPADMIN_DEVICES[0]]);
      await flushed(w);
      assert.deepEqual(errors, ['connection refused']);
      broken = false;
      await flushed(w);
      assert.equal(sent.delivered.length, 1);
    });

    it('leaves no timer behind once stopped: a process running a worker exits by itself', async function () {
      this.timeout(30_000);
      const outcome = await runWorkerProcess(kind.config());
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(outcome.stdout, /^stopped after delivering TR-1001\/default\/SUPAdmin\/wecom-SUPAdmin\/message\/1$/);
      assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 1, dead: 0 });
    });

    it('resumes after a restart: a new worker on the store delivers what the old one left undelivered', async () => {
      const before = worker();
      const unanswered = recorder(['wecom', 'mobile-services']);
      before.addDeliverer(unanswered.deliverer);
      await commit('TR-1001');
      await flushed(before);
      assert.equal(unanswered.delivered.length, 2);
      await before.stop();
      // Committed while no worker ran: never leased.
      await commit('TR-1002', [SUPADMIN_DEVICES[0]]);
      await store.close();

      store = kind.openAgain();
      outbox = new SqlOutbox(store.database(), { now: clock.now });
      const after = worker({ visibilitySeconds: 30 });
      const resumed = recorder(['wecom', 'mobile-services'], (m) => void after.acknowledge(m.messageId));
      after.addDeliverer(resumed.deliverer);
      await flushed(after);
      assert.deepEqual(
        resumed.delivered.map((m) => [m.requestId, m.attempt]),
        [['TR-1002', 1]],
      );
      await until('its acknowledgement', async () => (await outbox.stats()).delivered === 1);
      clock.advance(30);
      await flushed(after);
      assert.deepEqual(
        resumed.delivered.slice(1).map((m) => [m.messageId, m.attempt]),
        unanswered.delivered.map((m) => [m.messageId, 2]),
      );
      await until('every acknowledgement', async () => (await outbox.stats()).delivered === 3);
      assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 3, dead: 0 });
    });

    if (kind.name === 'postgres') {
      /** Another instance: its own pool on the same tables, its own outbox and worker. */
      const instance = (options: DeliveryWorkerOptions = {}) => {
        const other = kind.openAgain();
        stores.push(other);
        const otherOutbox = new SqlOutbox(other.database(), { now: clock.now });
        return worker({ pollMs: 20, ...options }, otherOutbox);
      };

      it('lets two instances deliver 500 messages together: each handed out once, all delivered', async function () {
        this.timeout(60_000);
        const ids = await commitMany(store, outbox, 500);
        const handed: OutboxMessage[][] = [[], []];
        const pair = [instance(), instance()];
        pair.forEach((w, i) =>
          w.addDeliverer({
            channels: ['wecom'],
            deliver: (m) => {
              handed[i].push(m);
              w.acknowledge(m.messageId).catch(() => undefined);
            },
            dead: () => assert.fail('nothing dies'),
          }),
        );
        pair.forEach((w) => w.kick());
        await until('all 500 delivered', async () => (await outbox.stats()).delivered === 500, 30_000);
        const all = [...handed[0], ...handed[1]];
        assert.equal(all.length, 500, 'no message went out twice');
        assert.deepEqual(idsOf(all).sort(), [...ids].sort());
        assert.ok(all.every((m) => m.attempt === 1));
        assert.ok(handed[0].length > 0 && handed[1].length > 0, 'both instances delivered');
      });

      it('lets the other instance finish when one dies mid-delivery', async function () {
        this.timeout(60_000);
        const ids = await commitMany(store, outbox, 100);
        const dying = instance({ batch: 30 });
        const lost: OutboxMessage[] = [];
        // It takes one batch and dies before answering any of it.
        let died: Promise<void> = Promise.resolve();
        dying.addDeliverer({
          channels: ['wecom'],
          deliver: (m) => {
            if (lost.push(m) === 30) died = dying.stop();
          },
          dead: () => undefined,
        });
        dying.kick();
        await until('its one batch', () => lost.length === 30);
        await died;
        await stores[0].close();
        assert.equal(lost.length, 30);

        const survivor = instance({ batch: 10 });
        const finished: OutboxMessage[] = [];
        survivor.addDeliverer({
          channels: ['wecom'],
          deliver: (m) => {
            finished.push(m);
            survivor.acknowledge(m.messageId).catch(() => undefined);
          },
          dead: () => assert.fail('nothing dies'),
        });
        survivor.kick();
        await until('the 70 nobody held', async () => (await outbox.stats()).delivered === 70);
        clock.advance(30);
        await until('all 100 delivered', async () => (await outbox.stats()).delivered === 100);
        assert.deepEqual(idsOf(finished).sort(), [...ids].sort());
        const takenOver = finished.filter((m) => m.attempt === 2);
        assert.deepEqual(idsOf(takenOver).sort(), idsOf(lost).sort());
      });
    }
  });
});

/**
 * Runs a worker in a process of its own: it delivers one message, is stopped, its store
 * closed, and then the process must end by itself (a timer left running would keep it).
 */
function runWorkerProcess(config: StoreConfig): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const lib = join(__dirname, '..', '..', '..', 'lib');
  const script = `
    const { createStore } = require(${JSON.stringify(join(lib, 'store'))});
    const { SqlOutbox } = require(${JSON.stringify(join(lib, 'dcn', 'outbox'))});
    const { DeliveryWorker } = require(${JSON.stringify(join(lib, 'dcn', 'delivery'))});
    (async () => {
      const store = createStore(${JSON.stringify(config)});
      const outbox = new SqlOutbox(store.database());
      await outbox.migrate();
      await store.database().transaction((tx) => outbox.createInTx(tx, ${JSON.stringify(wfRequest('TR-1001'))}, ${JSON.stringify([SUPADMIN_DEVICES[0]])}));
      const worker = new DeliveryWorker(outbox, { pollMs: 50 });
      const delivered = new Promise((resolve) => worker.addDeliverer({ channels: ['wecom'], deliver: resolve, dead: () => undefined }));
      const message = await delivered;
      await worker.acknowledge(message.messageId);
      await worker.stop();
      await store.close();
      process.stdout.write('stopped after delivering ' + message.messageId);
    })();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process did not exit by itself after stop(); it printed: ${stdout}`));
    }, 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}
