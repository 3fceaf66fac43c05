import { strict as assert } from 'node:assert';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, sendText } from '../../lib/http/body';
import { CallbackAccount, CallbackEndpoint, CallbackError, InboundMessage, dedupKeyOf } from '../../lib/wechat/callback';
import { WeChatCipher, signatureOf } from '../../lib/wechat/crypto';
import { ReplyPayload, normalizeReply, replyXml } from '../../lib/wechat/replies';
import { buildXml, parseXml } from '../../lib/wechat/xml';
import { DEMO_MICRO_APP, DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import {
  DeliveryResult,
  OFFICIAL_EVENTS,
  OFFICIAL_MESSAGE_TYPES,
  OfficialMode,
  ReplyOutcome,
  WECOM_EVENTS,
  WECOM_MESSAGE_TYPES,
  WeChatClientSimulator,
} from '../../sandbox/wechat-client';
import { main as cli } from '../../sandbox/cli';

/** One webhook takes all three Official Account modes, as an account does while switching modes. */
const OFFICIAL_ACCOUNT: CallbackAccount = {
  kind: 'official',
  appId: DEMO_OFFICIAL_ACCOUNT.appId,
  token: DEMO_OFFICIAL_ACCOUNT.token,
  encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey,
  acceptPlain: true,
};
const WECOM_ACCOUNT: CallbackAccount = {
  kind: 'wecom',
  appId: DEMO_WECOM_APP.corpId,
  token: DEMO_WECOM_APP.token,
  encodingAESKey: DEMO_WECOM_APP.encodingAESKey,
};

/** What the test webhook does with an authenticated message: a body to send, or null to never answer. */
type Responder = (inbound: InboundMessage, helpers: Helpers) => string | null;

interface Helpers {
  /** The reply XML for a payload, sealed when the message was encrypted. */
  reply(payload: ReplyPayload, options?: { now?: number; from?: string; to?: string }): string;
  noReply: string;
}

interface Received {
  method: string;
  url: string;
  body: string;
  inbound?: InboundMessage;
}

/** A minimal callback endpoint on node:http, built from lib/wechat/callback.ts. */
/** An Official Account and a WeCom webhook, started and stopped around the enclosing describe block. */
function webhookPair() {
  const pair = { official: new TestWebhook(OFFICIAL_ACCOUNT), wecom: new TestWebhook(WECOM_ACCOUNT), officialUrl: '', wecomUrl: '' };
  before(async () => {
    pair.officialUrl = await pair.official.start();
    pair.wecomUrl = await pair.wecom.start();
  });
  after(async () => {
    await pair.official.stop();
    await pair.wecom.stop();
  });
  return pair;
}

class TestWebhook {
  readonly received: Received[] = [];
  respond: Responder = (inbound, h) => h.reply(`echo: ${summary(inbound)}`);
  private server: Server | null = null;
  private readonly endpoint: CallbackEndpoint;

  constructor(readonly account: CallbackAccount) {
    this.endpoint = new CallbackEndpoint(account, { replayWindowSeconds: 300 });
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat/${this.account.kind}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const body = (await readBody(req, 64 * 1024)).toString('utf8');
    const record: Received = { method: req.method ?? '', url: req.url ?? '', body };
    this.received.push(record);
    try {
      if (req.method === 'GET') return sendText(res, 200, this.endpoint.verifyUrl(query));
      const inbound = this.endpoint.open(query, body);
      record.inbound = inbound;
      const answer = this.respond(inbound, this.helpers(inbound));
      if (answer !== null) sendText(res, 200, answer, 'text/xml');
      // null: hold the connection open, as a slow flow would; stop() closes it.
    } catch (err) {
      if (err instanceof CallbackError) return sendText(res, err.status, err.reason);
      throw err;
    }
  }

  private helpers(inbound: InboundMessage): Helpers {
    const kind = this.account.kind;
    return {
      reply: (payload, options = {}) => {
        const xml = replyXml(
          normalizeReply(payload, kind),
          options.to ?? (inbound.fields.FromUserName as string),
          options.from ?? (inbound.fields.ToUserName as string),
          options.now ?? Date.now(),
        );
        return this.endpoint.seal(xml, inbound.encrypted);
      },
      noReply: this.endpoint.noReplyBody,
    };
  }
}

/** What the default responder echoes: the message type and text, or the event name. */
function summary(inbound: InboundMessage): string {
  const f = inbound.fields;
  return f.MsgType === 'event' ? `event ${String(f.Event)}` : `${String(f.MsgType)} ${String(f.Content ?? '')}`.trim();
}

function expectReply(result: DeliveryResult): Extract<ReplyOutcome, { kind: 'reply' }> {
  assert.equal(result.reply.kind, 'reply', JSON.stringify(result.reply));
  return result.reply as Extract<ReplyOutcome, { kind: 'reply' }>;
}

function expectInvalid(result: DeliveryResult, pattern: RegExp): void {
  assert.equal(result.reply.kind, 'invalid', JSON.stringify(result.reply));
  assert.match((result.reply as { reason: string }).reason, pattern);
}

const SETUPS: Array<{ name: string; account: CallbackAccount; sim: () => WeChatClientSimulator; encrypted: boolean }> = [
  ...(['plain', 'compatible', 'safe'] as OfficialMode[]).map((mode) => ({
    name: `Official Account ${mode} mode`,
    account: OFFICIAL_ACCOUNT,
    sim: () => WeChatClientSimulator.demo('official', { mode }),
    encrypted: mode !== 'plain',
  })),
  { name: 'WeCom', account: WECOM_ACCOUNT, sim: () => WeChatClientSimulator.demo('wecom'), encrypted: true },
];

describe('sandbox/wechat-client', () => {
  for (const setup of SETUPS) {
    describe(setup.name, () => {
      const webhook = new TestWebhook(setup.account);
      let url = '';
      before(async () => {
        url = await webhook.start();
      });
      after(() => webhook.stop());
      beforeEach(() => {
        webhook.received.length = 0;
        webhook.respond = (inbound, h) => h.reply(`echo: ${summary(inbound)}`);
      });

      it('round-trips a text message and decrypts the reply', async () => {
        const sim = setup.sim();
        const result = await sim.deliver(url, { content: '你好 & <hello>' });
        assert.equal(result.status, 200);
        const reply = expectReply(result);
        assert.equal(reply.text, 'echo: text 你好 & <hello>');
        assert.equal(reply.encrypted, setup.encrypted);
        assert.equal(reply.fields.ToUserName, sim.user);
        assert.deepEqual(reply.warnings, []);
        const inbound = webhook.received[0].inbound as InboundMessage;
        assert.equal(inbound.encrypted, setup.encrypted);
        assert.equal(inbound.mode, result.delivery.mode);
        assert.equal(inbound.fields.MsgId, result.delivery.message.msgId);
      });

      it('sends the body and query WeChat sends in this mode', async () => {
        const sim = setup.sim();
        const delivery = sim.prepare(url, { content: 'x' });
        const envelope = parseXml(delivery.body);
        const q = delivery.query;
        assert.match(q.timestamp, /^\d{10}$/);
        assert.ok(delivery.path.startsWith(`/wechat/${setup.account.kind}?`));
        assert.equal(delivery.headers['Content-Length'], String(Buffer.byteLength(delivery.body)));
        if (delivery.mode === 'wecom') {
          assert.deepEqual(Object.keys(q), ['msg_signature', 'timestamp', 'nonce']);
          assert.deepEqual(Object.keys(envelope), ['ToUserName', 'Encrypt', 'AgentID']);
          assert.equal(envelope.ToUserName, DEMO_WECOM_APP.corpId);
          assert.equal(envelope.AgentID, DEMO_WECOM_APP.agentId);
        } else {
          assert.equal(q.signature, signatureOf([DEMO_OFFICIAL_ACCOUNT.token, q.timestamp, q.nonce]));
          assert.equal(q.openid, sim.user);
          if (delivery.mode === 'plain') {
            assert.equal(q.encrypt_type, undefined);
            assert.equal(envelope.Encrypt, undefined);
            assert.equal(envelope.Content, 'x');
          } else {
            assert.equal(q.encrypt_type, 'aes');
            const expectedKeys = delivery.mode === 'safe' ? ['ToUserName', 'Encrypt'] : [...Object.keys(delivery.message.fields), 'Encrypt'];
            assert.deepEqual(Object.keys(envelope), expectedKeys);
          }
        }
        if (delivery.encrypted) {
          assert.equal(q.msg_signature, signatureOf([setup.account.token, q.timestamp, q.nonce, envelope.Encrypt as string]));
          const cipher = new WeChatCipher(setup.account.token, setup.account.encodingAESKey as string, setup.account.appId);
          assert.equal(cipher.decrypt(envelope.Encrypt as string).message, delivery.message.xml);
        }
      });

      it('passes the no-reply marker through', async () => {
        webhook.respond = (_inbound, h) => h.noReply;
        const result = await setup.sim().deliver(url, {});
        assert.deepEqual(result.reply, { kind: 'no-reply', marker: setup.account.kind === 'official' ? 'success' : '' });
      });

      it('detects a forged reply signature', async () => {
        if (!setup.encrypted) {
          webhook.respond = () => buildXml({ Encrypt: 'AAAA', MsgSignature: '0'.repeat(40), TimeStamp: 1, Nonce: '1' });
          expectInvalid(await setup.sim().deliver(url, {}), /encrypted reply to a plain-mode message/);
          return;
        }
        webhook.respond = (_inbound, h) => {
          const envelope = parseXml(h.reply('forged'));
          return buildXml({ ...envelope, MsgSignature: signatureOf(['not-the-token', envelope.TimeStamp as string, envelope.Nonce as string, envelope.Encrypt as string]) } as Record<string, string>);
        };
        expectInvalid(await setup.sim().deliver(url, {}), /MsgSignature does not match/);
      });

      it('answers URL verification', async () => {
        const result = await setup.sim().verifyUrl(url);
        assert.equal(result.ok, true, result.reason);
        assert.equal(result.body, result.expected);
        assert.equal(webhook.received[0].method, 'GET');
      });

      it('reports an endpoint that refuses the signature', async () => {
        const stranger = new WeChatClientSimulator({
          kind: setup.account.kind,
          appId: setup.account.appId,
          token: 'SomeoneElsesToken',
          encodingAESKey: setup.account.encodingAESKey,
          mode: setup.sim().mode === 'wecom' ? undefined : (setup.sim().mode as OfficialMode),
        });
        const result = await stranger.deliver(url, {});
        assert.equal(result.status, 401);
        assert.deepEqual(result.reply, { kind: 'rejected', reason: 'HTTP 401: bad_signature' });
        const verification = await stranger.verifyUrl(url);
        assert.equal(verification.ok, false);
        assert.match(verification.reason as string, /HTTP 401/);
      });
    });
  }

  describe('message and event types', () => {
    const webhooks = webhookPair();
    const { official, wecom } = webhooks;

    const required: Record<string, string[]> = {
      text: ['Content'],
      image: ['PicUrl', 'MediaId'],
      voice: ['MediaId', 'Format'],
      video: ['MediaId', 'ThumbMediaId'],
      shortvideo: ['MediaId', 'ThumbMediaId'],
      location: ['Location_X', 'Location_Y', 'Scale', 'Label'],
      link: ['Title', 'Description', 'Url'],
      SCAN: ['EventKey', 'Ticket'],
      LOCATION: ['Latitude', 'Longitude', 'Precision'],
      CLICK: ['EventKey'],
      VIEW: ['EventKey'],
      click: ['EventKey'],
      view: ['EventKey'],
      enter_agent: ['EventKey'],
      template_card_event: ['EventKey', 'TaskId', 'CardType', 'ResponseCode'],
    };

    for (const type of OFFICIAL_MESSAGE_TYPES) {
      it(`Official Account ${type} message`, async () => {
        const sim = WeChatClientSimulator.demo('official', { mode: 'safe' });
        const result = await sim.deliver(webhooks.officialUrl, { type });
        assert.equal(expectReply(result).text, `echo: ${type} ${type === 'text' ? 'hello' : ''}`.trim());
        const fields = (official.received.at(-1)?.inbound as InboundMessage).fields;
        assert.equal(fields.ToUserName, DEMO_OFFICIAL_ACCOUNT.originalId);
        assert.equal(fields.MsgType, type);
        assert.match(fields.CreateTime as string, /^\d{10}$/);
        assert.match(fields.MsgId as string, /^\d{19}$/);
        for (const name of required[type]) assert.ok(typeof fields[name] === 'string' && fields[name] !== '', `${name} missing`);
      });
    }

    for (const event of OFFICIAL_EVENTS) {
      it(`Official Account ${event} event`, async () => {
        const sim = WeChatClientSimulator.demo('official', { mode: 'compatible' });
        const result = await sim.deliver(webhooks.officialUrl, { event });
        assert.equal(expectReply(result).text, `echo: event ${event}`);
        const inbound = official.received.at(-1)?.inbound as InboundMessage;
        assert.equal(inbound.fields.MsgType, 'event');
        assert.equal(inbound.fields.Event, event);
        assert.equal(inbound.fields.MsgId, undefined, 'events carry no MsgId');
        assert.equal(inbound.dedupKey, dedupKeyOf(inbound.fields), 'events are keyed by their whole content');
        for (const name of required[event] ?? []) assert.ok(typeof inbound.fields[name] === 'string' && inbound.fields[name] !== '', `${name} missing`);
      });
    }

    it('Official Account subscribe through a QR code carries qrscene_ and a Ticket', async () => {
      const sim = WeChatClientSimulator.demo('official', { mode: 'plain' });
      await sim.deliver(webhooks.officialUrl, { event: 'subscribe', scene: 'store_42', ticket: 'gQH47joAAAAA' });
      const fields = (official.received.at(-1)?.inbound as InboundMessage).fields;
      assert.equal(fields.EventKey, 'qrscene_store_42');
      assert.equal(fields.Ticket, 'gQH47joAAAAA');
    });

    for (const type of WECOM_MESSAGE_TYPES) {
      it(`WeCom ${type} message`, async () => {
        const sim = WeChatClientSimulator.demo('wecom');
        expectReply(await sim.deliver(webhooks.wecomUrl, { type }));
        const fields = (wecom.received.at(-1)?.inbound as InboundMessage).fields;
        assert.equal(fields.ToUserName, DEMO_WECOM_APP.corpId);
        assert.equal(fields.AgentID, DEMO_WECOM_APP.agentId);
        assert.equal(fields.MsgType, type);
        assert.match(fields.MsgId as string, /^\d{19}$/);
        for (const name of required[type]) assert.ok(typeof fields[name] === 'string' && fields[name] !== '', `${name} missing`);
      });
    }

    for (const event of WECOM_EVENTS) {
      it(`WeCom ${event} event`, async () => {
        const sim = WeChatClientSimulator.demo('wecom');
        assert.equal(expectReply(await sim.deliver(webhooks.wecomUrl, { event })).text, `echo: event ${event}`);
        const fields = (wecom.received.at(-1)?.inbound as InboundMessage).fields;
        assert.equal(fields.Event, event);
        assert.equal(fields.AgentID, DEMO_WECOM_APP.agentId);
        for (const name of required[event] ?? []) assert.equal(typeof fields[name], 'string', `${name} missing`);
      });
    }

    it('keeps explicit values, extra fields and a MsgId above 2^53 exact', async () => {
      const sim = WeChatClientSimulator.demo('official', { mode: 'safe' });
      await sim.deliver(webhooks.officialUrl, {
        type: 'location',
        latitude: 23.134521,
        longitude: 113.358803,
        label: 'Guangzhou',
        msgId: '9223372036854775807',
        createTime: 1_700_000_000,
        extra: { ScanCodeInfo: { ScanType: 'qrcode', ScanResult: 'a]]>b' } },
      });
      const fields = (official.received.at(-1)?.inbound as InboundMessage).fields;
      assert.equal(fields.Location_X, '23.134521');
      assert.equal(fields.Location_Y, '113.358803');
      assert.equal(fields.Label, 'Guangzhou');
      assert.equal(fields.MsgId, '9223372036854775807');
      assert.equal(fields.CreateTime, '1700000000');
      assert.deepEqual(fields.ScanCodeInfo, { ScanType: 'qrcode', ScanResult: 'a]]>b' });
    });

    it('writes numbers bare and text in CDATA, like WeChat', () => {
      const message = WeChatClientSimulator.demo('official').buildMessage({ content: 'hi', msgId: '6054768590064713728', createTime: 1409735668 });
      assert.match(message.xml, /<CreateTime>1409735668<\/CreateTime>/);
      assert.match(message.xml, /<MsgId>6054768590064713728<\/MsgId>/);
      assert.match(message.xml, /<Content><!\[CDATA\[hi\]\]><\/Content>/);
    });

    it('refuses types and events the platform does not have', () => {
      assert.throws(() => WeChatClientSimulator.demo('wecom').buildMessage({ type: 'shortvideo' }), /not a WeCom message type/);
      assert.throws(() => WeChatClientSimulator.demo('wecom').buildMessage({ event: 'SCAN' }), /not a WeCom event/);
      assert.throws(() => WeChatClientSimulator.demo('official').buildMessage({ event: 'enter_agent' }), /not a Official Account event|not an? Official Account event/);
    });
  });

  describe('reply checks', () => {
    const webhook = new TestWebhook(OFFICIAL_ACCOUNT);
    let url = '';
    before(async () => {
      url = await webhook.start();
    });
    after(() => webhook.stop());

    it('refuses a plain reply in safe mode but accepts it in compatible mode', async () => {
      // Deliberately unsealed, whatever the inbound mode.
      webhook.respond = (inbound) => replyXml({ type: 'text', content: 'plain' }, inbound.fields.FromUserName as string, inbound.fields.ToUserName as string);
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(url, {}), /plain reply to an encrypted safe message/);
      const compatible = expectReply(await WeChatClientSimulator.demo('official', { mode: 'compatible' }).deliver(url, {}));
      assert.equal(compatible.encrypted, false);
      assert.equal(compatible.text, 'plain');
    });

    it('refuses a reply encrypted for another AppID', async () => {
      const foreign = new CallbackEndpoint({ ...OFFICIAL_ACCOUNT, appId: 'wx_someone_else' }, { replayWindowSeconds: 0 });
      webhook.respond = (inbound) => foreign.seal(replyXml({ type: 'text', content: 'x' }, inbound.fields.FromUserName as string, inbound.fields.ToUserName as string), true);
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(url, {}), /bad_receiver_id/);
    });

    it('refuses a reply addressed to someone else or from another account', async () => {
      webhook.respond = (_inbound, h) => h.reply('x', { to: 'oSomebodyElse' });
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(url, {}), /addressed to oSomebodyElse/);
      webhook.respond = (_inbound, h) => h.reply('x', { from: 'gh_other' });
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(url, {}), /comes from gh_other/);
    });

    /** A plain reply to the inbound message whose CreateTime element reads `createTime`, or is left out when null. */
    const replyWithCreateTime = (inbound: InboundMessage, createTime: string | null) =>
      replyXml({ type: 'text', content: 'x' }, inbound.fields.FromUserName as string, inbound.fields.ToUserName as string).replace(
        /<CreateTime>\d+<\/CreateTime>/,
        createTime === null ? '' : `<CreateTime>${createTime}</CreateTime>`,
      );

    /** A correctly signed reply envelope whose TimeStamp is `timeStamp`, around a reply with CreateTime `createTime`. */
    const envelopeWithTimeStamp = (account: CallbackAccount, inbound: InboundMessage, timeStamp: string, createTime: string) => {
      const cipher = new WeChatCipher(account.token, account.encodingAESKey as string, account.appId);
      const encrypt = cipher.encrypt(replyWithCreateTime(inbound, createTime));
      return buildXml({ Encrypt: encrypt, MsgSignature: cipher.sign(timeStamp, '1234567', encrypt), TimeStamp: timeStamp, Nonce: '1234567' });
    };

    it('accepts a reply whose CreateTime is in milliseconds, as WeChat does, with a warning', async () => {
      const ms = String(Date.now());
      webhook.respond = (inbound) => replyWithCreateTime(inbound, ms);
      const reply = expectReply(await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(url, {}));
      assert.equal(reply.text, 'x');
      assert.equal(reply.fields.CreateTime, ms);
      assert.equal(reply.warnings.length, 1);
      assert.match(reply.warnings[0], new RegExp(`CreateTime ${ms} is in milliseconds; WeChat accepts it`));
    });

    it('accepts an encrypted reply whose envelope TimeStamp is in milliseconds, with a warning for each time', async () => {
      const ms = String(Date.now());
      webhook.respond = (inbound) => envelopeWithTimeStamp(OFFICIAL_ACCOUNT, inbound, ms, ms);
      const reply = expectReply(await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(url, {}));
      assert.equal(reply.encrypted, true);
      assert.equal(reply.text, 'x');
      assert.equal(reply.warnings.length, 2);
      assert.match(reply.warnings[0], new RegExp(`TimeStamp ${ms} is in milliseconds`));
      assert.match(reply.warnings[1], new RegExp(`CreateTime ${ms} is in milliseconds`));
    });

    it('accepts a WeCom reply envelope with a TimeStamp in milliseconds and a CreateTime in seconds, with one warning', async () => {
      const wecom = new TestWebhook(WECOM_ACCOUNT);
      const wecomUrl = await wecom.start();
      try {
        const ms = String(Date.now());
        wecom.respond = (inbound) => envelopeWithTimeStamp(WECOM_ACCOUNT, inbound, ms, String(Math.floor(Number(ms) / 1000)));
        const reply = expectReply(await WeChatClientSimulator.demo('wecom').deliver(wecomUrl, {}));
        assert.deepEqual(reply.warnings, [`the reply TimeStamp ${ms} is in milliseconds; WeChat accepts it, but documents seconds`]);
      } finally {
        await wecom.stop();
      }
    });

    it('still refuses a millisecond envelope whose signature does not match', async () => {
      webhook.respond = (inbound) => {
        const envelope = parseXml(envelopeWithTimeStamp(OFFICIAL_ACCOUNT, inbound, String(Date.now()), '1700000000'));
        return buildXml({ ...envelope, TimeStamp: String(Date.now() + 1) } as Record<string, string>);
      };
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(url, {}), /MsgSignature does not match/);
    });

    it('refuses a reply whose CreateTime is missing or not a whole number', async () => {
      webhook.respond = (inbound) => replyWithCreateTime(inbound, null);
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(url, {}), /the reply has no CreateTime/);
      webhook.respond = (inbound) => replyWithCreateTime(inbound, '2024-01-01T00:00:00Z');
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(url, {}), /CreateTime "2024-01-01T00:00:00Z" is not a whole number/);
    });

    it('refuses JSON and broken XML answers', async () => {
      webhook.respond = () => '{"errcode":0}';
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(url, {}), /neither a no-reply marker nor XML/);
      webhook.respond = () => '<xml><Content>broken</xml>';
      expectInvalid(await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliver(url, {}), /neither a no-reply marker nor XML/);
    });

    it('reports a network error for an unreachable webhook', async () => {
      const closed = new TestWebhook(OFFICIAL_ACCOUNT);
      const deadUrl = await closed.start();
      await closed.stop();
      const result = await WeChatClientSimulator.demo('official').deliver(deadUrl, {});
      assert.equal(result.status, 0);
      assert.equal(result.reply.kind, 'network-error');
    });
  });

  describe('URL verification details', () => {
    const webhook = new TestWebhook(WECOM_ACCOUNT);
    let url = '';
    before(async () => {
      url = await webhook.start();
    });
    after(() => webhook.stop());

    it("survives a '+' in the WeCom echostr that form decoding turns into a space", async () => {
      const sim = WeChatClientSimulator.demo('wecom');
      let withPlus = 0;
      for (let i = 0; i < 64 && withPlus < 3; i++) {
        const result = await sim.verifyUrl(url, { plusAsSpace: true });
        assert.equal(result.ok, true, result.reason);
        if (result.verification.query.echostr.includes('+')) {
          withPlus++;
          assert.ok(result.verification.path.includes('+'), 'the + must be left unescaped in the query');
        }
      }
      assert.ok(withPlus > 0, 'no echostr with a "+" was produced');
    });

    it('uses the given echostr and timestamp', () => {
      const sim = WeChatClientSimulator.demo('official');
      const v = sim.prepareVerification('http://127.0.0.1:1/wechat/official', { echostr: 'abc123', timestamp: '1700000000', nonce: '42' });
      assert.deepEqual(v.query, { signature: signatureOf([DEMO_OFFICIAL_ACCOUNT.token, '1700000000', '42']), echostr: 'abc123', timestamp: '1700000000', nonce: '42' });
      assert.equal(v.expected, 'abc123');
    });
  });

  describe('retries and replays', () => {
    const webhook = new TestWebhook(OFFICIAL_ACCOUNT);
    let url = '';
    before(async () => {
      url = await webhook.start();
    });
    after(() => webhook.stop());
    beforeEach(() => {
      webhook.received.length = 0;
    });

    it('resends the identical request after a timeout and stops at the first answer', async () => {
      let calls = 0;
      webhook.respond = (_inbound, h) => (++calls === 1 ? null : h.reply('second time lucky'));
      const result = await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliverWithRetries(url, { content: 'retry me' }, { timeoutMs: 300 });
      assert.deepEqual(result.attempts.map((a) => a.reply.kind), ['timeout', 'reply']);
      assert.equal(expectReply(result).text, 'second time lucky');
      assert.equal(webhook.received.length, 2);
      const [first, second] = webhook.received;
      assert.equal(second.url, first.url);
      assert.equal(second.body, first.body);
      assert.equal(second.inbound?.fields.MsgId, first.inbound?.fields.MsgId);
      assert.equal(second.inbound?.dedupKey, first.inbound?.dedupKey);
    });

    it('gives up after 3 attempts in total', async () => {
      webhook.respond = () => null;
      const result = await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliverWithRetries(url, { event: 'CLICK' }, { timeoutMs: 200 });
      assert.equal(result.attempts.length, 3);
      assert.deepEqual(result.reply, { kind: 'timeout' });
      assert.equal(result.status, 0);
      assert.equal(webhook.received.length, 3);
      assert.equal(new Set(webhook.received.map((r) => r.body)).size, 1);
      assert.equal(new Set(webhook.received.map((r) => r.inbound?.dedupKey)).size, 1);
    });

    it('does not retry once the endpoint has answered, whatever the answer', async () => {
      webhook.respond = () => '{"oops":true}';
      const result = await WeChatClientSimulator.demo('official', { mode: 'plain' }).deliverWithRetries(url, {}, { timeoutMs: 2000 });
      assert.equal(result.attempts.length, 1);
      assert.equal(result.reply.kind, 'invalid');
    });

    it('replay() sends the same bytes again', async () => {
      webhook.respond = (_inbound, h) => h.noReply;
      const sim = WeChatClientSimulator.demo('wecom');
      const wecom = new TestWebhook(WECOM_ACCOUNT);
      const wecomUrl = await wecom.start();
      try {
        const first = await sim.deliver(wecomUrl, { content: 'once' });
        const again = await sim.replay(first.delivery);
        expectReply(first);
        expectReply(again);
        assert.equal(wecom.received.length, 2);
        assert.equal(wecom.received[1].body, wecom.received[0].body);
        assert.equal(wecom.received[1].url, wecom.received[0].url);
        assert.equal(wecom.received[1].inbound?.dedupKey, wecom.received[0].inbound?.dedupKey);
      } finally {
        await wecom.stop();
      }
    });

    it('prepare() gives a fresh MsgId and nonce to every new message', () => {
      const sim = WeChatClientSimulator.demo('official', { mode: 'safe' });
      const a = sim.prepare(url, { content: 'same' });
      const b = sim.prepare(url, { content: 'same' });
      assert.notEqual(a.message.msgId, b.message.msgId);
      assert.notEqual(a.body, b.body);
    });
  });

  describe('configuration', () => {
    it('needs a key for encrypted modes and WeCom', () => {
      assert.throws(() => new WeChatClientSimulator({ kind: 'official', appId: 'wx1', token: 't', mode: 'safe' }), /safe mode needs/);
      assert.throws(() => new WeChatClientSimulator({ kind: 'wecom', appId: 'ww1', token: 't' }), /wecom mode needs/);
      assert.equal(new WeChatClientSimulator({ kind: 'official', appId: 'wx1', token: 't' }).mode, 'plain');
      assert.equal(WeChatClientSimulator.demo('official').mode, 'safe');
    });

    it("plays the Micro App's WeCom app: its keys, its AgentID, the TimeOff requester as sender", () => {
      const sim = WeChatClientSimulator.demo('microapp');
      assert.deepEqual([sim.kind, sim.mode, sim.accountId, sim.user], ['wecom', 'wecom', DEMO_MICRO_APP.corpId, DEMO_MICRO_APP.requester]);
      const delivery = sim.prepare('http://127.0.0.1:1/callback', { content: 'create' });
      const endpoint = new CallbackEndpoint({ kind: 'wecom', appId: DEMO_MICRO_APP.corpId, token: DEMO_MICRO_APP.token, encodingAESKey: DEMO_MICRO_APP.encodingAESKey }, { replayWindowSeconds: 300 });
      const fields = endpoint.open(delivery.query, delivery.body).fields;
      assert.deepEqual([fields.FromUserName, fields.AgentID, fields.Content], [DEMO_MICRO_APP.requester, DEMO_MICRO_APP.agentId, 'create']);
      // The WeCom app of the other demo account has its own Token: its endpoint refuses the Micro App's callbacks.
      assert.throws(() => new CallbackEndpoint(WECOM_ACCOUNT, { replayWindowSeconds: 300 }).open(delivery.query, delivery.body), CallbackError);
      assert.equal(WeChatClientSimulator.demo('microapp', { user: DEMO_MICRO_APP.approver }).user, DEMO_MICRO_APP.approver);
    });

    it('derives a gh_ id when none is configured and uses the injected clock', () => {
      const sim = new WeChatClientSimulator({ kind: 'official', appId: 'wx1', token: 't', now: () => 1_700_000_000_999 });
      assert.match(sim.accountId, /^gh_[0-9a-f]{12}$/);
      const delivery = sim.prepare('http://127.0.0.1:1/x', {});
      assert.equal(delivery.timestamp, '1700000000');
      assert.equal(delivery.message.fields.CreateTime, '1700000000');
    });
  });

  describe('command line', () => {
    const webhooks = webhookPair();
    const { wecom } = webhooks;

    async function run(args: string[]): Promise<{ code: number; output: string }> {
      const lines: string[] = [];
      const collect = (line: string) => lines.push(line);
      const code = await cli(args, collect, collect);
      return { code, output: lines.join('\n') };
    }

    it('sends a text and prints the reply text', async () => {
      const { code, output } = await run(['send', '--url', webhooks.officialUrl, '--text', 'opening hours']);
      assert.equal(code, 0, output);
      assert.match(output, /safe mode/);
      assert.match(output, /^ {2}echo: text opening hours$/m);
    });

    it('sends a WeCom click event and replays it', async () => {
      wecom.received.length = 0;
      const { code, output } = await run(['send', '--account', 'wecom', '--url', webhooks.wecomUrl, '--event', 'click', '--key', 'MENU_X', '--replay']);
      assert.equal(code, 0, output);
      assert.match(output, /\[attempt 2\] 200 text reply/);
      assert.equal(wecom.received.length, 2);
      assert.equal(wecom.received[0].inbound?.fields.EventKey, 'MENU_X');
      assert.equal(wecom.received[1].body, wecom.received[0].body);
    });

    it('prints the warning for a reply CreateTime in milliseconds and still exits 0', async () => {
      const { official } = webhooks;
      const echo = official.respond;
      official.respond = (inbound) =>
        replyXml({ type: 'text', content: 'late clock' }, inbound.fields.FromUserName as string, inbound.fields.ToUserName as string).replace(
          /<CreateTime>\d+<\/CreateTime>/,
          '<CreateTime>1700000000123</CreateTime>',
        );
      try {
        const { code, output } = await run(['send', '--url', webhooks.officialUrl, '--mode', 'compatible']);
        assert.equal(code, 0, output);
        assert.match(output, /^ {2}late clock$/m);
        assert.match(output, /^ {2}warning: the reply CreateTime 1700000000123 is in milliseconds; WeChat accepts it/m);
      } finally {
        official.respond = echo;
      }
    });

    it('verifies a URL, and fails with exit code 1 when the endpoint refuses', async () => {
      assert.equal((await run(['verify', '--account', 'wecom', '--url', webhooks.wecomUrl])).code, 0);
      const refused = await run(['send', '--url', webhooks.officialUrl, '--mode', 'plain', '--token', 'wrong']);
      assert.equal(refused.code, 1);
      assert.match(refused.output, /401/);
    });

    it('explains bad usage with exit code 2', async () => {
      assert.equal((await run([])).code, 2);
      const bad = await run(['send', '--account', 'wecom', '--type', 'shortvideo']);
      assert.equal(bad.code, 2);
      assert.match(bad.output, /--type must be one of/);
      assert.equal((await run(['send', '--account', 'wecom', '--mode', 'safe'])).code, 2);
      assert.equal((await run(['send', '--bogus'])).code, 2);
    });
  });
});
