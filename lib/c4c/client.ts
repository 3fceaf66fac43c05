/**
 * C4CClient: the OData v2 client of one C4C system. It owns one HTTP transport, one
 * cookie jar and one CSRF token, so that in steady state every write is a single
 * round trip. Reads are retried with backoff on 502/503/504/429 and connection
 * resets; writes are never repeated, except once after a refused CSRF token or a
 * rejected (expired) OAuth token, where the server provably did not act.
 */
import { retryDelayMs } from '../http/backoff';
import { AuthProvider, C4CAuthConfig, CallAuth } from './auth';
import { BatchPart, buildBatch, parseBatchResponse, RawPartResponse, validateParts } from './batch';
import { CookieJar } from './cookies';
import { C4CError, httpError, parseErrorBody, safeUrl } from './errors';
import { HttpClient, HttpResponse } from './http';
import { buildQuery, checkEntitySet, Entity, EntityKey, formatKey, normalServicePath, QueryOptions, serviceRoot, unwrap, Unwrapped } from './odata';

export interface C4CClientOptions {
  baseUrl: string;
  /** e.g. '/sap/c4c/odata/v1/c4codataapi/' or a custom service path. */
  servicePath: string;
  auth: C4CAuthConfig;
  timeoutMs?: number;
  maxConcurrent?: number;
  /** Extra attempts for idempotent reads. */
  retries?: number;
  /** First backoff delay; doubles per attempt, with jitter. */
  retryBaseMs?: number;
  /** Accept-Language for texts and error messages. */
  language?: string;
  /** Adds `odata-no-codedescs: true` (drops the *Text fields). */
  noCodeDescriptions?: boolean;
}

export interface QueryRequest extends QueryOptions {
  /** Follow d.__next until the end or `maxPages`. */
  allPages?: boolean;
  maxPages?: number;
}

export interface QueryResult {
  results: Entity[];
  count?: number;
  /** Set when paging stopped at the cap (or allPages was off) and more rows exist. */
  next?: string;
  pages: number;
  etags: Array<string | undefined>;
}

export interface EntityResult {
  entity: Entity | null;
  etag?: string;
  status: number;
}

export interface WriteOptions {
  /** Sent as If-Match; a mismatch is reported as a conflict (412). */
  etag?: string;
  method?: 'PATCH' | 'PUT';
}

export interface BatchPartResult {
  status: number;
  ok: boolean;
  value?: Entity[] | Entity | null;
  count?: number;
  etag?: string;
  error?: { status: number; code: string; message: string };
}

export type BatchResult = BatchPartResult | BatchPartResult[];

export interface CallOptions extends CallAuth {
  headers?: Record<string, string>;
}

interface Send {
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
  what: string;
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN']);
const DEFAULT_MAX_PAGES = 100;

export class C4CClient {
  readonly root: string;
  readonly http: HttpClient;
  private readonly cookies = new CookieJar();
  private readonly auth: AuthProvider;
  private readonly origin: string;
  /** Where a __next link may point: below the root's path, or below the bare service path. */
  private readonly servicePaths: string[];
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly baseHeaders: Record<string, string>;
  private csrfToken: string | null = null;
  private csrfPending: Promise<string> | null = null;
  /** Overridable in tests; real backoff sleeps. */
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  constructor(options: C4CClientOptions) {
    this.root = serviceRoot(options.baseUrl, options.servicePath);
    this.origin = new URL(this.root).origin;
    this.servicePaths = [...new Set([new URL(this.root).pathname, normalServicePath(options.servicePath)])];
    this.http = new HttpClient({ timeoutMs: options.timeoutMs ?? 30_000, maxConcurrent: options.maxConcurrent ?? 8 });
    this.auth = new AuthProvider(options.auth, this.http);
    this.retries = Math.max(0, options.retries ?? 3);
    this.retryBaseMs = Math.max(0, options.retryBaseMs ?? 250);
    this.baseHeaders = { Accept: 'application/json' };
    if (options.language) this.baseHeaders['Accept-Language'] = options.language;
    if (options.noCodeDescriptions) this.baseHeaders['odata-no-codedescs'] = 'true';
  }

  close(): void {
    this.http.close();
  }

  /** Whether a CSRF token is held (the next write needs no fetch). */
  get hasCsrfToken(): boolean {
    return this.csrfToken !== null;
  }

  // ---- operations -------------------------------------------------------------------

  async query(entitySet: string, request: QueryRequest = {}, call: CallOptions = {}): Promise<QueryResult> {
    const set = checkEntitySet(entitySet);
    let url = `${this.root}${set}?${buildQuery(request)}`;
    const maxPages = Math.max(1, request.maxPages ?? DEFAULT_MAX_PAGES);
    const result: QueryResult = { results: [], pages: 0, etags: [] };
    for (;;) {
      const res = await this.sendRead({ method: 'GET', url, headers: call.headers, what: `query ${set}` }, call);
      const page = unwrap(res.body.toString('utf8'));
      result.pages++;
      if (Array.isArray(page.value)) {
        for (const e of page.value) result.results.push(e);
        for (const t of page.etags ?? []) result.etags.push(t);
      }
      if (page.count !== undefined && result.count === undefined) result.count = page.count;
      result.next = page.next;
      if (!page.next || !request.allPages || result.pages >= maxPages) break;
      url = this.nextPageUrl(page.next, url);
    }
    return result;
  }

  async read(entitySet: string, key: EntityKey, options: Pick<QueryOptions, 'select' | 'expand'> = {}, call: CallOptions = {}): Promise<EntityResult> {
    const set = checkEntitySet(entitySet);
    const url = `${this.root}${set}${formatKey(key)}?${buildQuery(options)}`;
    const res = await this.sendRead({ method: 'GET', url, headers: call.headers, what: `read ${set}` }, call);
    return entityResult(res);
  }

  /** GET an absolute URL of this tenant, e.g. a notification's odataServiceEndpoint. */
  async readUrl(url: string, call: CallOptions = {}): Promise<EntityResult & { results?: Entity[] }> {
    const target = this.sameTenant(url, this.root);
    const res = await this.sendRead({ method: 'GET', url: target, headers: call.headers, what: 'read entity' }, call);
    const out = unwrapResponse(res);
    if (Array.isArray(out.value)) return { entity: out.value[0] ?? null, results: out.value, status: res.status };
    return { entity: out.value, etag: out.etag, status: res.status };
  }

  async create(entitySet: string, body: unknown, call: CallOptions = {}): Promise<EntityResult> {
    const set = checkEntitySet(entitySet);
    const res = await this.write({ method: 'POST', url: `${this.root}${set}`, body: jsonBody(body), headers: call.headers, what: `create in ${set}` }, call);
    return entityResult(res);
  }

  async update(entitySet: string, key: EntityKey, body: unknown, options: WriteOptions = {}, call: CallOptions = {}): Promise<EntityResult> {
    const set = checkEntitySet(entitySet);
    const method = options.method ?? 'PATCH';
    const url = `${this.root}${set}${formatKey(key)}`;
    // Usually 204 with no body: the result is then only the new ETag.
    const res = await this.write({ method, url, body: jsonBody(body), headers: withIfMatch(call.headers, options.etag), what: `${method} ${set}` }, call);
    return entityResult(res);
  }

  async remove(entitySet: string, key: EntityKey, options: Pick<WriteOptions, 'etag'> = {}, call: CallOptions = {}): Promise<EntityResult> {
    const set = checkEntitySet(entitySet);
    const url = `${this.root}${set}${formatKey(key)}`;
    const res = await this.write({ method: 'DELETE', url, headers: withIfMatch(call.headers, options.etag), what: `delete in ${set}` }, call);
    return { entity: null, status: res.status };
  }

  async batch(parts: unknown, call: CallOptions = {}): Promise<BatchResult[]> {
    const valid: BatchPart[] = validateParts(parts);
    const { body, contentType } = buildBatch(valid);
    const res = await this.write(
      { method: 'POST', url: `${this.root}$batch`, body, headers: { ...call.headers, 'Content-Type': contentType, Accept: 'multipart/mixed' }, what: '$batch' },
      call,
    );
    const raw = parseBatchResponse(res.body.toString('utf8'), headerValue(res, 'content-type'));
    // A failed change set is answered with one error response instead of a nested multipart.
    return raw.map((r, i) => (Array.isArray(r) ? r.map(batchPartResult) : valid[i] && 'changeset' in valid[i] ? [batchPartResult(r)] : batchPartResult(r)));
  }

  // ---- transport --------------------------------------------------------------------

  private async headersFor(send: Send, call: CallAuth, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const headers: Record<string, string> = { ...this.baseHeaders, ...send.headers, ...extra, Authorization: await this.auth.header(call) };
    if (send.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    const cookie = this.cookies.header(send.url);
    if (cookie) headers.Cookie = cookie;
    return headers;
  }

  /** One request with fresh headers; the cookies it brings back are kept. */
  private async exchange(send: Send, call: CallAuth, extra?: Record<string, string>): Promise<HttpResponse> {
    const res = await this.http.send({ method: send.method, url: send.url, body: send.body, headers: await this.headersFor(send, call, extra) });
    this.cookies.store(send.url, res.headers);
    return res;
  }

  private async transmit(send: Send, call: CallAuth, extra?: Record<string, string>): Promise<HttpResponse> {
    const res = await this.exchange(send, call, extra);
    if (res.status !== 401 || !this.auth.canRefresh()) return res;
    // Our cached OAuth token expired early; a 401 means the server did nothing.
    this.auth.invalidate();
    return this.exchange(send, call, extra);
  }

  /** An idempotent GET: retried with backoff on transient failures. */
  private async sendRead(send: Send, call: CallAuth, extra?: Record<string, string>): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.transmit(send, call, extra);
      } catch (err) {
        if (attempt < this.retries && err instanceof C4CError && RETRY_CODES.has(err.code)) {
          await this.sleep(this.backoff(attempt));
          continue;
        }
        throw err;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (attempt < this.retries && RETRY_STATUS.has(res.status)) {
        await this.sleep(this.backoff(attempt, headerValue(res, 'retry-after')));
        continue;
      }
      throw httpError(res.status, res.body.toString('utf8'), send.what);
    }
  }

  private backoff(attempt: number, retryAfter?: string): number {
    return retryDelayMs(attempt, this.retryBaseMs, 30_000, retryAfter);
  }

  /** A write: one round trip with the held CSRF token; one refetch + retry if it was refused. */
  private async write(send: Send, call: CallAuth): Promise<HttpResponse> {
    const token = await this.csrf(call);
    let res = await this.transmit(send, call, token ? { 'x-csrf-token': token } : undefined);
    if (isCsrfFailure(res)) {
      const fresh = await this.csrf(call, token);
      res = await this.transmit(send, call, fresh ? { 'x-csrf-token': fresh } : undefined);
      if (isCsrfFailure(res)) {
        this.csrfToken = null;
        const parsed = parseErrorBody(res.body.toString('utf8'));
        throw new C4CError('csrf', 403, parsed?.code || 'CSRF', `${send.what} failed with 403: CSRF token validation failed after a fresh token`);
      }
    }
    if (res.status >= 200 && res.status < 300) {
      const sent = res.headers['x-csrf-token'];
      // Some servers rotate the token on a write; keep the newest.
      if (typeof sent === 'string' && sent && sent.toLowerCase() !== 'required') this.csrfToken = sent;
      return res;
    }
    throw httpError(res.status, res.body.toString('utf8'), send.what);
  }

  /**
   * The CSRF token, fetched with GET on the service root when none is held, or when the
   * held one equals `refused` (another call may already have replaced it). Concurrent
   * callers share one fetch. '' means the server issued none (e.g. OAuth): send none.
   */
  private csrf(call: CallAuth, refused?: string): Promise<string> {
    if (this.csrfToken !== null && (refused === undefined || this.csrfToken !== refused)) return Promise.resolve(this.csrfToken);
    if (!this.csrfPending) {
      this.csrfPending = this.sendRead({ method: 'GET', url: this.root, what: 'CSRF token fetch' }, call, { 'x-csrf-token': 'fetch' })
        .then((res) => {
          const token = headerValue(res, 'x-csrf-token') ?? '';
          this.csrfToken = token.toLowerCase() === 'required' ? '' : token;
          return this.csrfToken;
        })
        .finally(() => {
          this.csrfPending = null;
        });
    }
    return this.csrfPending;
  }

  /** Only URLs on the tenant's own origin are followed: credentials go nowhere else. */
  private sameTenant(url: string, base: string): string {
    const target = parseUrl(url, base, 'input', 'BAD_URL', 'the URL to read is not valid');
    if (target.origin !== this.origin) throw new C4CError('input', 0, 'FOREIGN_URL', `refusing to send credentials to ${target.origin}: it is not the C4C tenant`);
    return target.toString();
  }

  /**
   * The next page, always on the configured host. C4C writes __next with the host it knows
   * itself by, which differs from ours behind a proxy, a custom domain or an alias (localhost
   * for 127.0.0.1), so only the link's path and query are taken, and only when the path lies
   * in this service: below the root's path, or below the bare service path when a proxy
   * mounts the tenant under a prefix of its own.
   */
  private nextPageUrl(next: string, current: string): string {
    const target = parseUrl(next, current, 'protocol', 'BAD_NEXT_LINK', 'the __next link of a page is not a valid URL');
    const below = this.servicePaths.find((path) => target.pathname.startsWith(path));
    if (below === undefined) {
      throw new C4CError(
        'protocol',
        0,
        'NEXT_OUTSIDE_SERVICE',
        `refusing to follow __next to ${safeUrl(target.origin + target.pathname)}: its path is outside the service ${this.servicePaths[0]}`,
      );
    }
    return this.root + target.pathname.slice(below.length) + target.search;
  }
}

function parseUrl(url: string, base: string, kind: 'input' | 'protocol', code: string, message: string): URL {
  try {
    return new URL(url, base);
  } catch {
    throw new C4CError(kind, 0, code, message);
  }
}

function headerValue(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function unwrapResponse(res: HttpResponse): Unwrapped {
  return unwrap(res.body.toString('utf8'), headerValue(res, 'etag'));
}

function entityResult(res: HttpResponse): EntityResult {
  const out = unwrapResponse(res);
  return { entity: out.value as Entity | null, etag: out.etag, status: res.status };
}

function withIfMatch(headers: Record<string, string> | undefined, etag: string | undefined): Record<string, string> | undefined {
  return etag ? { ...headers, 'If-Match': etag } : headers;
}

function isCsrfFailure(res: HttpResponse): boolean {
  if (res.status !== 403) return false;
  const header = headerValue(res, 'x-csrf-token');
  if (header && header.toLowerCase() === 'required') return true;
  return /csrf/i.test(res.body.toString('utf8'));
}

function jsonBody(body: unknown): string {
  if (typeof body === 'string') {
    try {
      JSON.parse(body);
    } catch {
      throw new C4CError('input', 0, 'BAD_BODY', 'the request body is a string but not JSON');
    }
    return body;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new C4CError('input', 0, 'BAD_BODY', 'the request body must be an object');
  return JSON.stringify(body);
}

function batchPartResult(r: RawPartResponse): BatchPartResult {
  const ok = r.status >= 200 && r.status < 300;
  if (!ok) {
    const e = httpError(r.status, r.body, '$batch part');
    return { status: r.status, ok, error: { status: e.status, code: e.code, message: e.message } };
  }
  if (!r.body.trim()) return { status: r.status, ok, value: null, etag: r.headers.etag };
  try {
    const out = unwrap(r.body, r.headers.etag);
    return { status: r.status, ok, value: out.value, count: out.count, etag: out.etag };
  } catch {
    return { status: r.status, ok, value: null };
  }
}
