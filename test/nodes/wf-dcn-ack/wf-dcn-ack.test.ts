import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import type { NodeMessage } from 'node-red';
import registerAck from '../../../nodes/wf-dcn-ack/wf-dcn-ack';
import registerDeliver from '../../../nodes/wf-dcn-deliver/wf-dcn-deliver';
import type { DeliveryMessage } from '../../../nodes/wf-dcn-deliver/delivery-message';
import registerHub from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import type { WfDcnHubNode } from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerMsApp from '../../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../../nodes/mobile-services-push/mobile-services-push';
import registerAccount from '../../../nodes/wechat-account/wechat-account';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import registerSend from '../../../nodes/wechat-send/wechat-send';
import type { Sandbox } from '../../../sandbox';
import type { AckOutcome } from '../../../nodes/wf-dcn-ack/acknowledging';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { withSandbox } from '../../support/sandbox';
import { waitFor, waitForStatus } from '../../support/flow-watch';
import { usePostgresSchema } from '../../lib/store/pg-support';
import {
  MS_USER,
  RECEIVER,
  SECURITY,
  StoreChoice,
  accountNodes,
  deliveryWiring,
  hubNodes,
  post,
  postgresStore,
  registerReceiver,
  registerSwitch,
  sqliteStore,
  tripRequest,
} from '../../support/dcn-delivery';

type Acked = DeliveryMessage & { dcn: DeliveryMessage['dcn'] & { outcome: AckOutcome }; error?: { message: string } };

const NODES = [registerAck, registerDeliver, registerHub, registerStore, registerAccount, registerSend, registerMsApp, registerPush, registerSwitch];

describe('wf-dcn-ack node', () => {
  let sandbox: Sandbox;
  const harness = new NodeRedHarness();
  withSandbox((started) => (sandbox = started));
  after(() => harness.stop());
  afterEach(() => harness.unload());

  let acked: Acked[] = [];
  let dead: DeliveryMessage[] = [];
  let sent: DeliveryMessage[] = [];

  /** The wiring of the nodes' help (no function node) on the store; extra nodes join the tab. */
  async function load(store: StoreChoice, hub: Partial<FlowNode> = {}, extra: FlowNode[] = []): Promise<WfDcnHubNode> {
    const hubSetup = hubNodes(store, hub);
    const accounts = accountNodes(sandbox.baseUrl);
    await harness.load(
      NODES,
      [{ id: 'tab', type: 'tab' }, ...hubSetup.nodes, ...accounts.nodes, ...deliveryWiring(), ...extra],
      { ...hubSetup.credentials, ...accounts.credentials },
      { mobileServicesAppRetryDelay: 1 },
    );
    acked = [];
    dead = [];
    sent = [];
    // The test helper reports every node.send() of a node as a call:send event.
    (harness.getNode('deliver') as unknown as EventEmitter).on('call:send', (call: { args: [Array<DeliveryMessage | null>] }) => {
      const delivery = call.args[0][0];
      if (delivery) sent.push(delivery);
    });
    harness.getNode('acked').on('input', (m: NodeMessage) => acked.push(m as Acked));
    harness.getNode('dead').on('input', (m: NodeMessage) => dead.push(m as DeliveryMessage));
    return harness.getNode<WfDcnHubNode>('hub');
  }

  const outcomes = (channel?: string) => acked.filter((m) => !channel || m.channel === channel).map((m) => `${m.dcn.attempt}:${m.dcn.outcome}`);
  /** What wf-dcn-deliver emitted on its first output, in order. */
  const emitted = (): DeliveryMessage[] => sent;
  const wecomTexts = () => sandbox.wecom.messages.map((m) => (m.body.text as { content: string }).content);

  function wiredDelivery(open: () => StoreChoice): void {
    it('acknowledges what the send nodes delivered: the WeCom message and the Mobile Services push reach the stand-ins', async () => {
      const hub = await load(open());
      await registerReceiver(hub);
      await post(hub, tripRequest('TR-10'));
      await waitFor('both acknowledged', () => acked.length === 2);
      assert.deepEqual(outcomes('wecom'), ['1:delivered']);
      assert.deepEqual(outcomes('mobile-services'), ['1:delivered']);
      assert.deepEqual(sandbox.wecom.messages.map((m) => m.body.touser), [RECEIVER]);
      assert.deepEqual(wecomTexts(), ['Trip request approval required\nTrip TR-10 to Walldorf, 3 days']);
      assert.deepEqual(sandbox.mobileServices.deliveries.map((d) => d.delivered), [[MS_USER]]);
      const stats = await hub.worker.stats();
      assert.deepEqual([stats.pending, stats.delivered, stats.dead], [0, 2, 0]);
      await waitForStatus(harness.getNode('ack'), { fill: 'green', shape: 'dot', text: '2 delivered, 0 retry, 0 dead, 0 repeated' });
    });

    it('records a send failure caught by the Catch node as a failed attempt, and delivers on the next one', async () => {
      const hub = await load(open());
      await registerReceiver(hub);
      sandbox.wecom.inject({ api: 'message/send', errcode: 45009, errmsg: 'api freq out of limit' });
      await post(hub, tripRequest('TR-11'));
      await waitFor('the WeCom message delivered on its second attempt', () => outcomes('wecom').length === 2);
      assert.deepEqual(outcomes('wecom'), ['1:retry', '2:delivered']);
      assert.deepEqual(outcomes('mobile-services'), ['1:delivered']);
      const [failed, retried] = acked.filter((m) => m.channel === 'wecom');
      assert.match(String(failed.error?.message), /45009/, 'the Catch node passed the send error on');
      assert.equal(retried.dcn.messageId, failed.dcn.messageId);
      assert.match(String(retried.dcn.lastError), /^wechat-send: .*45009/, 'the second attempt carries why the first failed');
      assert.equal(retried.error, undefined);
      assert.equal(sandbox.wecom.messages.length, 1);
      assert.deepEqual((await hub.worker.stats()).delivered, 2);
    });

    it('sends a message whose attempts all failed to the dead-letter output', async () => {
      const hub = await load(open());
      await registerReceiver(hub);
      sandbox.wecom.inject({ api: 'message/send', errcode: 45009, times: 3 });
      await post(hub, tripRequest('TR-12'));
      await waitFor('the dead letter', () => dead.length === 1);
      assert.deepEqual(outcomes('wecom'), ['1:retry', '2:retry', '3:dead']);
      assert.equal(dead[0].channel, 'wecom');
      assert.equal(dead[0].dcn.requestId, 'TR-12');
      assert.match(String(dead[0].dcn.lastError), /45009/);
      assert.deepEqual(outcomes('mobile-services'), ['1:delivered'], 'the other device got its message');
      const stats = await hub.worker.stats();
      assert.deepEqual([stats.pending, stats.delivered, stats.dead], [0, 1, 1]);
      assert.equal(sandbox.wecom.messages.length, 0);
      await waitForStatus(harness.getNode('ack'), { fill: 'yellow', shape: 'ring', text: '1 delivered, 2 retry, 1 dead, 0 repeated' });
    });
  }

  describe('wired to the send nodes, on SQLite', () => {
    wiredDelivery(() => sqliteStore());

    it('counts a push the send node reports as failed for the device as a failed attempt', async () => {
      const hub = await load(sqliteStore(), { maxAttempts: 2 });
      // P000003's registration has expired: Mobile Services answers 201 with code 7 for it.
      await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'ms-expired', channel: 'mobile-services', address: 'P000003' });
      await post(hub, tripRequest('TR-13'));
      await waitFor('the dead letter', () => dead.length === 1);
      assert.deepEqual(outcomes(), ['1:retry', '2:dead']);
      assert.match(String(dead[0].dcn.lastError), /the push reached no device: P000003 7 registration expired/);
    });

    it('emits an unacknowledged message again after the visibility timeout, and acknowledges it once', async () => {
      const hub = await load(sqliteStore(), { visibilityTimeout: 1 });
      await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
      // WeCom answers the first send only long after the visibility timeout: meanwhile the message goes out again.
      sandbox.wecom.inject({ api: 'message/send', delayMs: 4000 });
      await post(hub, tripRequest('TR-14'));
      await waitFor('both attempts answered', () => acked.length === 2);
      const sent = emitted();
      assert.deepEqual(
        sent.map((m) => m.dcn.attempt),
        [1, 2],
      );
      assert.equal(sent[1].dcn.messageId, sent[0].dcn.messageId, 'the same message id, for the receiver to drop the repeat');
      assert.deepEqual(outcomes().sort(), ['1:duplicate', '2:delivered']);
      assert.equal(sandbox.wecom.messages.length, 2, 'at least once: WeCom got both attempts');
      const stats = await hub.worker.stats();
      assert.deepEqual([stats.pending, stats.delivered], [0, 1]);
    });

    it('acknowledges a repeated message once', async () => {
      const hub = await load(sqliteStore());
      await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
      await post(hub, tripRequest('TR-15'));
      await waitFor('acknowledged', () => acked.length === 1);
      const again = { ...acked[0], dcn: { ...acked[0].dcn } } as NodeMessage;
      harness.getNode('ack').receive(again);
      await waitFor('the repeat answered', () => acked.length === 2);
      assert.deepEqual(
        acked.map((m) => m.dcn.outcome),
        ['delivered', 'duplicate'],
      );
      await waitForStatus(harness.getNode('ack'), { fill: 'green', shape: 'dot', text: '1 delivered, 0 retry, 0 dead, 1 repeated' });
    });

    it('refuses a message that did not come from wf-dcn-deliver', async () => {
      await load(sqliteStore(), {}, [
        { id: 'ack-alone', type: 'wf-dcn-ack', z: 'tab', x: 100, y: 100, hub: 'hub', wires: [['acked']] },
        { id: 'ack-caught', type: 'catch', z: 'tab', x: 100, y: 100, scope: ['ack-alone'], uncaught: false, wires: [['ack-errors']] },
        { id: 'ack-errors', type: 'helper', z: 'tab', x: 100, y: 100 },
      ]);
      const errors: Array<{ error: { message: string } }> = [];
      harness.getNode('ack-errors').on('input', (m: NodeMessage) => errors.push(m as { error: { message: string } }));
      harness.getNode('ack-alone').receive({ payload: 'hello', dcn: { requestId: 'x' } } as NodeMessage);
      await waitFor('the error', () => errors.length === 1);
      assert.match(errors[0].error.message, /msg\.dcn\.messageId is missing/);
      assert.equal(acked.length, 0);
      await waitForStatus(harness.getNode('ack-alone'), { fill: 'red', shape: 'ring', text: 'wf-dcn-ack.status.noMessageId' });
    });
  });

  describe('wired to the send nodes, on PostgreSQL', () => {
    const schema = usePostgresSchema();
    wiredDelivery(() => postgresStore(schema));
  });
});
