/**
 * Passive replies: what a flow puts on msg.payload for wechat-reply, validated and
 * turned into the reply XML of the platform. The same ReplyPayload is what the send
 * path turns into an active message when a reply misses the deadline.
 */
import type { AccountKind } from './callback';
import { XmlInputObject, buildXml } from './xml';

export interface Article {
  title: string;
  description?: string;
  picUrl?: string;
  url?: string;
}

export type ReplyPayload =
  | string
  | { type: 'text'; content: string }
  | { type: 'image'; mediaId: string }
  | { type: 'voice'; mediaId: string }
  | { type: 'video'; mediaId: string; title?: string; description?: string }
  | { type: 'music'; title?: string; description?: string; musicUrl?: string; hqMusicUrl?: string; thumbMediaId: string }
  | { type: 'news'; articles: Article[] }
  | { type: 'transfer_customer_service'; kfAccount?: string };

export type NormalizedReply = Exclude<ReplyPayload, string>;

export class ReplyFormatError extends Error {
  constructor(
    message: string,
    /** Names the text of nodes/shared/locales/…/lib.json that says this in the runtime's language. */
    readonly code = 'reply_format',
    readonly params: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'ReplyFormatError';
  }
}

const OFFICIAL_TYPES = ['text', 'image', 'voice', 'video', 'music', 'news', 'transfer_customer_service'];
const WECOM_TYPES = ['text', 'image', 'voice', 'video', 'news'];
const WECOM_TEXT_LIMIT = 2048;
const MAX_ARTICLES = 8;

/** Checks a flow's payload and returns it in object form; throws ReplyFormatError saying what is wrong. */
export function normalizeReply(payload: unknown, kind: AccountKind): NormalizedReply {
  if (typeof payload === 'string') return checkText(payload, kind);
  if (typeof payload === 'number' || typeof payload === 'boolean') return checkText(String(payload), kind);
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ReplyFormatError('msg.payload must be a string (a text reply) or an object with a "type"', 'reply_payload');
  }
  const p = payload as Record<string, unknown>;
  const type = p.type;
  const allowed = kind === 'official' ? OFFICIAL_TYPES : WECOM_TYPES;
  if (typeof type !== 'string' || !allowed.includes(type)) {
    throw new ReplyFormatError(`reply type must be one of ${allowed.join(', ')} for ${kind === 'official' ? 'an Official Account' : 'WeCom'}`, `reply_type_${kind}`, { types: allowed.join(', ') });
  }
  switch (type) {
    case 'text':
      return checkText(requireString(p, 'content'), kind);
    case 'image':
    case 'voice':
      return { type, mediaId: requireString(p, 'mediaId') };
    case 'video':
      return { type, mediaId: requireString(p, 'mediaId'), title: optionalString(p, 'title'), description: optionalString(p, 'description') };
    case 'music':
      return {
        type,
        thumbMediaId: requireString(p, 'thumbMediaId'),
        title: optionalString(p, 'title'),
        description: optionalString(p, 'description'),
        musicUrl: optionalString(p, 'musicUrl'),
        hqMusicUrl: optionalString(p, 'hqMusicUrl'),
      };
    case 'news':
      return { type, articles: checkArticles(p.articles) };
    default:
      return { type: 'transfer_customer_service', kfAccount: optionalString(p, 'kfAccount') };
  }
}

function checkText(content: string, kind: AccountKind): NormalizedReply {
  if (kind === 'wecom' && Buffer.byteLength(content) > WECOM_TEXT_LIMIT) {
    throw new ReplyFormatError(`WeCom text replies are limited to ${WECOM_TEXT_LIMIT} bytes`, 'reply_wecom_text', { limit: WECOM_TEXT_LIMIT });
  }
  return { type: 'text', content };
}

function requireString(p: Record<string, unknown>, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || v === '') throw new ReplyFormatError(`reply field "${name}" must be a non-empty string`, 'reply_non_empty', { name });
  return v;
}

function optionalString(p: Record<string, unknown>, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ReplyFormatError(`reply field "${name}" must be a string`, 'reply_string', { name });
  return v;
}

function checkArticles(value: unknown): Article[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_ARTICLES) {
    throw new ReplyFormatError(`news replies need 1 to ${MAX_ARTICLES} articles`, 'reply_articles', { max: MAX_ARTICLES });
  }
  return value.map((a, i) => {
    if (!a || typeof a !== 'object') throw new ReplyFormatError(`article ${i + 1} must be an object`, 'reply_article', { n: i + 1 });
    const article = a as Record<string, unknown>;
    return {
      title: requireString(article, 'title'),
      description: optionalString(article, 'description'),
      picUrl: optionalString(article, 'picUrl'),
      url: optionalString(article, 'url'),
    };
  });
}

/** The reply XML: addressed to the sender, from the account, time in seconds. */
export function replyXml(reply: NormalizedReply, toUser: string, fromAccount: string, now: number = Date.now()): string {
  const head: XmlInputObject = {
    ToUserName: toUser,
    FromUserName: fromAccount,
    CreateTime: Math.floor(now / 1000),
    MsgType: reply.type,
  };
  return buildXml({ ...head, ...replyBody(reply) });
}

function replyBody(reply: NormalizedReply): XmlInputObject {
  switch (reply.type) {
    case 'text':
      return { Content: reply.content };
    case 'image':
      return { Image: { MediaId: reply.mediaId } };
    case 'voice':
      return { Voice: { MediaId: reply.mediaId } };
    case 'video':
      return { Video: { MediaId: reply.mediaId, Title: reply.title, Description: reply.description } };
    case 'music':
      return {
        Music: {
          Title: reply.title,
          Description: reply.description,
          MusicUrl: reply.musicUrl,
          HQMusicUrl: reply.hqMusicUrl,
          ThumbMediaId: reply.thumbMediaId,
        },
      };
    case 'news':
      return {
        ArticleCount: reply.articles.length,
        Articles: {
          item: reply.articles.map((a) => ({ Title: a.title, Description: a.description, PicUrl: a.picUrl, Url: a.url })),
        },
      };
    case 'transfer_customer_service':
      return reply.kfAccount ? { TransInfo: { KfAccount: reply.kfAccount } } : {};
  }
}
