/**
 * Micro App (WeCom / WeChat) push bodies: `notification.wechat` with `createtime`, the
 * `msgtype` and its content object. Media travel inline as a data URL, which Mobile
 * Services uploads to WeCom itself, so WeCom's media limits apply and are checked here,
 * before anything is sent.
 */
import { mimeTypeOf } from '../common/mime-types';
import { inputError } from './errors';

export type JsonObject = Record<string, unknown>;

export const MICRO_APP_TYPES = ['text', 'markdown', 'textcard', 'news', 'image', 'voice', 'video', 'file'] as const;
export type MicroAppType = (typeof MICRO_APP_TYPES)[number];
export const MEDIA_TYPES = ['image', 'voice', 'video', 'file'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** WeCom's media/upload limits per type; a file must also be more than 5 bytes. */
export const MEDIA_LIMITS: Record<MediaType, number> = { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, file: 20 * 1024 * 1024 };
export const MEDIA_MIN_BYTES = 5;

/** Where `users` sits in a Micro App push; the top level (as in the v2 user push) is the likelier reading. */
export type UsersPlacement = 'top' | 'wechat';

export function isMediaType(type: string): type is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(type);
}

export function isMicroAppType(type: string): type is MicroAppType {
  return (MICRO_APP_TYPES as readonly string[]).includes(type);
}

/** The `{msgtype, <msgtype>: {media_file_encoded, media_file_name}}` content of a file, checked against WeCom's limits. */
export function mediaContent(type: string, data: Buffer, fileName: string): JsonObject {
  if (!isMediaType(type)) throw inputError('ms_media_type', `"${type}" is not a media type (image, voice, video, file)`, { type });
  const limit = MEDIA_LIMITS[type];
  if (data.length <= MEDIA_MIN_BYTES || data.length > limit) {
    throw inputError('ms_media_size', `the ${type} of ${data.length} bytes is outside ${MEDIA_MIN_BYTES + 1}..${limit} bytes`, { type, size: data.length, limit });
  }
  if (!fileName) throw inputError('ms_media_name', 'a media push needs a file name (msg.filename or the node’s file name)');
  return { msgtype: type, [type]: { media_file_encoded: `data:${mimeTypeOf(fileName)};base64,${data.toString('base64')}`, media_file_name: fileName } };
}

export function textContent(text: string): JsonObject {
  return { msgtype: 'text', text: { content: text } };
}

/** Checks that `content` is `{msgtype, <msgtype>: {...}}` of a Micro App type. */
export function checkedContent(content: unknown): JsonObject {
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw inputError('ms_payload', 'the Micro App content must be an object {msgtype, <msgtype>: {…}}');
  }
  const c = content as JsonObject;
  const msgtype = String(c.msgtype ?? '');
  if (!isMicroAppType(msgtype)) throw inputError('ms_msgtype', `msgtype "${msgtype}" is not one of ${MICRO_APP_TYPES.join(', ')}`, { msgtype });
  const body = c[msgtype];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw inputError('ms_content', `msgtype "${msgtype}" needs its content object "${msgtype}"`, { msgtype });
  }
  return { msgtype, [msgtype]: body };
}

/** ISO-8601 with milliseconds and Z, as the Micro App push expects (not WeCom's integer seconds). */
export function createTime(now: Date): string {
  return now.toISOString();
}

/** The request body of one Micro App push to `users`. */
export function microAppBody(content: JsonObject, users: string[], placement: UsersPlacement, now: Date): JsonObject {
  const wechat: JsonObject = { ...checkedContent(content), createtime: createTime(now) };
  if (placement === 'wechat') return { notification: { wechat: { ...wechat, users } } };
  return { notification: { wechat }, users };
}
