/**
 * The push half of the Mobile Services stand-in: the v2 backend push API of one
 * application (users, one user's device, group, topic, all) and the Micro App push as
 * `notification.wechat` on the user push. Bodies are checked field by field; every
 * accepted push is recorded as a delivery.
 *
 * Where the reference leaves the real service's answer open, the stand-in decides as
 * follows: targets without a registration are left out of pushResults, and when no
 * target has one the answer is the 400 "No registrations for the given users"; a user
 * whose registration expired is reported with code 7.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson } from '../../lib/http/body';
import { DEMO_DCN } from '../demo-accounts';
import { JsonObject, isObject } from '../platform-api';
import { RecordFeed } from '../record-feed';

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

/** Where a Micro App push must carry `users` (the reference leaves it open). */
export type MicroAppUsersPlacement = 'top' | 'wechat';

export interface PushDelivery {
  /** Its place among everything the stand-in recorded (pushes and Micro App exchanges), from 1. */
  seq: number;
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

/** Who sent an authenticated push. */
export type Caller = Pick<PushDelivery, 'auth' | 'tenantId'>;

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
    // The WF-DCN scenario's receiver: a native app registration (generic pushes), not the Micro App.
    { user: DEMO_DCN.mobileServicesUser, devices: ['sandbox-device-supadmin'], groups: [], topics: [], microApp: false },
  ];
}

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PushApiOptions {
  registrations: Registration[];
  microAppUsersIn: MicroAppUsersPlacement;
  now: () => number;
  /** The next number of the stand-in's one sequence of records. */
  nextSeq: () => number;
}

export class PushApi {
  readonly deliveries: PushDelivery[] = [];
  /** Each push as it is recorded in `deliveries`. */
  readonly pushed = new RecordFeed<PushDelivery>();
  private nextNotification = 1;

  constructor(private readonly options: PushApiOptions) {}

  reset(): void {
    this.deliveries.length = 0;
  }

  /** Answers an authenticated push to `path` below the application, e.g. 'notifications/users'. */
  answer(res: ServerResponse, path: string, caller: Caller, body: JsonObject): void {
    try {
      this.push(res, path, caller, body);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      sendJson(res, 400, { status: { code: 400, message: 'Field error', parameters: [{ field: err.field, message: err.message }] }, pushResults: null });
    }
  }

  private push(res: ServerResponse, path: string, caller: Caller, body: JsonObject): void {
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
      // A set: a push may name 1000 users, a tenant have many more registrations.
      const named = new Set(users);
      reached = regs.filter((r) => named.has(r.user) && (!wechat || r.microApp));
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
      this.record('all', path, caller, body, regs);
      return sendJson(res, 202, { status: { code: 0, message: 'Accepted', parameters: null }, correlationId: randomBytes(16).toString('hex'), pushResults: [] });
    } else {
      return sendJson(res, 404, errorStatus(404, `no API at ${path}`));
    }
    if (!reached.length) return sendJson(res, 400, { status: { code: 400, message: 'No registrations for the given users', parameters: null }, pushResults: [] });
    const pushResults = reached.map((r) => this.result(r));
    this.record(target, path, caller, body, reached.filter((r) => !r.expired));
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
    const seq = this.options.nextSeq();
    const delivery: PushDelivery = { seq, target, path, ...caller, body, delivered: reached.map((r) => r.user), at: this.options.now() };
    this.deliveries.push(delivery);
    this.pushed.publish(delivery);
  }
}

/** The service's error body: a status and no push results. */
export function errorStatus(code: number, message: string): JsonObject {
  return { status: { code, message, parameters: null }, pushResults: null };
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
