/**
 * Fuzz cases for WeChat's callbacks in every mode: plaintext messages broken in their
 * content and then signed and encrypted with the account's own keys (so the signature
 * and decryption pass and the XML parser is reached), broken envelopes, random bytes,
 * and valid messages carrying the unauthenticated mark under broken signatures.
 */
import { basicHeader } from '../../../lib/http/basic-auth';
import { WeChatCipher, signatureOf } from '../../../lib/wechat/crypto';
import { DEMO_MICRO_APP, DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { MessageSpec, OFFICIAL_EVENTS, OFFICIAL_MESSAGE_TYPES, OfficialMode, SimulatedMessage, WECOM_EVENTS, WECOM_MESSAGE_TYPES, WeChatClientSimulator } from '../../../sandbox/wechat-client';
import { XML_DICTIONARY, XmlFields, mutateXml, writeXml } from '../engine/xml';
import { mutateText, randomBytes, randomFragments } from '../engine/bytes';
import { Random } from '../engine/random';
import { HttpCase } from './http-case';
import { UNAUTHENTICATED_MARK } from './marker';

/** The wire modes of WeChat's callbacks, and messages forwarded by SAP Mobile Services. */
export type WeChatFuzzMode = OfficialMode | 'wecom' | 'mobile-services';
export const WECHAT_FUZZ_MODES: readonly WeChatFuzzMode[] = ['plain', 'compatible', 'safe', 'wecom', 'mobile-services'];

const MAX_BODY = 256 * 1024;
const URL_BASE = 'http://fuzz.invalid/wx';
const CONTENTS = ['hello', 'help', 'create', 'show', 'submit', '你好', '', ' ', 'start 2024-05-06', 'reason x', 'approve 1', 'a'.repeat(2000)];

export class WeChatCases {
  private readonly simulator: WeChatClientSimulator;

  constructor(readonly mode: WeChatFuzzMode) {
    this.simulator =
      mode === 'wecom' ? WeChatClientSimulator.demo('wecom') : mode === 'mobile-services' ? WeChatClientSimulator.demo('microapp') : WeChatClientSimulator.demo('official', { mode });
  }

  /** One case; `now` is the clock the receiver judges timestamps by. */
  next(rng: Random, now = Date.now()): HttpCase {
    const kind = rng.weighted<HttpCase['kind']>([
      [60, 'content'],
      [10, 'random'],
      [22, 'auth'],
      [this.mode === 'compatible' ? 8 : 0, 'unsigned'],
    ]);
    if (this.mode === 'mobile-services') return this.forwarded(rng, kind);
    if (kind === 'auth') return this.brokenAuth(rng, now);
    if (kind === 'unsigned') return this.unsignedCopy(rng, now);
    const message = this.message(rng, false);
    if (kind === 'random') {
      const c = this.signed(rng, message, now);
      return { ...c, kind, body: rng.chance(0.5) ? randomBytes(rng, 4096) : Buffer.from(randomFragments(rng, XML_DICTIONARY)) };
    }
    // Broken plaintext under a valid signature and encryption, or (a third of the time) a broken envelope.
    if (this.mode !== 'plain' && rng.chance(0.3)) {
      const c = this.signed(rng, message, now);
      return { ...c, body: Buffer.from(mutateText(rng, c.body.toString('utf8'), XML_DICTIONARY)) };
    }
    return this.signed(rng, { ...message, xml: clip(mutateXml(rng, message.fields as XmlFields)) }, now);
  }

  /** A realistic message of a random type or event; `marked` puts the mark in its content and sender. */
  message(rng: Random, marked: boolean): SimulatedMessage {
    const wecom = this.mode === 'wecom' || this.mode === 'mobile-services';
    const spec: MessageSpec = rng.chance(0.7)
      ? { type: rng.pick(wecom ? WECOM_MESSAGE_TYPES : OFFICIAL_MESSAGE_TYPES), content: rng.pick(CONTENTS) }
      : { event: rng.pick(wecom ? WECOM_EVENTS : OFFICIAL_EVENTS), eventKey: 'KEY_' + rng.int(100) };
    spec.msgId = String(rng.uint32()) + String(rng.uint32());
    if (marked) {
      spec.type = 'text';
      delete spec.event;
      spec.content = `${UNAUTHENTICATED_MARK} ${rng.uint32()}`;
      spec.from = `${UNAUTHENTICATED_MARK}${rng.int(1000)}`;
    }
    return this.simulator.buildMessage(spec);
  }

  private signed(rng: Random, message: SimulatedMessage, now: number, timestamp = String(Math.floor(now / 1000))): HttpCase {
    const d = this.simulator.prepare(URL_BASE, message, { timestamp, nonce: String(rng.uint32()) });
    return { method: 'POST', query: d.query, headers: { 'content-type': 'text/xml' }, body: Buffer.from(d.body, 'utf8'), kind: 'content' };
  }

  /** A valid marked message whose signature, timestamp or encryption key is wrong. */
  private brokenAuth(rng: Random, now: number): HttpCase {
    const message = this.message(rng, true);
    const signatureName = this.mode === 'plain' ? 'signature' : 'msg_signature';
    const broken = rng.pick(['flipped', 'missing', 'other-token', 'shifted-timestamp', 'stale-timestamp', 'swapped-body', 'other-key']);
    const c = this.signed(rng, message, now);
    const q = { ...c.query };
    switch (broken) {
      case 'flipped':
        q[signatureName] = flipHex(rng, q[signatureName]);
        break;
      case 'missing':
        delete q[signatureName];
        break;
      case 'other-token': {
        const parts = [`not-the-token-${rng.int(1000)}`, q.timestamp, q.nonce];
        q[signatureName] = signatureOf(this.mode === 'plain' ? parts : [...parts, encryptOf(c.body)]);
        break;
      }
      case 'shifted-timestamp':
        q.timestamp = String(Number(q.timestamp) + rng.range(1, 50));
        break;
      case 'stale-timestamp':
        return { ...this.signed(rng, message, now, String(Math.floor(now / 1000) - rng.range(400, 100_000))), kind: 'auth', broken };
      case 'swapped-body': {
        // The signature of a harmless message over the body of a marked one.
        if (this.mode === 'plain') return { ...c, kind: 'auth', broken: 'flipped', query: { ...q, signature: flipHex(rng, q.signature) } };
        const harmless = this.signed(rng, this.message(rng, false), now);
        return { ...c, kind: 'auth', broken, query: { ...harmless.query } };
      }
      case 'other-key': {
        // Encrypted with another key and signed with the right token: the signature holds, decryption must not.
        if (this.mode === 'plain') return { ...c, kind: 'auth', broken: 'missing', query: withoutKey(q, 'signature') };
        const cipher = new WeChatCipher('x', 'a'.repeat(43), this.simulator.kind === 'wecom' ? '' : 'wx');
        const encrypt = cipher.encrypt(message.xml);
        q.msg_signature = signatureOf([this.token(), q.timestamp, q.nonce, encrypt]);
        return { ...c, kind: 'auth', broken, query: q, body: Buffer.from(writeXml({ ToUserName: this.simulator.accountId, Encrypt: encrypt })) };
      }
    }
    return { ...c, kind: 'auth', broken, query: q };
  }

  /** Compatible mode: a harmless encrypted message, with marked plain copies beside it that no signature covers. */
  private unsignedCopy(rng: Random, now: number): HttpCase {
    const harmless = this.message(rng, false);
    const c = this.signed(rng, harmless, now);
    const marked = this.message(rng, true).fields as XmlFields;
    const body = c.body.toString('utf8').replace('<xml>', `<xml>${writeXml(marked).slice(5, -6)}`);
    return { ...c, kind: 'unsigned', body: Buffer.from(body) };
  }

  /** SAP Mobile Services forwards plain WeCom XML under its Basic login; broken content, or a broken login. */
  private forwarded(rng: Random, kind: HttpCase['kind']): HttpCase {
    const login = basicHeader(DEMO_MICRO_APP.forwardUser, DEMO_MICRO_APP.forwardPassword);
    const base = (body: string, authorization: string | null): HttpCase => ({
      method: 'POST',
      query: {},
      headers: { 'content-type': 'text/xml', ...(authorization === null ? {} : { authorization }) },
      body: Buffer.from(body),
      kind: 'content',
    });
    if (kind === 'auth') {
      const body = this.message(rng, true).xml;
      const broken = rng.pick(['missing', 'wrong-password', 'wrong-user', 'garbage', 'other-scheme', 'mutated']);
      const header: Record<string, string | null> = {
        missing: null,
        'wrong-password': basicHeader(DEMO_MICRO_APP.forwardUser, DEMO_MICRO_APP.forwardPassword + rng.pick(['x', ' ', '0'])),
        'wrong-user': basicHeader(DEMO_MICRO_APP.forwardUser.toUpperCase(), DEMO_MICRO_APP.forwardPassword),
        garbage: `Basic ${rng.bytes(rng.range(1, 40)).toString('base64')}`,
        'other-scheme': login.replace('Basic', 'Bearer'),
        mutated: mutatedLogin(rng, login),
      };
      return { ...base(body, header[broken]), kind, broken };
    }
    if (kind === 'random') return { ...base('', login), kind, body: rng.chance(0.5) ? randomBytes(rng, 4096) : Buffer.from(randomFragments(rng, XML_DICTIONARY)) };
    return base(clip(mutateXml(rng, this.message(rng, false).fields as XmlFields)), login);
  }

  private token(): string {
    return this.mode === 'wecom' ? DEMO_WECOM_APP.token : DEMO_OFFICIAL_ACCOUNT.token;
  }
}

/** A Basic header mutated until it no longer carries the login (a trailing space would still carry it). */
function mutatedLogin(rng: Random, login: string): string {
  const decoded = Buffer.from(login.slice(6), 'base64').toString('utf8');
  const changed = mutateText(rng, decoded, [':', '\u0000', ' ']);
  return `Basic ${Buffer.from(changed === decoded ? decoded + 'x' : changed, 'utf8').toString('base64')}`;
}

function withoutKey(q: Record<string, string>, key: string): Record<string, string> {
  const copy = { ...q };
  delete copy[key];
  return copy;
}

function flipHex(rng: Random, signature: string | undefined): string {
  const s = signature ?? '';
  if (!s) return 'a'.repeat(40);
  const at = rng.int(s.length);
  const other = '0123456789abcdef'.replace(s[at].toLowerCase(), '');
  return s.slice(0, at) + rng.pick([...other]) + s.slice(at + 1);
}

function encryptOf(body: Buffer): string {
  return /<Encrypt><!\[CDATA\[([^\]]*)\]\]><\/Encrypt>/.exec(body.toString('utf8'))?.[1] ?? '';
}

/** Encrypted bodies grow by a third; the plaintext is kept inside the route's body limit most of the time. */
function clip(xml: string): string {
  return xml.length > MAX_BODY ? xml.slice(0, MAX_BODY - 1024) : xml;
}
