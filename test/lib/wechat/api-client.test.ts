import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, createStore } from '../../../lib/store';
import axios from 'axios';
import { WeChatApiClient, partialDelivery, redact, ApiAccount } from '../../../lib/wechat/api-client';
import { MessageFormatError, NO_RETRY_ERRCODES, WeChatApiError, WeChatHttpError } from '../../../lib/wechat/api-errors';
import { prepareMessage, textBody } from '../../../lib/wechat/messages';
import type { Sandbox } from '../../../sandbox';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { withSandbox } from '../../support/sandbox';

describe('lib/wechat/api-client against the sandbox', () => {
  let sandbox: Sandbox;
  let dir: string;
  let store: Store;

  const official = (extra: Partial<ApiAccount> = {}): ApiAccount => ({
    kind: 'official',
    appId: DEMO_OFFICIAL_ACCOUNT.appId,
    secret: DEMO_OFFICIAL_ACCOUNT.appSecret,
    apiBase: `${sandbox.baseUrl}/wechat`,
    ...extra,
  });
  const wecom = (): ApiAccount => ({
    kind: 'wecom',
    appId: DEMO_WECOM_APP.corpId,
    agentId: DEMO_WECOM_APP.agentId,
    secret: DEMO_WECOM_APP.corpSecret,
    apiBase: `${sandbox.baseUrl}/wecom`,
  });
  const client = (account: ApiAccount, s: Store = store, timeoutMs = 2000) => new WeChatApiClient(account, { store: s, busyRetryDelayMs: 1, timeoutMs });
  const text = (to: string, content = 'hello') => prepareMessage('official', { touser: to, ...textBody(content) });

  withSandbox((started) => (sandbox = started));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wxb-api-'));
    store = createStore({ kind: 'sqlite', path: join(dir, 's.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('Official Account', () => {
    it('uses stable_token by default and sends a customer-service message', async () => {
      const result = await client(official()).send(text('openid-1'));
      assert.equal(result.errcode, 0);
      assert.deepEqual(sandbox.wechat.tokenRequests, { token: 0, stable_token: 1 });
      assert.equal(sandbox.wechat.messages.length, 1);
      assert.deepEqual(sandbox.wechat.messages[0].body, { touser: 'openid-1', msgtype: 'text', text: { content: 'hello' } });
      assert.equal(sandbox.wechat.messages[0].api, 'message/custom/send');
    });

    it('uses the classic token API when configured', async () => {
      await client(official({ tokenMode: 'classic' })).send(text('openid-1'));
      assert.deepEqual(sandbox.wechat.tokenRequests, { token: 1, stable_token: 0 });
    });

    it('makes one token request for 1000 concurrent sends', async () => {
      // The 1000 requests queue for the client's sockets: the per-request timeout must cover that wait on a loaded machine.
      const c = client(official(), store, 20_000);
      await Promise.all(Array.from({ length: 1000 }, (_, i) => c.send(text(`openid-${i}`))));
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
      assert.equal(sandbox.wechat.messages.length, 1000);
    });

    it('makes one token request for two clients of the same account and store', async () => {
      const a = client(official());
      const b = client(official());
      await Promise.all([a.send(text('x')), b.send(text('y'))]);
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
    });

    it('reuses the cached token after a restart with the SQLite store', async () => {
      await client(official()).send(text('before'));
      await store.close();
      store = createStore({ kind: 'sqlite', path: join(dir, 's.sqlite') });
      await client(official()).send(text('after'));
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
      assert.equal(sandbox.wechat.messages.length, 2);
    });

    for (const errcode of [40001, 40014, 42001]) {
      it(`on ${errcode} invalidates the token, refetches once and retries once`, async () => {
        const c = client(official());
        await c.send(text('warm-up'));
        sandbox.wechat.inject({ api: 'message/custom/send', errcode });
        const result = await c.send(text('openid-1'));
        assert.equal(result.errcode, 0);
        assert.equal(sandbox.wechat.tokenRequestCount, 2);
        assert.equal(sandbox.wechat.messages.length, 2);
      });
    }

    it('recovers from a token that really expired (42001) and from one rotated elsewhere (40001)', async () => {
      const c = client(official({ tokenMode: 'classic' }));
      await c.send(text('one'));
      sandbox.wechat.expireTokens();
      await c.send(text('two'));
      sandbox.wechat.revokeTokens();
      await c.send(text('three'));
      assert.equal(sandbox.wechat.messages.length, 3);
      assert.equal(sandbox.wechat.tokenRequests.token, 3);
    });

    it('retries a token error only once, then raises it with the hint', async () => {
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: 40001, times: 2 });
      const err = await client(official()).send(text('openid-1')).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof WeChatApiError);
      assert.equal(err.errcode, 40001);
      assert.match(err.message, /errcode 40001/);
      assert.match(err.hint, /AppSecret/);
      assert.equal(sandbox.wechat.tokenRequestCount, 2);
      assert.equal(sandbox.wechat.messages.length, 0);
    });

    for (const errcode of [...NO_RETRY_ERRCODES]) {
      it(`never retries ${errcode}: raises it with errcode, errmsg and a hint`, async () => {
        sandbox.wechat.inject({ api: 'message/custom/send', errcode, errmsg: `platform says ${errcode}` });
        const err = await client(official()).send(text('openid-1')).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof WeChatApiError);
        assert.equal(err.errcode, errcode);
        assert.equal(err.errmsg, `platform says ${errcode}`);
        assert.ok(err.hint.length > 20);
        // The fault was used up by the first attempt: a retry would have succeeded.
        assert.equal(sandbox.wechat.messages.length, 0);
        assert.equal(sandbox.wechat.tokenRequestCount, 1);
      });
    }

    it('explains 45015 by pointing at template messages', async () => {
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: 45015 });
      await assert.rejects(client(official()).send(text('u')), /48-hour.*template message/);
    });

    it('retries once after -1 (system busy)', async () => {
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: -1 });
      assert.equal((await client(official()).send(text('u'))).errcode, 0);
      assert.equal(sandbox.wechat.messages.length, 1);
    });

    it('raises a 5xx as an HTTP error without retrying the send', async () => {
      sandbox.wechat.inject({ api: 'message/custom/send', status: 502 });
      const err = await client(official()).send(text('u')).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof WeChatHttpError);
      assert.equal(err.status, 502);
      assert.equal(sandbox.wechat.messages.length, 0);
    });

    it('retries a token request once after a transport failure', async () => {
      sandbox.wechat.inject({ api: 'stable_token', status: 503 });
      await client(official()).send(text('u'));
      assert.equal(sandbox.wechat.tokenRequestCount, 2);
    });

    it('never puts the token or the secret into errors, even on timeouts', async () => {
      const c = new WeChatApiClient(official({ tokenMode: 'classic' }), { store, timeoutMs: 100 });
      const token = await c.tokens.getToken();
      sandbox.wechat.inject({ api: 'message/custom/send', delayMs: 400 });
      const slow = await c.send(text('u')).then(() => null, (e: unknown) => e);
      sandbox.wechat.inject({ api: 'message/custom/send', errcode: 48001 });
      const denied = await c.send(text('u')).then(() => null, (e: unknown) => e);
      const badSecret = await new WeChatApiClient(official({ secret: 'wrong-secret-value' }), { store })
        .send(text('u'))
        .then(() => null, (e: unknown) => e);
      for (const err of [slow, denied, badSecret]) {
        assert.ok(err instanceof Error);
        const dump = `${err.message} ${err.stack} ${JSON.stringify(err)} ${String((err as { cause?: unknown }).cause ?? '')}`;
        assert.ok(!dump.includes(token), dump);
        assert.ok(!dump.includes(DEMO_OFFICIAL_ACCOUNT.appSecret), dump);
        assert.ok(!dump.includes('wrong-secret-value'), dump);
      }
      assert.match((slow as Error).message, /no answer in time/);
      assert.match((badSecret as Error).message, /40125.*AppSecret/);
    });

    it('keeps tokens and secrets out of transport errors that quote the request URL', async () => {
      // Some HTTP stacks and proxies put the full URL, query string included, into their errors.
      const quotingUrl = axios.create({
        adapter: async (config) => {
          throw new Error(`connect failed for ${axios.getUri(config)} body=${String(config.data ?? '')}`);
        },
      });
      const seen: string[] = [];
      // A store of its own: token managers are shared per store, with the first client's HTTP stack.
      const quotingStore = createStore({ kind: 'sqlite', path: join(dir, 'quoting.sqlite') });
      for (const account of [official({ tokenMode: 'classic' }), official(), wecom()]) {
        const err = await new WeChatApiClient(account, { store: quotingStore, http: quotingUrl }).send(text('u')).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof WeChatHttpError);
        seen.push(err.message);
      }
      await quotingStore.close();
      for (const message of seen) {
        assert.ok(!message.includes(DEMO_OFFICIAL_ACCOUNT.appSecret), message);
        assert.ok(!message.includes(DEMO_WECOM_APP.corpSecret), message);
        assert.match(message, /connect failed/);
      }
      assert.match(seen[0], /secret=\*\*\*/);

      // A send whose URL carries a real token, quoted by the transport error.
      const c = client(official());
      const token = await c.tokens.getToken();
      const sendFails = axios.create({
        adapter: async (config) => {
          throw new Error(`socket hang up ${axios.getUri(config)}`);
        },
      });
      const failing = new WeChatApiClient(official(), { store, http: sendFails });
      assert.equal(await failing.tokens.getToken(), token, 'the shared manager hands out the cached token');
      const err = await failing.send(text('u')).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof WeChatHttpError);
      assert.ok(!err.message.includes(token), err.message);
      assert.match(err.message, /access_token=\*\*\*/);
    });

    it('redacts credentials from any text, URL-encoded forms included', () => {
      assert.equal(redact('GET /t?appid=a&secret=s%2Bx&x=1 with s+x', ['s+x']), 'GET /t?appid=a&secret=***&x=1 with ***');
      assert.equal(redact('POST /send?access_token=ABC', []), 'POST /send?access_token=***');
    });

    it('sends template messages and returns the msgid', async () => {
      const message = prepareMessage('official', { touser: 'u1', template_id: 'TPL', data: { first: { value: 'Hi' } }, client_msg_id: 'c1' });
      const result = await client(official()).send(message);
      assert.equal(typeof result.msgid, 'number');
      assert.equal(sandbox.wechat.messages[0].api, 'message/template/send');
    });

    it('uploads media and checks the size before uploading', async () => {
      const c = client(official());
      const uploaded = await c.upload('image', Buffer.alloc(1024, 1), 'a.png', 'image/png');
      assert.match(uploaded.media_id, /^sbx_media_/);
      assert.deepEqual(
        sandbox.wechat.media.map((m) => [m.type, m.size, m.filename]),
        [['image', 1024, 'a.png']],
      );
      await assert.rejects(c.upload('voice', Buffer.alloc(2 * 1024 * 1024 + 1), 'v.amr'), MessageFormatError);
      await assert.rejects(c.upload('file', Buffer.alloc(100), 'f.pdf'), /media type must be one of/);
      assert.equal(sandbox.wechat.media.length, 1);
    });

    it('delivers a late passive reply as a customer-service message', async () => {
      await client(official()).sendReply({ type: 'news', articles: [{ title: 'T', url: 'https://x', picUrl: 'https://p' }] }, 'openid-9');
      assert.deepEqual(sandbox.wechat.messages[0].body, {
        touser: 'openid-9',
        msgtype: 'news',
        news: { articles: [{ title: 'T', url: 'https://x', picurl: 'https://p' }] },
      });
    });
  });

  describe('WeCom', () => {
    const app = (body: object) => prepareMessage('wecom', body, { agentId: DEMO_WECOM_APP.agentId });

    it('fetches with gettoken and sends an app message to users, parties and tags', async () => {
      const result = await client(wecom()).send(app({ touser: ['zhangsan', 'lisi'], toparty: [2], totag: '7', ...textBody('hi') }));
      assert.equal(result.errcode, 0);
      assert.equal(sandbox.wecom.tokenRequestCount, 1);
      assert.deepEqual(sandbox.wecom.messages[0].body, {
        touser: 'zhangsan|lisi',
        toparty: '2',
        totag: '7',
        agentid: Number(DEMO_WECOM_APP.agentId),
        msgtype: 'text',
        text: { content: 'hi' },
      });
      assert.equal(partialDelivery(result), null);
    });

    it('reports partly invalid recipients as a partial delivery', async () => {
      const result = await client(wecom()).send(app({ touser: 'ok1|InvalidBob', ...textBody('hi') }));
      assert.deepEqual(partialDelivery(result), { invaliduser: ['invalidbob'] });
      assert.equal(sandbox.wecom.messages.length, 1);
    });

    it('raises 81013 when every recipient is invalid', async () => {
      await assert.rejects(client(wecom()).send(app({ touser: 'invalid1', ...textBody('hi') })), (err: WeChatApiError) => err.errcode === 81013 && /visible range/.test(err.message));
    });

    it('explains 60020 (trusted IP) and does not retry it', async () => {
      sandbox.wecom.inject({ api: 'message/send', errcode: 60020, errmsg: 'not allow to access from your ip' });
      await assert.rejects(client(wecom()).send(app({ touser: 'u', ...textBody('hi') })), /60020.*trusted IP/);
      assert.equal(sandbox.wecom.messages.length, 0);
    });

    it('refetches after WeCom invalidated the token early (40014 / 42001)', async () => {
      const c = client(wecom());
      await c.send(app({ touser: 'u', ...textBody('1') }));
      sandbox.wecom.revokeTokens();
      await c.send(app({ touser: 'u', ...textBody('2') }));
      sandbox.wecom.expireTokens();
      await c.send(app({ touser: 'u', ...textBody('3') }));
      assert.equal(sandbox.wecom.messages.length, 3);
      assert.equal(sandbox.wecom.tokenRequestCount, 3);
    });

    it('uploads a file and sends it by media_id', async () => {
      const c = client(wecom());
      const up = await c.upload('file', Buffer.from('%PDF-1.4 sample'), 'report.pdf', 'application/pdf');
      await c.send(app({ touser: 'u', msgtype: 'file', file: { media_id: up.media_id } }));
      assert.equal(sandbox.wecom.media[0].filename, 'report.pdf');
      assert.equal((sandbox.wecom.messages[0].body.file as { media_id: string }).media_id, up.media_id);
      await assert.rejects(c.upload('image', Buffer.from('tiny'), 'a.png'), /larger than 5 bytes/);
    });

    it('suppresses a duplicate within the duplicate-check interval', async () => {
      const c = client(wecom());
      const body = { touser: 'u', enable_duplicate_check: 1, duplicate_check_interval: 600, ...textBody('same') };
      await c.send(app(body));
      await c.send(app(body));
      assert.equal(sandbox.wecom.messages.length, 1);
      assert.equal(sandbox.wecom.duplicatesSuppressed, 1);
    });

    it('delivers a late passive reply as an app message', async () => {
      await client(wecom()).sendReply({ type: 'text', content: 'late answer' }, 'zhangsan');
      assert.deepEqual(sandbox.wecom.messages[0].body, {
        touser: 'zhangsan',
        agentid: Number(DEMO_WECOM_APP.agentId),
        msgtype: 'text',
        text: { content: 'late answer' },
      });
    });
  });
});
