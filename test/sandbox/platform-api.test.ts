import assert from 'node:assert/strict';
import type { Sandbox } from '../../sandbox';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import { withSandbox } from '../support/sandbox';

interface Listed {
  last: number;
  messages: { seq: number; api: string; body: { touser: string } }[];
}

describe('sandbox: the Official Account and WeCom stand-ins list delivered messages on a sandbox-only route', () => {
  let sandbox: Sandbox;
  withSandbox((started) => (sandbox = started));

  async function json(path: string, body?: unknown): Promise<Record<string, unknown>> {
    const init = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    return (await (await fetch(`${sandbox.baseUrl}${path}`, init)).json()) as Record<string, unknown>;
  }
  const listed = (path: string) => json(path) as unknown as Promise<Listed>;
  const recipients = (l: Listed) => l.messages.map((m) => [m.seq, m.body.touser]);

  it('WeCom: the messages to one user (named alone, among several, or through @all) after `since`', async () => {
    const token = (await json(`/wecom/cgi-bin/gettoken?corpid=${DEMO_WECOM_APP.corpId}&corpsecret=${DEMO_WECOM_APP.corpSecret}`)).access_token;
    for (const touser of ['P000001', 'P000002|P000001', 'P000002', '@all']) {
      const sent = await json(`/wecom/cgi-bin/message/send?access_token=${String(token)}`, { touser, agentid: DEMO_WECOM_APP.agentId, msgtype: 'text', text: { content: 'hi' } });
      assert.equal(sent.errcode, 0);
    }
    const mine = await listed('/wecom/_sandbox/messages?user=P000001');
    assert.equal(mine.last, 4);
    assert.deepEqual(recipients(mine), [
      [1, 'P000001'],
      [2, 'P000002|P000001'],
      [4, '@all'],
    ]);
    assert.deepEqual(recipients(await listed('/wecom/_sandbox/messages?user=P000001&since=2')), [[4, '@all']]);
    assert.equal((await listed('/wecom/_sandbox/messages')).messages.length, 4);
  });

  it('Official Account: customer-service messages to one OpenID', async () => {
    const token = (await json(`/wechat/cgi-bin/token?grant_type=client_credential&appid=${DEMO_OFFICIAL_ACCOUNT.appId}&secret=${DEMO_OFFICIAL_ACCOUNT.appSecret}`)).access_token;
    for (const touser of ['oOne', 'oTwo']) {
      assert.equal((await json(`/wechat/cgi-bin/message/custom/send?access_token=${String(token)}`, { touser, msgtype: 'text', text: { content: 'hi' } })).errcode, 0);
    }
    const listedForTwo = await listed('/wechat/_sandbox/messages?user=oTwo');
    assert.deepEqual(recipients(listedForTwo), [[2, 'oTwo']]);
    assert.equal(listedForTwo.messages[0].api, 'message/custom/send');
  });

  it('refuses a malformed since and unknown controls, and needs no access token', async () => {
    const bad = await fetch(`${sandbox.baseUrl}/wecom/_sandbox/messages?since=x`);
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${sandbox.baseUrl}/wechat/_sandbox/other`)).status, 404);
    assert.deepEqual(await json('/wechat/_sandbox/messages'), { last: 0, messages: [] });
  });
});
