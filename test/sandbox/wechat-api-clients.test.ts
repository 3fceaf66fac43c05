/**
 * Contract tests: the Official Account and WeCom API stand-ins driven by classic
 * third-party clients, so the stand-ins keep answering what real clients send the way
 * the real servers do, in the shape those clients expect.
 *
 * - Official Account: co-wechat-api. Its README documents no way to change the host;
 *   every API URL is built from the instance's `prefix` property, so that is set.
 * - WeCom: wechat-enterprise-api, the WeCom counterpart its README points to, pointed
 *   at the sandbox the same way. It was written against urllib's callback API, which
 *   urllib 3 dropped; package.json's `overrides` keep it on urllib 2.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../sandbox';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import { withSandbox } from '../support/sandbox';

/** What both clients resolve with: the platform's JSON answer. */
type Answer = Record<string, unknown>;

/** Both clients reject with an Error named WeChatAPIError whose `code` is the errcode. */
interface ClientError extends Error {
  code?: number;
}

/** co-wechat-api ships no types; this is the part of it these tests use. */
interface CoWechatToken {
  accessToken: string;
  expireTime: number;
}
interface CoWechatApi {
  prefix: string;
  getAccessToken(): Promise<CoWechatToken>;
  sendText(openid: string, text: string): Promise<Answer>;
  sendNews(openid: string, articles: { title: string; description?: string; url?: string; picurl?: string }[]): Promise<Answer>;
  sendCard(openid: string, cardId: string): Promise<Answer>;
  sendTemplate(
    openid: string,
    templateId: string,
    url: string | undefined,
    topColor: string | undefined,
    data: Record<string, { value: string; color?: string }>,
    miniprogram?: { appid: string; pagepath: string },
  ): Promise<Answer>;
  uploadMedia(file: Buffer | string, type: string, filename?: string, mime?: string): Promise<Answer>;
}
type LoadToken = (this: CoWechatApi) => Promise<CoWechatToken | null | undefined>;
type SaveToken = (this: CoWechatApi, token: CoWechatToken | null) => Promise<void>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const CoWechatApi: new (appId: string, appSecret: string, getToken?: LoadToken, saveToken?: SaveToken) => CoWechatApi = require('co-wechat-api');

/** wechat-enterprise-api ships no types either; it answers through Node-style callbacks. */
type Callback<T> = (err: ClientError | null, data: T) => void;
interface Recipients {
  touser?: string;
  toparty?: string;
  totag?: string;
}
interface EnterpriseApi {
  prefix: string;
  getAccessToken(callback: Callback<{ accessToken: string }>): void;
  send(to: Recipients, message: Answer, callback: Callback<Answer>): void;
  uploadMedia(filepath: string, type: string, callback: Callback<Answer>): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const EnterpriseApi: new (corpId: string, corpSecret: string, agentId: string | number) => EnterpriseApi = require('wechat-enterprise-api');

function viaCallback<T>(run: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, data) => (err ? reject(err) : resolve(data))));
}

/** Asserts that `promise` rejects as the client reports a platform error: WeChatAPIError with the errcode. */
async function rejectsWithErrcode(promise: Promise<unknown>, errcode: number, errmsg?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: ClientError) => {
    assert.equal(err.name, 'WeChatAPIError');
    assert.equal(err.code, errcode);
    if (errmsg) assert.match(err.message, errmsg);
    return true;
  });
}

describe('sandbox API stand-ins driven by third-party WeChat clients', () => {
  let sandbox: Sandbox;
  withSandbox((started) => (sandbox = started));

  describe('Official Account API through co-wechat-api', () => {
    const oa = DEMO_OFFICIAL_ACCOUNT;
    const OPENID = 'oSandboxFollower000000000001';

    function client(appId = oa.appId, secret = oa.appSecret, getToken?: LoadToken, saveToken?: SaveToken): CoWechatApi {
      const api = new CoWechatApi(appId, secret, getToken, saveToken);
      api.prefix = `${sandbox.baseUrl}/wechat/cgi-bin/`;
      return api;
    }

    it('fetches a classic access token from cgi-bin/token and reuses it while it is valid', async () => {
      const api = client();
      const before = Date.now();
      const token = await api.getAccessToken();
      assert.match(token.accessToken, /^sbx_/);
      // The client subtracts 10 s from expires_in; the stand-in grants the platform's 7200 s.
      assert.ok(token.expireTime >= before + 7190_000 && token.expireTime <= Date.now() + 7190_000);
      await api.sendText(OPENID, 'one');
      await api.sendText(OPENID, 'two');
      assert.deepEqual(sandbox.wechat.tokenRequests, { token: 1, stable_token: 0 });
    });

    it('sends a customer-service text message the stand-in records as sent', async () => {
      const answer = await client().sendText(OPENID, '您好 & <welcome>');
      assert.deepEqual(answer, { errcode: 0, errmsg: 'ok' });
      assert.equal(sandbox.wechat.messages.length, 1);
      const sent = sandbox.wechat.messages[0];
      assert.equal(sent.api, 'message/custom/send');
      assert.equal(sent.account, oa.appId);
      assert.deepEqual(sent.body, { touser: OPENID, msgtype: 'text', text: { content: '您好 & <welcome>' } });
    });

    it('sends customer-service news of one article, and is refused 45008 for more, as WeChat has done since 2018', async () => {
      const api = client();
      const article = { title: 'Opening hours', description: 'Mon–Fri 9–18', url: 'https://www.example.com/hours', picurl: 'https://www.example.com/hours.jpg' };
      assert.deepEqual(await api.sendNews(OPENID, [article]), { errcode: 0, errmsg: 'ok' });
      await rejectsWithErrcode(api.sendNews(OPENID, [article, { ...article, title: 'Directions' }]), 45008, /article size out of limit/);
      assert.deepEqual(
        sandbox.wechat.messages.map((m) => m.body),
        [{ touser: OPENID, msgtype: 'news', news: { articles: [article] } }],
      );
    });

    it('sends a card coupon (msgtype wxcard), a customer-service type WeChat documents', async () => {
      assert.deepEqual(await client().sendCard(OPENID, 'pCardCoupon0001'), { errcode: 0, errmsg: 'ok' });
      assert.deepEqual(sandbox.wechat.messages[0].body, { touser: OPENID, msgtype: 'wxcard', wxcard: { card_id: 'pCardCoupon0001' } });
    });

    it('sends template messages with a URL or a mini program, and gets their msgid', async () => {
      const api = client();
      const data = { first: { value: 'Your order shipped', color: '#173177' }, keyword1: { value: 'SO-1001' } };
      const withUrl = await api.sendTemplate(OPENID, 'TEMPLATE_ORDER', 'https://www.example.com/orders/1001', '#FF0000', data);
      const withMiniProgram = await api.sendTemplate(OPENID, 'TEMPLATE_ORDER', undefined, undefined, data, { appid: 'wxminiprogram01', pagepath: 'pages/order?id=1001' });
      for (const answer of [withUrl, withMiniProgram]) {
        assert.equal(answer.errcode, 0);
        assert.equal(typeof answer.msgid, 'number');
      }
      assert.notEqual(withUrl.msgid, withMiniProgram.msgid);
      const [first, second] = sandbox.wechat.messages.map((m) => m.body);
      // The client still writes the retired top-level `color`; the platform ignores it, and so does the stand-in.
      assert.deepEqual(first, { touser: OPENID, template_id: 'TEMPLATE_ORDER', url: 'https://www.example.com/orders/1001', color: '#FF0000', data });
      assert.deepEqual(second, { touser: OPENID, template_id: 'TEMPLATE_ORDER', miniprogram: { appid: 'wxminiprogram01', pagepath: 'pages/order?id=1001' }, data });
    });

    it('uploads temporary media from a Buffer and from a file, as multipart field "media"', async () => {
      const api = client();
      const image = Buffer.alloc(2048, 0xff);
      const fromBuffer = await api.uploadMedia(image, 'image', 'photo.jpg', 'image/jpeg');
      assert.equal(fromBuffer.type, 'image');
      assert.match(String(fromBuffer.media_id), /^sbx_media_/);
      assert.equal(typeof fromBuffer.created_at, 'number');

      const dir = mkdtempSync(join(tmpdir(), 'wxbridge-media-'));
      try {
        const thumb = join(dir, 'thumb.jpg');
        writeFileSync(thumb, Buffer.alloc(64 * 1024, 1));
        const fromFile = await api.uploadMedia(thumb, 'thumb');
        assert.equal(fromFile.type, 'thumb');
        assert.deepEqual(
          sandbox.wechat.media.map((m) => [m.mediaId, m.type, m.filename, m.size]),
          [
            [fromBuffer.media_id, 'image', 'photo.jpg', 2048],
            [fromFile.media_id, 'thumb', 'thumb.jpg', 64 * 1024],
          ],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reports an unknown AppID as WeChatAPIError 40013, without asking again', async () => {
      await rejectsWithErrcode(client('wx0000000000000000', 'whatever').getAccessToken(), 40013, /invalid appid/);
      assert.equal(sandbox.wechat.tokenRequests.token, 1);
    });

    it("answers a wrong AppSecret with 40001, which co-wechat-api reads as a stale token: it drops it and asks again", async () => {
      // The client never gives up on 40001 by itself; the token store ends the loop on its second discard.
      const discarded: null[] = [];
      const saveToken: SaveToken = async (token) => {
        if (token !== null) throw new Error('a wrong secret must never be given a token');
        discarded.push(token);
        if (discarded.length === 2) throw new Error('token store: second discard');
      };
      await assert.rejects(client(oa.appId, 'not-the-secret', async () => null, saveToken).getAccessToken(), /second discard/);
      assert.equal(discarded.length, 2);
      assert.equal(sandbox.wechat.tokenRequests.token, 2);
      assert.equal(sandbox.wechat.messages.length, 0);
    });

    it('refetches the token and retries once after 40001 (replaced token) and 42001 (expired token)', async () => {
      const api = client();
      await api.sendText(OPENID, 'first');
      sandbox.wechat.revokeTokens();
      assert.equal((await api.sendText(OPENID, 'after a rotation')).errcode, 0);
      sandbox.wechat.expireTokens();
      assert.equal((await api.sendText(OPENID, 'after expiry')).errcode, 0);
      assert.equal(sandbox.wechat.tokenRequests.token, 3);
      assert.deepEqual(
        sandbox.wechat.messages.map((m) => (m.body.text as { content: string }).content),
        ['first', 'after a rotation', 'after expiry'],
      );
    });

    it('passes other platform errors to the caller untouched: 45015, 40003, 40037, 40004', async () => {
      const api = client();
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: 45015, errmsg: 'response out of time limit or subscription is canceled' });
      await rejectsWithErrcode(api.sendText(OPENID, 'too late'), 45015, /out of time limit/);
      await rejectsWithErrcode(api.sendText('', 'nobody'), 40003);
      await rejectsWithErrcode(api.sendTemplate(OPENID, '', undefined, undefined, { first: { value: 'x' } }), 40037);
      await rejectsWithErrcode(api.uploadMedia(Buffer.alloc(100, 1), 'file', 'report.pdf', 'application/pdf'), 40004);
      assert.equal(sandbox.wechat.messages.length, 0);
      assert.equal(sandbox.wechat.tokenRequests.token, 1);
    });
  });

  describe('WeCom API through wechat-enterprise-api', () => {
    const app = DEMO_WECOM_APP;

    function client(corpSecret = app.corpSecret, corpId = app.corpId, agentId: string | number = Number(app.agentId)): EnterpriseApi {
      const api = new EnterpriseApi(corpId, corpSecret, agentId);
      api.prefix = `${sandbox.baseUrl}/wecom/cgi-bin/`;
      return api;
    }

    const text = (content: string) => ({ msgtype: 'text', text: { content }, safe: 0 });

    it('fetches an access token with gettoken; a refetch while it is valid returns the same token', async () => {
      const first = await viaCallback<{ accessToken: string }>((done) => client().getAccessToken(done));
      const second = await viaCallback<{ accessToken: string }>((done) => client().getAccessToken(done));
      assert.match(first.accessToken, /^sbx_/);
      assert.equal(second.accessToken, first.accessToken);
      assert.equal(sandbox.wecom.tokenRequestCount, 2);
    });

    it('sends an app message with message/send, fetching the token first', async () => {
      const answer = await viaCallback<Answer>((done) => client().send({ touser: 'ZhangSan|LiSi' }, text('Meeting at 3 pm'), done));
      assert.equal(answer.errcode, 0);
      assert.equal(answer.errmsg, 'ok');
      assert.equal(answer.invaliduser, '');
      assert.equal(typeof answer.msgid, 'string');
      assert.equal(sandbox.wecom.tokenRequestCount, 1);
      assert.equal(sandbox.wecom.messages.length, 1);
      assert.equal(sandbox.wecom.messages[0].account, `${app.corpId}/${app.agentId}`);
      assert.deepEqual(sandbox.wecom.messages[0].body, { agentid: Number(app.agentId), touser: 'ZhangSan|LiSi', ...text('Meeting at 3 pm') });
    });

    it('accepts the agentid as the string an application configured it with', async () => {
      const answer = await viaCallback<Answer>((done) => client(app.corpSecret, app.corpId, app.agentId).send({ toparty: '2' }, text('x'), done));
      assert.equal(answer.errcode, 0);
      assert.equal(sandbox.wecom.messages[0].body.agentid, app.agentId);
    });

    it('reports partly invalid recipients in the answer and all-invalid ones as 81013', async () => {
      const partial = await viaCallback<Answer>((done) => client().send({ touser: 'ZhangSan|InvalidUser', totag: 'invalidTag' }, text('x'), done));
      assert.equal(partial.errcode, 0);
      assert.equal(partial.invaliduser, 'invaliduser');
      assert.equal(partial.invalidtag, 'invalidtag');
      await rejectsWithErrcode(viaCallback((done) => client().send({ touser: 'InvalidOnly' }, text('x'), done)), 81013);
      assert.equal(sandbox.wecom.messages.length, 1);
    });

    it('reports a wrong corpsecret as 40001, an unknown corpid as 40013, and an expired token as 42001', async () => {
      await rejectsWithErrcode(viaCallback((done) => client('not-the-secret').getAccessToken(done)), 40001);
      await rejectsWithErrcode(viaCallback((done) => client(app.corpSecret, 'ww0000000000000000').getAccessToken(done)), 40013);
      const api = client();
      await viaCallback((done) => api.send({ touser: 'ZhangSan' }, text('before'), done));
      sandbox.wecom.expireTokens();
      await rejectsWithErrcode(viaCallback((done) => api.send({ touser: 'ZhangSan' }, text('after expiry'), done)), 42001);
      assert.equal(sandbox.wecom.messages.length, 1);
    });

    it('uploads a file with media/upload and refuses one of 5 bytes or less', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wxbridge-wecom-media-'));
      try {
        const report = join(dir, 'report.txt');
        writeFileSync(report, 'quarterly figures');
        const tiny = join(dir, 'tiny.txt');
        writeFileSync(tiny, '12345');
        const api = client();
        const uploaded = await viaCallback<Answer>((done) => api.uploadMedia(report, 'file', done));
        assert.equal(uploaded.errcode, 0);
        assert.equal(uploaded.type, 'file');
        assert.match(String(uploaded.media_id), /^sbx_media_/);
        await rejectsWithErrcode(viaCallback((done) => api.uploadMedia(tiny, 'file', done)), 40006);
        assert.deepEqual(
          sandbox.wecom.media.map((m) => [m.type, m.filename, m.size]),
          [['file', 'report.txt', 17]],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
