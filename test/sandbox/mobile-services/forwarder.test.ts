import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { basicHeader } from '../../../lib/http/basic-auth';
import { parseXml } from '../../../lib/wechat/xml';
import type { Sandbox } from '../../../sandbox';
import { DEMO_MICRO_APP, DEMO_MOBILE_SERVICES } from '../../../sandbox/demo-accounts';
import { MessageHandler, MobileServicesStandIn, microAppCallbackUrl } from '../../../sandbox/mobile-services/index';
import { WeChatClientSimulator } from '../../../sandbox/wechat-client';
import { withSandbox } from '../../support/sandbox';
import { TinyMessageHandler } from './message-handler';

// wechat-crypto ships no types; this is the part of it these tests use.
interface ThirdPartyCipher {
  getSignature(timestamp: string, nonce: string, encrypted: string): string;
  encrypt(text: string): string;
  decrypt(text: string): { message: string; id: string };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ThirdParty: new (token: string, key: string, id: string) => ThirdPartyCipher = require('wechat-crypto');

const app = DEMO_MICRO_APP;
/** WeCom's side of the Micro App's WeCom app, played by a classic third-party implementation. */
const wecom = new ThirdParty(app.token, app.encodingAESKey, app.corpId);

interface Answer {
  status: number;
  contentType: string | null;
  body: string;
}

/** A WeCom "receive message" text message, written as WeCom writes it. */
function wecomText(content: string, from: string = app.requester, msgId = '7398212345678901234'): string {
  const now = Math.floor(Date.now() / 1000);
  return (
    `<xml><ToUserName><![CDATA[${app.corpId}]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName>` +
    `<CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content>` +
    `<MsgId>${msgId}</MsgId><AgentID>${app.agentId}</AgentID></xml>`
  );
}

interface CallbackOptions {
  timestamp?: string;
  /** Signs with this instead of the right signature. */
  signature?: string;
  cipher?: ThirdPartyCipher;
}

async function exchange(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/** Posts `plainXml` to the Message Handler URL as WeCom does: encrypted, in its envelope, with a signed query. */
function postCallback(baseUrl: string, plainXml: string, options: CallbackOptions = {}): Promise<Answer> {
  const cipher = options.cipher ?? wecom;
  const encrypt = cipher.encrypt(plainXml);
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = '1372623149';
  const query = new URLSearchParams({ msg_signature: options.signature ?? cipher.getSignature(timestamp, nonce, encrypt), timestamp, nonce });
  const body = `<xml><ToUserName><![CDATA[${app.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${app.agentId}]]></AgentID></xml>`;
  return exchange(`${microAppCallbackUrl(baseUrl)}?${query}`, { method: 'POST', body, headers: { 'Content-Type': 'text/xml' } });
}

/** Opens a sealed reply as a WeCom client does: the signature over the envelope, then decryption and the receiver id. */
function openSealed(body: string): string {
  const envelope = parseXml(body);
  const [encrypt, signature, timeStamp, nonce] = ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce'].map((name) => String(envelope[name]));
  assert.equal(wecom.getSignature(timeStamp, nonce, encrypt), signature, 'the reply envelope is signed with the Token');
  const { message, id } = wecom.decrypt(encrypt);
  assert.equal(id, app.corpId);
  return message;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('sandbox: Mobile Services Micro App forwarder', () => {
  let sandbox: Sandbox;
  const handler = new TinyMessageHandler();
  let handlerUrl: string;
  const basic: MessageHandler['auth'] = { kind: 'basic', user: app.forwardUser, password: app.forwardPassword };
  withSandbox((started) => (sandbox = started));
  before(async () => {
    handlerUrl = await handler.start();
  });
  after(() => handler.stop());
  beforeEach(() => {
    handler.clear();
    sandbox.mobileServices.setMessageHandler({ url: handlerUrl, auth: basic, deadlineMs: 5000 });
  });

  it('forwards by default to the TimeOff handler on Node-RED, with the demo forward login', () => {
    assert.deepEqual(new MobileServicesStandIn().messageHandler, { url: `http://127.0.0.1:1880${app.handlerPath}`, auth: basic });
  });

  it("answers WeCom's URL verification with the decrypted echostr, and refuses a forged one", async () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const echostr = wecom.encrypt('8012345678901234567');
    const query = (signature: string) => new URLSearchParams({ msg_signature: signature, timestamp, nonce: '42', echostr });
    const verified = await exchange(`${microAppCallbackUrl(sandbox.baseUrl)}?${query(wecom.getSignature(timestamp, '42', echostr))}`);
    assert.deepEqual([verified.status, verified.body], [200, '8012345678901234567']);
    const forged = await exchange(`${microAppCallbackUrl(sandbox.baseUrl)}?${query('0'.repeat(40))}`);
    assert.deepEqual([forged.status, forged.body], [401, 'bad_signature']);
    assert.equal(handler.received.length, 0);
  });

  it('forwards the decrypted message as plain XML with Basic forward authentication, and seals the reply for WeCom', async () => {
    const xml = wecomText('create');
    const answer = await postCallback(sandbox.baseUrl, xml);

    assert.equal(handler.received.length, 1);
    const [request] = handler.received;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, app.handlerPath);
    assert.equal(request.headers['content-type'], 'text/xml; charset=utf-8');
    assert.equal(request.headers.authorization, basicHeader(app.forwardUser, app.forwardPassword));
    assert.deepEqual(request.fields, parseXml(xml));
    assert.doesNotMatch(request.body, /Encrypt/);

    assert.equal(answer.status, 200);
    assert.match(answer.contentType ?? '', /^text\/xml/);
    assert.match(request.answer?.body ?? '', /pong: create/);
    assert.equal(openSealed(answer.body), request.answer?.body);

    const [recorded] = sandbox.mobileServices.exchanges;
    assert.deepEqual(
      { user: recorded.user, handler: recorded.handler, status: recorded.status, failure: recorded.failure, content: recorded.message.Content },
      { user: app.requester, handler: { url: handlerUrl, auth: 'basic' }, status: 200, failure: undefined, content: 'create' },
    );
    assert.equal(openSealed(answer.body), recorded.reply);
  });

  it('presents the forward secret in the configured header, or no credentials at all', async () => {
    sandbox.mobileServices.setMessageHandler({ url: handlerUrl, auth: { kind: 'header', name: 'X-Forward-Secret', secret: 'sandbox-secret' } });
    await postCallback(sandbox.baseUrl, wecomText('one'));
    sandbox.mobileServices.setMessageHandler({ url: handlerUrl, auth: { kind: 'none' } });
    await postCallback(sandbox.baseUrl, wecomText('two', app.requester, '7398212345678901235'));

    const [header, none] = handler.received;
    assert.equal(header.headers['x-forward-secret'], 'sandbox-secret');
    assert.equal(header.headers.authorization, undefined);
    assert.equal(none.headers['x-forward-secret'], undefined);
    assert.equal(none.headers.authorization, undefined);
    assert.deepEqual(
      sandbox.mobileServices.exchanges.map((e) => e.handler.auth),
      ['header', 'none'],
    );
    assert.doesNotMatch(JSON.stringify(sandbox.mobileServices.exchanges), /sandbox-secret/, 'the record names the kind of authentication, never the secret');
  });

  it('answers WeCom an empty 200 when the handler has no reply', async () => {
    handler.respond = () => ({ status: 200, body: '' });
    const answer = await postCallback(sandbox.baseUrl, wecomText('hello'));
    assert.deepEqual([answer.status, answer.body], [200, '']);
    assert.deepEqual(
      sandbox.mobileServices.exchanges.map((e) => [e.status, e.reply, e.failure]),
      [[200, '', undefined]],
    );
  });

  it('answers WeCom an empty 200 and records the failure when the handler refuses (401) or fails (500)', async () => {
    for (const [status, text] of [
      [401, 'Unauthorized'],
      [500, 'Internal Server Error'],
    ] as const) {
      handler.respond = () => ({ status, body: text });
      const answer = await postCallback(sandbox.baseUrl, wecomText(`status ${status}`));
      assert.deepEqual([answer.status, answer.body], [200, ''], `handler ${status}`);
    }
    assert.deepEqual(
      sandbox.mobileServices.exchanges.map((e) => [e.status, e.reply, e.failure]),
      [
        [401, '', { kind: 'status', detail: 'HTTP 401: Unauthorized' }],
        [500, '', { kind: 'status', detail: 'HTTP 500: Internal Server Error' }],
      ],
    );
  });

  it('gives up on a handler that does not answer within the deadline: an empty 200, a recorded timeout', async () => {
    handler.respond = () => null;
    sandbox.mobileServices.setMessageHandler({ url: handlerUrl, auth: basic, deadlineMs: 150 });
    const answer = await postCallback(sandbox.baseUrl, wecomText('slow'));
    assert.deepEqual([answer.status, answer.body], [200, '']);
    assert.equal(handler.received.length, 1, 'the handler got the message');
    const [recorded] = sandbox.mobileServices.exchanges;
    assert.deepEqual([recorded.status, recorded.failure], [0, { kind: 'timeout', detail: 'no answer within 150 ms' }]);
  });

  it('records a handler nobody listens on as unreachable, and answers WeCom an empty 200', async () => {
    sandbox.mobileServices.setMessageHandler({ url: `http://127.0.0.1:${await closedPort()}/timeoff/OnMessage`, auth: basic });
    const answer = await postCallback(sandbox.baseUrl, wecomText('anyone?'));
    assert.deepEqual([answer.status, answer.body], [200, '']);
    const [recorded] = sandbox.mobileServices.exchanges;
    assert.equal(recorded.failure?.kind, 'unreachable');
    assert.match(recorded.failure?.detail ?? '', /ECONNREFUSED/);
  });

  it('refuses forged, stale, foreign and unsigned callbacks as wechat-in refuses WeCom callbacks, forwarding nothing', async () => {
    const stale = String(Math.floor(Date.now() / 1000) - 301);
    const foreign = new ThirdParty(app.token, app.encodingAESKey, 'ww_another_corp');
    const refusals = [
      await postCallback(sandbox.baseUrl, wecomText('x'), { signature: '0'.repeat(40) }),
      await postCallback(sandbox.baseUrl, wecomText('x'), { timestamp: stale }),
      await postCallback(sandbox.baseUrl, wecomText('x'), { cipher: foreign }),
      await exchange(microAppCallbackUrl(sandbox.baseUrl), { method: 'POST', body: '<xml/>' }),
    ];
    assert.deepEqual(
      refusals.map((r) => [r.status, r.body]),
      [
        [401, 'bad_signature'],
        [403, 'stale_timestamp'],
        [403, 'bad_receiver_id'],
        [400, 'missing_parameters'],
      ],
    );
    assert.equal(handler.received.length, 0);
    assert.equal(sandbox.mobileServices.exchanges.length, 0);
  });

  it("serves only its own application's Message Handler URL", async () => {
    const other = microAppCallbackUrl(sandbox.baseUrl, 'com.sandbox.other');
    assert.equal((await exchange(other, { method: 'POST', body: '<xml/>' })).status, 404);
    assert.equal(microAppCallbackUrl(sandbox.baseUrl), `${sandbox.baseUrl}/mobile-services/microapp/${DEMO_MOBILE_SERVICES.appId}/callback`);
  });

  it("gives the simulated WeCom user of the Micro App the handler's reply, and forwards a WeCom retry again", async () => {
    const user = WeChatClientSimulator.demo('microapp');
    const delivery = user.prepare(microAppCallbackUrl(sandbox.baseUrl), { content: 'submit' });
    const first = await user.send(delivery);
    assert.equal(first.reply.kind, 'reply');
    assert.equal(first.reply.kind === 'reply' && first.reply.text, 'pong: submit');
    assert.equal(first.reply.kind === 'reply' && first.reply.encrypted, true);
    const fields = handler.received[0].fields;
    assert.deepEqual([fields.FromUserName, fields.ToUserName, fields.AgentID], [app.requester, app.corpId, app.agentId]);

    // De-duplicating retries is the handler's work (wechat-in does it); the stand-in forwards each delivery.
    const retry = await user.replay(delivery);
    assert.equal(retry.reply.kind, 'reply');
    assert.equal(handler.received.length, 2);
    assert.equal(handler.received[1].body, handler.received[0].body);
  });

  it('refuses a message handler that is not an http(s) URL, or a header name that is none', () => {
    assert.throws(() => sandbox.mobileServices.setMessageHandler({ url: 'timeoff/OnMessage', auth: basic }), TypeError);
    assert.throws(() => sandbox.mobileServices.setMessageHandler({ url: 'ftp://127.0.0.1/x', auth: basic }), TypeError);
    assert.throws(() => sandbox.mobileServices.setMessageHandler({ url: handlerUrl, auth: { kind: 'header', name: 'X Secret', secret: 's' } }), TypeError);
    assert.equal(sandbox.mobileServices.messageHandler.url, handlerUrl);
  });
});
