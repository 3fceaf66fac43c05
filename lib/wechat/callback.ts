/**
 * The server side of WeChat / WeCom callbacks with no HTTP framework in it: URL
 * verification, opening an inbound POST (signature, replay window, decryption,
 * receiver id, XML) and sealing a passive reply. The wechat-in node, the sandbox
 * and the benchmarks all use this one implementation.
 */
import { contentKey } from '../common/content-key';
import { WeChatCipher, WeChatCryptoError, nowSeconds, randomNonce, signatureMatches } from './crypto';
import { XmlFormatError, XmlObject, buildXml, parseXml } from './xml';

export type AccountKind = 'official' | 'wecom';

export interface CallbackAccount {
  kind: AccountKind;
  /** Official Account AppID or WeCom CorpID: the receiver id of encrypted messages. */
  appId: string;
  token: string;
  /** Needed for WeCom and for Official Accounts in compatible or safe mode. */
  encodingAESKey?: string;
  /** Set to '' (or another id) only when the platform really sends that id, e.g. WeCom AI bots. */
  receiverId?: string;
  /**
   * An Official Account with an EncodingAESKey gets every callback encrypted, so a
   * plaintext one is refused; true accepts them too, only while switching modes.
   */
  acceptPlain?: boolean;
}

export interface CallbackOptions {
  /** Accept timestamps at most this many seconds from our clock; 0 disables the check. */
  replayWindowSeconds: number;
}

export type CallbackQuery = Record<string, unknown>;

/** How WeChat itself secured a callback: an Official Account's plain, compatible or safe mode, or WeCom's. */
export type CallbackMode = 'plain' | 'compatible' | 'safe' | 'wecom';
/**
 * How a message reached wechat-in: a callback from WeChat itself, or 'mobile-services':
 * forwarded in plaintext by SAP Mobile Services, which checked and decrypted it.
 */
export type SecurityMode = CallbackMode | 'mobile-services';

/** Why a callback was refused; `status` is what the HTTP layer answers. */
export class CallbackError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** What the translated text of `reason` needs (see nodes/shared/locales/…/lib.json). */
    readonly params: Record<string, string | number> = { detail: message },
  ) {
    super(message);
    this.name = 'CallbackError';
  }

  /** The code nodes translate: the same as `reason`. */
  get code(): string {
    return this.reason;
  }
}

export interface InboundMessage {
  /** The message with WeChat's own field names; every value is a string. */
  fields: XmlObject;
  encrypted: boolean;
  mode: SecurityMode;
  /** Identifies a delivery and its retries: a hash of every field of the message (see dedupKeyOf). */
  dedupKey: string;
  /**
   * The signature of the query: `msg_signature` when encrypted, else `signature`; '' when
   * nothing on the hop is signed (a forwarder, authenticated otherwise, sent the message).
   */
  signature: string;
  /**
   * Whether the signature covers the body. Plain callbacks sign only token, timestamp
   * and nonce, so the caller must make sure one signed query carries one message.
   */
  bodySigned: boolean;
}

/**
 * What an inbound route needs of the side that opens its messages: WeChat's own
 * callbacks (CallbackEndpoint) or messages a forwarder such as SAP Mobile Services
 * already opened (ForwardedEndpoint). The route around it (body limit, de-duplication,
 * deadline, answer) is the same for both.
 */
export interface InboundEndpoint {
  /** Authenticates (where the hop is signed) and parses an inbound POST body; throws CallbackError. */
  open(query: CallbackQuery, body: string, now?: number): InboundMessage;
  /** The body of the answer that carries `replyXml`, sealed like the message it answers. */
  seal(replyXml: string, encrypted: boolean, now?: number): string;
  /** The body that answers a message whose flow gives no passive reply. */
  readonly noReplyBody: string;
}

function queryString(query: CallbackQuery, name: string): string {
  const value = query[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return '';
}

export class CallbackEndpoint implements InboundEndpoint {
  private readonly cipher: WeChatCipher | null;

  constructor(
    readonly account: CallbackAccount,
    private readonly options: CallbackOptions,
  ) {
    if (!account.token) throw new CallbackError(500, 'config', 'the account has no Token');
    if (account.kind === 'wecom' && !account.encodingAESKey) {
      throw new CallbackError(500, 'config', 'a WeCom account needs its EncodingAESKey');
    }
    this.cipher = account.encodingAESKey
      ? new WeChatCipher(account.token, account.encodingAESKey, account.receiverId ?? account.appId)
      : null;
  }

  /** Answers the GET that WeChat sends when the callback URL is saved; returns the body to send. */
  verifyUrl(query: CallbackQuery, now: number = Date.now()): string {
    const timestamp = queryString(query, 'timestamp');
    const nonce = queryString(query, 'nonce');
    const echostr = queryString(query, 'echostr');
    if (!timestamp || !nonce || !echostr) {
      throw new CallbackError(400, 'missing_parameters', 'URL verification needs timestamp, nonce and echostr');
    }
    if (this.account.kind === 'official') {
      this.checkPlainSignature(query, timestamp, nonce, now);
      return echostr;
    }
    // Form decoding turns the '+' of an unescaped echostr into ' '; WeCom signed the
    // original text, so it is restored before the signature check, not only before base64.
    const encryptedEcho = echostr.replace(/ /g, '+');
    return this.decryptChecked(queryString(query, 'msg_signature'), timestamp, nonce, encryptedEcho, now).message;
  }

  /** Authenticates and parses an inbound POST body. */
  open(query: CallbackQuery, body: string, now: number = Date.now()): InboundMessage {
    const timestamp = queryString(query, 'timestamp');
    const nonce = queryString(query, 'nonce');
    if (!timestamp || !nonce) throw new CallbackError(400, 'missing_parameters', 'the callback has no timestamp or nonce');
    const encrypted = this.account.kind === 'wecom' || queryString(query, 'encrypt_type') === 'aes';

    if (!encrypted) {
      this.checkPlainSignature(query, timestamp, nonce, now);
      if (this.cipher && !this.account.acceptPlain) {
        throw new CallbackError(
          403,
          'plaintext_refused',
          'the account has an EncodingAESKey, so WeChat sends its callbacks encrypted; this one came in plaintext',
        );
      }
      const fields = parseBody(body);
      const signature = queryString(query, 'signature');
      return { fields, encrypted: false, mode: 'plain', dedupKey: dedupKeyOf(fields), signature, bodySigned: false };
    }

    const envelope = parseBody(body);
    const encryptedText = typeof envelope.Encrypt === 'string' ? envelope.Encrypt : '';
    if (!encryptedText) throw new CallbackError(400, 'bad_body', 'the encrypted callback body has no <Encrypt>');
    const signature = queryString(query, 'msg_signature');
    const { message } = this.decryptChecked(signature, timestamp, nonce, encryptedText, now);
    // Only the decrypted payload is trusted: compatible mode also carries plain copies
    // of the fields, which no signature covers.
    const fields = parseBody(message);
    const mode: CallbackMode =
      this.account.kind === 'wecom' ? 'wecom' : Object.keys(envelope).length > 2 ? 'compatible' : 'safe';
    return { fields, encrypted: true, mode, dedupKey: dedupKeyOf(fields), signature, bodySigned: true };
  }

  /** The body that answers a message whose flow gives no passive reply. */
  get noReplyBody(): string {
    return this.account.kind === 'official' ? 'success' : '';
  }

  /** Wraps a reply XML in the encrypted envelope when the inbound message was encrypted. */
  seal(replyXml: string, encrypted: boolean, now: number = Date.now()): string {
    if (!encrypted) return replyXml;
    const cipher = this.requireCipher();
    const timeStamp = nowSeconds(now);
    const nonce = randomNonce();
    const encryptedReply = cipher.encrypt(replyXml);
    return buildXml({
      Encrypt: encryptedReply,
      MsgSignature: cipher.sign(timeStamp, nonce, encryptedReply),
      TimeStamp: Number(timeStamp),
      Nonce: nonce,
    });
  }

  /** The token-only signature of plain callbacks; the timestamp is judged only once it is authentic. */
  private checkPlainSignature(query: CallbackQuery, timestamp: string, nonce: string, now: number): void {
    if (!signatureMatches(queryString(query, 'signature'), [this.account.token, timestamp, nonce])) {
      throw new CallbackError(401, 'bad_signature', 'signature does not match the Token');
    }
    this.checkTimestamp(timestamp, now);
  }

  private decryptChecked(signature: string, timestamp: string, nonce: string, text: string, now = Date.now()) {
    const cipher = this.requireCipher();
    try {
      const result = cipher.verifyAndDecrypt(signature, timestamp, nonce, text);
      this.checkTimestamp(timestamp, now);
      return result;
    } catch (err) {
      if (err instanceof WeChatCryptoError) {
        const status = err.code === 'bad_signature' ? 401 : err.code === 'bad_receiver_id' ? 403 : 400;
        throw new CallbackError(status, err.code, err.message);
      }
      throw err;
    }
  }

  private requireCipher(): WeChatCipher {
    if (!this.cipher) {
      throw new CallbackError(400, 'no_aes_key', 'the message is encrypted but the account has no EncodingAESKey');
    }
    return this.cipher;
  }

  private checkTimestamp(timestamp: string, now: number): void {
    const window = this.options.replayWindowSeconds;
    if (!window) return;
    const sent = Number(timestamp);
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - sent) > window) {
      throw new CallbackError(403, 'stale_timestamp', `timestamp is more than ${window} s away from this server's clock`, { window });
    }
  }
}

/** Parses a callback body with the strict WeChat XML parser; malformed XML is a 400 bad_xml. */
export function parseBody(body: string): XmlObject {
  try {
    return parseXml(body);
  } catch (err) {
    if (err instanceof XmlFormatError) throw new CallbackError(400, 'bad_xml', err.message);
    throw err;
  }
}

/**
 * WeChat retries a delivery with the whole message unchanged. MsgId alone does not
 * identify a message (events have none, two senders may share one), nor do sender,
 * CreateTime and event: WeCom's system events from "sys" share them within a second.
 * So the key is a hash of every field.
 */
export function dedupKeyOf(fields: XmlObject): string {
  return contentKey(fields).key;
}
