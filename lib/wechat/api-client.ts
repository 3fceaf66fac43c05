/**
 * Calls to the Official Account and WeCom APIs with a managed access token:
 * - 40001 / 40014 / 42001: the token is invalidated, refetched once and the call
 *   retried once; -1 (busy) is retried once after a pause; every other errcode,
 *   including the quota, window and IP codes, is raised at once with a hint.
 * - Tokens and secrets travel only in request URLs and bodies; no error, log line or
 *   result carries them.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { randomBytes } from 'node:crypto';
import axios, { AxiosInstance, AxiosRequestConfig } from 'axios';
import type { Store } from '../store/types';
import type { AccountKind } from './callback';
import { TOKEN_ERRCODES, WeChatApiError, WeChatHttpError } from './api-errors';
import { JsonObject, OutboundMessage, checkMedia, replyToActiveMessage } from './messages';
import type { NormalizedReply } from './replies';
import { FetchedToken, TokenManager } from './token-manager';

/** OA token family: stable_token (default; many callers can share it) or classic /cgi-bin/token. */
export type TokenMode = 'stable' | 'classic';

export interface ApiAccount {
  kind: AccountKind;
  /** OA AppID or WeCom CorpID. */
  appId: string;
  /** WeCom AgentID. */
  agentId?: string;
  /** OA AppSecret or WeCom app secret. */
  secret: string;
  /** e.g. https://api.weixin.qq.com, or the sandbox's /wechat mount. */
  apiBase: string;
  tokenMode?: TokenMode;
}

export interface ApiClientOptions {
  store: Store;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Refresh tokens this long before expiry; default 300 s. */
  refreshMarginSeconds?: number;
  /** Pause before the single retry on errcode -1; default 1000 ms. */
  busyRetryDelayMs?: number;
  now?: () => number;
  /** A prepared axios instance (tests, proxies); by default one with keep-alive agents. */
  http?: AxiosInstance;
}

/** What the send APIs answer, errcode 0 included. */
export interface SendResult extends JsonObject {
  errcode: number;
  errmsg: string;
  msgid?: string | number;
  invaliduser?: string;
  invalidparty?: string;
  invalidtag?: string;
  unlicenseduser?: string;
  response_code?: string;
}

export interface MediaUploadResult extends JsonObject {
  type: string;
  media_id: string;
  created_at: string | number;
}

/** Recipients the platform did not deliver to although the call succeeded (WeCom). */
export interface PartialDelivery {
  invaliduser?: string[];
  invalidparty?: string[];
  invalidtag?: string[];
  unlicenseduser?: string[];
}

export function partialDelivery(result: SendResult): PartialDelivery | null {
  const out: PartialDelivery = {};
  for (const field of ['invaliduser', 'invalidparty', 'invalidtag', 'unlicenseduser'] as const) {
    const value: unknown = result[field];
    const ids = typeof value === 'string' ? value.split('|').filter(Boolean) : Array.isArray(value) ? value.map(String) : [];
    if (ids.length) out[field] = ids;
  }
  return Object.keys(out).length ? out : null;
}

const DEFAULT_API_BASE: Record<AccountKind, string> = {
  official: 'https://api.weixin.qq.com',
  wecom: 'https://qyapi.weixin.qq.com',
};

const SEND_PATHS: Record<OutboundMessage['api'], string> = {
  custom: 'message/custom/send',
  template: 'message/template/send',
  app: 'message/send',
};

export class WeChatApiClient {
  readonly tokens: TokenManager;
  private readonly http: AxiosInstance;
  private readonly base: string;
  private readonly busyRetryDelayMs: number;

  constructor(
    readonly account: ApiAccount,
    options: ApiClientOptions,
  ) {
    this.base = (account.apiBase || DEFAULT_API_BASE[account.kind]).replace(/\/+$/, '');
    this.http = options.http ?? defaultHttp(options.timeoutMs ?? 10_000);
    this.busyRetryDelayMs = options.busyRetryDelayMs ?? 1000;
    // Clients of one account share its token through the store (its lock makes one fetch);
    // the account config node keeps one client per store, so its nodes share one manager too.
    this.tokens = new TokenManager({
      store: options.store,
      identity: tokenIdentity(account),
      secret: account.secret,
      fetchToken: () => this.fetchToken(),
      refreshMarginSeconds: options.refreshMarginSeconds,
      now: options.now,
    });
  }

  /** Sends a prepared message (see prepareMessage / replyToActiveMessage). */
  async send(message: OutboundMessage): Promise<SendResult> {
    return (await this.post(SEND_PATHS[message.api], message.body)) as SendResult;
  }

  /** Delivers a passive reply that missed its deadline as an active message to `toUser`. */
  sendReply(reply: NormalizedReply, toUser: string): Promise<SendResult> {
    return this.send(replyToActiveMessage(reply, this.account.kind, toUser, this.account.agentId));
  }

  /** Uploads temporary media (3 days); the size is checked before anything is sent. */
  async upload(type: string, data: Buffer, filename: string, contentType = 'application/octet-stream'): Promise<MediaUploadResult> {
    checkMedia(this.account.kind, type, data);
    const { body, boundary } = multipart(data, filename, contentType);
    const result = await this.callWithToken('media/upload', (token) => ({
      method: 'POST',
      url: `${this.base}/cgi-bin/media/upload`,
      params: { access_token: token, type },
      data: body,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    }));
    if (typeof result.media_id !== 'string') throw new WeChatHttpError('media/upload', 'the answer carried no media_id');
    return result as MediaUploadResult;
  }

  /** POST {body} to /cgi-bin/<path>?access_token=…; resolves with the answer when errcode is 0. */
  post(path: string, body: JsonObject): Promise<JsonObject> {
    return this.callWithToken(path, (token) => ({
      method: 'POST',
      url: `${this.base}/cgi-bin/${path}`,
      params: { access_token: token },
      data: body,
      headers: { 'Content-Type': 'application/json' },
    }));
  }

  private async callWithToken(api: string, build: (token: string) => AxiosRequestConfig): Promise<JsonObject> {
    let token = await this.tokens.getToken();
    let result = await this.request(api, build(token), [token]);
    let code = errcodeOf(result);
    if (TOKEN_ERRCODES.has(code)) {
      // Stale or rotated token: drop it (once, even under a burst), fetch, retry once.
      await this.tokens.invalidate(token);
      token = await this.tokens.getToken();
      result = await this.request(api, build(token), [token]);
      code = errcodeOf(result);
    } else if (code === -1) {
      await new Promise((resolve) => setTimeout(resolve, this.busyRetryDelayMs));
      result = await this.request(api, build(token), [token]);
      code = errcodeOf(result);
    }
    if (code !== 0) throw new WeChatApiError(api, code, redact(String(result.errmsg ?? ''), [token]));
    return result;
  }

  private async fetchToken(): Promise<FetchedToken> {
    const { kind, appId, secret } = this.account;
    if (!appId || !secret) throw new WeChatHttpError('token', `the account has no ${kind === 'wecom' ? 'CorpID or secret' : 'AppID or AppSecret'}`);
    const [api, config] = this.tokenRequest();
    let data: JsonObject;
    try {
      data = await this.request(api, config, [secret]);
    } catch (err) {
      // A token request is safe to repeat, unlike a send: one more try on a transport error.
      if (!(err instanceof WeChatHttpError)) throw err;
      data = await this.request(api, config, [secret]);
    }
    const code = errcodeOf(data);
    if (code !== 0) throw new WeChatApiError(api, code, redact(String(data.errmsg ?? ''), [secret]));
    if (typeof data.access_token !== 'string' || !data.access_token || typeof data.expires_in !== 'number' || data.expires_in <= 0) {
      throw new WeChatHttpError(api, 'the answer carried no access_token / expires_in');
    }
    return { accessToken: data.access_token, expiresIn: data.expires_in };
  }

  private tokenRequest(): [string, AxiosRequestConfig] {
    const { kind, appId, secret } = this.account;
    if (kind === 'wecom') {
      return ['gettoken', { method: 'GET', url: `${this.base}/cgi-bin/gettoken`, params: { corpid: appId, corpsecret: secret } }];
    }
    if (this.account.tokenMode === 'classic') {
      return ['token', { method: 'GET', url: `${this.base}/cgi-bin/token`, params: { grant_type: 'client_credential', appid: appId, secret } }];
    }
    return [
      'stable_token',
      {
        method: 'POST',
        url: `${this.base}/cgi-bin/stable_token`,
        data: { grant_type: 'client_credential', appid: appId, secret, force_refresh: false },
        headers: { 'Content-Type': 'application/json' },
      },
    ];
  }

  /** One HTTP exchange; every failure becomes a WeChatHttpError with `secrets` blanked out. */
  private async request(api: string, config: AxiosRequestConfig, secrets: string[]): Promise<JsonObject> {
    let status: number;
    let data: unknown;
    try {
      const response = await this.http.request({ ...config, validateStatus: () => true });
      status = response.status;
      data = response.data;
    } catch (err) {
      throw new WeChatHttpError(api, redact(describeTransportError(err), secrets));
    }
    if (status < 200 || status >= 300) throw new WeChatHttpError(api, `HTTP ${status}`, status);
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        throw new WeChatHttpError(api, 'the answer was not JSON', status);
      }
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new WeChatHttpError(api, 'the answer was not a JSON object', status);
    return data as JsonObject;
  }
}


/** OA stable and classic tokens are separate families; a WeCom token belongs to corp + app. */
function tokenIdentity(account: ApiAccount): string {
  if (account.kind === 'wecom') return `wecom:${account.appId}:${account.agentId ?? ''}`;
  return `oa:${account.appId}:${account.tokenMode === 'classic' ? 'classic' : 'stable'}`;
}

function errcodeOf(data: JsonObject): number {
  const code = data.errcode;
  if (code === undefined || code === null) return 0;
  const n = Number(code);
  return Number.isFinite(n) ? n : -1;
}

function describeTransportError(err: unknown): string {
  if (axios.isAxiosError(err)) {
    if (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT') return `no answer in time (${err.message})`;
    return err.code ? `${err.code}: ${err.message}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Blanks out `secrets` (also URL-encoded) and any credential-looking query parameter:
 * transport errors of HTTP libraries and proxies may quote the request URL, which
 * carries the access token (sends) or the secret (classic token, gettoken).
 */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  return out.replace(/\b(access_token|secret|corpsecret)=[^&\s"']*/gi, '$1=***');
}

function defaultHttp(timeoutMs: number): AxiosInstance {
  return axios.create({
    timeout: timeoutMs,
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
    maxBodyLength: 32 * 1024 * 1024,
    maxContentLength: 4 * 1024 * 1024,
    // Redirects would carry the token to another host.
    maxRedirects: 0,
  });
}

function multipart(data: Buffer, filename: string, contentType: string): { body: Buffer; boundary: string } {
  const boundary = `----wxbridge${randomBytes(12).toString('hex')}`;
  const safeName = filename.replace(/["\r\n\\]/g, '_') || 'media';
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="media"; filename="${safeName}"; filelength=${data.length}\r\n` +
    `Content-Type: ${contentType.replace(/[\r\n]/g, '')}\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), data, Buffer.from(`\r\n--${boundary}--\r\n`)]), boundary };
}
