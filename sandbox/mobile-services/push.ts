/**
 * Stand-in for SAP Mobile Services push, mounted at /mobile-services (the Mobile Services
 * host): the v2 backend push API of one application (users, one user's device, group,
 * topic, all), the Micro App push as `notification.wechat` on the user push, and an
 * OAuth client-credentials token endpoint at /oauth/token. Requests authenticate with
 * the push service key (X-API-Key), Basic (key alias and key) or a bearer token from the
 * token endpoint. Bodies are checked field by field; deliveries are recorded; 5xx, 429
 * and connection resets can be injected.
 *
 * Where the reference leaves the real service's answer open, the stand-in decides as
 * follows: targets without a registration are left out of pushResults, and when no
 * target has one the answer is the 400 "No registrations for the given users"; a user
 * whose registration expired is reported with code 7.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basicCredentials } from '../lib/http/basic-auth';
import { readBody, sendJson } from '../lib/http/body';
import { DEMO_MOBILE_SERVICES } from './demo-accounts';
import { Fault, FaultInjector, JsonObject, TokenBook, isObject } from './platform-api';
import type { StandIn } from './server';

export interface Registration {
  user: string;
  devices: string[];
  groups: string[];
  topics: string[];
  /** Registered for the Micro App (WeCom UserID). */
  microApp: boolean;
  /** The push token expired: pushes report code 7. */
  expired?: boolean;
}

export interface MobileServicesOptions {
  appId?: string;
  apiKey?: string;
  keyAlias?: string;
  clientId?: string;
  clientSecret?: string;
  registrations?: Registration[];
  /** Where a Micro App push must carry `users` (the reference leaves it open). */
  microAppUsersIn?: 'top' | 'wechat';
  tokenLifetimeSeconds?: number;
  now?: () => number;
}

export interface PushDelivery {
  /** users, device, group, topic, all or microApp. */
  target: string;
  path: string;
  auth: 'apiKey' | 'basic' | 'bearer';
  body: JsonObject;
  /** The x-tenant-id header, when sent. */
  tenantId?: string;
  /** The targets the push reached. */
  delivered: string[];
  at: number;
}

/** Faults apply to 'push' (every push endpoint) or 'token'. */
export type MobileServicesFault = Fault & { api: 'push' | 'token' };

const MAX_USERS = 1000;
const NOTIFICATION_FIELDS = ['alert', 'badge', 'sound', 'priority', 'data', 'custom', 'apns', 'gcm', 'wns', 'baidu', 'w3c'];
const MICRO_APP_MEDIA_LIMITS: Record<string, number> = { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, file: 20 * 1024 * 1024 };
const ISO_MILLIS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+);base64,([A-Za-z0-9+/]*={0,2})$/;

export function demoRegistrations(): Registration[] {
  return [
    { user: 'P000001', devices: ['sandbox-device-1'], groups: ['requesters'], topics: ['leave'], microApp: true },
    { user: 'P000002', devices: ['sandbox-device-2'], groups: ['approvers'], topics: ['leave'], microApp: true },
    { user: 'P000003', devices: ['sandbox-device-3'], groups: ['approvers'], topics: [], microApp: true, expired: true },
  ];
}

type Caller = Pick<PushDelivery, 'auth' | 'tenantId'>;

function headerText(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class MobileServicesStandIn implements StandIn {
  readonly prefix = '/mobile-services';
  readonly deliveries: PushDelivery[] = [];
  tokenRequestCount = 0;
  /** Push requests answered, faults and refusals included. */
  pushRequestCount = 0;
  private readonly faults = new FaultInjector();
  private readonly tokens: TokenBook;
  private readonly options: Required<Omit<MobileServicesOptions, 'now'>>;
  private readonly now: () => number;
  private nextNotification = 1;

  constructor(options: MobileServicesOptions = {}) {
    this.now = options.now ?? Date.now;
    this.tokens = new TokenBook(this.now);
    this.options = {
      appId: options.appId ?? DEMO_MOBILE_SERVICES.appId,
      apiKey: options.apiKey ?? DEMO_MOBILE_SERVICES.apiKey,
      keyAlias: options.keyAlias ?? DEMO_MOBILE_SERVICES.keyAlias,
      clientId: options.clientId ?? DEMO_MOBILE_SERVICES.clientId,
      clientSecret: options.clientSecret ?? DEMO_MOBILE_SERVICES.clientSecret,
      registrations: options.registrations ?? demoRegistrations(),
      microAppUsersIn: options.microAppUsersIn ?? 'top',
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 43199,
    };
  }

  inject(fault: MobileServicesFault): void {
    this.faults.inject(fault);
  }

  /** Every issued token expires now. */
  expireTokens(): void {
    this.tokens.expireAll();
  }

  reset(): void {
    this.deliveries.length = 0;
    this.tokenRequestCount = 0;
    this.pushRequestCount = 0;
    this.faults.clear();
    this.tokens.clear();
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/oauth/token' && req.method === 'POST') return this.token(req, res);
    const route = /^\/mobileservices\/push\/v2\/backend\/applications\/([^/]+)\/(.+)$/.exec(path);
    if (!route || req.method !== 'POST') {
      req.resume();
      return sendJson(res, 404, status(404, `no API at ${path}`));
    }
    this.pushRequestCount++;
    if (await this.faults.apply('push', res)) return void req.resume();
    const auth = this.authenticate(req);
    if (!auth) {
      req.resume();
      return sendJson(res, 401, status(401, 'Unauthorized'));
    }
    if (decodeURIComponent(route[1]) !== this.options.appId) {
      req.resume();
      return sendJson(res, 404, status(404, `application ${decodeURIComponent(route[1])} not found`));
    }
    const body = await readJsonBody(req);
    if (!body) return sendJson(res, 400, status(400, 'Malformed JSON body'));
    try {
      this.push(res, route[2], { auth, tenantId: headerText(req.headers['x-tenant-id']) }, body);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      sendJson(res, 400, { status: { code: 400, message: 'Field error', parameters: [{ field: err.field, message: err.message }] }, pushResults: null });
    }
  }

  private push(res: ServerResponse, path: string, auth: Caller, body: JsonObject): void {
    const regs = this.options.registrations;
    const device = /^users\/([^/]+)\/devices\/([^/]+)\/notifications$/.exec(path);
    const group = /^groups\/([^/]+)\/notifications$/.exec(path);
    let target: string;
    let reached: Registration[];
    if (path === 'notifications/users') {
      const wechat = isObject(body.notification) && body.notification.wechat !== undefined;
      const users = wechat ? this.microAppUsers(body) : checkedUsers(body.users, 'users');
      if (wechat) checkMicroApp(body.notification as JsonObject);
      else checkNotification(body.notification);
      target = wechat ? 'microApp' : 'users';
      reached = regs.filter((r) => users.includes(r.user) && (!wechat || r.microApp));
    } else if (device) {
      checkNotification(body.notification);
      const [user, id] = [decodeURIComponent(device[1]), decodeURIComponent(device[2])];
      target = 'device';
      reached = regs.filter((r) => r.user === user && r.devices.includes(id));
    } else if (group) {
      checkNotification(body.notification);
      target = 'group';
      reached = regs.filter((r) => r.groups.includes(decodeURIComponent(group[1])));
    } else if (path === 'topics/notifications') {
      if (typeof body.topic !== 'string' || body.topic === '') throw new FieldError('topic', 'must not be empty');
      checkNotification(body.notification);
      target = 'topic';
      reached = regs.filter((r) => r.topics.includes(body.topic as string));
    } else if (path === 'notifications') {
      checkNotification(body.notification);
      this.record('all', path, auth, body, regs);
      return sendJson(res, 202, { status: { code: 0, message: 'Accepted', parameters: null }, correlationId: randomBytes(16).toString('hex'), pushResults: [] });
    } else {
      return sendJson(res, 404, status(404, `no API at ${path}`));
    }
    if (!reached.length) return sendJson(res, 400, { status: { code: 400, message: 'No registrations for the given users', parameters: null }, pushResults: [] });
    const pushResults = reached.map((r) => this.result(r));
    this.record(target, path, auth, body, reached.filter((r) => !r.expired));
    sendJson(res, 201, { status: null, pushResults });
  }

  private microAppUsers(body: JsonObject): string[] {
    const wechat = (body.notification as JsonObject).wechat;
    if (this.options.microAppUsersIn === 'wechat') return checkedUsers(isObject(wechat) ? wechat.users : undefined, 'notification.wechat.users');
    return checkedUsers(body.users, 'users');
  }

  private result(r: Registration): JsonObject {
    if (r.expired) return { target: r.user, notificationId: null, code: 7, message: 'Registration expired' };
    return { target: r.user, notificationId: String(this.nextNotification++), code: 0, message: 'Sent' };
  }

  private record(target: string, path: string, caller: Caller, body: JsonObject, reached: Registration[]): void {
    this.deliveries.push({ target, path, ...caller, body, delivered: reached.map((r) => r.user), at: this.now() });
  }

  private authenticate(req: IncomingMessage): PushDelivery['auth'] | null {
    const key = req.headers['x-api-key'];
    if (key !== undefined) return key === this.options.apiKey ? 'apiKey' : null;
    const authorization = String(req.headers.authorization ?? '');
    const basic = basicCredentials(authorization);
    if (basic) return basic.user === this.options.keyAlias && basic.password === this.options.apiKey ? 'basic' : null;
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
    if (client.user !== this.options.clientId || client.password !== this.options.clientSecret) {
      return sendJson(res, 401, { error: 'unauthorized', error_description: 'Bad credentials' });
    }
    const issued = this.tokens.issue(client.user, this.options.tokenLifetimeSeconds, 0);
    sendJson(res, 200, { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn, scope: 'uaa.resource', jti: randomBytes(16).toString('hex') });
  }
}

function status(code: number, message: string): JsonObject {
  return { status: { code, message, parameters: null }, pushResults: null };
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

function checkedUsers(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_USERS) throw new FieldError(field, `size must be between 1 and ${MAX_USERS}`);
  if (!value.every((u) => typeof u === 'string' && u !== '')) throw new FieldError(field, 'must be non-empty strings');
  return value as string[];
}

function checkNotification(value: unknown): void {
  if (!isObject(value)) throw new FieldError('notification', 'must not be null');
  for (const key of Object.keys(value)) if (!NOTIFICATION_FIELDS.includes(key)) throw new FieldError(`notification.${key}`, 'unknown field');
  for (const key of ['alert', 'sound', 'priority']) {
    if (value[key] !== undefined && typeof value[key] !== 'string') throw new FieldError(`notification.${key}`, 'must be a string');
  }
  if (value.badge !== undefined && !(Number.isInteger(value.badge) && (value.badge as number) >= 0)) throw new FieldError('notification.badge', 'must be a whole number ≥ 0');
  for (const key of ['data', 'custom', 'apns', 'gcm', 'wns', 'baidu', 'w3c']) {
    if (value[key] !== undefined && !isObject(value[key])) throw new FieldError(`notification.${key}`, 'must be an object');
  }
}

function requiredText(content: JsonObject, field: string, path: string): void {
  if (typeof content[field] !== 'string' || content[field] === '') throw new FieldError(`${path}.${field}`, 'must not be empty');
}

function checkMicroApp(notification: JsonObject): void {
  const wechat = notification.wechat;
  if (!isObject(wechat)) throw new FieldError('notification.wechat', 'must be an object');
  if (typeof wechat.createtime !== 'string' || !ISO_MILLIS_Z.test(wechat.createtime) || Number.isNaN(Date.parse(wechat.createtime))) {
    throw new FieldError('notification.wechat.createtime', 'must be an ISO-8601 timestamp with milliseconds and Z');
  }
  const msgtype = String(wechat.msgtype ?? '');
  const content = wechat[msgtype];
  const path = `notification.wechat.${msgtype}`;
  if (!isObject(content)) throw new FieldError(msgtype ? path : 'notification.wechat.msgtype', 'must be an object');
  if (msgtype === 'text' || msgtype === 'markdown') return requiredText(content, 'content', path);
  if (msgtype === 'textcard') return ['title', 'description', 'url'].forEach((f) => requiredText(content, f, path));
  if (msgtype === 'news') return checkArticles(content.articles, `${path}.articles`);
  if (msgtype in MICRO_APP_MEDIA_LIMITS) return checkMedia(content, msgtype, path);
  throw new FieldError('notification.wechat.msgtype', `unsupported message type ${msgtype}`);
}

function checkArticles(articles: unknown, path: string): void {
  if (!Array.isArray(articles) || articles.length < 1 || articles.length > 8) throw new FieldError(path, 'size must be between 1 and 8');
  articles.forEach((a: unknown, i) => {
    if (!isObject(a)) throw new FieldError(`${path}[${i}]`, 'must be an object');
    requiredText(a, 'title', `${path}[${i}]`);
  });
}

function checkMedia(content: JsonObject, msgtype: string, path: string): void {
  requiredText(content, 'media_file_name', path);
  const encoded = DATA_URL.exec(String(content.media_file_encoded ?? ''));
  if (!encoded) throw new FieldError(`${path}.media_file_encoded`, 'must be a base64 data URL');
  const size = Buffer.from(encoded[2], 'base64').length;
  if (size <= 5 || size > MICRO_APP_MEDIA_LIMITS[msgtype]) throw new FieldError(`${path}.media_file_encoded`, `invalid media size ${size}`);
}
