/**
 * Active (outbound) message bodies: OA customer-service and template messages, WeCom
 * app messages. Bodies are validated before any request, so a flow learns what is
 * wrong with its payload without spending quota; limits are those of the reference.
 */
import type { AccountKind } from './callback';
import { MessageFormatError } from './api-errors';
import type { NormalizedReply } from './replies';

export type JsonObject = Record<string, unknown>;

const OFFICIAL_CUSTOM_TYPES = ['text', 'image', 'voice', 'video', 'music', 'news', 'mpnews', 'msgmenu', 'miniprogrampage'] as const;
const WECOM_APP_TYPES = [
  'text',
  'image',
  'voice',
  'video',
  'file',
  'textcard',
  'news',
  'mpnews',
  'markdown',
  'miniprogram_notice',
  'template_card',
] as const;
const WECOM_CARD_TYPES = ['text_notice', 'news_notice', 'button_interaction', 'vote_interaction', 'multiple_interaction'];

/** Which API a body goes to: OA customer service, OA template, WeCom app message. */
export type MessageApi = 'custom' | 'template' | 'app';

export interface OutboundMessage {
  api: MessageApi;
  body: JsonObject;
}

/** Recipient and option defaults a node fills in when the body leaves them out. */
export interface MessageDefaults {
  touser?: string | string[];
  toparty?: string | string[];
  totag?: string | string[];
  /** WeCom: the app's AgentID. */
  agentId?: string | number;
  safe?: boolean;
  enableIdTrans?: boolean;
  enableDuplicateCheck?: boolean;
  duplicateCheckInterval?: number;
}

const WECOM_CONTENT_LIMIT = 2048;
const MAX_ARTICLES = 8;
const MAX_USERS = 1000;
const MAX_PARTIES_OR_TAGS = 100;
const MAX_DUPLICATE_CHECK_INTERVAL = 4 * 3600;

export function textBody(content: string): JsonObject {
  return { msgtype: 'text', text: { content } };
}

/**
 * Turns a flow's payload into a validated body for `kind`. A body with `template_id`
 * is an OA template message; otherwise a customer-service (OA) or app (WeCom) message.
 */
export function prepareMessage(kind: AccountKind, payload: unknown, defaults: MessageDefaults = {}): OutboundMessage {
  if (!isObject(payload)) throw new MessageFormatError('the message body must be an object', 'body_object');
  if (kind === 'official') {
    const body = { ...payload };
    // One OpenID per customer-service or template message.
    if (body.touser === undefined && typeof defaults.touser === 'string') body.touser = defaults.touser.trim();
    if (body.template_id !== undefined) return { api: 'template', body: validateTemplateMessage(body) };
    return { api: 'custom', body: validateCustomMessage(body) };
  }
  const body = { ...payload };
  const noRecipient = body.touser === undefined && body.toparty === undefined && body.totag === undefined;
  if (noRecipient) {
    if (defaults.touser !== undefined && defaults.touser !== '') body.touser = defaults.touser;
    if (defaults.toparty !== undefined && defaults.toparty !== '') body.toparty = defaults.toparty;
    if (defaults.totag !== undefined && defaults.totag !== '') body.totag = defaults.totag;
  }
  body.agentid ??= defaults.agentId;
  if (body.safe === undefined && defaults.safe) body.safe = 1;
  if (body.enable_id_trans === undefined && defaults.enableIdTrans) body.enable_id_trans = 1;
  if (body.enable_duplicate_check === undefined && defaults.enableDuplicateCheck) {
    body.enable_duplicate_check = 1;
    if (body.duplicate_check_interval === undefined && defaults.duplicateCheckInterval) {
      body.duplicate_check_interval = defaults.duplicateCheckInterval;
    }
  }
  return { api: 'app', body: validateAppMessage(body) };
}

/** OA customer-service message: {touser, msgtype, <msgtype>: {...}, customservice?}. */
export function validateCustomMessage(input: JsonObject): JsonObject {
  const touser = requireString(input, 'touser', 'body');
  const msgtype = oneOf(input.msgtype, OFFICIAL_CUSTOM_TYPES, 'msgtype', { words: 'for an Official Account customer-service message', code: 'custom' });
  const content = requireObject(input, msgtype, 'body');
  const path = msgtype;
  switch (msgtype) {
    case 'text':
      requireString(content, 'content', path);
      break;
    case 'image':
    case 'voice':
    case 'mpnews':
      checkMediaContent(content, path);
      break;
    case 'video':
      checkMediaContent(content, path, ['thumb_media_id', 'title', 'description']);
      break;
    case 'music':
      requireString(content, 'thumb_media_id', path);
      optionalStrings(content, ['title', 'description', 'musicurl', 'hqmusicurl'], path);
      break;
    case 'news':
      // Customer-service news carries one article; WeChat answers 45008 for more.
      checkArticles(content, path, (a, p) => {
        requireString(a, 'title', p);
        optionalStrings(a, ['description', 'url', 'picurl'], p);
      }, 1);
      break;
    case 'msgmenu':
      checkMenu(content, path);
      break;
    case 'miniprogrampage':
      for (const f of ['title', 'appid', 'pagepath', 'thumb_media_id']) requireString(content, f, path);
      break;
  }
  if (input.customservice !== undefined) requireString(requireObject(input, 'customservice', 'body'), 'kf_account', 'customservice');
  return { ...input, touser, msgtype };
}

/** OA template message: {touser, template_id, data: {key: {value}}, url?, miniprogram?, client_msg_id?}. */
function validateTemplateMessage(input: JsonObject): JsonObject {
  requireString(input, 'touser', 'body');
  requireString(input, 'template_id', 'body');
  const data = requireObject(input, 'data', 'body');
  for (const [key, entry] of Object.entries(data)) {
    if (!isObject(entry) || (typeof entry.value !== 'string' && typeof entry.value !== 'number')) {
      throw new MessageFormatError(`data.${key} must be an object with a "value"`, 'template_value', { key });
    }
  }
  optionalStrings(input, ['url', 'client_msg_id'], 'body');
  if (input.miniprogram !== undefined) {
    const mp = requireObject(input, 'miniprogram', 'body');
    requireString(mp, 'appid', 'miniprogram');
    optionalStrings(mp, ['pagepath'], 'miniprogram');
  }
  return { ...input };
}

/** WeCom app message: recipients, agentid, msgtype and its content, options. */
export function validateAppMessage(input: JsonObject): JsonObject {
  const body: JsonObject = { ...input };
  checkRecipients(body);
  body.agentid = agentIdOf(body.agentid);
  const msgtype = oneOf(body.msgtype, WECOM_APP_TYPES, 'msgtype', { words: 'for a WeCom app message', code: 'app' });
  checkAppContent(msgtype, requireObject(body, msgtype, 'body'));
  for (const flag of ['safe', 'enable_id_trans', 'enable_duplicate_check']) {
    if (body[flag] === undefined) continue;
    const v = body[flag];
    if (v !== 0 && v !== 1 && v !== true && v !== false) throw new MessageFormatError(`${flag} must be 0 or 1`, 'flag', { flag });
    body[flag] = v === true || v === 1 ? 1 : 0;
  }
  if (body.duplicate_check_interval !== undefined) {
    const interval = body.duplicate_check_interval;
    if (!Number.isInteger(interval) || (interval as number) < 1 || (interval as number) > MAX_DUPLICATE_CHECK_INTERVAL) {
      throw new MessageFormatError(`duplicate_check_interval must be whole seconds from 1 to ${MAX_DUPLICATE_CHECK_INTERVAL}`, 'duplicate_interval', { max: MAX_DUPLICATE_CHECK_INTERVAL });
    }
  }
  return body;
}

function checkRecipients(body: JsonObject): void {
  const limits: [string, number][] = [
    ['touser', MAX_USERS],
    ['toparty', MAX_PARTIES_OR_TAGS],
    ['totag', MAX_PARTIES_OR_TAGS],
  ];
  let any = false;
  for (const [field, limit] of limits) {
    if (body[field] === undefined || body[field] === '') {
      delete body[field];
      continue;
    }
    const joined = joinIds(body[field], field);
    const count = joined === '@all' ? 1 : joined.split('|').length;
    if (count > limit) throw new MessageFormatError(`${field} lists ${count} ids; at most ${limit} are allowed`, 'too_many_ids', { field, count, limit });
    body[field] = joined;
    any = true;
  }
  if (!any) throw new MessageFormatError('a WeCom app message needs at least one of touser, toparty or totag', 'no_recipient');
}

function checkAppContent(msgtype: (typeof WECOM_APP_TYPES)[number], content: JsonObject): void {
  const path = msgtype;
  switch (msgtype) {
    case 'text':
    case 'markdown':
      maxBytes(requireString(content, 'content', path), WECOM_CONTENT_LIMIT, `${path}.content`);
      break;
    case 'image':
    case 'voice':
    case 'file':
      checkMediaContent(content, path);
      break;
    case 'video':
      checkMediaContent(content, path, ['title', 'description']);
      break;
    case 'textcard':
      maxBytes(requireString(content, 'title', path), 128, `${path}.title`);
      maxBytes(requireString(content, 'description', path), 512, `${path}.description`);
      requireString(content, 'url', path);
      optionalStrings(content, ['btntxt'], path);
      break;
    case 'news':
      checkArticles(content, path, (a, p) => {
        maxBytes(requireString(a, 'title', p), 128, `${p}.title`);
        const description = optionalStrings(a, ['description', 'url', 'picurl', 'appid', 'pagepath'], p).description;
        if (description !== undefined) maxBytes(description, 512, `${p}.description`);
        if (a.url === undefined && (a.appid === undefined || a.pagepath === undefined)) {
          throw new MessageFormatError(`${p} needs a url, or appid and pagepath`, 'link_target', { path: p });
        }
      });
      break;
    case 'mpnews':
      checkArticles(content, path, (a, p) => {
        for (const f of ['title', 'thumb_media_id', 'content']) requireString(a, f, p);
        optionalStrings(a, ['author', 'content_source_url', 'digest'], p);
      });
      break;
    case 'miniprogram_notice':
      requireString(content, 'appid', path);
      requireString(content, 'title', path);
      optionalStrings(content, ['page', 'description'], path);
      if (content.content_item !== undefined && !Array.isArray(content.content_item)) {
        throw new MessageFormatError('miniprogram_notice.content_item must be an array', 'must_be_array', { path: 'miniprogram_notice.content_item' });
      }
      break;
    case 'template_card':
      checkTemplateCard(content);
      break;
  }
}

/**
 * The fields each card type cannot do without (path/90236): notices need the card's
 * click action; interactive cards need the task_id their callbacks and updates refer
 * to, and their buttons, options or selectors.
 */
function checkTemplateCard(card: JsonObject): void {
  const path = 'template_card';
  const type = oneOf(card.card_type, WECOM_CARD_TYPES, `${path}.card_type`);
  if (card.main_title !== undefined) requireObject(card, 'main_title', path);
  if (type === 'text_notice' || type === 'news_notice') {
    requireObject(card, 'card_action', path);
    return;
  }
  maxBytes(requireString(card, 'task_id', path), 128, `${path}.task_id`);
  if (type === 'button_interaction') checkList(card.button_list, `${path}.button_list`, 6);
  if (type === 'vote_interaction') requireObject(card, 'checkbox', path);
  if (type === 'multiple_interaction') checkList(card.select_list, `${path}.select_list`, 3);
  if (type !== 'button_interaction') requireObject(card, 'submit_button', path);
}

function checkList(value: unknown, path: string, max: number): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > max) throw new MessageFormatError(`${path} must hold 1 to ${max} entries`, 'entries', { path, max });
  value.forEach((entry, i) => {
    if (!isObject(entry)) throw new MessageFormatError(`${path}[${i}] must be an object`, 'must_be_object', { path: `${path}[${i}]` });
  });
}

function checkArticles(content: JsonObject, path: string, check: (a: JsonObject, p: string) => void, max = MAX_ARTICLES): void {
  const articles = content.articles;
  if (!Array.isArray(articles) || articles.length < 1 || articles.length > max) {
    throw max === 1
      ? new MessageFormatError(`${path}.articles must hold exactly 1 article`, 'one_article', { path })
      : new MessageFormatError(`${path}.articles must hold 1 to ${max} articles`, 'articles', { path, max });
  }
  articles.forEach((a, i) => {
    const p = `${path}.articles[${i}]`;
    if (!isObject(a)) throw new MessageFormatError(`${p} must be an object`, 'must_be_object', { path: p });
    check(a, p);
  });
}

/** Content that refers to uploaded media: a media_id and, for video, optional texts. */
function checkMediaContent(content: JsonObject, path: string, optional: string[] = []): void {
  requireString(content, 'media_id', path);
  optionalStrings(content, optional, path);
}

function checkMenu(content: JsonObject, path: string): void {
  optionalStrings(content, ['head_content', 'tail_content'], path);
  const list = content.list;
  if (!Array.isArray(list) || list.length === 0) throw new MessageFormatError(`${path}.list must be a non-empty array`, 'non_empty_list', { path: `${path}.list` });
  list.forEach((item, i) => {
    const p = `${path}.list[${i}]`;
    if (!isObject(item)) throw new MessageFormatError(`${p} must be an object`, 'must_be_object', { path: p });
    requireString(item, 'id', p);
    requireString(item, 'content', p);
  });
}

/**
 * The active message that carries a passive reply: used when a reply missed the
 * platform's 5-second deadline, so the user still gets the answer.
 */
export function replyToActiveMessage(reply: NormalizedReply, kind: AccountKind, toUser: string, agentId?: string | number): OutboundMessage {
  const body = activeContent(reply);
  if (kind === 'official') return { api: 'custom', body: validateCustomMessage({ touser: toUser, ...body }) };
  return { api: 'app', body: validateAppMessage({ touser: toUser, agentid: agentId, ...body }) };
}

/** The msgtype and content part of the active message for a reply, without recipients. */
export function activeContent(reply: NormalizedReply): JsonObject {
  switch (reply.type) {
    case 'text':
      return textBody(reply.content);
    case 'image':
    case 'voice':
      return { msgtype: reply.type, [reply.type]: { media_id: reply.mediaId } };
    case 'video':
      return { msgtype: 'video', video: dropUndefined({ media_id: reply.mediaId, title: reply.title, description: reply.description }) };
    case 'music':
      return {
        msgtype: 'music',
        music: dropUndefined({
          title: reply.title,
          description: reply.description,
          musicurl: reply.musicUrl,
          hqmusicurl: reply.hqMusicUrl,
          thumb_media_id: reply.thumbMediaId,
        }),
      };
    case 'news':
      return {
        msgtype: 'news',
        news: {
          articles: reply.articles.map((a) => dropUndefined({ title: a.title, description: a.description, url: a.url, picurl: a.picUrl })),
        },
      };
    case 'transfer_customer_service':
      throw new MessageFormatError('a transfer to customer service exists only as a passive reply; it cannot be sent as an active message', 'transfer_passive');
  }
}

/** Upload limits in bytes per media type, checked before anything is sent. */
const MEDIA_LIMITS: Readonly<Record<AccountKind, Readonly<Record<string, number>>>> = {
  official: { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, thumb: 64 * 1024 },
  wecom: { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, file: 20 * 1024 * 1024 },
};
/** WeCom refuses files of 5 bytes or less. */
const MIN_MEDIA_BYTES = 6;

export function checkMedia(kind: AccountKind, type: string, data: Buffer): void {
  const limits = MEDIA_LIMITS[kind];
  const limit = limits[type];
  if (limit === undefined) {
    throw new MessageFormatError(`media type must be one of ${Object.keys(limits).join(', ')} for ${kind === 'official' ? 'an Official Account' : 'WeCom'}`, `media_type_${kind}`, { types: Object.keys(limits).join(', ') });
  }
  if (data.length < MIN_MEDIA_BYTES) throw new MessageFormatError(`the ${type} is ${data.length} bytes; media must be larger than 5 bytes`, 'media_too_small', { type, size: data.length });
  if (data.length > limit) throw new MessageFormatError(`the ${type} is ${data.length} bytes; the ${type} limit is ${limit} bytes`, 'media_too_large', { type, size: data.length, limit });
}

/** What a Buffer payload can be sent as; an OA 'thumb' is only ever part of another message. */
const SENDABLE_MEDIA_TYPES: Readonly<Record<AccountKind, readonly string[]>> = {
  official: ['image', 'voice', 'video'],
  wecom: ['image', 'voice', 'video', 'file'],
};

export interface MediaExtras {
  title?: string;
  description?: string;
  thumbMediaId?: string;
}

/**
 * Checks a media message completely before its upload: the type can be sent, the size
 * is within the limit, and the message around it (recipients, agentid, options) is
 * valid. Upload quota is never spent on a message that could not be sent. Returns the
 * message for the media_id the upload yields.
 */
export function prepareMediaMessage(
  kind: AccountKind,
  type: string,
  data: Buffer,
  defaults: MessageDefaults,
  extras: MediaExtras = {},
): (mediaId: string) => OutboundMessage {
  const sendable = SENDABLE_MEDIA_TYPES[kind];
  if (!sendable.includes(type)) {
    throw new MessageFormatError(`a Buffer payload is sent as ${sendable.join(', ')} ${kind === 'official' ? 'by an Official Account' : 'by WeCom'}, not as "${type}"`, `buffer_type_${kind}`, { types: sendable.join(', '), type });
  }
  checkMedia(kind, type, data);
  prepareMessage(kind, mediaBody(type, 'media-id-after-upload', extras), defaults);
  return (mediaId) => prepareMessage(kind, mediaBody(type, mediaId, extras), defaults);
}

/** The message content that sends an uploaded media item. */
export function mediaBody(type: string, mediaId: string, extra: MediaExtras = {}): JsonObject {
  if (type === 'video') {
    return {
      msgtype: 'video',
      video: dropUndefined({ media_id: mediaId, thumb_media_id: extra.thumbMediaId, title: extra.title, description: extra.description }),
    };
  }
  return { msgtype: type, [type]: { media_id: mediaId } };
}

// ---- small checks -------------------------------------------------------------

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function requireString(obj: JsonObject, field: string, path: string): string {
  const v = obj[field];
  if (typeof v !== 'string' || v === '') throw new MessageFormatError(`${path}.${field} must be a non-empty string`, 'non_empty_string', { path: `${path}.${field}` });
  return v;
}

function optionalStrings(obj: JsonObject, fields: string[], path: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const field of fields) {
    const v = obj[field];
    if (v !== undefined && typeof v !== 'string') throw new MessageFormatError(`${path}.${field} must be a string`, 'must_be_string', { path: `${path}.${field}` });
    out[field] = v;
  }
  return out;
}

function requireObject(obj: JsonObject, field: string, path: string): JsonObject {
  const v = obj[field];
  if (!isObject(v)) throw new MessageFormatError(`${path}.${field} must be an object`, 'must_be_object', { path: `${path}.${field}` });
  return v;
}

/** `context` names where the field sits, in words and as the suffix of the error's code. */
function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, context?: { words: string; code: string }): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    const words = context ? ' ' + context.words : '';
    throw new MessageFormatError(`${field} must be one of ${allowed.join(', ')}${words}`, context ? `one_of_${context.code}` : 'one_of', { field, types: allowed.join(', ') });
  }
  return value as T;
}

function maxBytes(value: string, limit: number, field: string): void {
  const size = Buffer.byteLength(value);
  if (size > limit) throw new MessageFormatError(`${field} is ${size} bytes; the limit is ${limit}`, 'field_too_large', { field, size, limit });
}

function joinIds(value: unknown, field: string): string {
  const ids = Array.isArray(value) ? value : typeof value === 'number' ? [value] : typeof value === 'string' ? value.split('|') : null;
  if (!ids) throw new MessageFormatError(`${field} must be a string, a '|'-separated list or an array`, 'ids_format', { field });
  const clean = ids.map((id) => String(id).trim()).filter((id) => id !== '');
  if (clean.length === 0) throw new MessageFormatError(`${field} is empty`, 'ids_empty', { field });
  return clean.join('|');
}

function agentIdOf(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new MessageFormatError('agentid must be the app\'s numeric AgentID', 'agentid');
  return n;
}

function dropUndefined(obj: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
