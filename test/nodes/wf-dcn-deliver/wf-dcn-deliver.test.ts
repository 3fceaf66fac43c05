import assert from 'node:assert/strict';
import type { Node, NodeMessage } from 'node-red';
import registerDeliver from '../../../nodes/wf-dcn-deliver/wf-dcn-deliver';
import type { DeliveryMessage } from '../../../nodes/wf-dcn-deliver/delivery-message';
import { fillTemplate } from '../../../nodes/wf-dcn-deliver/delivery-message';
import { deliveryChannels } from '../../../nodes/wf-dcn-deliver/delivering';
import registerHub from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import type { WfDcnHubNode } from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { waitFor, waitForStatus } from '../../support/flow-watch';
import { MS_USER, RECEIVER, SECURITY, StoreChoice, hubNodes, post, registerReceiver, sqliteStore, tripRequest } from '../../support/dcn-delivery';

describe('wf-dcn-deliver node', () => {
  const harness = new NodeRedHarness();
  after(() => harness.stop());
  afterEach(() => harness.unload());

  let delivered: DeliveryMessage[] = [];
  let dead: DeliveryMessage[] = [];

  async function load(deliver: Partial<FlowNode> = {}, store: StoreChoice = sqliteStore(), hub: Partial<FlowNode> = {}): Promise<WfDcnHubNode> {
    const { nodes, credentials } = hubNodes(store, hub);
    await harness.load(
      [registerDeliver, registerHub, registerStore],
      [
        { id: 'tab', type: 'tab' },
        ...nodes,
        { id: 'deliver', type: 'wf-dcn-deliver', z: 'tab', x: 100, y: 100, hub: 'hub', wires: [['out'], ['dead']], ...deliver },
        { id: 'out', type: 'helper', z: 'tab', x: 100, y: 100 },
        { id: 'dead', type: 'helper', z: 'tab', x: 100, y: 100 },
      ],
      credentials,
    );
    delivered = [];
    dead = [];
    harness.getNode('out').on('input', (m: NodeMessage) => delivered.push(m as DeliveryMessage));
    harness.getNode('dead').on('input', (m: NodeMessage) => dead.push(m as DeliveryMessage));
    return harness.getNode<WfDcnHubNode>('hub');
  }

  it('emits one message per device of the receiver once the request is committed, shaped for the send nodes', async () => {
    const hub = await load();
    await registerReceiver(hub);
    await post(hub, tripRequest('TR-1'));
    await waitFor('two deliveries', () => delivered.length === 2);
    const byChannel = new Map(delivered.map((m) => [m.channel, m]));
    const wecom = byChannel.get('wecom');
    const ms = byChannel.get('mobile-services');
    assert.ok(wecom && ms, `channels ${delivered.map((m) => m.channel).join(', ')}`);
    assert.equal(wecom.payload, 'Trip request approval required\nTrip TR-1 to Walldorf, 3 days');
    assert.equal(wecom.to, RECEIVER);
    assert.deepEqual(wecom.users, [RECEIVER]);
    assert.equal(ms.to, MS_USER);
    assert.deepEqual(ms.users, [MS_USER]);
    assert.equal(typeof wecom._msgid, 'string');
    assert.notEqual(wecom._msgid, ms._msgid, 'each message is a message of its own');
    const { messageId, ...rest } = wecom.dcn;
    assert.equal(typeof messageId, 'string');
    assert.notEqual(messageId, ms.dcn.messageId);
    assert.deepEqual(rest, {
      requestId: 'TR-1',
      kind: 'message',
      attempt: 1,
      security: SECURITY,
      user: RECEIVER,
      deviceId: 'wecom-1',
      channel: 'wecom',
      address: RECEIVER,
      msDevice: '',
      subject: 'Trip request approval required',
      from: 'travel-system',
      body: 'Trip TR-1 to Walldorf, 3 days',
      received: '2024-05-01T09:30:00+08:00',
      read: false,
      priority: true,
    });
    assert.equal(dead.length, 0);
    await waitForStatus(harness.getNode('deliver'), { fill: 'green', shape: 'dot', text: '2 out, 0 dead' });
  });

  it('fills its templates, and sends a withdrawal to a device that had the message when the request is deleted', async () => {
    const hub = await load({ text: '[{{from}}] {{subject}} ({{user}}, attempt {{attempt}}){{nothing}}', retractionText: '{{subject}}: withdrawn' });
    await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
    await post(hub, tripRequest('TR-2'));
    await waitFor('the message', () => delivered.length === 1);
    assert.equal(delivered[0].payload, `[travel-system] Trip request approval required (${RECEIVER}, attempt 1)`);
    assert.equal(await hub.worker.acknowledge(delivered[0].dcn.messageId), true);

    const retraction = await post(hub, { op: ':delete', id: 'TR-2', to: RECEIVER });
    assert.match(retraction.body, /retract|withdr/i);
    await waitFor('the withdrawal', () => delivered.length === 2);
    const withdrawal = delivered[1];
    assert.equal(withdrawal.dcn.kind, 'retraction');
    assert.equal(withdrawal.dcn.requestId, 'TR-2');
    assert.equal(withdrawal.channel, 'wecom');
    assert.equal(withdrawal.to, RECEIVER);
    assert.equal(withdrawal.payload, 'Trip request approval required: withdrawn');
    assert.notEqual(withdrawal.dcn.messageId, delivered[0].dcn.messageId);
  });

  it('emits only the channels it is set to; the others wait in the store', async () => {
    const hub = await load({ channels: ['mobile-services'] });
    await registerReceiver(hub);
    await post(hub, tripRequest('TR-3'));
    await waitFor('the Mobile Services message', () => delivered.length === 1);
    assert.equal(delivered[0].channel, 'mobile-services');
    await hub.worker.acknowledge(delivered[0].dcn.messageId);
    const stats = await hub.worker.stats();
    assert.equal(stats.pending, 1, 'the WeCom message is still waiting');
    assert.equal(stats.delivered, 1);
    assert.equal(delivered.length, 1);
  });

  it('emits a message again with the next attempt when nobody answered within the visibility timeout', async () => {
    const hub = await load({}, sqliteStore(), { visibilityTimeout: 1 });
    await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
    await post(hub, tripRequest('TR-4'));
    await waitFor('the second attempt', () => delivered.length === 2);
    assert.deepEqual(
      delivered.map((m) => m.dcn.attempt),
      [1, 2],
    );
    assert.equal(delivered[1].dcn.messageId, delivered[0].dcn.messageId, 'the same message, for receivers to de-duplicate');
    await hub.worker.acknowledge(delivered[1].dcn.messageId);
  });

  it('emits a message that used up its attempts once on the dead-letter output, with the last error', async () => {
    const hub = await load({}, sqliteStore(), { maxAttempts: 2 });
    await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
    await post(hub, tripRequest('TR-5'));
    await waitFor('the first attempt', () => delivered.length === 1);
    assert.equal(await hub.worker.fail(delivered[0].dcn.messageId, 'errcode 45009'), 'retry');
    await waitFor('the second attempt', () => delivered.length === 2);
    assert.equal(delivered[1].dcn.lastError, 'errcode 45009', 'a later attempt says why the one before failed');
    assert.equal(await hub.worker.fail(delivered[1].dcn.messageId, 'errcode 45009 again'), 'dead');
    await waitFor('the dead letter', () => dead.length === 1);
    assert.equal(dead[0].dcn.messageId, delivered[0].dcn.messageId);
    assert.equal(dead[0].dcn.lastError, 'errcode 45009 again');
    assert.equal(dead[0].channel, 'wecom');
    assert.equal(dead[0].payload, 'Trip request approval required\nTrip TR-5 to Walldorf, 3 days');
    await waitForStatus(harness.getNode('deliver'), { fill: 'yellow', shape: 'ring', text: '2 out, 1 dead' });
    assert.equal(delivered.length, 2, 'no third attempt');
    assert.equal(dead.length, 1, 'a dead letter comes once');
  });

  it('goes on after a restart with the messages that were not delivered', async () => {
    const store = sqliteStore();
    let hub = await load({}, store);
    await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
    await post(hub, tripRequest('TR-6'));
    await waitFor('the first attempt', () => delivered.length === 1);
    const { messageId } = delivered[0].dcn;
    await harness.unload();

    hub = await load({}, store);
    await waitFor('the message after the restart', () => delivered.length === 1);
    assert.equal(delivered[0].dcn.messageId, messageId);
    assert.equal(delivered[0].dcn.attempt, 2);
    assert.equal(await hub.worker.acknowledge(messageId), true);
  });

  it('says so and emits nothing when it has no hub or no valid channel', async () => {
    await load({ hub: '' });
    await waitForStatus(harness.getNode('deliver'), { fill: 'red', shape: 'ring', text: 'wf-dcn-deliver.status.noHub' });
    await harness.unload();
    await load({ channels: ['inbox'] });
    const deliver = harness.getNode('deliver') as Node & { error: { args: unknown[][] } };
    await waitForStatus(deliver, { fill: 'red', shape: 'ring', text: 'wf-dcn-deliver.status.badConfig' });
    assert.match(String(deliver.error.args[0][0]), /the channels must be some of wecom, wechat, mobile-services/);
  });

  describe('helpers', () => {
    it('takes channels as a list or comma-separated text, all three when unset, and refuses unknown ones', () => {
      assert.deepEqual(deliveryChannels(undefined), ['wecom', 'wechat', 'mobile-services']);
      assert.deepEqual(deliveryChannels('wechat, wecom,wechat'), ['wechat', 'wecom']);
      assert.deepEqual(deliveryChannels(['mobile-services']), ['mobile-services']);
      assert.equal(deliveryChannels(['inbox']), null);
      assert.equal(deliveryChannels(['wecom', 'sms']), null);
      assert.equal(deliveryChannels([]), null);
    });

    it('fills {{name}} with the field, any value as text, and unknown names with nothing', () => {
      const fields = { subject: 'S', body: 'B', attempt: 3, read: false, priority: true } as unknown as Parameters<typeof fillTemplate>[1];
      assert.equal(fillTemplate('{{subject}}\n{{ body }} #{{attempt}} {{read}}/{{priority}} {{constructor}}{{x}}', fields), 'S\nB #3 false/true ');
    });
  });
});
