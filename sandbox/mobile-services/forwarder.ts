/**
 * The Micro App half of the Mobile Services stand-in: the Message Handler URL WeCom
 * calls for the Micro App's WeCom app. Mobile Services holds that app's Token and
 * EncodingAESKey, so here the callback is verified and decrypted, the plain message XML
 * is POSTed to the message handler (the destination "chat" on the back end) with the
 * destination's forward authentication, and the handler's reply XML goes back to WeCom
 * sealed, as WeCom expects from a callback server. Every forwarded message is recorded
 * as an exchange: what came in, what the handler answered or why it did not.
 *
 * Where the reference leaves the real service open ([U]: the handler timeout, whether
 * an empty 200 means "no reply", how forward authentication presents the caller), the
 * stand-in decides: a deadline of 5 s by default, and WeCom gets an empty 200 (its
 * documented "no reply") whenever the handler gave no reply XML, whatever the reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basicHeader } from '../../lib/http/basic-auth';
import { BodyError, readBody, sendText } from '../../lib/http/body';
import { CallbackEndpoint, CallbackError, CallbackQuery } from '../../lib/wechat/callback';
import { XmlObject } from '../../lib/wechat/xml';
import { summariseBody } from '../body-summary';
import { DEMO_MICRO_APP } from '../demo-accounts';
import { DEFAULT_NODE_RED_URL } from '../demo-addresses';
import { wechatXml } from '../wechat-client';

/** How the destination authenticates the stand-in towards the message handler. */
export type ForwardAuth = { kind: 'basic'; user: string; password: string } | { kind: 'header'; name: string; secret: string } | { kind: 'none' };

export interface MessageHandler {
  /** The destination "chat": the back end's message handler endpoint. */
  url: string;
  auth: ForwardAuth;
}

/** The WeCom app the Micro App is wired to, as configured in the cockpit. */
export interface MicroAppConfig {
  /** The receiver id inside every encrypted envelope. */
  corpId: string;
  token: string;
  encodingAESKey: string;
}

export interface ForwarderOptions {
  microApp: MicroAppConfig;
  handler: MessageHandler;
  /** How long the handler has to answer; the reference leaves Mobile Services' own timeout open. */
  deadlineMs: number;
  /** WeCom callbacks whose timestamp is further from the clock are refused, as everywhere in the sandbox. */
  replayWindowSeconds: number;
  now: () => number;
  /** The next number of the stand-in's one sequence of records. */
  nextSeq: () => number;
}

/** Why WeCom got no reply although the handler was asked. */
export interface ForwardFailure {
  kind: 'status' | 'timeout' | 'unreachable';
  detail: string;
}

/** One message forwarded to the handler, and what became of it. */
export interface MicroAppExchange {
  /** Its place among everything the stand-in recorded (pushes and exchanges), from 1. */
  seq: number;
  at: number;
  /** The sender's WeCom UserID (FromUserName). */
  user: string;
  /** The decrypted message. */
  message: XmlObject;
  /** Where it went and how it authenticated; never the secret. */
  handler: { url: string; auth: ForwardAuth['kind'] };
  /** The handler's HTTP status; 0 when none came. */
  status: number;
  /** The handler's reply XML, as WeCom got it sealed; '' when WeCom got an empty 200. */
  reply: string;
  failure?: ForwardFailure;
  durationMs: number;
}

/** The message handler the demo's TimeOff flow serves under npm start, with the demo's forward login. */
export function defaultMessageHandler(): MessageHandler {
  return {
    url: `${DEFAULT_NODE_RED_URL}${DEMO_MICRO_APP.handlerPath}`,
    auth: { kind: 'basic', user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword },
  };
}

export const DEFAULT_HANDLER_DEADLINE_MS = 5000;
/** As wechat-in: WeCom's callbacks are small; anything near this is not one. */
const MAX_CALLBACK_BODY = 256 * 1024;
const XML_CONTENT_TYPE = 'text/xml; charset=utf-8';

type HandlerAnswer = Pick<MicroAppExchange, 'status' | 'reply' | 'failure'>;

export class MicroAppForwarder {
  readonly exchanges: MicroAppExchange[] = [];
  private readonly endpoint: CallbackEndpoint;
  private handler: MessageHandler;
  private deadlineMs: number;

  constructor(private readonly options: ForwarderOptions) {
    const app = options.microApp;
    this.endpoint = new CallbackEndpoint(
      { kind: 'wecom', appId: app.corpId, token: app.token, encodingAESKey: app.encodingAESKey },
      { replayWindowSeconds: options.replayWindowSeconds },
    );
    this.handler = checkedHandler(options.handler);
    this.deadlineMs = checkedDeadline(options.deadlineMs);
  }

  /** Points the destination elsewhere, e.g. at the port Node-RED really listens on; optionally with another deadline. */
  setMessageHandler(handler: MessageHandler & { deadlineMs?: number }): void {
    this.handler = checkedHandler(handler);
    if (handler.deadlineMs !== undefined) this.deadlineMs = checkedDeadline(handler.deadlineMs);
  }

  get messageHandler(): MessageHandler {
    return this.handler;
  }

  reset(): void {
    this.exchanges.length = 0;
  }

  /** GET: WeCom's URL verification; POST: a message to forward. */
  async handle(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const signed: CallbackQuery = Object.fromEntries(query);
    try {
      if (req.method === 'GET') {
        req.resume();
        return sendText(res, 200, this.endpoint.verifyUrl(signed, this.options.now()));
      }
      if (req.method !== 'POST') {
        req.resume();
        return sendText(res, 405, 'method_not_allowed');
      }
      const body = (await readBody(req, MAX_CALLBACK_BODY)).toString('utf8');
      const inbound = this.endpoint.open(signed, body, this.options.now());
      const answer = await this.forward(inbound.fields);
      if (answer.reply) sendText(res, 200, this.endpoint.seal(answer.reply, true, this.options.now()), XML_CONTENT_TYPE);
      else sendText(res, 200, this.endpoint.noReplyBody);
    } catch (err) {
      // Refused as wechat-in refuses a WeCom callback: the status, and the reason as text.
      if (err instanceof CallbackError) return sendText(res, err.status, err.reason);
      if (err instanceof BodyError) return sendText(res, err.status, err.code);
      throw err;
    }
  }

  private async forward(message: XmlObject): Promise<HandlerAnswer> {
    const { url, auth } = this.handler;
    const started = this.options.now();
    const answer = await this.ask(wechatXml(message));
    this.exchanges.push({
      seq: this.options.nextSeq(),
      at: started,
      user: typeof message.FromUserName === 'string' ? message.FromUserName : '',
      message,
      handler: { url, auth: auth.kind },
      ...answer,
      durationMs: this.options.now() - started,
    });
    return answer;
  }

  /** POSTs the plain XML (written as WeCom writes it) to the handler; never rejects. */
  private async ask(xml: string): Promise<HandlerAnswer> {
    const { url, auth } = this.handler;
    let status = 0;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': XML_CONTENT_TYPE, ...authHeaders(auth) },
        body: xml,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.deadlineMs),
      });
      status = response.status;
      const text = await response.text();
      if (status < 200 || status > 299) return { status, reply: '', failure: { kind: 'status', detail: `HTTP ${status}: ${summariseBody(text) || 'an empty body'}` } };
      return { status, reply: text.trim() === '' ? '' : text };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return { status, reply: '', failure: { kind: 'timeout', detail: `no answer within ${this.deadlineMs} ms` } };
      const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      return { status, reply: '', failure: { kind: 'unreachable', detail: reason } };
    }
  }
}

function authHeaders(auth: ForwardAuth): Record<string, string> {
  if (auth.kind === 'basic') return { Authorization: basicHeader(auth.user, auth.password) };
  if (auth.kind === 'header') return { [auth.name]: auth.secret };
  return {};
}

function checkedHandler(handler: MessageHandler): MessageHandler {
  let url: URL;
  try {
    url = new URL(handler.url);
  } catch {
    throw new TypeError(`the message handler URL must be an absolute http(s) URL, not "${handler.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`the message handler URL must be http or https, not "${handler.url}"`);
  const auth = handler.auth;
  if (auth.kind === 'header' && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(auth.name)) throw new TypeError(`"${auth.name}" is not an HTTP header name`);
  return { url: handler.url, auth };
}

function checkedDeadline(ms: number): number {
  if (!Number.isInteger(ms) || ms < 1) throw new TypeError(`the handler deadline must be a positive whole number of milliseconds, not ${ms}`);
  return ms;
}
