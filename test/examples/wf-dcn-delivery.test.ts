import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import { basicHeader } from '../../lib/http/basic-auth';
import registerAck from '../../nodes/wf-dcn-ack/wf-dcn-ack';
import registerDeliver from '../../nodes/wf-dcn-deliver/wf-dcn-deliver';
import registerHub from '../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerIn from '../../nodes/wf-dcn-in/wf-dcn-in';
import registerRegistry from '../../nodes/wf-dcn-registry/wf-dcn-registry';
import registerMsApp from '../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../nodes/mobile-services-push/mobile-services-push';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerSend from '../../nodes/wechat-send/wechat-send';
import { DEMO_DCN } from '../../sandbox/demo-accounts';
import { demoCredentials } from '../../sandbox/demo-credentials';
import { Sandbox, startSandbox } from '../../sandbox/index';
import { demoRegistrations } from '../../sandbox/mobile-services/push';
import { NodeRedHarness, RegisterFn } from '../support/node-red-harness';
import { waitFor } from '../support/flow-watch';
import { readShippedFlow, useDemoEnvironment } from '../support/shipped-flow';

const CORE = join(require.resolve('@node-red/nodes/package.json'), '..', 'core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = (file: string) => require(join(CORE, file)) as RegisterFn;

type Outcome = NodeMessage & { channel: string; dcn: { requestId: string; kind: string; attempt: number; outcome: string; lastError?: string } };

describe('example: WF-DCN delivery (examples/wf-dcn-delivery.json)', () => {
  const harness = new NodeRedHarness();
  let sandbox: Sandbox;
  let restoreEnv = () => {};
  const outcomes: Outcome[] = [];

  before(async () => {
    // SUPAdmin, the demo's receiver, is a Mobile Services user with a Micro App registration here.
    const registrations = [...demoRegistrations(), { user: DEMO_DCN.mobileServicesUser, devices: ['supadmin-phone'], groups: [], topics: [], microApp: true }];
    sandbox = await startSandbox({ port: 0, mobileServices: { registrations } });
    restoreEnv = useDemoEnvironment(sandbox.baseUrl);
    const flow = readShippedFlow('wf-dcn-delivery.json', 'examples');
    const hub = flow.find((n) => n.type === 'wf-dcn-hub');
    assert.ok(hub);
    await harness.load(
      [registerHub, registerIn, registerRegistry, registerDeliver, registerAck, registerAccount, registerSend, registerMsApp, registerPush, ...['function/10-switch.js', 'common/20-inject.js', 'common/21-debug.js', 'common/25-catch.js', 'common/90-comment.js'].map(core)],
      flow,
      // The hub's Senders as the comment says: the demo's ${DCN_SENDERS}.
      { ...demoCredentials(flow), [hub.id]: { senders: '${DCN_SENDERS}' } },
    );
    harness.getNode('dcnd.outcome').on('input', (m: NodeMessage) => outcomes.push(m as Outcome));
  });
  after(async () => {
    await harness.stop();
    restoreEnv();
    await sandbox?.close();
  });

  const login = { authorization: basicHeader(DEMO_DCN.sender, DEMO_DCN.password) };

  async function postWf(request: object): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${harness.baseUrl}/dcn/delivery/HttpAuthDCNServlet?cmd=wf&security=${DEMO_DCN.security}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...login },
      body: JSON.stringify(request),
    });
    return { status: res.status, body: await res.json() };
  }

  const trip = (id: string) => ({
    op: ':upsert',
    id,
    to: DEMO_DCN.receiver,
    subject: 'Trip request approval required',
    from: 'travel-system',
    body: `Trip ${id}: Walldorf, 6 to 8 May`,
    received: '2024-05-01T09:30:00+08:00',
    read: false,
    priority: true,
    data: [{ id: '1', pkg: DEMO_DCN.package, messages: [{ id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: id, status: 'PENDING' } }] }],
  });
  const of = (requestId: string) => outcomes.filter((m) => m.dcn.requestId === requestId).map((m) => `${m.channel} ${m.dcn.kind} ${m.dcn.attempt} ${m.dcn.outcome}`);

  it("registers SUPAdmin's two devices from its inject nodes", async () => {
    const registered: NodeMessage[] = [];
    harness.getNode('dcnd.registered').on('input', (m: NodeMessage) => registered.push(m));
    harness.getNode('dcnd.device.wecom').receive({});
    harness.getNode('dcnd.device.ms').receive({});
    await waitFor('two devices registered', () => registered.length === 2);
    const res = await fetch(`${harness.baseUrl}/dcn/examples/admin/registry/${DEMO_DCN.security}/${DEMO_DCN.receiver}`, { headers: login });
    assert.deepEqual(
      ((await res.json()) as Array<{ channel: string }>).map((d) => d.channel),
      ['mobile-services', 'wecom'],
    );
  });

  it('delivers a posted request to the WeCom and the Mobile Services device and acknowledges both', async () => {
    const answer = await postWf(trip('TR-100'));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(Array.isArray(answer.body) && answer.body.every((r: { success: boolean }) => r.success));
    await waitFor('both acknowledged', () => of('TR-100').length === 2);
    assert.deepEqual(of('TR-100').sort(), ['mobile-services message 1 delivered', 'wecom message 1 delivered']);
    assert.deepEqual(
      sandbox.wecom.messages.map((m) => [m.body.touser, (m.body.text as { content: string }).content]),
      [[DEMO_DCN.receiver, 'Trip request approval required\nTrip TR-100: Walldorf, 6 to 8 May']],
    );
    assert.deepEqual(
      sandbox.mobileServices.deliveries.map((d) => d.delivered),
      [[DEMO_DCN.mobileServicesUser]],
    );
  });

  it('retries a send that failed, through the Catch node, and then delivers it', async () => {
    sandbox.wecom.inject({ api: 'message/send', errcode: 45009, errmsg: 'api freq out of limit' });
    const answer = await postWf(trip('TR-101'));
    assert.equal(answer.status, 200);
    // The hub's retry delay is 5 s in this flow.
    await waitFor('the WeCom message delivered on its second attempt', () => of('TR-101').length === 3, 15_000);
    assert.deepEqual(of('TR-101').sort(), ['mobile-services message 1 delivered', 'wecom message 1 retry', 'wecom message 2 delivered']);
  });

  it('withdraws a request on both devices when the back end deletes it', async () => {
    const before = sandbox.wecom.messages.length;
    const answer = await postWf({ op: ':delete', id: 'TR-100', to: DEMO_DCN.receiver });
    assert.equal(answer.status, 200);
    await waitFor('both withdrawals acknowledged', () => of('TR-100').length === 4);
    assert.deepEqual(of('TR-100').slice(2).sort(), ['mobile-services retraction 1 delivered', 'wecom retraction 1 delivered']);
    assert.equal((sandbox.wecom.messages[before].body.text as { content: string }).content, 'Withdrawn: Trip request approval required');
  });
});
