/**
 * Stand-in for the Official Account API (api.weixin.qq.com), mounted at /wechat:
 * classic token (a refetch replaces the previous token after a grace period),
 * stable_token (the same token while valid; force_refresh rotates it), customer-service
 * and template messages, temporary media upload with size limits. Every delivered
 * message is recorded; faults can be injected per API. The sandbox-only
 * GET /_sandbox/messages lists them (see PlatformApiStandIn.control).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../lib/http/body';
import { DEMO_OFFICIAL_ACCOUNT } from './demo-accounts';
import { JsonObject, PlatformApiStandIn, isObject, newMediaId, readJson } from './platform-api';
import type { StandIn } from './server';

export interface OfficialApiOptions {
  accounts?: { appId: string; appSecret: string }[];
  tokenLifetimeSeconds?: number;
  /** How long a replaced classic token keeps working; default 300 s. */
  graceSeconds?: number;
  now?: () => number;
}

const CUSTOM_TYPES = ['text', 'image', 'voice', 'video', 'music', 'news', 'mpnews', 'msgmenu', 'miniprogrampage', 'mpnewsarticle', 'wxcard'];
/** Temporary media limits in bytes, as our client checks them. */
const MEDIA_LIMITS: Record<string, number> = { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, thumb: 64 * 1024 };

export class WeChatApiStandIn extends PlatformApiStandIn implements StandIn {
  readonly prefix = '/wechat';
  /** Token requests answered (successful or not), per API: 'token' and 'stable_token'. */
  readonly tokenRequests = { token: 0, stable_token: 0 };
  private readonly accounts: Map<string, string>;
  private readonly lifetime: number;
  private readonly graceMs: number;
  private nextMsgId = 1_000_000_001;

  constructor(options: OfficialApiOptions = {}) {
    super(options.now);
    const accounts = options.accounts ?? [{ appId: DEMO_OFFICIAL_ACCOUNT.appId, appSecret: DEMO_OFFICIAL_ACCOUNT.appSecret }];
    this.accounts = new Map(accounts.map((a) => [a.appId, a.appSecret]));
    this.lifetime = options.tokenLifetimeSeconds ?? 7200;
    this.graceMs = (options.graceSeconds ?? 300) * 1000;
  }

  /** Total token requests of both families. */
  get tokenRequestCount(): number {
    return this.tokenRequests.token + this.tokenRequests.stable_token;
  }

  /** Forgets messages, media, counters, faults and tokens. */
  override reset(): void {
    super.reset();
    this.tokenRequests.token = 0;
    this.tokenRequests.stable_token = 0;
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path.startsWith('/_sandbox/')) return this.control(req, res, path, query);
    const api = path.replace(/^\/cgi-bin\//, '');
    if (api === 'token' && req.method === 'GET') return this.classicToken(res, api, query);
    if (api === 'stable_token' && req.method === 'POST') return this.stableToken(req, res, api);
    if (req.method !== 'POST') return this.notFound(res, path);
    switch (api) {
      case 'message/custom/send':
        return this.withToken(req, res, api, query, (appId, body) => this.customSend(res, api, appId, body));
      case 'message/template/send':
        return this.withToken(req, res, api, query, (appId, body) => this.templateSend(res, api, appId, body));
      case 'media/upload':
        return this.upload(req, res, api, query);
      default:
        return this.notFound(res, path);
    }
  }

  private async classicToken(res: ServerResponse, api: string, query: URLSearchParams): Promise<void> {
    this.tokenRequests.token++;
    if (await this.faults.apply(api, res)) return;
    if (query.get('grant_type') !== 'client_credential') return sendJson(res, 200, { errcode: 40002, errmsg: 'invalid grant_type' });
    const appId = query.get('appid') ?? '';
    const problem = this.checkCredentials(appId, query.get('secret') ?? '', 40001);
    if (problem) return sendJson(res, 200, problem);
    // Each classic fetch makes a new token; the old one lasts only the grace period.
    const issued = this.tokens.issue(`classic:${appId}`, this.lifetime, this.graceMs);
    sendJson(res, 200, { access_token: issued.token, expires_in: issued.expiresIn });
  }

  private async stableToken(req: IncomingMessage, res: ServerResponse, api: string): Promise<void> {
    this.tokenRequests.stable_token++;
    if (await this.faults.apply(api, res)) return;
    const body = await readJson(req);
    if (!body || body.grant_type !== 'client_credential') return sendJson(res, 200, { errcode: 40002, errmsg: 'invalid grant_type' });
    const appId = String(body.appid ?? '');
    const problem = this.checkCredentials(appId, String(body.secret ?? ''), 40125);
    if (problem) return sendJson(res, 200, problem);
    const family = `stable:${appId}`;
    const current = body.force_refresh === true ? null : this.tokens.valid(family);
    const issued = current ?? this.tokens.issue(family, this.lifetime, this.graceMs);
    sendJson(res, 200, { access_token: issued.token, expires_in: issued.expiresIn });
  }

  private checkCredentials(appId: string, secret: string, wrongSecretCode: number): JsonObject | null {
    const expected = this.accounts.get(appId);
    if (expected === undefined) return { errcode: 40013, errmsg: 'invalid appid' };
    if (secret !== expected) return { errcode: wrongSecretCode, errmsg: 'invalid appsecret' };
    return null;
  }

  /** Fault, then token check, then the JSON body. */
  private async withToken(
    req: IncomingMessage,
    res: ServerResponse,
    api: string,
    query: URLSearchParams,
    then: (appId: string, body: JsonObject) => void,
  ): Promise<void> {
    const family = await this.authorise(req, res, api, query);
    if (family === null) return;
    const body = await readJson(req);
    if (!body) return sendJson(res, 200, { errcode: 47001, errmsg: 'data format error' });
    then(appIdOf(family), body);
  }

  private customSend(res: ServerResponse, api: string, appId: string, body: JsonObject): void {
    const msgtype = String(body.msgtype ?? '');
    if (typeof body.touser !== 'string' || !body.touser) return sendJson(res, 200, { errcode: 40003, errmsg: 'invalid openid' });
    if (!CUSTOM_TYPES.includes(msgtype) || !isObject(body[msgtype])) return sendJson(res, 200, { errcode: 47001, errmsg: 'data format error' });
    // Since October 2018 customer-service news carries a single article.
    if (msgtype === 'news' && articleCount(body.news) > 1) return sendJson(res, 200, { errcode: 45008, errmsg: 'article size out of limit' });
    this.record({ api, account: appId, body, at: this.now() });
    sendJson(res, 200, { errcode: 0, errmsg: 'ok' });
  }

  private templateSend(res: ServerResponse, api: string, appId: string, body: JsonObject): void {
    if (typeof body.touser !== 'string' || !body.touser) return sendJson(res, 200, { errcode: 40003, errmsg: 'invalid openid' });
    if (typeof body.template_id !== 'string' || !body.template_id) return sendJson(res, 200, { errcode: 40037, errmsg: 'invalid template_id' });
    if (!isObject(body.data)) return sendJson(res, 200, { errcode: 47001, errmsg: 'data format error' });
    this.record({ api, account: appId, body, at: this.now() });
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', msgid: this.nextMsgId++ });
  }

  private async upload(req: IncomingMessage, res: ServerResponse, api: string, query: URLSearchParams): Promise<void> {
    const family = await this.authorise(req, res, api, query);
    if (family === null) return;
    const type = query.get('type') ?? '';
    const file = await this.receiveMedia(req, res, type, MEDIA_LIMITS);
    if (!file) return;
    const mediaId = newMediaId();
    this.media.push({ mediaId, type, filename: file.filename, size: file.data.length, account: appIdOf(family) });
    sendJson(res, 200, { type, media_id: mediaId, created_at: Math.floor(this.now() / 1000) });
  }
}

function articleCount(news: unknown): number {
  return isObject(news) && Array.isArray(news.articles) ? news.articles.length : 0;
}

/** Token families are "stable:<AppID>" and "classic:<AppID>". */
function appIdOf(family: string): string {
  return family.slice(family.indexOf(':') + 1);
}
