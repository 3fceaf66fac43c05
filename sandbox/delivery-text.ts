/**
 * What reached a person, in a few words for the terminal: a Mobile Services push (its
 * Micro App message, or a generic notification's alert) or an active message through
 * the WeChat or WeCom API (customer-service, template or app message).
 */
import { JsonObject, isObject } from './platform-api';

export interface DeliveryText {
  msgtype: string;
  /** The text, or the title and description, the file name…; on one line. */
  text: string;
}

/** A push body as the Mobile Services stand-in recorded it. */
export function pushText(body: JsonObject): DeliveryText {
  const notification = isObject(body.notification) ? body.notification : {};
  if (isObject(notification.wechat)) return contentText(notification.wechat);
  return { msgtype: 'notification', text: oneLine(textOf(notification.alert)) };
}

/** A text card as a phone shows it: the title, the description's parts (one per <div>), the link and its button. */
export interface TextCard {
  title: string;
  lines: string[];
  url: string;
  button: string;
}

/** The text card a push or an API message carries (a push's is in notification.wechat); null for any other message. */
export function textCardOf(body: JsonObject): TextCard | null {
  const notification = isObject(body.notification) ? body.notification : undefined;
  const message = notification && isObject(notification.wechat) ? notification.wechat : body;
  if (message.msgtype !== 'textcard' || !isObject(message.textcard)) return null;
  const card = message.textcard;
  const lines = textOf(card.description)
    .split(/<\/div>|<br\s*\/?>/i)
    .map((part) => oneLine(withoutTags(part)))
    .filter(Boolean);
  return { title: textOf(card.title), lines, url: textOf(card.url), button: textOf(card.btntxt) };
}

/** A message/send, message/custom/send or message/template/send body. */
export function messageText(body: JsonObject): DeliveryText {
  if (typeof body.template_id === 'string') return { msgtype: 'template', text: oneLine(templateValues(body.data)) };
  return contentText(body);
}

function contentText(message: JsonObject): DeliveryText {
  const msgtype = textOf(message.msgtype);
  const content = isObject(message[msgtype]) ? (message[msgtype] as JsonObject) : {};
  return { msgtype: msgtype || '—', text: oneLine(describe(msgtype, content)) };
}

function describe(msgtype: string, content: JsonObject): string {
  switch (msgtype) {
    case 'text':
    case 'markdown':
      return textOf(content.content);
    case 'textcard':
      return [textOf(content.title), withoutTags(textOf(content.description))].filter(Boolean).join(' — ');
    case 'news':
    case 'mpnews':
      return (Array.isArray(content.articles) ? content.articles : []).map((a: unknown) => (isObject(a) ? textOf(a.title) : '')).join('; ');
    case 'template_card':
      return isObject(content.main_title) ? textOf(content.main_title.title) : '';
    default:
      // Media: the file's name (a Micro App push) or its media_id (an API message).
      return textOf(content.media_file_name) || textOf(content.media_id) || textOf(content.title) || JSON.stringify(content);
  }
}

/** A template message's data values, in order. */
function templateValues(data: unknown): string {
  if (!isObject(data)) return '';
  return Object.values(data)
    .map((field) => (isObject(field) ? textOf(field.value) : ''))
    .filter(Boolean)
    .join(' / ');
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Text cards allow a little HTML (<div class="gray">…</div>); the terminal shows its text. */
const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&amp;': '&' };

/** A text card description as a person reads it: tags dropped, then the escaped characters shown as themselves. */
function withoutTags(html: string): string {
  return html.replace(/<[^>]*>/g, ' ').replace(/&(?:lt|gt|quot|#39|amp);/g, (entity) => ENTITIES[entity]);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
