import { strict as assert } from 'node:assert';
import type { Node, NodeMessage } from 'node-red';
import type { SinonSpy } from 'sinon';
import type { WeChatMessage } from '../../../nodes/wechat-in/wechat-in';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { startSandbox } from '../../../sandbox/index';
import { MessageSpec, OfficialMode, PreparedDelivery, WeChatClientSimulator } from '../../../sandbox/wechat-client';
import type { XmlObject } from '../../../lib/wechat/xml';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { PG_URL, usePostgresSchema } from '../../lib/store/pg-support';
import { waitFor } from '../../support/flow-watch';
import { editorBodyParsers } from '../../support/editor-parsers';
import { RegisterFn } from '../../support/node-red-harness';

// Node-RED's own link nodes, as the runtime registers them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const coreLinkNodes: RegisterFn = require(require.resolve('@node-red/nodes/core/common/60-link.js', { paths: [require.resolve('node-red')] }));
import { NodeRedHarness } from '../../support/node-red-harness';
import { CREDENTIALS, FlowOptions, NODES, flow, inNode } from '../../support/wechat-inbound-flow';

function official(mode: OfficialMode, overrides: Record<string, unknown> = {}): WeChatClientSimulator {
  return WeChatClientSimulator.demo('official', { mode, ...overrides });
}

describe('wechat-in', () => {
  const harness = new NodeRedHarness();
  let received: WeChatMessage[];
  /** When set, every message reaching the sink is answered through wechat-reply with this payload. */
  let autoReply: ((msg: WeChatMessage) => unknown) | null;

  async function load(options: FlowOptions = {}, settings?: object) {
    await harness.load(NODES, flow(options), CREDENTIALS, settings);
    received = [];
    autoReply = null;
    harness.getNode('sink').on('input', (msg: NodeMessage) => {
      const message = msg as WeChatMessage;
      received.push(message);
      if (autoReply) harness.getNode('reply').receive({ ...message, payload: autoReply(message) } as NodeMessage);
    });
  }

  const url = (path: string) => harness.baseUrl + path;
  const warnings = (id: string) => (harness.getNode(id).warn as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));

  afterEach(() => harness.unload());
  after(() => harness.stop());

  describe('URL verification', () => {
    beforeEach(() => load());

    it('echoes echostr for an Official Account with a valid signature', async () => {
      const result = await official('plain').verifyUrl(url('/wx/oa'));
      assert.equal(result.status, 200);
      assert.ok(result.ok, result.reason);
    });

    it('decrypts echostr for WeCom, also when form decoding turned + into spaces', async () => {
      const client = WeChatClientSimulator.demo('wecom');
      for (const plusAsSpace of [false, true]) {
        const result = await client.verifyUrl(url('/wx/wecom'), { plusAsSpace });
        assert.ok(result.ok, result.reason);
      }
    });

    it('refuses a forged signature with 401 and logs why', async () => {
      const forged = WeChatClientSimulator.demo('official', { mode: 'plain', token: 'not-the-token' });
      const result = await forged.verifyUrl(url('/wx/oa'));
      assert.equal(result.status, 401);
      assert.equal(result.body, 'bad_signature');
      assert.ok(warnings('in-oa').some((w) => w.includes('bad_signature')));
    });
  });

  describe('messages', () => {
    beforeEach(() => load());

    for (const mode of ['plain', 'compatible', 'safe'] as const) {
      it(`Official Account ${mode} mode: parses, emits once and replies ${mode === 'plain' ? 'in plain' : 'encrypted'}`, async () => {
        autoReply = (msg) => `echo: ${msg.payload.Content}`;
        const client = official(mode);
        const path = mode === 'plain' ? '/wx/plain' : '/wx/oa';
        const result = await client.deliver(url(path), { content: '你好 <world> & more', msgId: '9223372036854775807' });
        assert.equal(result.status, 200);
        assert.equal(result.reply.kind, 'reply');
        assert.equal(result.reply.kind === 'reply' && result.reply.text, 'echo: 你好 <world> & more');
        assert.equal(result.reply.kind === 'reply' && result.reply.encrypted, mode !== 'plain');
        assert.equal(received.length, 1);
        const [msg] = received;
        assert.equal(msg.payload.MsgType, 'text');
        assert.equal(msg.payload.MsgId, '9223372036854775807', 'the 64-bit id stays exact');
        assert.equal(msg.payload.FromUserName, client.user);
        assert.equal(msg.wechat.kind, 'official');
        assert.equal(msg.wechat.from, client.user);
        assert.equal(msg.wechat.to, DEMO_OFFICIAL_ACCOUNT.originalId);
        assert.equal(msg.wechat.mode, mode);
        assert.equal(msg.wechat.encrypted, mode !== 'plain');
      });
    }

    it('WeCom: decrypts, emits with AgentID and replies encrypted', async () => {
      autoReply = () => ({ type: 'news', articles: [{ title: 'Leave request', url: 'https://example.com/leave' }] });
      const client = WeChatClientSimulator.demo('wecom');
      const result = await client.deliver(url('/wx/wecom'), { content: 'leave' });
      assert.equal(result.reply.kind, 'reply');
      assert.equal(result.reply.kind === 'reply' && result.reply.msgType, 'news');
      assert.equal(received[0].payload.AgentID, DEMO_WECOM_APP.agentId);
      assert.equal(received[0].wechat.kind, 'wecom');
      assert.equal(received[0].wechat.agentId, DEMO_WECOM_APP.agentId);
    });

    it('parses every Official Account message and event type with WeChat field names', async () => {
      autoReply = () => '';
      const client = official('safe');
      const specs = [
        { type: 'image' as const },
        { type: 'voice' as const, recognition: 'hello' },
        { type: 'video' as const },
        { type: 'shortvideo' as const },
        { type: 'location' as const, label: 'Shanghai' },
        { type: 'link' as const, title: 'A link' },
        { event: 'subscribe' as const, scene: '42' },
        { event: 'unsubscribe' as const },
        { event: 'SCAN' as const, scene: '7' },
        { event: 'LOCATION' as const },
        { event: 'CLICK' as const, eventKey: 'MENU_HELP' },
        { event: 'VIEW' as const, eventKey: 'https://example.com' },
      ];
      for (const spec of specs) {
        const result = await client.deliver(url('/wx/oa'), spec);
        assert.equal(result.reply.kind, 'no-reply');
      }
      assert.equal(received.length, specs.length);
      assert.deepEqual(
        received.map((m) => m.payload.Event ?? m.payload.MsgType),
        ['image', 'voice', 'video', 'shortvideo', 'location', 'link', 'subscribe', 'unsubscribe', 'SCAN', 'LOCATION', 'CLICK', 'VIEW'],
      );
      assert.equal(received[1].payload.Recognition, 'hello');
      assert.equal(received[4].payload.Label, 'Shanghai');
      assert.equal(received[6].payload.EventKey, 'qrscene_42');
      assert.equal(typeof received[6].payload.Ticket, 'string');
      assert.equal(received[10].wechat.event, 'CLICK');
    });

    it('an empty reply payload answers success at once', async () => {
      autoReply = () => '';
      const result = await official('plain').deliver(url('/wx/plain'), { content: 'x' });
      assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' });
    });
  });

  describe('refusing bad callbacks', () => {
    beforeEach(() => load());

    async function expectRefused(status: number, reason: string, send: () => Promise<{ status: number; body: string }>) {
      const result = await send();
      assert.equal(result.status, status);
      assert.equal(result.body, reason);
      assert.equal(received.length, 0, 'nothing reaches the flow');
    }

    it('a forged POST signature: 401, warning names the cause, no secret in it', async () => {
      const forged = WeChatClientSimulator.demo('wecom', { token: 'forged' });
      await expectRefused(401, 'bad_signature', () => forged.deliver(url('/wx/wecom'), { content: 'x' }));
      const [warning] = warnings('in-wecom');
      assert.match(warning, /bad_signature/);
      for (const secret of Object.values(CREDENTIALS['acc-wecom'])) assert.ok(!warning.includes(secret));
    });

    it('a stale timestamp: 403', async () => {
      const old = String(Math.floor(Date.now() / 1000) - 3600);
      const client = official('safe');
      const delivery = client.prepare(url('/wx/oa'), { content: 'x' }, { timestamp: old });
      await expectRefused(403, 'stale_timestamp', () => client.send(delivery));
    });

    it('a message for another AppID: 403', async () => {
      const other = official('safe', { appId: 'wx0000000000000bad' });
      await expectRefused(403, 'bad_receiver_id', () => other.deliver(url('/wx/oa'), { content: 'x' }));
    });

    it('malformed XML and entity declarations: 400', async () => {
      const client = official('plain');
      for (const body of ['<xml><Content>unclosed</xml>', '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>', '{"json":true}']) {
        const prepared = client.prepare(url('/wx/plain'), { content: 'x' });
        const delivery = { ...prepared, body, headers: { ...prepared.headers, 'Content-Length': String(Buffer.byteLength(body)) } };
        await expectRefused(400, 'bad_xml', () => client.send(delivery));
      }
    });

    it('an oversized body: 413', async () => {
      const client = official('plain');
      const delivery = client.prepare(url('/wx/plain'), { content: 'x'.repeat(300 * 1024) });
      await expectRefused(413, 'bad_body', () => client.send(delivery));
    });

    it('a mangled Encrypt: refused before any decryption', async () => {
      const client = WeChatClientSimulator.demo('wecom');
      const delivery = client.prepare(url('/wx/wecom'), { content: 'x' });
      const body = delivery.body.replace(/<Encrypt>[\s\S]*<\/Encrypt>/, '<Encrypt>!!not base64!!</Encrypt>');
      const broken = { ...delivery, body, headers: { ...delivery.headers, 'Content-Length': String(Buffer.byteLength(body)) } };
      const result = await client.send(broken);
      // The signature covers Encrypt, so a mangled Encrypt fails the signature check first.
      assert.equal(result.status, 401);
      assert.equal(received.length, 0);
    });
  });

  describe('retries', () => {
    beforeEach(() => load());

    it('a retried delivery reaches the flow once; every try gets the same reply', async () => {
      const client = official('safe');
      const delivery = client.prepare(url('/wx/oa'), { content: 'slow question' });
      const tries = [client.send(delivery), client.send(delivery), client.send(delivery)];
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received.length, 1);
      harness.getNode('reply').receive({ ...received[0], payload: 'one answer' } as NodeMessage);
      const results = await Promise.all(tries);
      for (const r of results) assert.equal(r.reply.kind === 'reply' && r.reply.text, 'one answer');
      const late = await client.replay(delivery);
      assert.equal(late.reply.kind === 'reply' && late.reply.text, 'one answer', 'an answered delivery keeps its answer');
      assert.equal(received.length, 1);
    });

    it('events are de-duplicated by their content', async () => {
      autoReply = () => 'welcome';
      const client = official('plain');
      const delivery = client.prepare(url('/wx/plain'), { event: 'subscribe' });
      await client.send(delivery);
      await client.replay(delivery);
      assert.equal(received.length, 1);
      await client.deliver(url('/wx/plain'), { event: 'subscribe', createTime: Math.floor(Date.now() / 1000) - 1 });
      assert.equal(received.length, 2, 'a different CreateTime is a new event');
    });
  });

  describe('de-duplication by the whole message', () => {
    beforeEach(() => load());
    const now = () => Math.floor(Date.now() / 1000);

    it('delivers WeCom system events of one kind in one second that differ in any field, nested ones included', async () => {
      autoReply = () => '';
      const client = WeChatClientSimulator.demo('wecom');
      const createTime = now();
      const contact = (externalUserId: string): MessageSpec => ({
        event: 'subscribe',
        from: 'sys',
        createTime,
        extra: { Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: externalUserId },
      });
      const approval = (approver: string): MessageSpec => ({
        event: 'subscribe',
        from: 'sys',
        createTime,
        extra: { Event: 'sys_approval_change', ApprovalInfo: { SpNo: '202612010001', SpStatus: '2', Approver: { UserId: approver } } },
      });
      for (const spec of [contact('wmA'), contact('wmB'), approval('lisi'), approval('wangwu')]) {
        assert.equal((await client.deliver(url('/wx/wecom'), spec)).status, 200);
      }
      assert.deepEqual(
        received.map((m) => m.payload.ExternalUserID ?? ((m.payload.ApprovalInfo as XmlObject).Approver as XmlObject).UserId),
        ['wmA', 'wmB', 'lisi', 'wangwu'],
      );
    });

    it('delivers the same MsgId from two senders to the flow twice', async () => {
      autoReply = () => '';
      for (const from of ['oSenderA', 'oSenderB']) await official('safe').deliver(url('/wx/oa'), { content: 'same id', msgId: '7000000000000000001', from });
      assert.deepEqual(received.map((m) => m.wechat.from), ['oSenderA', 'oSenderB']);
    });

    const modes: Array<[string, () => WeChatClientSimulator, string]> = [
      ['plain', () => official('plain'), '/wx/plain'],
      ['compatible', () => official('compatible'), '/wx/oa'],
      ['safe', () => official('safe'), '/wx/oa'],
      ['wecom', () => WeChatClientSimulator.demo('wecom'), '/wx/wecom'],
    ];
    for (const [mode, simulator, path] of modes) {
      it(`absorbs a true retry in ${mode} mode: same message, new nonce, signature${mode === 'plain' ? '' : ' and AES random'}`, async () => {
        autoReply = () => 'answered once';
        const client = simulator();
        const message = client.buildMessage({ content: 'retried' });
        const first = client.prepare(url(path), message);
        const retry = client.prepare(url(path), message);
        assert.notEqual(first.nonce, retry.nonce);
        if (mode !== 'plain') assert.notEqual(first.body, retry.body);
        const answers = [await client.send(first), await client.send(retry)];
        for (const a of answers) assert.equal(a.reply.kind === 'reply' && a.reply.text, 'answered once');
        assert.equal(received.length, 1);
      });
    }
  });

  describe('callbacks that cannot be forged', () => {
    const now = () => Math.floor(Date.now() / 1000);

    it('refuses a plaintext callback to an Official Account with an EncodingAESKey: 403, a warning, nothing in the flow', async () => {
      await load();
      const forged = official('plain').prepare(url('/wx/oa'), { content: 'transfer', from: 'oVictim' });
      const result = await official('plain').send(forged);
      assert.deepEqual([result.status, result.body], [403, 'plaintext_refused']);
      assert.equal(received.length, 0);
      assert.ok(warnings('in-oa').some((w) => w.includes('plaintext_refused')));
    });

    it('accepts plaintext on that account only when it is set to accept it for the switch-over', async () => {
      await load({ acceptPlain: true });
      autoReply = () => 'during the switch';
      const result = await official('plain').deliver(url('/wx/oa'), { content: 'x' });
      assert.equal(result.reply.kind === 'reply' && result.reply.text, 'during the switch');
      assert.equal(received[0].wechat.mode, 'plain');
    });

    it('plain mode: a signed query carries one message; another body under it is refused, the same body is a retry', async () => {
      await load();
      autoReply = () => 'once';
      const client = official('plain');
      const genuine = client.prepare(url('/wx/plain'), { content: 'genuine' });
      assert.equal((await client.send(genuine)).reply.kind, 'reply');
      for (let i = 0; i < 3; i++) {
        const body = client.buildMessage({ content: `injected ${i}`, from: `oVictim${i}` }).xml;
        const injected = { ...genuine, body, headers: { ...genuine.headers, 'Content-Length': String(Buffer.byteLength(body)) } };
        const refused = await client.send(injected);
        assert.deepEqual([refused.status, refused.body], [403, 'signature_reused']);
      }
      const retry = await client.replay(genuine);
      assert.equal(retry.reply.kind === 'reply' && retry.reply.text, 'once');
      assert.deepEqual(received.map((m) => m.payload.Content), ['genuine']);
      assert.ok(warnings('in-plain').some((w) => w.includes('signature_reused')));
    });

    it('encrypted modes: another body under the same msg_signature fails the signature; another plain copy in compatible mode changes nothing', async () => {
      await load();
      autoReply = () => '';
      for (const [client, path] of [[official('safe'), '/wx/oa'], [WeChatClientSimulator.demo('wecom'), '/wx/wecom']] as const) {
        const genuine = client.prepare(url(path), { content: 'genuine' });
        assert.equal((await client.send(genuine)).status, 200);
        const other = client.prepare(url(path), { content: 'injected', createTime: now() });
        const swapped = { ...genuine, body: other.body, headers: other.headers };
        assert.equal((await client.send(swapped)).status, 401);
      }
      const compatible = official('compatible');
      const genuine = compatible.prepare(url('/wx/oa'), { content: 'real', from: 'oReal' });
      await compatible.send(genuine);
      const body = genuine.body.replace('oReal', 'oAttacker');
      assert.notEqual(body, genuine.body);
      await compatible.send({ ...genuine, body, headers: { ...genuine.headers, 'Content-Length': String(Buffer.byteLength(body)) } });
      assert.deepEqual(received.map((m) => m.payload.Content), ['genuine', 'genuine', 'real'], 'the altered copy is the same message: a retry');
      assert.ok(received.every((m) => m.wechat.from !== 'oAttacker'));
    });
  });

  describe('behind the editor\'s body parsers (editor at /, the default)', () => {
    beforeEach(() => load({}, { httpNodeMiddleware: editorBodyParsers() }));

    it('answers a body another parser consumed at once with 415 and a warning, never leaving the request open', async () => {
      const client = official('safe');
      for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
        const prepared = client.prepare(url('/wx/oa'), { content: 'x' });
        const body = type === 'application/json' ? '{"xml":"not really"}' : 'a=1&b=2';
        const delivery = { ...prepared, body, headers: { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) } };
        const started = Date.now();
        const result = await client.send(delivery, { timeoutMs: 2000 });
        assert.deepEqual([result.status, result.body], [415, 'parsed_body'], type);
        assert.ok(Date.now() - started < 1000, 'answered at once');
      }
      assert.ok(warnings('in-oa').some((w) => w.includes('parsed_body') && w.includes('httpAdminRoot')));
      assert.equal(received.length, 0);
    });

    it('still takes WeChat\'s own text/xml callbacks, which those parsers leave alone', async () => {
      autoReply = () => 'fine';
      const result = await official('safe').deliver(url('/wx/oa'), { content: 'x' });
      assert.equal(result.reply.kind === 'reply' && result.reply.text, 'fine');
    });
  });

  describe('deadline', () => {
    it('answers "success" (Official Account) and "" (WeCom) when the flow is too slow', async () => {
      await load({ replyTimeout: 0.3 });
      const oa = await official('safe').deliver(url('/wx/oa'), { content: 'x' });
      assert.deepEqual(oa.reply, { kind: 'no-reply', marker: 'success' });
      const wecom = await WeChatClientSimulator.demo('wecom').deliver(url('/wx/wecom'), { content: 'x' });
      assert.deepEqual(wecom.reply, { kind: 'no-reply', marker: '' });
      assert.equal(received.length, 2);
    });

    it('delivers a late reply as an active message instead', async () => {
      const sandbox = await startSandbox();
      try {
        await load({ replyTimeout: 0.3, sandboxUrl: sandbox.baseUrl });
        const client = official('safe');
        await client.deliver(url('/wx/oa'), { content: 'slow question' });
        await WeChatClientSimulator.demo('wecom').deliver(url('/wx/wecom'), { content: 'slow too' });
        const reply = harness.getNode('reply');
        reply.receive({ ...received[0], payload: 'the answer, late' } as NodeMessage);
        reply.receive({ ...received[1], payload: { type: 'text', content: '迟到的回答' } } as NodeMessage);
        await waitFor('both late replies as active messages', () => sandbox.wechat.messages.length + sandbox.wecom.messages.length >= 2);
        assert.deepEqual(sandbox.wechat.messages.map((m) => [m.api, m.body]), [
          ['message/custom/send', { touser: client.user, msgtype: 'text', text: { content: 'the answer, late' } }],
        ]);
        const [app] = sandbox.wecom.messages;
        assert.equal(app.body.touser, 'SandboxUser');
        assert.deepEqual(app.body.text, { content: '迟到的回答' });
        await new Promise((r) => setTimeout(r, 20));
        assert.ok(warnings('reply').some((w) => w.includes('delivered as an active message')));
      } finally {
        await sandbox.close();
      }
    });

    it('answers at once when no wechat-reply can be reached, even with one deployed elsewhere', async () => {
      const nodes = flow({ replyNode: false, replyTimeout: 4.5 });
      nodes.push({ id: 'tab2', type: 'tab' }, { id: 'unrelated-reply', type: 'wechat-reply', z: 'tab2', wires: [] });
      await harness.load(NODES, nodes, CREDENTIALS);
      received = [];
      harness.getNode('sink').on('input', (msg: NodeMessage) => received.push(msg as WeChatMessage));
      const started = Date.now();
      const result = await official('plain').deliver(url('/wx/plain'), { content: 'x' }, { timeoutMs: 1000 });
      assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' });
      assert.ok(Date.now() - started < 1000, 'well before the deadline');
    });

    it('holds the answer for a wechat-reply reached through link nodes', async () => {
      const nodes = flow({ replyNode: false, replyTimeout: 4.5 });
      const sink = nodes.find((n) => n.id === 'sink')!;
      sink.wires = [['to-replies']];
      nodes.push(
        { id: 'to-replies', type: 'link out', z: 'tab', mode: 'link', links: ['replies-in'], wires: [] },
        { id: 'tab2', type: 'tab' },
        { id: 'replies-in', type: 'link in', z: 'tab2', links: ['to-replies'], wires: [['linked-reply']] },
        { id: 'linked-reply', type: 'wechat-reply', z: 'tab2', wires: [] },
      );
      await harness.load([...NODES, coreLinkNodes], nodes, CREDENTIALS);
      received = [];
      harness.getNode('sink').on('input', (msg: NodeMessage) => {
        received.push(msg as WeChatMessage);
        setTimeout(() => harness.getNode('linked-reply').receive({ ...msg, payload: 'through the link' } as NodeMessage), 300);
      });
      const result = await official('plain').deliver(url('/wx/plain'), { content: 'x' }, { timeoutMs: 3000 });
      assert.equal(result.reply.kind === 'reply' && result.reply.text, 'through the link', 'it waited for the reply');
    });

    it('answers at once when no wechat-reply node is deployed', async () => {
      await load({ replyNode: false, replyTimeout: 4.5 });
      const started = Date.now();
      const result = await official('plain').deliver(url('/wx/plain'), { content: 'x' }, { timeoutMs: 1000 });
      assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' });
      assert.ok(Date.now() - started < 1000, 'well before the deadline');
      assert.equal(received.length, 1);
    });
  });

  describe('the route', () => {
    it('is removed when the flow stops', async () => {
      await load();
      await harness.unload();
      const result = await official('plain').deliver(url('/wx/plain'), { content: 'x' });
      assert.equal(result.status, 404);
    });

    it('cannot be claimed twice', async () => {
      const nodes = flow();
      nodes.push(inNode('in-dup', 'acc-oa', '/wx/oa', {}));
      await harness.load(NODES, nodes, CREDENTIALS);
      const dup: Node = harness.getNode('in-dup');
      const errors = (dup.error as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));
      assert.ok(errors.some((e) => e.includes('already owns /wx/oa')), errors.join('\n'));
    });
  });

  describe('with a PostgreSQL store shared by several instances', () => {
    const schema = usePostgresSchema();

    /** Two wechat-in nodes with their own trackers stand for two Node-RED instances behind one URL. */
    async function loadTwoInstances(): Promise<void> {
      const nodes = flow({ store: 'shared-store' });
      nodes.push(
        { id: 'shared-store', type: 'wechat-sap-store', kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' },
        inNode('in-oa-2', 'acc-oa', '/wx/oa-2', {}),
        inNode('in-plain-2', 'acc-plain', '/wx/plain-2', {}),
      );
      await harness.load([...NODES, registerStore], nodes, { ...CREDENTIALS, 'shared-store': { connectionString: PG_URL } });
      received = [];
      harness.getNode('sink').on('input', (msg: NodeMessage) => {
        received.push(msg as WeChatMessage);
        harness.getNode('reply').receive({ ...msg, payload: 'from the first instance' } as NodeMessage);
      });
    }
    const onOtherInstance = (delivery: PreparedDelivery, path: string) => ({ ...delivery, url: delivery.url.replace(`${path}?`, `${path}-2?`) });

    it('a delivery reaches only one instance; a retry on the other gets the same reply', async () => {
      await loadTwoInstances();
      const client = official('safe');
      const delivery = client.prepare(url('/wx/oa'), { content: 'once please' });
      const first = await client.send(delivery);
      const retry = await client.send(onOtherInstance(delivery, '/wx/oa'));
      assert.equal(first.reply.kind === 'reply' && first.reply.text, 'from the first instance');
      assert.equal(retry.reply.kind === 'reply' && retry.reply.text, 'from the first instance');
      assert.equal(received.length, 1);
    });

    it('a retry with a new nonce, signature and AES random on the other instance is absorbed too', async () => {
      await loadTwoInstances();
      const client = official('safe');
      const message = client.buildMessage({ content: 'retried elsewhere' });
      await client.send(client.prepare(url('/wx/oa'), message));
      const retry = await client.send(client.prepare(url('/wx/oa-2'), message));
      assert.equal(retry.reply.kind === 'reply' && retry.reply.text, 'from the first instance');
      assert.equal(received.length, 1);
    });

    it('a signed plain query reused with another body on the other instance is refused', async () => {
      await loadTwoInstances();
      const client = official('plain');
      const genuine = client.prepare(url('/wx/plain'), { content: 'genuine' });
      await client.send(genuine);
      const body = client.buildMessage({ content: 'injected elsewhere' }).xml;
      const injected = { ...onOtherInstance(genuine, '/wx/plain'), body, headers: { ...genuine.headers, 'Content-Length': String(Buffer.byteLength(body)) } };
      const refused = await client.send(injected);
      assert.deepEqual([refused.status, refused.body], [403, 'signature_reused']);
      assert.deepEqual(received.map((m) => m.payload.Content), ['genuine']);
    });
  });
});
