import { strict as assert } from 'node:assert';
import { randomInt } from 'node:crypto';
import type { NodeMessage } from 'node-red';
import type { SinonSpy } from 'sinon';
import { basicHeader } from '../../../lib/http/basic-auth';
import { buildXml } from '../../../lib/wechat/xml';
import type { WeChatMessage } from '../../../nodes/wechat-in/wechat-in';
import type { Sandbox } from '../../../sandbox';
import { DEMO_MICRO_APP } from '../../../sandbox/demo-accounts';
import { waitFor, waitForStatus } from '../../support/flow-watch';
import { NodeRedHarness } from '../../support/node-red-harness';
import { withSandbox } from '../../support/sandbox';
import { HANDLER_CREDENTIALS, HANDLER_NODES, handlerFlow } from '../../support/wechat-inbound-flow';

type Caught = NodeMessage & { error: { message: string; source: { id: string } } };

describe('wechat-reply: a late reply to a message that came through SAP Mobile Services', () => {
  let sandbox: Sandbox;
  withSandbox((started) => (sandbox = started));
  const harness = new NodeRedHarness();
  let received: WeChatMessage[];
  let caught: Caught[];

  async function load(withApp = true): Promise<void> {
    await harness.load(HANDLER_NODES, handlerFlow({ replyTimeout: 0.3, sandboxUrl: withApp ? sandbox.baseUrl : undefined }), HANDLER_CREDENTIALS);
    received = [];
    caught = [];
    harness.getNode('sink').on('input', (msg: NodeMessage) => received.push(msg as WeChatMessage));
    harness.getNode('caught').on('input', (msg: NodeMessage) => caught.push(msg as Caught));
  }
  afterEach(() => harness.unload());
  after(() => harness.stop());

  /** Forwards a message from `from` and waits for the handler's answer, which the deadline makes "no reply". */
  async function missedDeadline(from: string = DEMO_MICRO_APP.requester): Promise<WeChatMessage> {
    const xml = buildXml({ ToUserName: DEMO_MICRO_APP.corpId, FromUserName: from, CreateTime: Math.floor(Date.now() / 1000), MsgType: 'text', Content: 'submit', MsgId: String(randomInt(1, 2 ** 47)), AgentID: DEMO_MICRO_APP.agentId });
    const res = await fetch(harness.baseUrl + DEMO_MICRO_APP.handlerPath, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', authorization: basicHeader(DEMO_MICRO_APP.forwardUser, DEMO_MICRO_APP.forwardPassword) },
      body: xml,
    });
    assert.deepEqual([res.status, await res.text()], [200, ''], 'Mobile Services was told "no reply"');
    return received.at(-1)!;
  }

  const reply = (msg: WeChatMessage, payload: unknown) => harness.getNode('reply').receive({ ...msg, payload } as NodeMessage);
  const warnings = () => (harness.getNode('reply').warn as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));
  const pushes = () => sandbox.mobileServices.deliveries.filter((d) => d.target === 'microApp');

  it('is pushed to the sender as a Micro App text through the account\'s mobile-services-app, not through WeCom', async () => {
    await load();
    reply(await missedDeadline(), '您的请假申请已提交');
    await waitFor('the push at the Mobile Services stand-in', () => pushes().length === 1);
    const [push] = pushes();
    assert.deepEqual(push.body.users, [DEMO_MICRO_APP.requester]);
    assert.deepEqual(push.delivered, [DEMO_MICRO_APP.requester]);
    const wechat = (push.body.notification as { wechat: Record<string, unknown> }).wechat;
    assert.equal(wechat.msgtype, 'text');
    assert.deepEqual(wechat.text, { content: '您的请假申请已提交' });
    assert.equal(push.auth, 'apiKey');
    await waitForStatus(harness.getNode('reply'), { fill: 'yellow', shape: 'ring', text: 'wechat-reply.status.pushedLate' });
    assert.ok(warnings().some((w) => w.includes('delivered as a Mobile Services push')));
    assert.equal(sandbox.wecom.messages.length, 0, 'no WeCom app message');
    assert.equal(sandbox.wecom.tokenRequestCount, 0, 'not even a WeCom token');
    assert.equal(caught.length, 0);
  });

  it('carries a news reply over as a news push', async () => {
    await load();
    reply(await missedDeadline(), { type: 'news', articles: [{ title: 'Leave request 42', description: '3 days', url: 'https://example.com/leave/42' }] });
    await waitFor('the push', () => pushes().length === 1);
    const wechat = (pushes()[0].body.notification as { wechat: Record<string, unknown> }).wechat;
    assert.equal(wechat.msgtype, 'news');
    assert.deepEqual(wechat.news, { articles: [{ title: 'Leave request 42', description: '3 days', url: 'https://example.com/leave/42' }] });
  });

  it('a reply that no push can carry (an image by media_id) is an error Catch nodes see, and nothing is sent', async () => {
    await load();
    reply(await missedDeadline(), { type: 'image', mediaId: 'MEDIA_1' });
    await waitFor('the error at the Catch node', () => caught.length > 0);
    assert.match(caught[0].error.message, /could not be sent as a Mobile Services push either: image replies cannot be sent as a Mobile Services push; only text and news replies can/);
    assert.equal(caught[0].error.source.id, 'reply');
    assert.equal(sandbox.mobileServices.pushRequestCount, 0);
    assert.equal(sandbox.wecom.messages.length, 0);
  });

  it('with no mobile-services-app on the account, the error says so', async () => {
    await load(false);
    reply(await missedDeadline(), 'too late');
    await waitFor('the error at the Catch node', () => caught.length > 0);
    assert.match(caught[0].error.message, /the account acc-microapp has no mobile-services-app selected/);
    assert.equal(sandbox.mobileServices.pushRequestCount, 0);
    await waitForStatus(harness.getNode('reply'), { fill: 'red', shape: 'ring', text: 'wechat-reply.status.lateFailed' });
  });

  it('a push Mobile Services does not deliver is an error with its answer', async () => {
    await load();
    const expired = 'P000003';
    reply(await missedDeadline(expired), 'approved');
    await waitFor('the error at the Catch node', () => caught.length > 0);
    assert.match(caught[0].error.message, /Mobile Services did not deliver it \(P000003: 7 Registration expired\)/);
    reply(await missedDeadline('P000099'), 'approved');
    await waitFor('the second error', () => caught.length > 1);
    assert.match(caught[1].error.message, /No registrations for the given users/);
  });

  it('a reply within the deadline still answers in the body, with no push', async () => {
    await load();
    harness.getNode('sink').on('input', (msg: NodeMessage) => reply(msg as WeChatMessage, 'in time'));
    const xml = buildXml({ ToUserName: DEMO_MICRO_APP.corpId, FromUserName: DEMO_MICRO_APP.requester, CreateTime: 1, MsgType: 'text', Content: 'x', MsgId: '1' });
    const res = await fetch(harness.baseUrl + DEMO_MICRO_APP.handlerPath, {
      method: 'POST',
      headers: { authorization: basicHeader(DEMO_MICRO_APP.forwardUser, DEMO_MICRO_APP.forwardPassword) },
      body: xml,
    });
    assert.match(await res.text(), /<Content><!\[CDATA\[in time\]\]><\/Content>/);
    assert.equal(sandbox.mobileServices.pushRequestCount, 0);
  });
});
