/**
 * A WeChat / WeCom client simulator: it plays the part of Tencent's servers towards a
 * callback URL. It builds an inbound message of any type with realistic fields, signs
 * and encrypts it exactly as the platform does in each security mode, posts it, and
 * checks the passive reply as WeChat would: it refuses what WeChat refuses (signature,
 * receiver id, addressing, XML it cannot read) and warns about what WeChat lets through
 * (times in milliseconds). It can also replay a delivery the way WeChat
 * retries an unanswered callback, and answer nothing but the signed request for load
 * generators. Node tests, flow tests, the demo, the CLI and the benchmarks all use it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WeChatCipher, WeChatCryptoError, nowSeconds, randomNonce, signatureMatches, signatureOf } from '../lib/wechat/crypto';
import { XmlFormatError, XmlObject, buildXml, parseXml } from '../lib/wechat/xml';
import { DEMO_MICRO_APP, DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from './demo-accounts';
import { shorten, summariseBody } from './body-summary';

export type ClientKind = 'official' | 'wecom';
/** Official Account security modes; WeCom is always encrypted. */
export type OfficialMode = 'plain' | 'compatible' | 'safe';
/** What a delivery looks like on the wire: an Official Account mode, or WeCom. */
export type WireMode = OfficialMode | 'wecom';

export type OfficialMessageType = 'text' | 'image' | 'voice' | 'video' | 'shortvideo' | 'location' | 'link';
export type WeComMessageType = 'text' | 'image' | 'voice' | 'video' | 'location' | 'link';
export type OfficialEvent = 'subscribe' | 'unsubscribe' | 'SCAN' | 'LOCATION' | 'CLICK' | 'VIEW';
export type WeComEvent = 'subscribe' | 'enter_agent' | 'click' | 'view' | 'template_card_event';

export const OFFICIAL_MESSAGE_TYPES: readonly OfficialMessageType[] = ['text', 'image', 'voice', 'video', 'shortvideo', 'location', 'link'];
export const WECOM_MESSAGE_TYPES: readonly WeComMessageType[] = ['text', 'image', 'voice', 'video', 'location', 'link'];
export const OFFICIAL_EVENTS: readonly OfficialEvent[] = ['subscribe', 'unsubscribe', 'SCAN', 'LOCATION', 'CLICK', 'VIEW'];
export const WECOM_EVENTS: readonly WeComEvent[] = ['subscribe', 'enter_agent', 'click', 'view', 'template_card_event'];

export interface SimulatorOptions {
  kind: ClientKind;
  /** Official Account AppID or WeCom CorpID: the receiver id inside every encrypted envelope. */
  appId: string;
  /** The Official Account's original id (gh_…), ToUserName of its messages; derived from appId when absent. */
  originalId?: string;
  /** WeCom AgentID of the app; defaults to '1000002'. */
  agentId?: string;
  token: string;
  /** Needed for WeCom and for the compatible and safe Official Account modes. */
  encodingAESKey?: string;
  /** Official Account mode; defaults to 'safe' when a key is given, else 'plain'. Ignored for WeCom. */
  mode?: OfficialMode;
  /** Receiver id to encrypt for, when it is not appId (WeCom suites, or '' for AI bots). */
  receiverId?: string;
  /** Default sender: an OpenID (Official Account) or a UserID (WeCom). */
  user?: string;
  /** How long one attempt waits for the answer; WeChat gives up after 5 s. */
  timeoutMs?: number;
  /** Clock in milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** What to send. Unset fields get realistic defaults; `extra` adds or overrides any field. */
export interface MessageSpec {
  /** MsgType of a user message (default 'text'); ignored when `event` is set. */
  type?: OfficialMessageType | WeComMessageType;
  /** Sends an event (MsgType 'event') instead of a message; events carry no MsgId. */
  event?: OfficialEvent | WeComEvent;
  content?: string;
  mediaId?: string;
  picUrl?: string;
  format?: string;
  recognition?: string;
  thumbMediaId?: string;
  latitude?: number | string;
  longitude?: number | string;
  scale?: number | string;
  precision?: number | string;
  label?: string;
  title?: string;
  description?: string;
  url?: string;
  /** EventKey: the menu key (CLICK/click), the URL (VIEW/view) or the button key (template_card_event). */
  eventKey?: string;
  /** QR scene: subscribe gets EventKey "qrscene_<scene>", SCAN gets EventKey "<scene>"; both get a Ticket. */
  scene?: string;
  ticket?: string;
  /** template_card_event fields. */
  taskId?: string;
  cardType?: string;
  responseCode?: string;
  /** Sender for this message instead of the simulator's user. */
  from?: string;
  msgId?: string;
  /** CreateTime in seconds; defaults to now. */
  createTime?: number;
  extra?: XmlObject;
}

export interface SimulatedMessage {
  /** The plaintext message, in WeChat's field order, every value a string. */
  fields: XmlObject;
  /** The plaintext XML, as WeChat writes it (CDATA text, bare numbers). */
  xml: string;
  /** The 64-bit MsgId as a decimal string; undefined for events. */
  msgId?: string;
  /** The sender the reply must be addressed to. */
  from: string;
}

/** A signed (and, except in plain mode, encrypted) POST, ready to send or to hand to a load generator. */
export interface PreparedDelivery {
  method: 'POST';
  /** Absolute URL including the signed query. */
  url: string;
  /** Path and query only, e.g. '/wechat/official?signature=…', for load generators. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  mode: WireMode;
  encrypted: boolean;
  timestamp: string;
  nonce: string;
  message: SimulatedMessage;
}

export interface PreparedVerification {
  method: 'GET';
  url: string;
  path: string;
  query: Record<string, string>;
  /** The body a correct endpoint answers: the echostr (Official Account) or its plaintext (WeCom). */
  expected: string;
}

export type ReplyOutcome =
  /**
   * A passive reply that passed every check WeChat makes. `warnings` names what WeChat
   * accepts but the reply should not do (a CreateTime or TimeStamp in milliseconds).
   */
  | { kind: 'reply'; msgType: string; fields: XmlObject; xml: string; encrypted: boolean; text?: string; warnings: string[] }
  /** 'success' or an empty body: the account will not answer passively. */
  | { kind: 'no-reply'; marker: 'success' | '' }
  /** The endpoint refused the callback with a non-2xx status. */
  | { kind: 'rejected'; reason: string }
  /** A 2xx answer WeChat would not accept; the user would see "service unavailable". */
  | { kind: 'invalid'; reason: string }
  /** No answer before the deadline. */
  | { kind: 'timeout' }
  | { kind: 'network-error'; reason: string };

export interface DeliveryResult {
  /** HTTP status, or 0 when there was no response (timeout, network error). */
  status: number;
  /** The raw response body. */
  body: string;
  headers: IncomingHttpHeaders;
  reply: ReplyOutcome;
  delivery: PreparedDelivery;
}

export interface RetriedDeliveryResult extends DeliveryResult {
  /** Every attempt in order; the last one is also the result itself. */
  attempts: DeliveryResult[];
}

export interface VerificationResult {
  ok: boolean;
  status: number;
  body: string;
  expected: string;
  /** Why ok is false. */
  reason?: string;
  verification: PreparedVerification;
}

export interface SendOptions {
  /** Overrides the simulator's per-attempt deadline. */
  timeoutMs?: number;
}

export interface RetryOptions extends SendOptions {
  /** Attempts in total, the first included; WeChat makes 3. */
  attempts?: number;
}

export interface PrepareOptions {
  timestamp?: string;
  nonce?: string;
}

export interface VerificationOptions extends PrepareOptions {
  echostr?: string;
  /** Leaves '+' unescaped in the query, as some proxies do, so form decoding turns it into ' '. */
  plusAsSpace?: boolean;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_AGENT_ID = '1000002';
/** Fields WeChat writes as bare numbers rather than CDATA. */
const BARE_FIELDS = new Set(['CreateTime', 'MsgId', 'MsgID', 'MsgDataId', 'Idx', 'Location_X', 'Location_Y', 'Scale', 'Latitude', 'Longitude', 'Precision', 'AgentID', 'Count']);

/** The demo accounts a simulator can play: ClientKind's two, and the Micro App's WeCom app. */
export type DemoAccount = ClientKind | 'microapp';
export const DEMO_ACCOUNTS: readonly DemoAccount[] = ['official', 'wecom', 'microapp'];

const DEMO_SIMULATORS: Record<DemoAccount, () => SimulatorOptions> = {
  official: () => ({
    kind: 'official',
    appId: DEMO_OFFICIAL_ACCOUNT.appId,
    originalId: DEMO_OFFICIAL_ACCOUNT.originalId,
    token: DEMO_OFFICIAL_ACCOUNT.token,
    encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey,
  }),
  wecom: () => ({
    kind: 'wecom',
    appId: DEMO_WECOM_APP.corpId,
    agentId: DEMO_WECOM_APP.agentId,
    token: DEMO_WECOM_APP.token,
    encodingAESKey: DEMO_WECOM_APP.encodingAESKey,
  }),
  microapp: () => ({
    kind: 'wecom',
    appId: DEMO_MICRO_APP.corpId,
    agentId: DEMO_MICRO_APP.agentId,
    token: DEMO_MICRO_APP.token,
    encodingAESKey: DEMO_MICRO_APP.encodingAESKey,
    user: DEMO_MICRO_APP.requester,
  }),
};

export class WeChatClientSimulator {
  readonly kind: ClientKind;
  readonly mode: WireMode;
  /** ToUserName of every message: the gh_ id (Official Account) or the CorpID (WeCom). */
  readonly accountId: string;
  readonly user: string;
  private readonly cipher: WeChatCipher | null;
  private readonly clock: () => number;

  constructor(private readonly options: SimulatorOptions) {
    if (!options.token) throw new TypeError('the simulator needs the account Token');
    this.kind = options.kind;
    this.mode = options.kind === 'wecom' ? 'wecom' : (options.mode ?? (options.encodingAESKey ? 'safe' : 'plain'));
    if (this.mode !== 'plain' && !options.encodingAESKey) {
      throw new TypeError(`${this.mode} mode needs the account EncodingAESKey`);
    }
    this.cipher = options.encodingAESKey
      ? new WeChatCipher(options.token, options.encodingAESKey, options.receiverId ?? options.appId)
      : null;
    this.accountId = options.kind === 'wecom' ? options.appId : (options.originalId ?? originalIdFor(options.appId));
    this.user = options.user ?? (options.kind === 'wecom' ? 'SandboxUser' : randomOpenId());
    this.clock = options.now ?? Date.now;
  }

  /**
   * A simulator for one of the sandbox's demo accounts (sandbox/demo-accounts.ts):
   * 'microapp' is the WeCom app behind the Mobile Services Micro App, which WeCom calls
   * at the Mobile Services stand-in (microAppCallbackUrl); its sender is the TimeOff
   * requester.
   */
  static demo(account: DemoAccount, overrides: Partial<SimulatorOptions> = {}): WeChatClientSimulator {
    const base = DEMO_SIMULATORS[account]();
    return new WeChatClientSimulator({ ...base, ...overrides, kind: base.kind });
  }

  /** Builds the plaintext message WeChat would send for `spec`. */
  buildMessage(spec: MessageSpec = {}): SimulatedMessage {
    const from = spec.from ?? this.user;
    const head: XmlObject = {
      ToUserName: this.accountId,
      FromUserName: from,
      CreateTime: String(spec.createTime ?? Math.floor(this.clock() / 1000)),
    };
    let body: XmlObject;
    let msgId: string | undefined;
    if (spec.event) {
      body = { MsgType: 'event', Event: spec.event, ...this.eventFields(spec.event, spec) };
    } else {
      const type = spec.type ?? 'text';
      this.checkMessageType(type);
      msgId = spec.msgId ?? randomMsgId();
      body = { MsgType: type, ...messageFields(type, spec), MsgId: msgId };
    }
    const tail: XmlObject = this.kind === 'wecom' ? { AgentID: this.options.agentId ?? DEFAULT_AGENT_ID } : {};
    const fields: XmlObject = { ...head, ...body, ...tail, ...(spec.extra ?? {}) };
    if (spec.extra && typeof spec.extra.MsgId === 'string') msgId = spec.extra.MsgId;
    return { fields, xml: wechatXml(fields), msgId, from };
  }

  /** Signs (and encrypts) a message for `webhookUrl` without sending it. */
  prepare(webhookUrl: string, message: MessageSpec | SimulatedMessage = {}, options: PrepareOptions = {}): PreparedDelivery {
    const built = isSimulatedMessage(message) ? message : this.buildMessage(message);
    const timestamp = options.timestamp ?? nowSeconds(this.clock());
    const nonce = options.nonce ?? randomNonce();
    const query: Record<string, string> = {};
    let body: string;
    if (this.mode === 'wecom') {
      const encrypt = this.requireCipher().encrypt(built.xml);
      query.msg_signature = signatureOf([this.options.token, timestamp, nonce, encrypt]);
      query.timestamp = timestamp;
      query.nonce = nonce;
      body = wechatXml({ ToUserName: this.accountId, Encrypt: encrypt, AgentID: this.options.agentId ?? DEFAULT_AGENT_ID }, false);
    } else {
      query.signature = signatureOf([this.options.token, timestamp, nonce]);
      query.timestamp = timestamp;
      query.nonce = nonce;
      query.openid = built.from;
      body = built.xml;
      if (this.mode !== 'plain') {
        const encrypt = this.requireCipher().encrypt(built.xml);
        query.encrypt_type = 'aes';
        query.msg_signature = signatureOf([this.options.token, timestamp, nonce, encrypt]);
        // Compatible mode repeats the plain fields beside Encrypt; safe mode sends only the addressee.
        const envelope: XmlObject = this.mode === 'compatible' ? { ...built.fields, Encrypt: encrypt } : { ToUserName: this.accountId, Encrypt: encrypt };
        body = wechatXml(envelope);
      }
    }
    const url = withQuery(webhookUrl, query);
    return {
      method: 'POST',
      url: url.href,
      path: url.pathname + url.search,
      query,
      headers: { 'Content-Type': 'text/xml', 'Content-Length': String(Buffer.byteLength(body)) },
      body,
      mode: this.mode,
      encrypted: this.mode !== 'plain',
      timestamp,
      nonce,
      message: built,
    };
  }

  /** Builds, signs and posts a message once. */
  deliver(webhookUrl: string, message: MessageSpec | SimulatedMessage = {}, options: SendOptions = {}): Promise<DeliveryResult> {
    return this.send(this.prepare(webhookUrl, message), options);
  }

  /** Builds a message and delivers it as WeChat does: resent unchanged after a timeout, up to 3 attempts in total. */
  deliverWithRetries(webhookUrl: string, message: MessageSpec | SimulatedMessage = {}, options: RetryOptions = {}): Promise<RetriedDeliveryResult> {
    return this.sendWithRetries(this.prepare(webhookUrl, message), options);
  }

  /** Posts a prepared delivery once and checks the answer. */
  async send(delivery: PreparedDelivery, options: SendOptions = {}): Promise<DeliveryResult> {
    const response = await exchange('POST', delivery.url, delivery.headers, delivery.body, options.timeoutMs ?? this.timeoutMs);
    if ('failure' in response) {
      const reply: ReplyOutcome = response.failure === 'timeout' ? { kind: 'timeout' } : { kind: 'network-error', reason: response.reason };
      return { status: 0, body: '', headers: {}, reply, delivery };
    }
    return { ...response, reply: this.openReply(delivery, response.status, response.body), delivery };
  }

  /** Sends the very same request again (same query, body and MsgId), as a WeChat retry does. */
  replay(delivery: PreparedDelivery, options: SendOptions = {}): Promise<DeliveryResult> {
    return this.send(delivery, options);
  }

  /** Sends, and resends the identical request while attempts time out or fail to connect. */
  async sendWithRetries(delivery: PreparedDelivery, options: RetryOptions = {}): Promise<RetriedDeliveryResult> {
    const total = Math.max(1, options.attempts ?? 3);
    const attempts: DeliveryResult[] = [];
    for (let i = 0; i < total; i++) {
      const result = await this.send(delivery, options);
      attempts.push(result);
      // WeChat retries only when it got no answer; any HTTP response ends the delivery.
      if (result.status !== 0) break;
    }
    return { ...attempts[attempts.length - 1], attempts };
  }

  /** The GET WeChat sends when the callback URL is saved, without sending it. */
  prepareVerification(webhookUrl: string, options: VerificationOptions = {}): PreparedVerification {
    const timestamp = options.timestamp ?? nowSeconds(this.clock());
    const nonce = options.nonce ?? randomNonce();
    const plainEcho = options.echostr ?? randomDigits();
    let query: Record<string, string>;
    if (this.kind === 'wecom') {
      const echostr = this.requireCipher().encrypt(plainEcho);
      query = { msg_signature: signatureOf([this.options.token, timestamp, nonce, echostr]), timestamp, nonce, echostr };
    } else {
      query = { signature: signatureOf([this.options.token, timestamp, nonce]), echostr: plainEcho, timestamp, nonce };
    }
    const url = withQuery(webhookUrl, query);
    if (options.plusAsSpace) url.search = url.search.replace(/%2B/g, '+');
    return { method: 'GET', url: url.href, path: url.pathname + url.search, query, expected: plainEcho };
  }

  /** Performs URL verification; ok when the endpoint answers 200 with exactly the expected text. */
  async verifyUrl(webhookUrl: string, options: VerificationOptions & SendOptions = {}): Promise<VerificationResult> {
    const verification = this.prepareVerification(webhookUrl, options);
    const response = await exchange('GET', verification.url, {}, '', options.timeoutMs ?? this.timeoutMs);
    if ('failure' in response) {
      const reason = response.failure === 'timeout' ? 'no answer before the deadline' : response.reason;
      return { ok: false, status: 0, body: '', expected: verification.expected, reason, verification };
    }
    const { status, body } = response;
    let reason: string | undefined;
    if (status !== 200) reason = `HTTP ${status}: ${summariseBody(body)}`;
    else if (body !== verification.expected) reason = `answered ${JSON.stringify(shorten(body))}, expected ${JSON.stringify(verification.expected)}`;
    return { ok: !reason, status, body, expected: verification.expected, reason, verification };
  }

  /**
   * Judges an answer as WeChat would: a no-reply marker, or reply XML that (when the
   * delivery was encrypted) verifies and decrypts for this account, addressed back to
   * the sender, from the account, with a whole-number CreateTime. A time in milliseconds
   * is a warning, not a refusal: WeChat accepts it.
   */
  openReply(delivery: PreparedDelivery, status: number, body: string): ReplyOutcome {
    if (status < 200 || status > 299) return { kind: 'rejected', reason: `HTTP ${status}: ${summariseBody(body)}` };
    if (body === 'success' || body === '') return { kind: 'no-reply', marker: body };
    const outer = parseOrNull(body);
    if (!outer) return { kind: 'invalid', reason: `the answer is neither a no-reply marker nor XML: ${JSON.stringify(shorten(body))}` };
    const opened = typeof outer.Encrypt === 'string' ? this.openEnvelope(delivery, outer) : this.checkPlain(delivery, outer, body);
    if ('reason' in opened) return { kind: 'invalid', reason: opened.reason };
    const problem = this.addressingProblem(delivery, opened.fields);
    if (problem) return { kind: 'invalid', reason: problem };
    const createTime = judgeTime('CreateTime', opened.fields.CreateTime);
    if ('reason' in createTime) return { kind: 'invalid', reason: createTime.reason };
    const warnings = [...opened.warnings, ...createTime.warnings];
    const msgType = opened.fields.MsgType as string;
    const text = msgType === 'text' && typeof opened.fields.Content === 'string' ? opened.fields.Content : undefined;
    return { kind: 'reply', msgType, fields: opened.fields, xml: opened.xml, encrypted: opened.encrypted, text, warnings };
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private openEnvelope(delivery: PreparedDelivery, envelope: XmlObject): OpenedReply | { reason: string } {
    if (!delivery.encrypted) return { reason: 'an encrypted reply to a plain-mode message' };
    const str = (name: string) => (typeof envelope[name] === 'string' ? (envelope[name] as string) : '');
    const [encrypt, signature, timeStamp, nonce] = [str('Encrypt'), str('MsgSignature'), str('TimeStamp'), str('Nonce')];
    if (!timeStamp || !nonce) return { reason: 'the reply envelope lacks TimeStamp or Nonce' };
    if (!signatureMatches(signature, [this.options.token, timeStamp, nonce, encrypt])) {
      return { reason: 'the reply MsgSignature does not match the Token, TimeStamp, Nonce and Encrypt' };
    }
    const time = judgeTime('TimeStamp', timeStamp);
    if ('reason' in time) return time;
    let xml: string;
    try {
      xml = this.requireCipher().decrypt(encrypt).message;
    } catch (err) {
      if (err instanceof WeChatCryptoError) return { reason: `the reply does not decrypt for this account (${err.code}): ${err.message}` };
      throw err;
    }
    const fields = parseOrNull(xml);
    return fields ? { fields, xml, encrypted: true, warnings: time.warnings } : { reason: 'the decrypted reply is not well-formed XML' };
  }

  private checkPlain(delivery: PreparedDelivery, fields: XmlObject, xml: string): OpenedReply | { reason: string } {
    // Compatible mode takes plain or encrypted replies; safe mode and WeCom only encrypted ones.
    if (delivery.mode === 'safe' || delivery.mode === 'wecom') return { reason: `a plain reply to an encrypted ${delivery.mode} message` };
    return { fields, xml, encrypted: false, warnings: [] };
  }

  private addressingProblem(delivery: PreparedDelivery, fields: XmlObject): string | undefined {
    const sender = delivery.message.from;
    if (typeof fields.MsgType !== 'string' || !fields.MsgType) return 'the reply has no MsgType';
    if (fields.ToUserName !== sender) return `the reply is addressed to ${String(fields.ToUserName)}, not to the sender ${sender}`;
    if (fields.FromUserName !== this.accountId) return `the reply comes from ${String(fields.FromUserName)}, not from the account ${this.accountId}`;
    return undefined;
  }

  private eventFields(event: OfficialEvent | WeComEvent, spec: MessageSpec): XmlObject {
    const allowed: readonly string[] = this.kind === 'official' ? OFFICIAL_EVENTS : WECOM_EVENTS;
    if (!allowed.includes(event)) {
      throw new TypeError(`"${event}" is not a ${this.kind === 'official' ? 'Official Account' : 'WeCom'} event; use one of ${allowed.join(', ')}`);
    }
    return eventFields(event, spec);
  }

  private checkMessageType(type: string): void {
    const allowed: readonly string[] = this.kind === 'official' ? OFFICIAL_MESSAGE_TYPES : WECOM_MESSAGE_TYPES;
    if (!allowed.includes(type)) {
      throw new TypeError(`"${type}" is not a ${this.kind === 'official' ? 'Official Account' : 'WeCom'} message type; use one of ${allowed.join(', ')}`);
    }
  }

  private requireCipher(): WeChatCipher {
    if (!this.cipher) throw new TypeError('encryption needs the account EncodingAESKey');
    return this.cipher;
  }
}

interface OpenedReply {
  fields: XmlObject;
  xml: string;
  encrypted: boolean;
  /** What WeChat accepts in the envelope but should not be there. */
  warnings: string[];
}

function messageFields(type: OfficialMessageType | WeComMessageType, spec: MessageSpec): XmlObject {
  switch (type) {
    case 'text':
      return { Content: spec.content ?? 'hello' };
    case 'image':
      return { PicUrl: spec.picUrl ?? `http://mmbiz.qpic.cn/mmbiz_jpg/${token(22)}/0`, MediaId: spec.mediaId ?? mediaId() };
    case 'voice':
      return optional({ MediaId: spec.mediaId ?? mediaId(), Format: spec.format ?? 'amr', Recognition: spec.recognition });
    case 'video':
    case 'shortvideo':
      return { MediaId: spec.mediaId ?? mediaId(), ThumbMediaId: spec.thumbMediaId ?? mediaId() };
    case 'location':
      return {
        Location_X: String(spec.latitude ?? '31.230416'),
        Location_Y: String(spec.longitude ?? '121.473701'),
        Scale: String(spec.scale ?? '15'),
        Label: spec.label ?? '上海市黄浦区人民大道200号',
      };
    case 'link':
      return optional({
        Title: spec.title ?? 'WeChat and SAP',
        Description: spec.description ?? 'A link shared from a chat',
        Url: spec.url ?? 'https://www.example.com/article?id=1',
        PicUrl: spec.picUrl,
      });
  }
}

function eventFields(event: OfficialEvent | WeComEvent, spec: MessageSpec): XmlObject {
  switch (event) {
    case 'subscribe':
      // Following through a parametric QR code adds the scene (with a qrscene_ prefix) and the ticket.
      return spec.scene !== undefined ? { EventKey: `qrscene_${spec.scene}`, Ticket: spec.ticket ?? token(96) } : optional({ EventKey: spec.eventKey });
    case 'unsubscribe':
      return optional({ EventKey: spec.eventKey });
    case 'SCAN':
      return { EventKey: spec.scene ?? spec.eventKey ?? '123', Ticket: spec.ticket ?? token(96) };
    case 'LOCATION':
      return {
        Latitude: String(spec.latitude ?? '31.230416'),
        Longitude: String(spec.longitude ?? '121.473701'),
        Precision: String(spec.precision ?? '65.000000'),
      };
    case 'CLICK':
    case 'click':
      return { EventKey: spec.eventKey ?? 'MENU_HELP' };
    case 'VIEW':
    case 'view':
      return { EventKey: spec.eventKey ?? spec.url ?? 'https://www.example.com/' };
    case 'enter_agent':
      return { EventKey: spec.eventKey ?? '' };
    case 'template_card_event':
      return {
        EventKey: spec.eventKey ?? 'button_confirm',
        TaskId: spec.taskId ?? `task_${token(12)}`,
        CardType: spec.cardType ?? 'button_interaction',
        ResponseCode: spec.responseCode ?? token(40),
      };
  }
}

/** Drops unset optional fields so they are not written as empty elements. */
function optional(fields: Record<string, string | undefined>): XmlObject {
  const out: XmlObject = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * Serialises fields as WeChat does: text in CDATA, numeric fields (CreateTime, MsgId, …)
 * bare. `bareNumbers: false` writes everything as CDATA, as the WeCom envelope does.
 */
/** XML as WeChat writes it: CDATA text, numeric fields bare (the simulator's own field list). */
export function wechatXml(fields: XmlObject, bareNumbers = true): string {
  return buildXml(fields, 'xml', bareNumbers ? BARE_FIELDS : undefined);
}

function parseOrNull(text: string): XmlObject | null {
  try {
    return parseXml(text);
  } catch (err) {
    if (err instanceof XmlFormatError) return null;
    throw err;
  }
}

function isSimulatedMessage(value: MessageSpec | SimulatedMessage): value is SimulatedMessage {
  return typeof (value as SimulatedMessage).xml === 'string' && typeof (value as SimulatedMessage).fields === 'object';
}

/**
 * A reply time as WeChat reads it: a whole number is accepted, in seconds as documented
 * or in milliseconds as several libraries write it; only the latter earns a warning.
 * Seconds since the epoch have at most 10 digits until the year 2286; milliseconds have 13.
 */
function judgeTime(name: string, value: unknown): { warnings: string[] } | { reason: string } {
  if (value === undefined) return { reason: `the reply has no ${name}` };
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return { reason: `the reply ${name} ${JSON.stringify(value)} is not a whole number` };
  if (value.length <= 10) return { warnings: [] };
  const unit = value.length === 13 ? 'in milliseconds' : 'not in seconds';
  return { warnings: [`the reply ${name} ${value} is ${unit}; WeChat accepts it, but documents seconds`] };
}

function withQuery(webhookUrl: string, query: Record<string, string>): URL {
  const url = new URL(webhookUrl);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url;
}

/** A 64-bit MsgId in WeChat's range: 19 decimal digits, usually above 2^53. */
export function randomMsgId(): string {
  const n = randomBytes(8).readBigUInt64BE(0);
  return (1_000_000_000_000_000_000n + (n % 8_000_000_000_000_000_000n)).toString();
}

/** A 28-character OpenID like WeChat's ("o" + 27 URL-safe characters). */
export function randomOpenId(): string {
  return 'o' + token(27);
}

/** A gh_ original id derived from the AppID, for accounts configured without one. */
export function originalIdFor(appId: string): string {
  return 'gh_' + createHash('sha1').update(appId).digest('hex').slice(0, 12);
}

function mediaId(): string {
  return token(64);
}

function token(length: number): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}

function randomDigits(): string {
  return String(randomBytes(8).readBigUInt64BE(0));
}

type Exchange =
  | { status: number; body: string; headers: IncomingHttpHeaders }
  | { failure: 'timeout' }
  | { failure: 'network'; reason: string };

/** One HTTP exchange with a hard deadline; never rejects. */
function exchange(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (result: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(target, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', (err) => finish({ failure: 'network', reason: err.message }));
    });
    // Like WeChat, drop the connection when the deadline passes.
    const timer = setTimeout(() => {
      finish({ failure: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => finish({ failure: 'network', reason: err.message }));
    req.end(body);
  });
}
