import assert from 'node:assert/strict';
import type { Sandbox } from '../../sandbox';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import { withSandbox } from '../support/sandbox';

describe('sandbox: Official Account and WeCom API stand-ins', () => {
  let sandbox: Sandbox;
  let t = 1_700_000_000_000;
  const now = () => t;
  const oa = DEMO_OFFICIAL_ACCOUNT;

  withSandbox((started) => (sandbox = started), { wechat: { now, graceSeconds: 300 }, wecom: { now } });

  const get = async (path: string) => (await fetch(`${sandbox.baseUrl}${path}`)).json() as Promise<Record<string, unknown>>;
  const post = async (path: string, body: unknown) =>
    (await fetch(`${sandbox.baseUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).json() as Promise<
      Record<string, unknown>
    >;
  const classic = () => get(`/wechat/cgi-bin/token?grant_type=client_credential&appid=${oa.appId}&secret=${oa.appSecret}`);
  const stable = (force = false) => post('/wechat/cgi-bin/stable_token', { grant_type: 'client_credential', appid: oa.appId, secret: oa.appSecret, force_refresh: force });
  const sendWith = (token: unknown) => post(`/wechat/cgi-bin/message/custom/send?access_token=${token}`, { touser: 'u', msgtype: 'text', text: { content: 'x' } });

  it('replaces a classic token on refetch, keeping the old one valid for the grace period only', async () => {
    const first = await classic();
    const second = await classic();
    assert.notEqual(first.access_token, second.access_token);
    assert.equal((await sendWith(first.access_token)).errcode, 0);
    t += 300_000;
    assert.equal((await sendWith(first.access_token)).errcode, 40001);
    assert.equal((await sendWith(second.access_token)).errcode, 0);
    assert.ok(String(second.access_token).length >= 64);
  });

  it('returns the same stable token while valid, rotates it on force_refresh, and expires tokens', async () => {
    const a = await stable();
    const b = await stable();
    assert.equal(a.access_token, b.access_token);
    assert.ok((b.expires_in as number) <= 7200);
    const c = await stable(true);
    assert.notEqual(c.access_token, a.access_token);
    t += 7200_000;
    assert.equal((await sendWith(c.access_token)).errcode, 42001);
    assert.deepEqual(sandbox.wechat.tokenRequests, { token: 0, stable_token: 3 });
  });

  it('refuses unknown app ids, wrong secrets and missing or unknown tokens with the platform codes', async () => {
    assert.equal((await get(`/wechat/cgi-bin/token?grant_type=client_credential&appid=wxnope&secret=x`)).errcode, 40013);
    assert.equal((await post('/wechat/cgi-bin/stable_token', { grant_type: 'client_credential', appid: oa.appId, secret: 'bad' })).errcode, 40125);
    assert.equal((await post('/wechat/cgi-bin/message/custom/send', {})).errcode, 41001);
    assert.equal((await sendWith('made-up')).errcode, 40014);
    assert.equal(sandbox.wechat.messages.length, 0);
  });

  it('injects errcodes, HTTP failures and delays for the given number of calls', async () => {
    const { access_token: token } = await stable();
    sandbox.wechat.inject({ api: 'message/custom/send', errcode: 45009, times: 2 });
    assert.equal((await sendWith(token)).errcode, 45009);
    assert.equal((await sendWith(token)).errcode, 45009);
    assert.equal((await sendWith(token)).errcode, 0);
    sandbox.wechat.inject({ api: 'message/custom/send', status: 503 });
    assert.equal((await fetch(`${sandbox.baseUrl}/wechat/cgi-bin/message/custom/send?access_token=${token}`, { method: 'POST', body: '{}' })).status, 503);
    assert.equal(sandbox.wechat.messages.length, 1);
  });

  it('answers normally after an injected delay, and records the message', async () => {
    const { access_token: token } = await stable();
    sandbox.wechat.inject({ api: 'message/custom/send', delayMs: 20 });
    assert.equal((await sendWith(token)).errcode, 0);
    assert.equal(sandbox.wechat.messages.length, 1);
    assert.deepEqual(sandbox.wechat.messages[0].body, { touser: 'u', msgtype: 'text', text: { content: 'x' } });
  });

  it('injects expired-token answers and HTTP failures into the token APIs too', async () => {
    sandbox.wechat.inject({ api: 'stable_token', status: 502 });
    assert.equal((await fetch(`${sandbox.baseUrl}/wechat/cgi-bin/stable_token`, { method: 'POST', body: '{}' })).status, 502);
    const { access_token: token } = await stable();
    sandbox.wechat.inject({ api: 'message/custom/send', errcode: 42001 });
    assert.equal((await sendWith(token)).errcode, 42001);
    assert.equal((await sendWith(token)).errcode, 0);
  });

  it('uploads Official Account media within the size limits only', async () => {
    const { access_token: token } = await stable();
    const upload = async (type: string, size: number) => {
      const form = new FormData();
      form.append('media', new Blob([Buffer.alloc(size, 1)]), `m.${type}`);
      return (await fetch(`${sandbox.baseUrl}/wechat/cgi-bin/media/upload?access_token=${String(token)}&type=${type}`, { method: 'POST', body: form })).json() as Promise<
        Record<string, unknown>
      >;
    };
    assert.match(String((await upload('thumb', 64 * 1024)).media_id), /^sbx_media_/);
    assert.equal((await upload('thumb', 64 * 1024 + 1)).errcode, 40006);
    assert.equal((await upload('file', 100)).errcode, 40004);
    assert.deepEqual(
      sandbox.wechat.media.map((m) => [m.type, m.size]),
      [['thumb', 64 * 1024]],
    );
  });

  it('WeCom: one token per app secret, 60020 injection, recipients partly or wholly invalid', async () => {
    const tokenUrl = `/wecom/cgi-bin/gettoken?corpid=${DEMO_WECOM_APP.corpId}&corpsecret=${DEMO_WECOM_APP.corpSecret}`;
    const a = await get(tokenUrl);
    const b = await get(tokenUrl);
    assert.equal(a.access_token, b.access_token);
    assert.equal((await get(`/wecom/cgi-bin/gettoken?corpid=${DEMO_WECOM_APP.corpId}&corpsecret=bad`)).errcode, 40001);
    const send = (body: object) => post(`/wecom/cgi-bin/message/send?access_token=${a.access_token}`, { agentid: Number(DEMO_WECOM_APP.agentId), msgtype: 'text', text: { content: 'x' }, ...body });
    sandbox.wecom.inject({ api: 'message/send', errcode: 60020 });
    assert.equal((await send({ touser: 'u' })).errcode, 60020);
    const partial = await send({ touser: 'u|InvalidX', toparty: 'invalid9' });
    assert.equal(partial.errcode, 0);
    assert.equal(partial.invaliduser, 'invalidx');
    assert.equal(partial.invalidparty, 'invalid9');
    assert.equal((await send({ touser: 'invalidY' })).errcode, 81013);
    assert.equal((await send({ touser: 'u', agentid: 1 })).errcode, 40056);
    sandbox.wecom.inject({ api: 'message/send', errcode: 42001 });
    assert.equal((await send({ touser: 'u' })).errcode, 42001);
    sandbox.wecom.inject({ api: 'message/send', status: 503 });
    assert.equal((await fetch(`${sandbox.baseUrl}/wecom/cgi-bin/message/send?access_token=${String(a.access_token)}`, { method: 'POST', body: '{}' })).status, 503);
    assert.equal(sandbox.wecom.messages.length, 1);
  });
});
