/**
 * Stand-in for the WeCom API (qyapi.weixin.qq.com), mounted at /wecom: gettoken (one
 * token per app secret, the same one while valid), message/send with per-recipient
 * validity (ids starting with "invalid" are unknown: partly invalid recipients are
 * reported, all invalid answers 81013), duplicate checks, and media upload with the
 * platform's size limits. Every delivered message is recorded; faults can be injected. The sandbox-only
 * GET /_sandbox/messages lists them (see PlatformApiStandIn.control).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { sendJson } from '../lib/http/body';
import { DEMO_WECOM_APP } from './demo-accounts';
import { JsonObject, PlatformApiStandIn, isObject, newMediaId, readJson } from './platform-api';
import type { StandIn } from './server';

export interface WeComApp {
  corpId: string;
  agentId: string;
  corpSecret: string;
}

export interface WeComApiOptions {
  apps?: WeComApp[];
  tokenLifetimeSeconds?: number;
  now?: () => number;
}

const MSG_TYPES = ['text', 'image', 'voice', 'video', 'file', 'textcard', 'news', 'mpnews', 'markdown', 'miniprogram_notice', 'template_card'];
const INTERACTIVE_CARDS = ['button_interaction', 'vote_interaction', 'multiple_interaction'];
const MEDIA_LIMITS: Record<string, number> = { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, file: 20 * 1024 * 1024 };

export class WeComApiStandIn extends PlatformApiStandIn implements StandIn {
  readonly prefix = '/wecom';
  /** gettoken requests answered, successful or not. */
  tokenRequestCount = 0;
  /** Sends dropped by enable_duplicate_check. */
  duplicatesSuppressed = 0;
  private readonly apps: WeComApp[];
  private readonly lifetime: number;
  private readonly recentContent = new Map<string, number>();
  private nextMsgId = 1;

  constructor(options: WeComApiOptions = {}) {
    super(options.now);
    this.apps = options.apps ?? [{ corpId: DEMO_WECOM_APP.corpId, agentId: DEMO_WECOM_APP.agentId, corpSecret: DEMO_WECOM_APP.corpSecret }];
    this.lifetime = options.tokenLifetimeSeconds ?? 7200;
  }

  override reset(): void {
    super.reset();
    this.tokenRequestCount = 0;
    this.duplicatesSuppressed = 0;
    this.recentContent.clear();
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path.startsWith('/_sandbox/')) return this.control(req, res, path, query);
    const api = path.replace(/^\/cgi-bin\//, '');
    if (api === 'gettoken' && req.method === 'GET') return this.getToken(res, api, query);
    if (req.method === 'POST' && api === 'message/send') return this.send(req, res, api, query);
    if (req.method === 'POST' && api === 'media/upload') return this.upload(req, res, api, query);
    this.notFound(res, path);
  }

  private async getToken(res: ServerResponse, api: string, query: URLSearchParams): Promise<void> {
    this.tokenRequestCount++;
    if (await this.faults.apply(api, res)) return;
    const corpId = query.get('corpid') ?? '';
    if (!this.apps.some((a) => a.corpId === corpId)) return sendJson(res, 200, { errcode: 40013, errmsg: 'invalid corpid' });
    const app = this.apps.find((a) => a.corpId === corpId && a.corpSecret === query.get('corpsecret'));
    if (!app) return sendJson(res, 200, { errcode: 40001, errmsg: 'invalid credential' });
    const family = `${app.corpId}:${app.agentId}`;
    // One token per app secret: a fetch while it is valid returns it again.
    const issued = this.tokens.valid(family) ?? this.tokens.issue(family, this.lifetime, 0);
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', access_token: issued.token, expires_in: issued.expiresIn });
  }

  /** Fault, then token; resolves the app the token belongs to. */
  private async authoriseApp(req: IncomingMessage, res: ServerResponse, api: string, query: URLSearchParams): Promise<WeComApp | null> {
    const family = await this.authorise(req, res, api, query);
    if (family === null) return null;
    const app = this.apps.find((a) => `${a.corpId}:${a.agentId}` === family);
    if (app) return app;
    // A token of an app that is no longer configured: answer as WeCom does for a stale token.
    req.resume();
    sendJson(res, 200, { errcode: 40014, errmsg: 'invalid access_token' });
    return null;
  }

  private async send(req: IncomingMessage, res: ServerResponse, api: string, query: URLSearchParams): Promise<void> {
    const app = await this.authoriseApp(req, res, api, query);
    if (!app) return;
    const body = await readJson(req);
    if (!body) return sendJson(res, 200, { errcode: 47001, errmsg: 'data format error' });
    if (String(body.agentid) !== app.agentId) return sendJson(res, 200, { errcode: 40056, errmsg: 'invalid agentid' });
    const msgtype = String(body.msgtype ?? '');
    if (!MSG_TYPES.includes(msgtype) || !isObject(body[msgtype])) return sendJson(res, 200, { errcode: 40008, errmsg: 'invalid message type' });

    const users = splitIds(body.touser);
    const parties = splitIds(body.toparty);
    const tags = splitIds(body.totag);
    if (!users.length && !parties.length && !tags.length) return sendJson(res, 200, { errcode: 40035, errmsg: 'invalid parameter: no recipient' });
    const invalid = (ids: string[]) => ids.filter((id) => id.toLowerCase().startsWith('invalid')).map((id) => id.toLowerCase());
    const bad = { users: invalid(users), parties: invalid(parties), tags: invalid(tags) };
    if (bad.users.length + bad.parties.length + bad.tags.length === users.length + parties.length + tags.length) {
      return sendJson(res, 200, { errcode: 81013, errmsg: 'user & party & tag all invalid' });
    }
    if (this.isDuplicate(app, body)) {
      this.duplicatesSuppressed++;
    } else {
      this.record({ api, account: `${app.corpId}/${app.agentId}`, body, at: this.now() });
    }
    const answer: JsonObject = {
      errcode: 0,
      errmsg: 'ok',
      invaliduser: bad.users.join('|'),
      invalidparty: bad.parties.join('|'),
      invalidtag: bad.tags.join('|'),
      unlicenseduser: '',
      msgid: `sbx_msg_${this.nextMsgId++}`,
    };
    if (msgtype === 'template_card' && isObject(body.template_card) && INTERACTIVE_CARDS.includes(String(body.template_card.card_type))) {
      answer.response_code = `sbx_rc_${this.nextMsgId}`;
    }
    sendJson(res, 200, answer);
  }

  /** enable_duplicate_check: the same content to the same recipients within the interval is not sent again. */
  private isDuplicate(app: WeComApp, body: JsonObject): boolean {
    if (body.enable_duplicate_check !== 1) return false;
    const interval = typeof body.duplicate_check_interval === 'number' ? body.duplicate_check_interval : 1800;
    const key = createHash('sha1')
      .update(JSON.stringify([app.corpId, app.agentId, body.touser, body.toparty, body.totag, body.msgtype, body[String(body.msgtype)]]))
      .digest('hex');
    const last = this.recentContent.get(key);
    const now = this.now();
    if (last !== undefined && now - last < interval * 1000) return true;
    this.recentContent.set(key, now);
    return false;
  }

  private async upload(req: IncomingMessage, res: ServerResponse, api: string, query: URLSearchParams): Promise<void> {
    const app = await this.authoriseApp(req, res, api, query);
    if (!app) return;
    const type = query.get('type') ?? '';
    // WeCom refuses files of 5 bytes or less.
    const file = await this.receiveMedia(req, res, type, MEDIA_LIMITS, 5);
    if (!file) return;
    const mediaId = newMediaId();
    this.media.push({ mediaId, type, filename: file.filename, size: file.data.length, account: `${app.corpId}/${app.agentId}` });
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', type, media_id: mediaId, created_at: String(Math.floor(this.now() / 1000)) });
  }
}

function splitIds(value: unknown): string[] {
  if (typeof value !== 'string' && typeof value !== 'number') return [];
  return String(value)
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
}
