import assert from 'node:assert/strict';
import type { Sandbox } from '../../../sandbox';
import { DEMO_MICRO_APP, DEMO_MOBILE_SERVICES } from '../../../sandbox/demo-accounts';
import { SandboxDeliveries, microAppCallbackUrl } from '../../../sandbox/mobile-services/index';
import { WeChatClientSimulator } from '../../../sandbox/wechat-client';
import { withSandbox } from '../../support/sandbox';
import { TinyMessageHandler } from './message-handler';

const { requester, approver } = DEMO_MICRO_APP;

describe('sandbox: Mobile Services stand-in, the sandbox-only deliveries route', () => {
  let sandbox: Sandbox;
  const handler = new TinyMessageHandler();
  withSandbox((started) => (sandbox = started));
  before(async () => {
    sandbox.mobileServices.setMessageHandler({ url: await handler.start(), auth: { kind: 'none' } });
  });
  after(() => handler.stop());

  const route = (query = '') => fetch(`${sandbox.baseUrl}/mobile-services/_sandbox/deliveries${query}`);
  async function recorded(query = ''): Promise<SandboxDeliveries> {
    const res = await route(query);
    assert.equal(res.status, 200);
    return (await res.json()) as SandboxDeliveries;
  }
  async function push(users: string[], content: string): Promise<void> {
    const res = await fetch(`${sandbox.baseUrl}/mobile-services/mobileservices/push/v2/backend/applications/${DEMO_MOBILE_SERVICES.appId}/notifications/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-API-Key': DEMO_MOBILE_SERVICES.apiKey },
      body: JSON.stringify({ users, notification: { wechat: { msgtype: 'text', createtime: new Date().toISOString(), text: { content } } } }),
    });
    assert.equal(res.status, 201);
  }
  const said = (d: SandboxDeliveries) => ({
    pushes: d.pushes.map((p) => [p.seq, (p.body.notification as { wechat: { text: { content: string } } }).wechat.text.content]),
    exchanges: d.exchanges.map((e) => [e.seq, e.user, e.message.Content]),
  });

  it("lists one user's pushes and Micro App messages in one sequence, and only what came after `since`", async () => {
    const url = microAppCallbackUrl(sandbox.baseUrl);
    await WeChatClientSimulator.demo('microapp').deliver(url, { content: 'submit' });
    await push([approver], 'please approve');
    await WeChatClientSimulator.demo('microapp', { user: approver }).deliver(url, { content: 'approve' });
    await push([requester, approver], 'approved');

    const all = await recorded();
    assert.equal(all.last, 4);
    assert.deepEqual(said(all), {
      pushes: [
        [2, 'please approve'],
        [4, 'approved'],
      ],
      exchanges: [
        [1, requester, 'submit'],
        [3, approver, 'approve'],
      ],
    });
    assert.deepEqual(said(await recorded(`?user=${requester}`)), { pushes: [[4, 'approved']], exchanges: [[1, requester, 'submit']] });
    const later = await recorded(`?user=${approver}&since=2`);
    assert.deepEqual(said(later), { pushes: [[4, 'approved']], exchanges: [[3, approver, 'approve']] });
    assert.equal(later.last, 4, 'last counts every record, whoever it is for');
    assert.deepEqual(said(await recorded('?since=4')), { pushes: [], exchanges: [] });
  });

  it('starts again from nothing after a reset', async () => {
    await push([requester], 'x');
    sandbox.mobileServices.reset();
    assert.deepEqual(await recorded(), { last: 0, pushes: [], exchanges: [] });
  });

  it('refuses a since that is not a whole number, and answers 404 for other controls', async () => {
    const bad = await route('?since=-1');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /since must be a whole number/);
    assert.equal((await fetch(`${sandbox.baseUrl}/mobile-services/_sandbox/other`)).status, 404);
    assert.equal((await fetch(`${sandbox.baseUrl}/mobile-services/_sandbox/deliveries`, { method: 'POST', body: '{}' })).status, 404);
  });
});
