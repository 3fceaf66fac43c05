import { strict as assert } from 'node:assert';
import { randomInt } from 'node:crypto';
import type { NodeMessage } from 'node-red';
import type { SinonSpy } from 'sinon';
import { basicHeader } from '../../../lib/http/basic-auth';
import { XmlInputObject, buildXml, parseXml } from '../../../lib/wechat/xml';
import type { WeChatMessage } from '../../../nodes/wechat-in/wechat-in';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { DEMO_MICRO_APP, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { WeChatClientSimulator } from '../../../sandbox/wechat-client';
import { PG_URL, usePostgresSchema } from '../../lib/store/pg-support';
import { editorBodyParsers } from '../../support/editor-parsers';
import { waitFor, waitForStatus } from '../../support/flow-watch';
import { NodeRedHarness } from '../../support/node-red-harness';
import { FORWARD_SECRET, HANDLER_CREDENTIALS, HANDLER_NODES, HandlerFlowOptions, handlerFlow, handlerNode } from '../../support/wechat-inbound-flow';

const FORWARD_LOGIN = basicHeader(DEMO_MICRO_APP.forwardUser, DEMO_MICRO_APP.forwardPassword);

/** A WeCom "receive message" XML as Mobile Services forwards it: plain, addressed to the CorpID and the AgentID. */
function forwarded(fields: XmlInputObject = {}): string {
  return buildXml(
    {
      ToUserName: DEMO_MICRO_APP.corpId,
      FromUserName: DEMO_MICRO_APP.requester,
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'text',
      Content: 'create',
      MsgId: String(randomInt(1, 2 ** 47)),
      AgentID: DEMO_MICRO_APP.agentId,
      ...fields,
    },
    'xml',
    new Set(['MsgId', 'AgentID']),
  );
}

interface Answer {
  status: number;
  type: string | null;
  body: string;
  headers: Headers;
}

describe('wechat-in via SAP Mobile Services (Micro App message handler)', () => {
  const harness = new NodeRedHarness();
  let received: WeChatMessage[];
  /** When set, every message reaching the sink is answered through wechat-reply with this payload. */
  let autoReply: ((msg: WeChatMessage) => unknown) | null;

  async function load(options: HandlerFlowOptions = {}, settings?: object, credentials: object = HANDLER_CREDENTIALS) {
    await harness.load(HANDLER_NODES, handlerFlow(options), credentials, settings);
    received = [];
    autoReply = null;
    harness.getNode('sink').on('input', (msg: NodeMessage) => {
      const message = msg as WeChatMessage;
      received.push(message);
      if (autoReply) harness.getNode('reply').receive({ ...message, payload: autoReply(message) } as NodeMessage);
    });
  }

  async function post(body: string, headers: Record<string, string> = { authorization: FORWARD_LOGIN }, path = DEMO_MICRO_APP.handlerPath): Promise<Answer> {
    const res = await fetch(harness.baseUrl + path, { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text(), headers: res.headers };
  }

  const warnings = (id = 'in-ms') => (harness.getNode(id).warn as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));
  const errors = (id = 'in-ms') => (harness.getNode(id).error as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));

  afterEach(() => harness.unload());
  after(() => harness.stop());

  describe('forwarder authentication', () => {
    it('Basic: the forward login is let in; the message reaches the flow as in the other modes', async () => {
      await load();
      autoReply = () => '';
      const xml = forwarded({ Content: '请假 <3 天> & more' });
      const answer = await post(xml);
      assert.equal(answer.status, 200);
      assert.equal(received.length, 1);
      const [msg] = received;
      assert.deepEqual(msg.payload, parseXml(xml));
      assert.equal(msg.payload.Content, '请假 <3 天> & more');
      assert.equal(msg.wechat.kind, 'wecom');
      assert.equal(msg.wechat.mode, 'mobile-services');
      assert.equal(msg.wechat.encrypted, false);
      assert.equal(msg.wechat.from, DEMO_MICRO_APP.requester);
      assert.equal(msg.wechat.to, DEMO_MICRO_APP.corpId);
      assert.equal(msg.wechat.msgType, 'text');
      assert.equal(msg.wechat.accountId, 'acc-microapp');
      assert.equal(msg.wechat.appId, DEMO_MICRO_APP.corpId);
      assert.equal(msg.wechat.agentId, DEMO_MICRO_APP.agentId);
      assert.equal(typeof msg.wechat.replyId, 'string');
      assert.equal(typeof msg.wechat.dedupKey, 'string');
    });

    it('Basic: a wrong password or no credentials is a 401 with a Basic challenge, and nothing reaches the flow', async () => {
      await load();
      const wrong = await post(forwarded(), { authorization: basicHeader(DEMO_MICRO_APP.forwardUser, 'guessed-password') });
      assert.deepEqual([wrong.status, wrong.body], [401, 'forward_auth_wrong']);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const missing = await post(forwarded(), {});
      assert.deepEqual([missing.status, missing.body], [401, 'forward_auth_missing']);
      assert.match(missing.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const bearer = await post(forwarded(), { authorization: 'Bearer some-token' });
      assert.equal(bearer.status, 401);
      assert.equal(received.length, 0);
      const logged = warnings().join('\n');
      assert.match(logged, /forward_auth_wrong.*Authorization header does not carry the forwarder credentials/);
      assert.match(logged, /forward_auth_missing.*no Authorization header/);
      for (const secret of [DEMO_MICRO_APP.forwardPassword, 'guessed-password', 'some-token']) assert.ok(!logged.includes(secret), 'no credential in the log');
      await waitForStatus(harness.getNode('in-ms'), { fill: 'yellow', shape: 'ring', text: `${DEMO_MICRO_APP.handlerPath} ↓0 ✕3` });
    });

    it('authenticates before reading the body: an oversized body with wrong credentials is a 401', async () => {
      await load();
      const answer = await post(forwarded({ Content: 'x'.repeat(300 * 1024) }), { authorization: basicHeader('someone', 'else') });
      assert.equal(answer.status, 401);
    });

    it('header: the shared secret in the configured header is let in; a wrong or missing one is a 401 without a Basic challenge', async () => {
      await load({ forwardAuth: 'header', forwardHeader: 'X-Micro-App-Secret' });
      autoReply = () => 'ok';
      const ok = await post(forwarded(), { 'x-micro-app-secret': FORWARD_SECRET });
      assert.equal(ok.status, 200);
      const wrong = await post(forwarded(), { 'x-micro-app-secret': 'not-the-secret' });
      assert.deepEqual([wrong.status, wrong.body], [401, 'forward_auth_wrong']);
      assert.equal(wrong.headers.get('www-authenticate'), null);
      const basicInstead = await post(forwarded(), { authorization: FORWARD_LOGIN });
      assert.deepEqual([basicInstead.status, basicInstead.body], [401, 'forward_auth_missing']);
      assert.equal(received.length, 1);
      assert.ok(warnings().some((w) => w.includes('no X-Micro-App-Secret header')));
      assert.ok(!warnings().join('\n').includes(FORWARD_SECRET));
    });

    it('header: X-Forward-Secret unless another header is set', async () => {
      await load({ forwardAuth: 'header', forwardHeader: '' });
      autoReply = () => '';
      assert.equal((await post(forwarded(), { 'x-forward-secret': FORWARD_SECRET })).status, 200);
      assert.equal(received.length, 1);
    });

    it('none: takes messages from anyone, and warns at start that it does', async () => {
      await load({ forwardAuth: 'none' });
      autoReply = () => '';
      assert.deepEqual(warnings(), ['Forwarder authentication is off: messages are accepted from anyone who can reach this URL']);
      assert.equal((await post(forwarded(), {})).status, 200);
      assert.equal(received.length, 1);
    });

    it('with no forward login set, warns at start and refuses every message', async () => {
      await load({}, undefined, { 'in-ms': {} });
      assert.ok(warnings().some((w) => w.includes('no user name or secret set')));
      const answer = await post(forwarded(), { authorization: basicHeader('', '') });
      assert.deepEqual([answer.status, answer.body], [401, 'forward_auth_unset']);
      assert.equal(received.length, 0);
    });

    it('gives the editor no credential values: the flow holds none, and the passwords come back only as "set"', async () => {
      await load({ forwardAuth: 'header' });
      const editorView = editorApi();
      const flows = JSON.stringify(await editorView.getFlows({}));
      for (const secret of [DEMO_MICRO_APP.forwardPassword, FORWARD_SECRET]) assert.ok(!flows.includes(secret), 'no secret in the flows the editor exports');
      assert.ok(!/"credentials"/.test(flows));
      const credentials = await editorView.getNodeCredentials({ type: 'wechat-in', id: 'in-ms' });
      assert.deepEqual(credentials, { forwardUser: DEMO_MICRO_APP.forwardUser, has_forwardPassword: true, has_forwardSecret: true });
    });
  });

  describe('messages', () => {
    it('answers the reply of wechat-reply plainly in the body, as text/xml, addressed back to the sender', async () => {
      await load();
      autoReply = (msg) => `pong: ${msg.payload.Content}`;
      const answer = await post(forwarded({ Content: 'ping' }));
      assert.equal(answer.status, 200);
      assert.equal(answer.type, 'text/xml; charset=utf-8');
      const reply = parseXml(answer.body);
      assert.equal(reply.Content, 'pong: ping');
      assert.equal(reply.MsgType, 'text');
      assert.equal(reply.ToUserName, DEMO_MICRO_APP.requester);
      assert.equal(reply.FromUserName, DEMO_MICRO_APP.corpId);
      assert.equal(reply.Encrypt, undefined, 'nothing is encrypted on this hop');
    });

    it('takes the XML with any Content-Type, or none', async () => {
      await load();
      autoReply = () => 'fine';
      for (const type of ['application/xml', 'text/plain', 'application/octet-stream']) {
        const answer = await post(forwarded(), { authorization: FORWARD_LOGIN, 'content-type': type });
        assert.equal(parseXml(answer.body).Content, 'fine', type);
      }
      const res = await fetch(harness.baseUrl + DEMO_MICRO_APP.handlerPath, { method: 'POST', headers: { authorization: FORWARD_LOGIN }, body: new Blob([forwarded()]) });
      assert.equal(parseXml(await res.text()).Content, 'fine', 'no Content-Type');
      assert.equal(received.length, 4);
    });

    it('answers 200 with an empty body when the flow gives no reply', async () => {
      await load();
      autoReply = () => '';
      const answer = await post(forwarded());
      assert.deepEqual([answer.status, answer.body], [200, '']);
    });

    it('the same XML twice reaches the flow once, and both get the same reply', async () => {
      await load();
      const xml = forwarded({ Content: 'submit' });
      const tries = [post(xml), post(xml)];
      await waitFor('the first delivery in the flow', () => received.length === 1);
      harness.getNode('reply').receive({ ...received[0], payload: 'submitted once' } as NodeMessage);
      const answers = await Promise.all(tries);
      for (const a of answers) assert.equal(parseXml(a.body).Content, 'submitted once');
      const later = await post(xml);
      assert.equal(parseXml(later.body).Content, 'submitted once', 'an answered delivery keeps its answer');
      assert.equal(received.length, 1);
      await waitForStatus(harness.getNode('in-ms'), { fill: 'green', shape: 'dot', text: `${DEMO_MICRO_APP.handlerPath} ↓1 ↻2` });
    });

    it('two messages that differ in any field both reach the flow', async () => {
      await load();
      autoReply = () => '';
      const createTime = Math.floor(Date.now() / 1000);
      for (const from of [DEMO_MICRO_APP.requester, DEMO_MICRO_APP.approver]) await post(forwarded({ FromUserName: from, CreateTime: createTime, MsgId: '7000000000000000001' }));
      assert.deepEqual(received.map((m) => m.wechat.from), [DEMO_MICRO_APP.requester, DEMO_MICRO_APP.approver]);
    });
  });

  describe('refusing what is not a message for this account', () => {
    beforeEach(() => load());

    async function expectRefused(status: number, reason: string, body: string) {
      const answer = await post(body);
      assert.deepEqual([answer.status, answer.body], [status, reason]);
      assert.equal(received.length, 0, 'nothing reaches the flow');
      assert.ok(warnings().some((w) => w.includes(`(${reason})`)), `a warning names ${reason}`);
    }

    it('malformed XML and entity declarations: 400', async () => {
      for (const body of ['<xml><Content>unclosed</xml>', '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>', '{"json":true}']) {
        await expectRefused(400, 'bad_xml', body);
      }
    });

    it('a message for another CorpID: 403 bad_receiver_id', async () => {
      await expectRefused(403, 'bad_receiver_id', forwarded({ ToUserName: 'ww0000000000000bad' }));
    });

    it('a message for another AgentID of the corporation: 403 bad_agent_id', async () => {
      await expectRefused(403, 'bad_agent_id', forwarded({ AgentID: DEMO_WECOM_APP.agentId }));
      assert.ok(warnings().some((w) => w.includes(`AgentID ${DEMO_WECOM_APP.agentId}, not the account's`)));
    });

    it('a message without a sender: 400', async () => {
      await expectRefused(400, 'bad_body', forwarded({ FromUserName: undefined }));
    });

    it('an oversized body: 413', async () => {
      const answer = await post(forwarded({ Content: 'x'.repeat(300 * 1024) }));
      assert.deepEqual([answer.status, answer.body], [413, 'bad_body']);
      assert.equal(received.length, 0);
    });

    it('a body limit set lower in the settings holds here too', async () => {
      await harness.unload();
      await load({}, { wechatInMaxBody: 1024 });
      const answer = await post(forwarded({ Content: 'x'.repeat(2000) }));
      assert.equal(answer.status, 413);
    });

    it('GET is not served (405, Allow: POST): WeCom verifies the URL at Mobile Services', async () => {
      const res = await fetch(harness.baseUrl + DEMO_MICRO_APP.handlerPath + '?msg_signature=x&timestamp=1&nonce=2&echostr=3');
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.ok(warnings().some((w) => w.includes('GET is not served via SAP Mobile Services')));
    });

    it("a WeCom callback sent here directly (encrypted) is refused: it is not addressed like a forwarded message", async () => {
      const client = WeChatClientSimulator.demo('wecom');
      const answer = await post(client.prepare(harness.baseUrl + DEMO_MICRO_APP.handlerPath, { content: 'x' }).body);
      assert.ok(answer.status >= 400 && answer.status < 500, `${answer.status} ${answer.body}`);
      assert.equal(received.length, 0);
    });
  });

  describe("behind the editor's body parsers (editor at /, the default)", () => {
    beforeEach(() => load({}, { httpNodeMiddleware: editorBodyParsers() }));

    it('answers a body another parser consumed at once with 415 parsed_body', async () => {
      for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
        const body = type === 'application/json' ? '{"xml":"not really"}' : 'a=1&b=2';
        const answer = await post(body, { authorization: FORWARD_LOGIN, 'content-type': type });
        assert.deepEqual([answer.status, answer.body], [415, 'parsed_body'], type);
      }
      assert.equal(received.length, 0);
    });

    it("still takes XML, which those parsers leave alone", async () => {
      autoReply = () => 'fine';
      assert.equal(parseXml((await post(forwarded())).body).Content, 'fine');
    });
  });

  describe('deadline', () => {
    it('answers an empty 200 when the flow is too slow', async () => {
      await load({ replyTimeout: 0.3 });
      const answer = await post(forwarded());
      assert.deepEqual([answer.status, answer.body], [200, '']);
      assert.equal(received.length, 1);
      await waitForStatus(harness.getNode('in-ms'), { fill: 'yellow', shape: 'ring', text: `${DEMO_MICRO_APP.handlerPath} ↓1 ⏱1` });
    });

    it('answers an empty 200 at once when no wechat-reply can be reached', async () => {
      await load({ replyNode: false, replyTimeout: 4.5 });
      const started = Date.now();
      const answer = await post(forwarded());
      assert.deepEqual([answer.status, answer.body], [200, '']);
      assert.ok(Date.now() - started < 1000, 'well before the deadline');
      assert.equal(received.length, 1);
    });
  });

  describe('configuration', () => {
    it('needs no Token, EncodingAESKey or AppSecret on the account', async () => {
      await load();
      assert.deepEqual(errors(), []);
      await waitForStatus(harness.getNode('in-ms'), { fill: 'green', shape: 'dot', text: `${DEMO_MICRO_APP.handlerPath} ↓0` });
    });

    it('does not start on an Official Account', async () => {
      const nodes = handlerFlow();
      nodes.push({ id: 'acc-official', type: 'wechat-account', kind: 'official', appId: 'wx5a1db0c0de000001', agentId: '', apiBase: '' }, handlerNode('in-official', 'acc-official', '/official/OnMessage', {}));
      await harness.load(HANDLER_NODES, nodes, HANDLER_CREDENTIALS);
      assert.ok(errors('in-official').some((e) => e.includes('needs a WeCom account')), errors('in-official').join('\n'));
    });

    it('does not start with a header name that is not one', async () => {
      await load({ forwardAuth: 'header', forwardHeader: 'X Secret' });
      assert.ok(errors().some((e) => e.includes('"X Secret" is not an HTTP header name')), errors().join('\n'));
    });

    it('an old node without a mode still receives WeChat callbacks on the same account kind', async () => {
      const nodes = handlerFlow();
      const old = handlerNode('in-old', 'acc-wecom', '/wx/wecom', {});
      delete old.mode;
      delete old.forwardAuth;
      delete old.forwardHeader;
      nodes.push(
        { id: 'acc-wecom', type: 'wechat-account', kind: 'wecom', appId: DEMO_WECOM_APP.corpId, agentId: DEMO_WECOM_APP.agentId, apiBase: 'http://127.0.0.1:9/wecom' },
        old,
      );
      await harness.load(HANDLER_NODES, nodes, { ...HANDLER_CREDENTIALS, 'acc-wecom': { token: DEMO_WECOM_APP.token, encodingAESKey: DEMO_WECOM_APP.encodingAESKey } });
      received = [];
      harness.getNode('sink').on('input', (msg: NodeMessage) => {
        received.push(msg as WeChatMessage);
        harness.getNode('reply').receive({ ...msg, payload: 'still a callback' } as NodeMessage);
      });
      const result = await WeChatClientSimulator.demo('wecom').deliver(harness.baseUrl + '/wx/wecom', { content: 'x' });
      assert.equal(result.reply.kind === 'reply' && result.reply.encrypted, true);
      assert.equal(result.reply.kind === 'reply' && result.reply.text, 'still a callback');
      assert.equal(received[0].wechat.mode, 'wecom');
      assert.ok((await WeChatClientSimulator.demo('wecom').verifyUrl(harness.baseUrl + '/wx/wecom')).ok, 'and answers URL verification');
    });
  });

  describe('with a PostgreSQL store shared by several instances', () => {
    const schema = usePostgresSchema();

    it('a message forwarded again to the other instance gets the first answer and does not reach the flow there', async () => {
      const nodes = handlerFlow({ store: 'shared-store' });
      nodes.push(
        { id: 'shared-store', type: 'wechat-sap-store', kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' },
        { ...handlerNode('in-ms-2', 'acc-microapp', DEMO_MICRO_APP.handlerPath + '-2', {}), wires: [['sink-2']] },
        { id: 'sink-2', type: 'helper', z: 'tab', wires: [] },
      );
      await harness.load([...HANDLER_NODES, registerStore], nodes, { ...HANDLER_CREDENTIALS, 'in-ms-2': HANDLER_CREDENTIALS['in-ms'], 'shared-store': { connectionString: PG_URL } });
      received = [];
      const onSecond: NodeMessage[] = [];
      harness.getNode('sink').on('input', (msg: NodeMessage) => {
        received.push(msg as WeChatMessage);
        harness.getNode('reply').receive({ ...msg, payload: 'from the first instance' } as NodeMessage);
      });
      harness.getNode('sink-2').on('input', (msg: NodeMessage) => onSecond.push(msg));
      const xml = forwarded({ Content: 'once please' });
      const first = await post(xml);
      const again = await post(xml, { authorization: FORWARD_LOGIN }, DEMO_MICRO_APP.handlerPath + '-2');
      assert.equal(parseXml(first.body).Content, 'from the first instance');
      assert.equal(parseXml(again.body).Content, 'from the first instance');
      assert.equal(received.length, 1);
      assert.equal(onSecond.length, 0);
    });
  });
});

interface EditorApi {
  getFlows(opts: object): Promise<unknown>;
  getNodeCredentials(opts: { type: string; id: string }): Promise<Record<string, unknown>>;
}

/**
 * What the editor reads through the admin API: Node-RED's own runtime API module for
 * flows and credentials, over the runtime the test helper started.
 */
function editorApi(): EditorApi {
  const paths = [require.resolve('node-red')];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodes = require(require.resolve('@node-red/runtime/lib/nodes', { paths })) as { getFlows(): unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const api = require(require.resolve('@node-red/runtime/lib/api/flows', { paths })) as EditorApi & { init(runtime: object): void };
  api.init({ log: { audit: () => undefined }, nodes, flows: { getFlows: () => nodes.getFlows() } });
  return api;
}
