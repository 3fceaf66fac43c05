import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import { DeliveryWorker } from '../../../lib/dcn';
import type { OutboxMessage } from '../../../lib/dcn/types';
import { basicHeader } from '../../../lib/http/basic-auth';
import { PostgresStore, SqliteStore } from '../../../lib/store';
import type { WeChatSapStoreNode } from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { PG_URL, usePostgresSchema } from '../../lib/store/pg-support';
import { waitFor } from '../../support/flow-watch';
import { ADMIN, DcnFlow, SENDERS, TRAVEL_APP, answered, tripRequest } from '../../support/wf-dcn-flow';


describe('wf-dcn-hub', () => {
  const flow = new DcnFlow();
  after(() => flow.stop());
  afterEach(async () => {
    sinon.restore();
    await flow.harness.unload();
  });

  const wf = { cmd: 'wf', security: 'default' };
  const logged = (level: 'error' | 'warn', id = 'hub') => flow.logged(level, id);

  describe('senders', () => {
    const variable = 'WF_DCN_TEST_SENDERS';
    afterEach(() => delete process.env[variable]);

    it('takes them from the credential, also as ${NAME} of an environment variable', async () => {
      process.env[variable] = JSON.stringify([TRAVEL_APP]);
      await flow.load({ hubCredentials: { senders: `\${${variable}}` } });
      const travel = { cmd: 'wf', security: 'travel' };
      assert.equal((await flow.post(travel, tripRequest(), TRAVEL_APP)).status, 200);
      assert.equal((await flow.post(travel, tripRequest(), ADMIN)).status, 401, 'only the senders the variable holds');
    });

    it('has none, and says so, when the variable is not set or nothing is saved', async () => {
      await flow.load({ hubCredentials: { senders: `\${${variable}}` } });
      assert.deepEqual(logged('warn'), [
        `senders names the environment variable ${variable}, which is not set: the hub has no senders`,
        'The hub has no senders: every DCN request is refused with 401',
      ]);
      assert.equal((await flow.post(wf, tripRequest())).status, 401);
      await flow.harness.unload();
      await flow.load({ hubCredentials: {} });
      assert.deepEqual(logged('warn'), ['The hub has no senders: every DCN request is refused with 401']);
    });

    it('does not start with senders it cannot read, and never shows their text', async () => {
      const secret = 'p4ss-w0rd-never-logged';
      await flow.load({ hubCredentials: { senders: `[{"user":"erp","password":"${secret}","security":"travel"},{"user":"","password":"${secret}"}]` } });
      const errors = logged('error');
      assert.deepEqual(errors, ['The WF-DCN hub did not start: sender 2: user is missing or invalid']);
      assert.equal((await flow.post(wf, tripRequest())).status, 503);
      await assert.rejects(flow.hub().ready(), /sender 2: user is missing or invalid/);
      assert.throws(() => flow.hub().hub, /did not start/);
      assert.throws(() => flow.hub().worker, /did not start/);
      await flow.harness.unload();
      await flow.load({ hubCredentials: { senders: `{"user":"erp","password":"${secret}"` } });
      assert.deepEqual(logged('error'), ['The WF-DCN hub did not start: the senders are not valid JSON (their text is not shown: it holds passwords)']);
      assert.doesNotMatch(JSON.stringify([logged('error'), logged('warn')]), new RegExp(secret));
    });
  });

  it('does not start with MBO definitions it cannot read', async () => {
    await flow.load({ hub: { mbos: JSON.stringify([{ package: 'travel', name: 'Trip', keys: [] }]) } });
    assert.deepEqual(logged('error'), ['The WF-DCN hub did not start: MBO 1: keys is missing or invalid']);
    assert.equal((await flow.post(wf, tripRequest())).status, 503);
  });

  describe('the store', () => {
    it('opens the embedded SQLite file, keeps the data across a redeploy, and closes the file and the worker on close', async () => {
      const closed = sinon.spy(SqliteStore.prototype, 'close');
      const stopped = sinon.spy(DeliveryWorker.prototype, 'stop');
      await flow.load();
      await flow.registerDevices();
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      assert.ok(existsSync(join(flow.harness.userDir, 'wechat-sap.sqlite')));
      await flow.harness.unload();
      assert.equal(stopped.callCount, 1, 'the worker stopped');
      assert.equal(closed.callCount, 1, 'the file closed');
      assert.ok(stopped.firstCall.calledBefore(closed.firstCall), 'the worker stops before its store closes');

      await flow.load({}, true);
      const hub = flow.hub();
      assert.deepEqual((await hub.hub.cache.read('travel', 'Trip')).map((r) => r.row.tripId), ['T-77']);
      assert.equal((await hub.worker.stats()).pending, 2, 'committed messages are still there to deliver');
      assert.equal((await flow.post(wf, tripRequest({ id: 'WID-2' }))).status, 200, 'the redeployed hub serves (its admin routes were mounted again too)');
    });

    it('uses a selected wechat-sap-store and leaves closing it to that node', async () => {
      const closed = sinon.spy(SqliteStore.prototype, 'close');
      await flow.load({ hub: { store: 'store' }, extra: [{ id: 'store', type: 'wechat-sap-store', kind: 'sqlite', path: 'dcn.sqlite' }] });
      await flow.registerDevices();
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      const selected = flow.harness.getNode<WeChatSapStoreNode>('store').store;
      assert.ok(existsSync(join(flow.harness.userDir, 'dcn.sqlite')));
      assert.ok(!existsSync(join(flow.harness.userDir, 'wechat-sap.sqlite')), 'no embedded file was opened');
      await flow.harness.unload();
      assert.equal(closed.callCount, 1);
      assert.equal(closed.firstCall.thisValue, selected, 'closed once, by the store node');
    });

    it('does not start on a selected store that is unusable, and opens no other store instead', async () => {
      await flow.load({ hub: { store: 'store' }, extra: [{ id: 'store', type: 'wechat-sap-store', kind: 'postgres', schema: 'Bad-Name' }] });
      assert.match(logged('error')[0], /^The WF-DCN hub did not start: the selected store is not available: .*schema "Bad-Name"/);
      assert.equal((await flow.post(wf, tripRequest())).status, 503);
      assert.ok(!existsSync(join(flow.harness.userDir, 'wechat-sap.sqlite')));
    });

    describe('on PostgreSQL', () => {
      const schema = usePostgresSchema();

      it('keeps the cache, the registry and the outbox there', async () => {
        const closed = sinon.spy(PostgresStore.prototype, 'close');
        const pg = { id: 'pg', type: 'wechat-sap-store', kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: 'hub_' };
        await flow.load({ hub: { store: 'pg' }, extra: [pg], credentials: { pg: { connectionString: PG_URL } } });
        await flow.registerDevices();
        const { status, body } = await answered<Array<{ statusMessage: string }>>(await flow.post(wf, tripRequest()));
        assert.equal(status, 200);
        assert.equal(body.at(-1)?.statusMessage, '2 messages for 2 devices of 1 receiver');
        const hub = flow.hub();
        assert.deepEqual((await hub.hub.cache.read('travel', 'Trip')).map((r) => r.row.tripId), ['T-77']);
        assert.equal((await hub.hub.registry.list({ user: 'SUPAdmin' })).length, 2);
        assert.equal((await hub.worker.stats()).pending, 2);
        assert.ok(!existsSync(join(flow.harness.userDir, 'wechat-sap.sqlite')), 'no embedded file was opened');
        await flow.harness.unload();
        assert.equal(closed.callCount, 1, 'the store node closed its pool; the hub did not');
      });
    });
  });

  describe('delivery', () => {
    const collect = (delivered: OutboxMessage[], dead: OutboxMessage[]) =>
      flow.hub().worker.addDeliverer({ channels: ['wecom', 'mobile-services'], deliver: (m) => delivered.push(m), dead: (m) => dead.push(m) });

    it('hands committed messages out at once, again after the visibility timeout, and dead after the last attempt', async () => {
      await flow.load({ hub: { visibilityTimeout: 1, maxAttempts: 2 } });
      await flow.registerDevices([{ security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin', msDevice: '' }]);
      const delivered: OutboxMessage[] = [];
      const dead: OutboxMessage[] = [];
      collect(delivered, dead);
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      await waitFor('the first hand-out', () => delivered.length === 1);
      assert.equal(delivered[0].attempt, 1);
      await waitFor('the hand-out after the visibility timeout', () => delivered.length === 2, 5000);
      assert.equal(delivered[1].attempt, 2);
      assert.equal(delivered[1].messageId, delivered[0].messageId, 'the same message, the same id');
      await waitFor('the dead letter after the last attempt', () => dead.length === 1, 5000);
      assert.equal(dead[0].messageId, delivered[0].messageId);
      assert.deepEqual(await flow.hub().worker.stats(), { pending: 0, delivered: 0, dead: 1 });
    });

    it('retries a failed delivery after the configured delay, and counts an acknowledged one delivered', async () => {
      await flow.load({ hub: { retryDelay: 0 } });
      await flow.registerDevices();
      const delivered: OutboxMessage[] = [];
      collect(delivered, []);
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      await waitFor('both messages handed out', () => delivered.length === 2);
      const worker = flow.hub().worker;
      assert.equal(await worker.fail(delivered[0].messageId, 'WeCom said no'), 'retry');
      assert.equal(await worker.acknowledge(delivered[1].messageId), true);
      await waitFor('the retry', () => delivered.length === 3, 5000);
      assert.equal(delivered[2].messageId, delivered[0].messageId);
      assert.equal(delivered[2].attempt, 2);
      assert.equal(delivered[2].lastError, 'WeCom said no');
      assert.equal(await worker.acknowledge(delivered[2].messageId), true);
      assert.deepEqual(await worker.stats(), { pending: 0, delivered: 2, dead: 0 });
    });
  });

  describe('admin routes', () => {
    it('serves the cache at its admin URL to the senders, and none when the URL is empty', async () => {
      await flow.load();
      await flow.registerDevices();
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      const read = (auth?: string) => fetch(flow.url('/dcn/admin/cache/travel/Trip'), { headers: auth ? { authorization: auth } : {} });
      const ok = await answered<Array<{ row: { tripId: string } }>>(await read(basicHeader(ADMIN.user, ADMIN.password)));
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.map((r) => r.row.tripId), ['T-77']);
      assert.equal((await read()).status, 401);
      await flow.harness.unload();
      await flow.load({ hub: { adminUrl: '' } });
      assert.equal((await read(basicHeader(ADMIN.user, ADMIN.password))).status, 404);
      assert.equal((await flow.post(wf, tripRequest())).status, 200, 'the servlets do not depend on the admin routes');
    });

    it('logs, and keeps serving the servlets, when its admin URL is taken', async () => {
      const other = { id: 'other', type: 'wechat-sap-store', kind: 'sqlite', path: 'other-hub.sqlite' };
      await flow.load({ extra: [other, { id: 'hub2', type: 'wf-dcn-hub', store: 'other', mbos: '[]', adminUrl: '/dcn/admin' }], credentials: { hub2: { senders: JSON.stringify(SENDERS) } } });
      const errors = [...logged('error'), ...logged('error', 'hub2')];
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0], /^The hub's admin routes are not served: /);
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
    });
  });
});
