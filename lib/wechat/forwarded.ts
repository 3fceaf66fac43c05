/**
 * Messages that a forwarder already opened: SAP Mobile Services (Micro App) checks
 * WeCom's signature, decrypts the callback and posts the plain WeCom message XML to our
 * message handler, taking the reply XML from the response body. Nothing is signed on
 * that hop, so the forwarder itself is authenticated (what Mobile Services' "Forward
 * Authentication" sends: Basic credentials or a shared header secret), and the message
 * must still be addressed to the account's CorpID and AgentID.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { basicMatches } from '../http/basic-auth';
import { CallbackError, CallbackQuery, InboundEndpoint, InboundMessage, dedupKeyOf, parseBody } from './callback';
import type { XmlObject } from './xml';

export interface ForwardedAccount {
  /** The WeCom CorpID: every forwarded message's ToUserName. */
  corpId: string;
  /** The app's AgentID; a message that names another one is refused. Empty: not checked. */
  agentId?: string;
}

function field(fields: XmlObject, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' ? value : undefined;
}

export class ForwardedEndpoint implements InboundEndpoint {
  /** WeCom reads an empty body as "no reply"; that Mobile Services passes it on so is not confirmed. */
  readonly noReplyBody = '';

  constructor(readonly account: ForwardedAccount) {
    if (!account.corpId) throw new CallbackError(500, 'config', 'the account has no CorpID');
  }

  /** Parses the forwarded XML and checks whom it is addressed to; the query carries nothing. */
  open(_query: CallbackQuery, body: string): InboundMessage {
    const fields = parseBody(body);
    if (field(fields, 'ToUserName') !== this.account.corpId) {
      throw new CallbackError(403, 'bad_receiver_id', 'the message is addressed to another AppID/CorpID');
    }
    const agentId = field(fields, 'AgentID');
    if (this.account.agentId && agentId !== undefined && agentId.trim() !== this.account.agentId) {
      throw new CallbackError(403, 'bad_agent_id', `the message is addressed to AgentID ${agentId.slice(0, 20)}, not the account's`, { agentId: agentId.slice(0, 20) });
    }
    for (const name of ['FromUserName', 'MsgType']) {
      if (!field(fields, name)) throw new CallbackError(400, 'bad_body', `the message has no ${name}`);
    }
    return { fields, encrypted: false, mode: 'mobile-services', dedupKey: dedupKeyOf(fields), signature: '', bodySigned: false };
  }

  /** The hop back to Mobile Services is plain as well: it encrypts the reply for WeCom. */
  seal(replyXml: string): string {
    return replyXml;
  }
}

/** How the forwarder authenticates: the choice of the wechat-in node, with its credentials. */
export type ForwarderAuth =
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'header'; name: string; secret: string }
  | { kind: 'none' };

export const DEFAULT_FORWARD_HEADER = 'X-Forward-Secret';

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export function isHeaderName(name: string): boolean {
  return HEADER_NAME.test(name);
}

/** A refused forwarder: 401, with the challenge a Basic client expects. */
export class ForwarderRefusedError extends CallbackError {
  constructor(
    reason: string,
    message: string,
    params: Record<string, string | number>,
    /** The WWW-Authenticate value to answer with, if any. */
    readonly challenge?: string,
  ) {
    super(401, reason, message, params);
    this.name = 'ForwarderRefusedError';
  }
}

const BASIC_CHALLENGE = 'Basic realm="wechat-in", charset="UTF-8"';

/**
 * Throws ForwarderRefusedError unless the request carries the forwarder's credentials.
 * The errors name the header that was missing or wrong, never what it carried.
 */
export function checkForwarder(auth: ForwarderAuth, headers: IncomingHttpHeaders): void {
  if (auth.kind === 'none') return;
  const header = auth.kind === 'basic' ? 'Authorization' : auth.name;
  const challenge = auth.kind === 'basic' ? BASIC_CHALLENGE : undefined;
  const expected = auth.kind === 'basic' ? auth.user : auth.secret;
  if (!expected) {
    throw new ForwarderRefusedError('forward_auth_unset', 'the node has no forwarder credentials set, so every message is refused', { header }, challenge);
  }
  const given = headers[header.toLowerCase()];
  if (given === undefined || given === '') {
    throw new ForwarderRefusedError('forward_auth_missing', `the request has no ${header} header`, { header }, challenge);
  }
  const matches = auth.kind === 'basic' ? basicMatches(String(given), auth.user, auth.password) : secretMatches(given, auth.secret);
  if (!matches) {
    throw new ForwarderRefusedError('forward_auth_wrong', `the ${header} header does not carry the forwarder credentials set on the node`, { header }, challenge);
  }
}

/** Compares digests in constant time, as basicMatches does, so the secret's length does not show either. */
function secretMatches(given: string | string[], secret: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(secret));
}
