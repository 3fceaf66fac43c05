/**
 * What the OA and WeCom API stand-ins share: issued tokens with expiry and a grace
 * period for replaced ones, injectable faults, the record of delivered messages and a
 * small multipart reader for media uploads.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson, sendText } from '../lib/http/body';
import { RecordFeed } from './record-feed';

export type JsonObject = Record<string, unknown>;

/** A fault for the next `times` calls (default 1) of one API, e.g. 'message/send'. */
export interface Fault {
  api: string;
  /** Answer HTTP 200 with this errcode. */
  errcode?: number;
  errmsg?: string;
  /** Answer with this HTTP status (e.g. 502) and no JSON. */
  status?: number;
  /** Drop the connection without answering, as a reset by a proxy would. */
  reset?: boolean;
  /** Wait this long before answering (alone: a slow but normal answer). */
  delayMs?: number;
  times?: number;
}

export interface RecordedMessage {
  /** 'message/custom/send', 'message/template/send' or 'message/send'. */
  api: string;
  /** AppID (OA) or CorpID/AgentID (WeCom) that sent it. */
  account: string;
  body: JsonObject;
  at: number;
}

export interface UploadedMedia {
  mediaId: string;
  type: string;
  filename: string;
  size: number;
  account: string;
}

export class FaultInjector {
  private readonly faults: Fault[] = [];

  inject(fault: Fault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** Applies the first pending fault for `api`; true when it answered the request. */
  async apply(api: string, res: ServerResponse): Promise<boolean> {
    const index = this.faults.findIndex((f) => f.api === api);
    if (index < 0) return false;
    const fault = this.faults[index];
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.faults.splice(index, 1);
    if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.reset) {
      res.socket?.destroy();
      return true;
    }
    if (fault.status) {
      sendText(res, fault.status, 'upstream unavailable');
      return true;
    }
    if (fault.errcode !== undefined) {
      sendJson(res, 200, { errcode: fault.errcode, errmsg: fault.errmsg ?? `injected error ${fault.errcode}` });
      return true;
    }
    return false;
  }
}

interface IssuedToken {
  family: string;
  expiresAt: number;
  /** Set when a newer token replaced this one; it stops working at this time. */
  retiresAt?: number;
}

export type TokenCheck = { ok: true; family: string } | { ok: false; errcode: number; errmsg: string };

/** Tokens by family (one family per account and token API). */
export class TokenBook {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly current = new Map<string, string>();

  constructor(private readonly now: () => number) {}

  /** A fresh token for the family; the previous one keeps working for graceMs. */
  issue(family: string, lifetimeSeconds: number, graceMs: number): { token: string; expiresIn: number } {
    const previous = this.current.get(family);
    if (previous) {
      const old = this.tokens.get(previous);
      if (old) old.retiresAt = Math.min(old.expiresAt, this.now() + graceMs);
    }
    // Real tokens are long; callers must reserve at least 512 characters.
    const token = `sbx_${randomBytes(48).toString('base64url')}`;
    this.tokens.set(token, { family, expiresAt: this.now() + lifetimeSeconds * 1000 });
    this.current.set(family, token);
    return { token, expiresIn: lifetimeSeconds };
  }

  /** The family's current token while it is valid, with its remaining seconds. */
  valid(family: string): { token: string; expiresIn: number } | null {
    const token = this.current.get(family);
    const entry = token ? this.tokens.get(token) : undefined;
    if (!token || !entry || entry.expiresAt <= this.now()) return null;
    return { token, expiresIn: Math.floor((entry.expiresAt - this.now()) / 1000) };
  }

  check(token: string | null): TokenCheck {
    if (!token) return { ok: false, errcode: 41001, errmsg: 'access_token missing' };
    const entry = this.tokens.get(token);
    if (!entry) return { ok: false, errcode: 40014, errmsg: 'invalid access_token' };
    const now = this.now();
    if (entry.expiresAt <= now) return { ok: false, errcode: 42001, errmsg: 'access_token expired' };
    if (entry.retiresAt !== undefined && entry.retiresAt <= now) {
      return { ok: false, errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    }
    return { ok: true, family: entry.family };
  }

  /** Every issued token expires now (the next use answers 42001). */
  expireAll(): void {
    const now = this.now();
    for (const entry of this.tokens.values()) entry.expiresAt = Math.min(entry.expiresAt, now);
  }

  /** Every issued token is replaced now, as if another system had rotated it (40001). */
  revokeAll(): void {
    const now = this.now();
    for (const entry of this.tokens.values()) entry.retiresAt = now;
    this.current.clear();
  }

  clear(): void {
    this.tokens.clear();
    this.current.clear();
  }
}

export async function readJson(req: IncomingMessage): Promise<JsonObject | null> {
  const body = await readBody(req, 1024 * 1024);
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
  } catch {
    return null;
  }
}

export interface MultipartFile {
  name: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

/** The parts of a multipart/form-data body that carry a file. */
export async function readMultipartFiles(req: IncomingMessage, limitBytes: number): Promise<MultipartFile[]> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(String(req.headers['content-type'] ?? ''));
  const body = await readBody(req, limitBytes);
  if (!boundary) return [];
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const files: MultipartFile[] = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const headers = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      if (name && filename !== undefined) {
        const contentType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? 'application/octet-stream';
        files.push({ name, filename, contentType, data: part.subarray(split + 4) });
      }
    }
    start = next;
  }
  return files;
}

export function newMediaId(): string {
  return `sbx_media_${randomBytes(12).toString('hex')}`;
}

/** Who a message is addressed to: `touser`, one id or several joined with '|' (WeCom). */
function recipientsOf(body: JsonObject): string[] {
  return typeof body.touser === 'string' ? body.touser.split('|').map((id) => id.trim()) : [];
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What the Official Account and WeCom stand-ins have in common: the record of delivered
 * messages and uploaded media, injectable faults, and the book of issued tokens.
 */
export abstract class PlatformApiStandIn {
  /** Messages delivered, in order. */
  readonly messages: RecordedMessage[] = [];
  /** Each message as it is recorded in `messages`. */
  readonly delivered = new RecordFeed<RecordedMessage>();
  readonly media: UploadedMedia[] = [];
  protected readonly faults = new FaultInjector();
  protected readonly tokens: TokenBook;
  protected readonly now: () => number;

  constructor(now: (() => number) | undefined) {
    this.now = now ?? Date.now;
    this.tokens = new TokenBook(this.now);
  }

  inject(fault: Fault): void {
    this.faults.inject(fault);
  }

  /** The next use of any issued token answers 42001 (expired). */
  expireTokens(): void {
    this.tokens.expireAll();
  }

  /** The next use of any issued token answers 40001, as after a rotation elsewhere or an early invalidation. */
  revokeTokens(): void {
    this.tokens.revokeAll();
  }

  /**
   * Applies an injected fault, then checks the request's access token. Resolves with the
   * token's family, or null once the request has been answered (fault or token error).
   */
  protected async authorise(req: IncomingMessage, res: ServerResponse, api: string, query: URLSearchParams): Promise<string | null> {
    if (await this.faults.apply(api, res)) {
      req.resume();
      return null;
    }
    const check = this.tokens.check(query.get('access_token'));
    if (!check.ok) {
      req.resume();
      sendJson(res, 200, { errcode: check.errcode, errmsg: check.errmsg });
      return null;
    }
    return check.family;
  }

  /**
   * Sandbox only, no API of the platform: GET /_sandbox/messages?user=<id>&since=<n>
   * answers the messages delivered after the n-th (each with its `seq`, from 1), to
   * `user` when given (its OpenID or UserID, or @all), and `last`, the count so far.
   */
  protected control(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): void {
    req.resume();
    if (req.method !== 'GET' || path !== '/_sandbox/messages') return sendJson(res, 404, { error: 'unknown sandbox control' });
    const since = query.get('since') ?? '0';
    if (!/^\d{1,15}$/.test(since)) return sendJson(res, 400, { error: `since must be a whole number ≥ 0, not "${since}"` });
    const user = query.get('user') || undefined;
    const messages = this.messages
      .map((message, i) => ({ seq: i + 1, ...message }))
      .filter((m) => m.seq > Number(since) && (user === undefined || recipientsOf(m.body).some((r) => r === user || r === '@all')));
    sendJson(res, 200, { last: this.messages.length, messages });
  }

  /** Records a delivered message and tells the feed's listeners. */
  protected record(message: RecordedMessage): void {
    this.messages.push(message);
    this.delivered.publish(message);
  }

  /** The answer for a path no API lives at. */
  protected notFound(res: ServerResponse, path: string): void {
    sendJson(res, 404, { errcode: 404, errmsg: `no API at ${path}` });
  }

  /**
   * Reads the upload's `media` part and checks its type and size against `limits`. When
   * something is wrong it answers with the platform's error and returns null.
   */
  protected async receiveMedia(req: IncomingMessage, res: ServerResponse, type: string, limits: Record<string, number>, minBytes = 0): Promise<MultipartFile | null> {
    const limit = limits[type];
    if (limit === undefined) {
      req.resume();
      sendJson(res, 200, { errcode: 40004, errmsg: 'invalid media type' });
      return null;
    }
    const file = (await readMultipartFiles(req, 25 * 1024 * 1024)).find((f) => f.name === 'media');
    if (!file) {
      sendJson(res, 200, { errcode: 41005, errmsg: 'media data missing' });
      return null;
    }
    if (file.data.length <= minBytes || file.data.length > limit) {
      sendJson(res, 200, { errcode: 40006, errmsg: 'invalid media size' });
      return null;
    }
    return file;
  }

  /** Forgets messages, media, faults and tokens; subclasses add their own counters. */
  reset(): void {
    this.messages.length = 0;
    this.media.length = 0;
    this.faults.clear();
    this.tokens.clear();
  }
}
