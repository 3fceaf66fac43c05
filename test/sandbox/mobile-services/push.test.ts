import assert from 'node:assert/strict';
import type { Sandbox } from '../../../sandbox';
import { DEMO_MOBILE_SERVICES } from '../../../sandbox/demo-accounts';
import { withSandbox } from '../../support/sandbox';

const ms = DEMO_MOBILE_SERVICES;
type Answer = { status: number; body: Record<string, unknown> };

describe('sandbox: Mobile Services push stand-in', () => {
  let sandbox: Sandbox;
  withSandbox((started) => (sandbox = started));

  const appPath = (path: string, appId = ms.appId) => `/mobile-services/mobileservices/push/v2/backend/applications/${appId}/${path}`;
  async function post(path: string, body: unknown, headers: Record<string, string> = { 'X-API-Key': ms.apiKey }): Promise<Answer> {
    const res = await fetch(`${sandbox.baseUrl}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const text = await res.text();
    // Injected faults answer plain text, as a proxy in front of the service would.
    return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
  }
  const microApp = (wechat: Record<string, unknown>, users: unknown = ['P000001']) =>
    post(appPath('notifications/users'), { notification: { wechat: { createtime: '2024-05-01T08:00:00.000Z', ...wechat } }, users });
  const fieldOf = (a: Answer) => ((a.body.status as { parameters: { field: string }[] }).parameters[0] ?? {}).field;

  it('refuses a missing or wrong key, wrong Basic and unknown bearer tokens with 401', async () => {
    const basic = (user: string, key: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}` });
    const refused: Record<string, string>[] = [{}, { 'X-API-Key': 'wrong' }, basic(ms.keyAlias, 'wrong'), basic('other-alias', ms.apiKey), { authorization: 'Bearer sbx_unknown' }];
    for (const headers of refused) {
      assert.equal((await post(appPath('notifications'), { notification: { alert: 'x' } }, headers)).status, 401, JSON.stringify(headers));
    }
    assert.equal((await post(appPath('notifications'), { notification: { alert: 'x' } }, basic(ms.keyAlias, ms.apiKey))).status, 202);
    assert.equal(sandbox.mobileServices.deliveries.length, 1);
  });

  it('issues client-credentials tokens to the right client only, and accepts them as bearer', async () => {
    const token = async (auth: string, body = 'grant_type=client_credentials') =>
      fetch(`${sandbox.baseUrl}/mobile-services/oauth/token`, { method: 'POST', body, headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal((await token(`${ms.clientId}:wrong`)).status, 401);
    assert.equal((await token(`${ms.clientId}:${ms.clientSecret}`, 'grant_type=password')).status, 400);
    const issued = (await (await token(`${ms.clientId}:${ms.clientSecret}`)).json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(issued.token_type, 'bearer');
    assert.ok(issued.expires_in > 0);
    const answer = await post(appPath('groups/approvers/notifications'), { notification: { alert: 'x' } }, { authorization: `Bearer ${issued.access_token}` });
    assert.equal(answer.status, 201);
    assert.equal(sandbox.mobileServices.deliveries[0].auth, 'bearer');
  });

  it('answers pushResults per registration: sent, registration expired; unknown users are left out', async () => {
    const answer = await post(appPath('notifications/users'), { users: ['P000001', 'P000003', 'someone-else'], notification: { alert: 'x' } });
    assert.equal(answer.status, 201);
    const results = answer.body.pushResults as { target: string; code: number }[];
    assert.deepEqual(
      results.map((r) => [r.target, r.code]),
      [
        ['P000001', 0],
        ['P000003', 7],
      ],
    );
    assert.deepEqual(sandbox.mobileServices.deliveries[0].delivered, ['P000001']);
  });

  it('answers 400 "No registrations for the given users" when no target has a registration', async () => {
    const answer = await post(appPath('notifications/users'), { users: ['nobody'], notification: { alert: 'x' } });
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body.status, { code: 400, message: 'No registrations for the given users', parameters: null });
    assert.equal(sandbox.mobileServices.deliveries.length, 0);
  });

  it('refuses user lists outside 1..1000, unknown applications and malformed notifications field by field', async () => {
    assert.equal(fieldOf(await post(appPath('notifications/users'), { users: [], notification: {} })), 'users');
    assert.equal(fieldOf(await post(appPath('notifications/users'), { users: Array(1001).fill('P000001'), notification: {} })), 'users');
    assert.equal((await post(appPath('notifications/users'), { users: Array(1000).fill('P000001'), notification: {} })).status, 201);
    assert.equal(fieldOf(await post(appPath('notifications'), { notification: { badge: -1 } })), 'notification.badge');
    assert.equal(fieldOf(await post(appPath('notifications'), { notification: { alert: 5 } })), 'notification.alert');
    assert.equal(fieldOf(await post(appPath('notifications'), { notification: { data: 'x' } })), 'notification.data');
    assert.equal(fieldOf(await post(appPath('notifications'), { notification: { title: 'x' } })), 'notification.title');
    assert.equal(fieldOf(await post(appPath('notifications'), {})), 'notification');
    assert.equal(fieldOf(await post(appPath('topics/notifications'), { notification: {} })), 'topic');
    assert.equal((await post(appPath('notifications', 'com.other'), { notification: {} })).status, 404);
    assert.equal((await post(appPath('notifications'), '{not json')).status, 400);
  });

  it('checks Micro App pushes: createtime format, content per msgtype, media data URLs and sizes', async () => {
    assert.equal((await microApp({ msgtype: 'text', text: { content: 'ok' } })).status, 201);
    assert.equal(fieldOf(await microApp({ msgtype: 'text', text: { content: 'x' }, createtime: 1714550400 })), 'notification.wechat.createtime');
    assert.equal(fieldOf(await microApp({ msgtype: 'text', text: { content: 'x' }, createtime: '2024-05-01T08:00:00Z' })), 'notification.wechat.createtime');
    assert.equal(fieldOf(await microApp({ msgtype: 'text', text: {} })), 'notification.wechat.text.content');
    assert.equal(fieldOf(await microApp({ msgtype: 'textcard', textcard: { title: 't', description: 'd' } })), 'notification.wechat.textcard.url');
    assert.equal((await microApp({ msgtype: 'textcard', textcard: { title: 't', description: 'd', url: 'https://x', btntxt: 'More' } })).status, 201);
    assert.equal(fieldOf(await microApp({ msgtype: 'news', news: { articles: [] } })), 'notification.wechat.news.articles');
    assert.equal((await microApp({ msgtype: 'news', news: { articles: [{ title: 'a', url: 'https://x' }] } })).status, 201);
    assert.equal(fieldOf(await microApp({ msgtype: 'miniprogram_notice', miniprogram_notice: {} })), 'notification.wechat.msgtype');
    const file = (data: Buffer, name = 'a.pdf') => ({ msgtype: 'file', file: { media_file_encoded: `data:application/pdf;base64,${data.toString('base64')}`, media_file_name: name } });
    assert.equal((await microApp(file(Buffer.from('%PDF-1.4 sandbox')))).status, 201);
    assert.equal(fieldOf(await microApp(file(Buffer.from('tiny')))), 'notification.wechat.file.media_file_encoded');
    assert.equal(fieldOf(await microApp(file(Buffer.from('%PDF-1.4 sandbox'), ''))), 'notification.wechat.file.media_file_name');
    assert.equal(fieldOf(await microApp({ msgtype: 'file', file: { media_file_encoded: 'JVBERi0x', media_file_name: 'a.pdf' } })), 'notification.wechat.file.media_file_encoded');
    assert.equal(fieldOf(await microApp({ msgtype: 'text', text: { content: 'x' } }, null)), 'users');
    assert.deepEqual(
      sandbox.mobileServices.deliveries.map((d) => d.target),
      ['microApp', 'microApp', 'microApp', 'microApp'],
    );
  });

  it('injects 5xx, 429 and connection resets', async () => {
    sandbox.mobileServices.inject({ api: 'push', status: 503 });
    sandbox.mobileServices.inject({ api: 'push', status: 429 });
    assert.equal((await post(appPath('notifications'), { notification: {} })).status, 503);
    assert.equal((await post(appPath('notifications'), { notification: {} })).status, 429);
    sandbox.mobileServices.inject({ api: 'push', reset: true });
    await assert.rejects(post(appPath('notifications'), { notification: {} }));
    assert.equal((await post(appPath('notifications'), { notification: {} })).status, 202);
  });
});
