import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import type { CachedRow, Device, OutboxMessage } from '../../../lib/dcn';
import registerHub from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import type { WfDcnHubNode } from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerRegistry from '../../../nodes/wf-dcn-registry/wf-dcn-registry';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { waitForStatus } from '../../support/flow-watch';
import { usePostgresSchema } from '../../lib/store/pg-support';
import { RECEIVER, SECURITY, StoreChoice, hubNodes, post, postgresStore, sqliteStore, tripRequest } from '../../support/dcn-delivery';

type Msg = NodeMessage & Record<string, unknown>;
interface CaughtError {
  message: string;
  code?: string;
  params?: Record<string, unknown>;
}

describe('wf-dcn-registry node', () => {
  const harness = new NodeRedHarness();
  after(() => harness.stop());
  afterEach(() => harness.unload());

  let settle: ((outcome: { out?: Msg; caught?: Msg }) => void) | null = null;

  async function load(store: StoreChoice, registry: Partial<FlowNode> = {}): Promise<WfDcnHubNode> {
    const { nodes, credentials } = hubNodes(store);
    const placed = (n: FlowNode): FlowNode => ({ z: 'tab', x: 100, y: 100, ...n });
    await harness.load(
      [registerRegistry, registerHub, registerStore],
      [
        { id: 'tab', type: 'tab' },
        ...nodes,
        ...[
          { id: 'reg', type: 'wf-dcn-registry', hub: 'hub', operation: 'msg', wires: [['out']], ...registry },
          { id: 'out', type: 'helper' },
          { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
          { id: 'caught', type: 'helper' },
        ].map(placed),
      ],
      credentials,
    );
    harness.getNode('out').on('input', (m: NodeMessage) => settle?.({ out: m as Msg }));
    harness.getNode('caught').on('input', (m: NodeMessage) => settle?.({ caught: m as Msg }));
    return harness.getNode<WfDcnHubNode>('hub');
  }

  function send(msg: Msg): Promise<{ out?: Msg; caught?: Msg }> {
    return new Promise((resolve) => {
      settle = (outcome) => {
        settle = null;
        resolve(outcome);
      };
      harness.getNode('reg').receive(msg);
    });
  }

  async function ok<T>(operation: string | undefined, payload: unknown): Promise<T> {
    const { out, caught } = await send({ operation, payload });
    assert.ok(out, `expected output, caught ${JSON.stringify(caught?.error)}`);
    return out.payload as T;
  }

  async function refused(operation: string | undefined, payload: unknown): Promise<CaughtError> {
    const { out, caught } = await send({ operation, payload });
    assert.ok(caught, `expected an error, got ${JSON.stringify(out?.payload)}`);
    return caught.error as CaughtError;
  }

  function operations(open: () => StoreChoice): void {
    it('registers, lists, replaces and unregisters devices', async () => {
      await load(open());
      const wecom = await ok<Device>('register', { security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
      assert.deepEqual({ ...wecom, registeredAt: '' }, { security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER, msDevice: '', registeredAt: '' });
      assert.match(wecom.registeredAt, /^\d{4}-\d\d-\d\dT/);
      await ok('register', { security: SECURITY, user: RECEIVER, deviceId: 'ms-1', channel: 'mobile-services', address: 'P000001', msDevice: 'sandbox-device-1' });
      await ok('register', { security: SECURITY, user: 'jdoe', deviceId: 'inbox', channel: 'inbox' });
      await ok('register', { security: 'travel', user: RECEIVER, deviceId: 'wechat-1', channel: 'wechat', address: 'oOpenId1' });

      const mine = await ok<Device[]>('list', { security: SECURITY, user: RECEIVER });
      assert.deepEqual(
        mine.map((d) => [d.deviceId, d.channel, d.address, d.msDevice]),
        [
          ['ms-1', 'mobile-services', 'P000001', 'sandbox-device-1'],
          ['wecom-1', 'wecom', RECEIVER, ''],
        ],
      );
      const inDefault = await ok<Device[]>('list', { security: SECURITY });
      assert.deepEqual(
        inDefault.map((d) => `${d.user}/${d.deviceId}`),
        ['SUPAdmin/ms-1', 'SUPAdmin/wecom-1', 'jdoe/inbox'],
      );
      assert.equal(inDefault[2].address, 'jdoe', "an inbox's address is its user");
      assert.equal((await ok<Device[]>('list', 1717171717)).length, 4, 'anything but an object lists every device');

      const replaced = await ok<Device>('register', { security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: 'SUPAdmin2' });
      assert.equal(replaced.address, 'SUPAdmin2');
      assert.equal((await ok<Device[]>('list', { security: SECURITY, user: RECEIVER })).length, 2);

      assert.equal(await ok<number>('unregister', { security: SECURITY, user: RECEIVER, deviceId: 'wecom-1' }), 1);
      assert.equal(await ok<number>('unregister', { security: SECURITY, user: RECEIVER, deviceId: 'wecom-1' }), 0);
      assert.equal(await ok<number>('unregister', { security: 'travel', user: RECEIVER }), 1, 'without deviceId: every device of the user');
      assert.deepEqual(
        (await ok<Device[]>('list', {})).map((d) => d.deviceId),
        ['ms-1', 'inbox'],
      );
      await waitForStatus(harness.getNode('reg'), { fill: 'green', shape: 'dot', text: 'list: 2' });
    });

    it('reads the rows a request put into the cache, all of an MBO or by key', async () => {
      const hub = await load(open());
      await post(hub, tripRequest('TR-20'));
      await post(hub, tripRequest('TR-21', { to: 'nobody' }));
      const rows = await ok<CachedRow[]>('cache', { package: 'travel:1.0', mbo: 'Trip' });
      assert.deepEqual(
        rows.map((r) => [r.package, r.mbo, r.key, r.row]),
        [
          ['travel', 'Trip', { tripId: 'TR-20' }, { tripId: 'TR-20', status: 'PENDING' }],
          ['travel', 'Trip', { tripId: 'TR-21' }, { tripId: 'TR-21', status: 'PENDING' }],
        ],
      );
      const one = await ok<CachedRow[]>('cache', { package: 'travel', mbo: 'Trip', key: { tripId: 'TR-21' } });
      assert.deepEqual(
        one.map((r) => r.key),
        [{ tripId: 'TR-21' }],
      );
      assert.deepEqual(await ok('cache', { package: 'travel', mbo: 'TripItem' }), []);
      const unknown = await refused('cache', { package: 'travel', mbo: 'Hotel' });
      assert.equal(unknown.code, 'dcn_unknown_mbo');
      assert.match(unknown.message, /the package travel has no MBO Hotel/);
      await waitForStatus(harness.getNode('reg'), { fill: 'red', shape: 'ring', text: 'failed' });
    });

    it("reads a user's inbox, newest first, and a withdrawn message leaves it", async () => {
      const hub = await load(open());
      await ok('register', { security: SECURITY, user: RECEIVER, deviceId: 'inbox', channel: 'inbox' });
      await post(hub, tripRequest('TR-22'));
      await post(hub, tripRequest('TR-23', { subject: 'Second trip' }));
      const inbox = await ok<OutboxMessage[]>('inbox', { security: SECURITY, user: RECEIVER });
      assert.deepEqual(
        inbox.map((m) => [m.requestId, m.subject, m.device.channel]),
        [
          ['TR-23', 'Second trip', 'inbox'],
          ['TR-22', 'Trip request approval required', 'inbox'],
        ],
      );
      assert.deepEqual(
        (await ok<OutboxMessage[]>('inbox', { security: SECURITY, user: RECEIVER, limit: 1 })).map((m) => m.requestId),
        ['TR-23'],
      );
      await post(hub, { op: ':delete', id: 'TR-23', to: RECEIVER });
      assert.deepEqual(
        (await ok<OutboxMessage[]>('inbox', { security: SECURITY, user: RECEIVER })).map((m) => m.requestId),
        ['TR-22'],
      );
      await waitForStatus(harness.getNode('reg'), { fill: 'green', shape: 'dot', text: `inbox ${RECEIVER}: 1` });
    });
  }

  describe('on SQLite', () => {
    operations(() => sqliteStore());

    it('does the operation set on the node, whatever msg.operation says', async () => {
      await load(sqliteStore(), { operation: 'register' });
      const device = await ok<Device>('unregister', { security: SECURITY, user: RECEIVER, deviceId: 'inbox', channel: 'inbox' });
      assert.equal(device.deviceId, 'inbox');
      await waitForStatus(harness.getNode('reg'), { fill: 'green', shape: 'dot', text: `registered ${RECEIVER}/inbox` });
    });

    it('refuses invalid input with the field it names, and goes on with the next message', async () => {
      await load(sqliteStore());
      const attempts: Array<[string | undefined, unknown, string, RegExp]> = [
        ['register', 'SUPAdmin', 'dcn_expected_object', /device must be an object \(got string\)/],
        ['register', { security: SECURITY, user: RECEIVER, deviceId: 'x', channel: 'sms', address: 'a' }, 'dcn_bad_channel', /channel must be one of wecom, wechat, mobile-services, inbox/],
        ['register', { security: SECURITY, user: RECEIVER, deviceId: 'x', channel: 'wecom' }, 'dcn_device_not_supplied', /address/],
        ['unregister', { security: SECURITY }, 'dcn_invalid_input', /^Error: msg\.payload\.user must be a non-empty string$/],
        ['unregister', { security: SECURITY, user: RECEIVER, deviceId: 7 }, 'dcn_invalid_input', /^Error: msg\.payload\.deviceId must be a string when given$/],
        ['cache', { package: 'travel' }, 'dcn_invalid_input', /^Error: msg\.payload\.mbo must be a non-empty string$/],
        ['cache', { package: 'travel', mbo: 'Trip', key: 'TR-1' }, 'dcn_invalid_input', /^Error: msg\.payload\.key must be an object/],
        ['cache', { package: 'travel', mbo: 'Trip', key: { status: 'PENDING' } }, 'dcn_not_a_key', /status is not a key attribute of Trip/],
        ['inbox', { security: SECURITY, user: RECEIVER, limit: 0 }, 'dcn_invalid_input', /^Error: msg\.payload\.limit must be a whole number from 1 to 1000$/],
        ['inbox', [], 'dcn_invalid_input', /^Error: msg\.payload must be an object$/],
        ['lookup', {}, 'dcn_invalid_input', /the operation "lookup" is not one of register, unregister, list, cache, inbox/],
        [undefined, {}, 'dcn_invalid_input', /the operation "undefined"/],
      ];
      for (const [operation, payload, code, text] of attempts) {
        const err = await refused(operation, payload);
        assert.equal(err.code, code, `${operation} ${JSON.stringify(payload)}: ${err.message}`);
        assert.match(err.message, text);
      }
      await waitForStatus(harness.getNode('reg'), { fill: 'red', shape: 'ring', text: 'invalid input' });
      assert.equal((await ok<Device[]>('list', {})).length, 0);
    });

    it('refuses every message when the node names an unknown operation, or has no hub', async () => {
      await load(sqliteStore(), { operation: 'lookup' });
      await waitForStatus(harness.getNode('reg'), { fill: 'red', shape: 'ring', text: 'wf-dcn-registry.status.badConfig' });
      assert.match((await refused('list', {})).message, /the operation "lookup" is not one of/);
      await harness.unload();
      await load(sqliteStore(), { hub: '' });
      await waitForStatus(harness.getNode('reg'), { fill: 'red', shape: 'ring', text: 'wf-dcn-registry.status.noHub' });
      assert.match((await refused('list', {})).message, /no wf-dcn-hub node is selected/);
    });
  });

  describe('on PostgreSQL', () => {
    const schema = usePostgresSchema();
    operations(() => postgresStore(schema));
  });
});
