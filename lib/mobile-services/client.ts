/**
 * The Mobile Services push client of one application: generic v2 pushes to every target,
 * Micro App pushes, user lists split into requests of at most 1000, and bounded retries
 * of 5xx, 429 and connection resets (never of other 4xx, which would fail again).
 */
import { retryDelayMs } from '../http/backoff';
import axios, { AxiosInstance, AxiosResponse } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AuthHeaders, MobileServicesAuth } from './auth';
import { MobileServicesError, serverMessage } from './errors';
import { JsonObject, UsersPlacement, microAppBody } from './micro-app';
import { PushAnswer, PushResult, PushTarget, chunks, pushAnswer, targetRequest } from './push';

export interface MobileServicesConfig {
  /** The Mobile Services host ("Server API" / Mobile Services URL), without a trailing slash. */
  serverUrl: string;
  appId: string;
  auth: MobileServicesAuth;
  /** Full URL of the Micro App push; empty gives the v2 user push of the application. */
  wechatPushUrl?: string;
  usersPlacement?: UsersPlacement;
  /** Body field naming the topic of a topic push; not confirmed, default 'topic'. */
  topicField?: string;
  /** Multitenant setups: sent as x-tenant-id. */
  tenantId?: string;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First retry delay; each further one doubles, up to 8 s (default 500 ms). */
  retryDelayMs?: number;
  timeoutMs?: number;
  http?: AxiosInstance;
  now?: () => number;
}

/** The answers of all requests one push took, merged. */
export interface PushOutcome extends PushAnswer {
  /** The server's bodies, one per request. */
  responses: unknown[];
}

const MAX_RETRY_DELAY_MS = 8000;
const RETRIED_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE']);

export class MobileServicesClient {
  /** Requests that went on the wire, retries included (token requests not). */
  requests = 0;
  readonly auth: AuthHeaders;
  private readonly http: AxiosInstance;
  private readonly agents = { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 32 }), httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 32 }) };

  constructor(private readonly config: MobileServicesConfig) {
    this.http = config.http ?? defaultHttp(config.timeoutMs ?? 30_000, this.agents);
    this.auth = new AuthHeaders(config.auth, this.http, config.now);
  }

  /** Frees the kept-alive sockets; a later push opens new ones. */
  close(): void {
    this.agents.httpAgent.destroy();
    this.agents.httpsAgent.destroy();
  }

  /** The Micro App push URL in use: the configured one, or the v2 user push. */
  get wechatPushUrl(): string {
    return this.config.wechatPushUrl || this.applicationUrl('notifications/users');
  }

  async push(target: PushTarget, notification: JsonObject): Promise<PushOutcome> {
    if (target.kind !== 'users') {
      const { path, body } = targetRequest(target, notification, this.config.topicField);
      return this.postAll(this.applicationUrl(path), [body]);
    }
    const bodies = chunks(target.users).map((users) => targetRequest({ kind: 'users', users }, notification).body);
    return this.postAll(this.applicationUrl('notifications/users'), bodies);
  }

  /** A Micro App push of `content` ({msgtype, <msgtype>: {…}}) to WeCom/WeChat user ids. */
  async pushMicroApp(content: JsonObject, users: string[]): Promise<PushOutcome> {
    const now = new Date((this.config.now ?? Date.now)());
    const bodies = chunks(users).map((part) => microAppBody(content, part, this.config.usersPlacement ?? 'top', now));
    return this.postAll(this.wechatPushUrl, bodies);
  }

  /**
   * Sends the requests of one push in order. When one fails after others were sent, its
   * error carries `delivered`: the merged answer of those that were.
   */
  private async postAll(url: string, bodies: JsonObject[]): Promise<PushOutcome> {
    const answers: unknown[] = [];
    for (const body of bodies) {
      try {
        answers.push(await this.post(url, body));
      } catch (err) {
        if (err instanceof MobileServicesError && answers.length) err.delivered = merged(answers);
        throw err;
      }
    }
    return merged(answers);
  }

  private applicationUrl(path: string): string {
    return `${this.config.serverUrl}/mobileservices/push/v2/backend/applications/${encodeURIComponent(this.config.appId)}/${path}`;
  }

  private async post(url: string, body: JsonObject): Promise<unknown> {
    const retries = this.config.retries ?? 3;
    let renewedToken = false;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(url, body);
      if (outcome instanceof MobileServicesError) {
        if (attempt < retries && RETRIED_NETWORK_CODES.has(String(outcome.params.reason))) {
          await this.pause(attempt);
          continue;
        }
        throw outcome;
      }
      const { status } = outcome;
      if (status >= 200 && status < 300) return outcome.data;
      // A bearer token the server no longer accepts is fetched again, once.
      if (status === 401 && this.auth.usesToken && !renewedToken) {
        renewedToken = true;
        this.auth.invalidate();
        continue;
      }
      if ((status >= 500 || status === 429) && attempt < retries) {
        await this.pause(attempt, retryAfterOf(outcome));
        continue;
      }
      throw httpError(status, outcome.data, url);
    }
  }

  private async attempt(url: string, body: JsonObject): Promise<AxiosResponse | MobileServicesError> {
    const headers: Record<string, string> = { ...(await this.auth.headers()), 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.config.tenantId) headers['x-tenant-id'] = this.config.tenantId;
    this.requests++;
    try {
      return await this.http.post(url, body, { headers, validateStatus: () => true });
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'no answer';
      return new MobileServicesError('network', 'ms_network', `POST ${pathOf(url)}: ${reason}`, { reason, path: pathOf(url) });
    }
  }

  private pause(attempt: number, retryAfter?: string): Promise<void> {
    const delay = retryDelayMs(attempt, this.config.retryDelayMs ?? 500, MAX_RETRY_DELAY_MS, retryAfter);
    return new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function merged(answers: unknown[]): PushOutcome {
  const read = answers.map(pushAnswer);
  const pushResults: PushResult[] = read.flatMap((a) => a.pushResults);
  const last = read[read.length - 1];
  const outcome: PushOutcome = { status: last?.status ?? null, pushResults, responses: answers };
  if (last?.correlationId) outcome.correlationId = last.correlationId;
  return outcome;
}

function retryAfterOf(response: AxiosResponse): string | undefined {
  const value: unknown = response.headers['retry-after'];
  return typeof value === 'string' ? value : undefined;
}

function httpError(status: number, body: unknown, url: string): MobileServicesError {
  const server = serverMessage(body) || `HTTP ${status}`;
  const kind = status === 401 || status === 403 ? 'auth' : 'http';
  return new MobileServicesError(kind, kind === 'auth' ? 'ms_auth' : 'ms_http', `POST ${pathOf(url)} failed with ${status}: ${server}`, { server, path: pathOf(url) }, status);
}

/** The URL's path only: no query, no credentials in the user-info part. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid URL)';
  }
}

function defaultHttp(timeoutMs: number, agents: { httpAgent: HttpAgent; httpsAgent: HttpsAgent }): AxiosInstance {
  return axios.create({
    timeout: timeoutMs,
    ...agents,
    // Media travel inline as base64: a 20 MB file is about 27 MB of JSON.
    maxBodyLength: 32 * 1024 * 1024,
    maxContentLength: 4 * 1024 * 1024,
    // A redirect would carry the key to another host.
    maxRedirects: 0,
  });
}
