/**
 * Stand-in for SAP Mobile Services, mounted at /mobile-services (the Mobile Services
 * host), serving one application:
 *
 *   POST /oauth/token                                      client-credentials tokens
 *   POST /mobileservices/push/v2/backend/applications/<appId>/…   the push API (push.ts)
 *   GET|POST /microapp/<appId>/callback                    the Micro App's Message Handler URL (forwarder.ts)
 *   GET /_sandbox/deliveries?user=<UserID>&since=<seq>     sandbox only: pushes and Micro App exchanges
 *
 * Pushes authenticate with the push service key (X-API-Key), Basic (key alias and key)
 * or a bearer token from the token endpoint; 5xx, 429 and connection resets can be
 * injected. The /_sandbox/ route is no API of the real service: it lets the CLI and the
 * tests see what happened in another process.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basicCredentials } from '../../lib/http/basic-auth';
import { readBody, sendJson } from '../../lib/http/body';
import { DEMO_MICRO_APP, DEMO_MOBILE_SERVICES } from '../demo-accounts';
import { Fault, FaultInjector, JsonObject, TokenBook, isObject } from '../platform-api';
import { RecordFeed } from '../record-feed';
import type { StandIn } from '../server';
import { DEFAULT_HANDLER_DEADLINE_MS, MessageHandler, MicroAppConfig, MicroAppExchange, MicroAppForwarder, defaultMessageHandler } from './forwarder';
import { MicroAppUsersPlacement, PushApi, PushDelivery, Registration, demoRegistrations, errorStatus } from './push';

export { DEFAULT_HANDLER_DEADLINE_MS, defaultMessageHandler } from './forwarder';
export type { ForwardAuth, ForwardFailure, MessageHandler, MicroAppConfig, MicroAppExchange } from './forwarder';
export { demoRegistrations } from './push';
export type { PushDelivery, Registration } from './push';

export interface MobileServicesOptions {
  appId?: string;
  apiKey?: string;
  keyAlias?: string;
  clientId?: string;
  clientSecret?: string;
  registrations?: Registration[];
  /** Where a Micro App push must carry `users` (the reference leaves it open). */
  microAppUsersIn?: MicroAppUsersPlacement;
  tokenLifetimeSeconds?: number;
  /** The WeCom app behind the Micro App; the demo's by default. */
  microApp?: MicroAppConfig;
  /** Where the Micro App's messages are forwarded; the demo's TimeOff handler on Node-RED by default. */
  messageHandler?: MessageHandler;
  /** How long the message handler has to answer (default 5000 ms). */
  handlerDeadlineMs?: number;
  now?: () => number;
}

/** Faults apply to 'push' (every push endpoint) or 'token'. */
export type MobileServicesFault = Fault & { api: 'push' | 'token' };

/** What GET /_sandbox/deliveries answers. */
export interface SandboxDeliveries {
  /** The highest seq recorded so far (for anyone): pass it back as `since` to see only what comes later. */
  last: number;
  pushes: PushDelivery[];
  exchanges: MicroAppExchange[];
}

/** The Micro App's Message Handler URL on a sandbox, the one to give WeCom. */
export function microAppCallbackUrl(sandboxBaseUrl: string, appId: string = DEMO_MOBILE_SERVICES.appId): string {
  return `${sandboxBaseUrl.replace(/\/+$/, '')}/mobile-services/microapp/${encodeURIComponent(appId)}/callback`;
}

/** The replay window wechat-in applies by default, so WeCom callbacks are refused alike everywhere in the sandbox. */
const REPLAY_WINDOW_SECONDS = 300;

type Settings = Required<Pick<MobileServicesOptions, 'appId' | 'apiKey' | 'keyAlias' | 'clientId' | 'clientSecret' | 'tokenLifetimeSeconds'>>;

function headerText(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export class MobileServicesStandIn implements StandIn {
  readonly prefix = '/mobile-services';
  tokenRequestCount = 0;
  /** Push requests answered, faults and refusals included. */
  pushRequestCount = 0;
  private readonly faults = new FaultInjector();
  private readonly tokens: TokenBook;
  private readonly settings: Settings;
  private readonly pushApi: PushApi;
  private readonly forwarder: MicroAppForwarder;
  /** One sequence over pushes and exchanges, so one `since` follows both. */
  private lastSeq = 0;

  constructor(options: MobileServicesOptions = {}) {
    const now = options.now ?? Date.now;
    const nextSeq = () => ++this.lastSeq;
    this.tokens = new TokenBook(now);
    this.settings = {
      appId: options.appId ?? DEMO_MOBILE_SERVICES.appId,
      apiKey: options.apiKey ?? DEMO_MOBILE_SERVICES.apiKey,
      keyAlias: options.keyAlias ?? DEMO_MOBILE_SERVICES.keyAlias,
      clientId: options.clientId ?? DEMO_MOBILE_SERVICES.clientId,
      clientSecret: options.clientSecret ?? DEMO_MOBILE_SERVICES.clientSecret,
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 43199,
    };
    this.pushApi = new PushApi({ registrations: options.registrations ?? demoRegistrations(), microAppUsersIn: options.microAppUsersIn ?? 'top', now, nextSeq });
    this.forwarder = new MicroAppForwarder({
      microApp: options.microApp ?? { corpId: DEMO_MICRO_APP.corpId, token: DEMO_MICRO_APP.token, encodingAESKey: DEMO_MICRO_APP.encodingAESKey },
      handler: options.messageHandler ?? defaultMessageHandler(),
      deadlineMs: options.handlerDeadlineMs ?? DEFAULT_HANDLER_DEADLINE_MS,
      replayWindowSeconds: REPLAY_WINDOW_SECONDS,
      now,
      nextSeq,
    });
  }

  /** Pushes accepted, in order. */
  get deliveries(): PushDelivery[] {
    return this.pushApi.deliveries;
  }

  /** Each accepted push as it is recorded. */
  get pushed(): RecordFeed<PushDelivery> {
    return this.pushApi.pushed;
  }

  /** Micro App messages forwarded to the message handler, in order. */
  get exchanges(): MicroAppExchange[] {
    return this.forwarder.exchanges;
  }

  /** Where the Micro App's messages go from now on, and how the destination authenticates; optionally another deadline. */
  setMessageHandler(handler: MessageHandler & { deadlineMs?: number }): void {
    this.forwarder.setMessageHandler(handler);
  }

  get messageHandler(): MessageHandler {
    return this.forwarder.messageHandler;
  }

  inject(fault: MobileServicesFault): void {
    this.faults.inject(fault);
  }

  /** Every issued token expires now. */
  expireTokens(): void {
    this.tokens.expireAll();
  }

  /** Forgets deliveries, exchanges, counters, faults and tokens; the message handler stays as set. */
  reset(): void {
    this.pushApi.reset();
    this.forwarder.reset();
    this.lastSeq = 0;
    this.tokenRequestCount = 0;
    this.pushRequestCount = 0;
    this.faults.clear();
    this.tokens.clear();
  }

  /** What the sandbox route answers: records after `since`, of `user` when given (the pushes that reached them, the messages they sent). */
  recorded(user?: string, since = 0): SandboxDeliveries {
    const pushes = this.deliveries.filter((d) => d.seq > since && (user === undefined || d.delivered.includes(user)));
    const exchanges = this.exchanges.filter((e) => e.seq > since && (user === undefined || e.user === user));
    return { last: this.lastSeq, pushes, exchanges };
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path === '/oauth/token' && req.method === 'POST') return this.token(req, res);
    const callback = /^\/microapp\/([^/]+)\/callback$/.exec(path);
    if (callback) return this.microAppCallback(req, res, decodeURIComponent(callback[1]), query);
    if (path.startsWith('/_sandbox/')) return this.control(req, res, path, query);
    const route = /^\/mobileservices\/push\/v2\/backend\/applications\/([^/]+)\/(.+)$/.exec(path);
    if (!route || req.method !== 'POST') {
      req.resume();
      return sendJson(res, 404, errorStatus(404, `no API at ${path}`));
    }
    this.pushRequestCount++;
    if (await this.faults.apply('push', res)) return void req.resume();
    const auth = this.authenticate(req);
    if (!auth) {
      req.resume();
      return sendJson(res, 401, errorStatus(401, 'Unauthorized'));
    }
    if (decodeURIComponent(route[1]) !== this.settings.appId) {
      req.resume();
      return sendJson(res, 404, errorStatus(404, `application ${decodeURIComponent(route[1])} not found`));
    }
    const body = await readJsonBody(req);
    if (!body) return sendJson(res, 400, errorStatus(400, 'Malformed JSON body'));
    this.pushApi.answer(res, route[2], { auth, tenantId: headerText(req.headers['x-tenant-id']) }, body);
  }

  private microAppCallback(req: IncomingMessage, res: ServerResponse, appId: string, query: URLSearchParams): Promise<void> | void {
    if (appId !== this.settings.appId) {
      req.resume();
      return sendJson(res, 404, errorStatus(404, `application ${appId} not found`));
    }
    return this.forwarder.handle(req, res, query);
  }

  private control(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): void {
    req.resume();
    if (req.method !== 'GET' || path !== '/_sandbox/deliveries') return sendJson(res, 404, { error: 'unknown sandbox control' });
    const since = query.get('since') ?? '0';
    if (!/^\d{1,15}$/.test(since)) return sendJson(res, 400, { error: `since must be a whole number ≥ 0, not "${since}"` });
    const user = query.get('user');
    sendJson(res, 200, this.recorded(user === null || user === '' ? undefined : user, Number(since)));
  }

  private authenticate(req: IncomingMessage): PushDelivery['auth'] | null {
    const key = req.headers['x-api-key'];
    if (key !== undefined) return key === this.settings.apiKey ? 'apiKey' : null;
    const authorization = String(req.headers.authorization ?? '');
    const basic = basicCredentials(authorization);
    if (basic) return basic.user === this.settings.keyAlias && basic.password === this.settings.apiKey ? 'basic' : null;
    const bearer = /^Bearer (\S+)$/i.exec(authorization)?.[1] ?? null;
    return bearer && this.tokens.check(bearer).ok ? 'bearer' : null;
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.tokenRequestCount++;
    if (await this.faults.apply('token', res)) return void req.resume();
    const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
    const basic = basicCredentials(String(req.headers.authorization ?? ''));
    const client = basic ?? { user: form.get('client_id') ?? '', password: form.get('client_secret') ?? '' };
    if (form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
    if (client.user !== this.settings.clientId || client.password !== this.settings.clientSecret) {
      return sendJson(res, 401, { error: 'unauthorized', error_description: 'Bad credentials' });
    }
    const issued = this.tokens.issue(client.user, this.settings.tokenLifetimeSeconds, 0);
    sendJson(res, 200, { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn, scope: 'uaa.resource', jti: randomBytes(16).toString('hex') });
  }
}

async function readJsonBody(req: IncomingMessage): Promise<JsonObject | null> {
  // Media travel inline: a 20 MB file is about 27 MB as base64 JSON.
  const body = await readBody(req, 32 * 1024 * 1024);
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}
