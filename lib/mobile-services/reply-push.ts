/**
 * A passive reply that missed its deadline, as a Micro App push. Mobile Services was
 * already answered "no reply", so the reply can only reach the user as a push to them.
 * Text and news carry over (the push's content mirrors WeCom's message/send). Image,
 * voice and video replies name a WeCom media_id, which a Micro App push cannot carry (it
 * sends files inline and uploads them itself), and music and transfers have no push at
 * all: those are refused before anything is sent.
 */
import type { NormalizedReply } from '../wechat/replies';
import { inputError } from './errors';
import { JsonObject, checkedContent, textContent } from './micro-app';

/** The Micro App content `{msgtype, <msgtype>: {…}}` of a reply; throws ms_reply_type for what no push can carry. */
export function replyPushContent(reply: NormalizedReply): JsonObject {
  if (reply.type === 'text') return textContent(reply.content);
  if (reply.type === 'news') {
    const articles = reply.articles.map((a) => withoutUndefined({ title: a.title, description: a.description, url: a.url, picurl: a.picUrl }));
    return checkedContent({ msgtype: 'news', news: { articles } });
  }
  throw inputError('ms_reply_type', `${reply.type} replies cannot be sent as a Mobile Services push; only text and news replies can`, { type: reply.type });
}

function withoutUndefined(fields: Record<string, string | undefined>): JsonObject {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
