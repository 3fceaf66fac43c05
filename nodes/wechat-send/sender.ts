/**
 * What wechat-send does: active messages through an Official Account (customer-service and
 * template messages) or a WeCom app (app messages). A string payload is a text to the
 * configured recipient; an object payload is the message body; a Buffer is uploaded as
 * media first and sent by its media_id. The result replaces msg.payload; API errors go
 * to done(err) with errcode, errmsg and a hint.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { WeChatSendDef } from './wechat-send';
import { SendResult, partialDelivery } from '../../lib/wechat/api-client';
import { MessageFormatError, WeChatApiError } from '../../lib/wechat/api-errors';
import { JsonObject, MessageDefaults, OutboundMessage, activeContent, prepareMediaMessage, prepareMessage, textBody } from '../../lib/wechat/messages';
import { normalizeReply } from '../../lib/wechat/replies';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import { storeSelection } from '../shared/store-selection';
import { configNode } from '../shared/config-node';
import { flowError } from '../shared/errors';
import { evaluateProperty } from '../shared/properties';
import { NodeStatus } from '../shared/status';
import { mimeTypeOf } from '../../lib/common/mime-types';


interface SendMessage extends NodeMessage {
  /** Overrides the node's media type for a Buffer payload. */
  mediaType?: unknown;
  filename?: unknown;
  contentType?: unknown;
  /** OA video: the thumbnail's media_id. */
  thumbMediaId?: unknown;
  title?: unknown;
  description?: unknown;
}

const DEFAULT_FILENAMES: Record<string, string> = {
  image: 'image.jpg',
  voice: 'voice.amr',
  video: 'video.mp4',
  file: 'file.bin',
  thumb: 'thumb.jpg',
};
export function startSender(RED: NodeAPI, node: Node, config: WeChatSendDef): void {
  const evaluate = (value: string, type: string, msg: NodeMessage) => evaluateProperty(RED, node, value, type, msg);
  // Config nodes start before the nodes that use them, so both are resolved once.
  const account = configNode<WeChatAccountNode>(RED, config.account, 'wechat-account');
  const selection = storeSelection(RED, config.store, RED._('wechat-send.error.storeMissing'));
  const status = new NodeStatus(node);
  // Everything but the recipient is the same for every message.
  const fixedDefaults: Omit<MessageDefaults, 'touser'> = {
    toparty: config.toParty?.trim() || undefined,
    totag: config.toTag?.trim() || undefined,
    agentId: account?.agentId,
    safe: config.safe === true,
    enableIdTrans: config.enableIdTrans === true,
    enableDuplicateCheck: config.enableDuplicateCheck === true,
    duplicateCheckInterval: Number(config.duplicateCheckInterval) || undefined,
  };

  async function deliver(msg: SendMessage): Promise<void> {
    if (!account) throw new Error(RED._('wechat-send.error.noAccount'));
    if (selection.kind === 'unusable') throw new Error(RED._('wechat-send.error.store', { detail: selection.problem }));
    const client = account.api(selection.kind === 'store' ? selection.store : undefined);

    const recipient = config.to ? await evaluate(config.to, config.toType || 'msg', msg) : undefined;
    const defaults: MessageDefaults = { ...fixedDefaults, touser: recipientList(recipient) };

    let message: OutboundMessage;
    const payload = msg.payload;
    if (Buffer.isBuffer(payload)) {
      const type = stringOr(msg.mediaType, config.mediaType || 'image');
      const filename = stringOr(msg.filename, DEFAULT_FILENAMES[type] || 'media.bin');
      const contentType = stringOr(msg.contentType, mimeTypeOf(filename));
      // Type, size and recipients are checked before the upload spends any quota.
      const messageFor = prepareMediaMessage(account.kind, type, payload, defaults, {
        thumbMediaId: optionalString(msg.thumbMediaId),
        title: optionalString(msg.title),
        description: optionalString(msg.description),
      });
      status.working('wechat-send.status.uploading');
      const uploaded = await client.upload(type, payload, filename, contentType);
      message = messageFor(uploaded.media_id);
    } else {
      message = prepareMessage(account.kind, bodyOf(RED, payload, account.kind), defaults);
    }
    const result: SendResult = await client.send(message);
    const partial = partialDelivery(result);
    msg.payload = partial ? { ...result, partial } : result;
    if (partial) {
      node.warn(RED._('wechat-send.warn.partial', { detail: JSON.stringify(partial) }));
      status.warning('wechat-send.status.partial');
    } else {
      status.ok('wechat-send.status.sent');
    }
  }

  node.on('input', (msg, send, done) => {
    deliver(msg as SendMessage).then(
      () => {
        send(msg);
        done();
      },
      (err: Error) => {
        status.error(statusText(err));
        done(flowError(RED, 'wechat-send', err));
      },
    );
  });

  node.on('close', () => status.clear());
}

/** The message body a non-Buffer payload stands for. */
function bodyOf(RED: NodeAPI, payload: unknown, kind: WeChatAccountNode['kind']): unknown {
  if (typeof payload === 'string' || typeof payload === 'number') return textBody(String(payload));
  // The same payload a flow gives wechat-reply also works here.
  if (isReplyShaped(payload)) return activeContent(normalizeReply(payload, kind));
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) return payload;
  throw new MessageFormatError(RED._('wechat-send.error.payload', { type: describeType(payload) }));
}

function statusText(err: Error): string {
  if (err instanceof WeChatApiError) return `errcode ${err.errcode}`;
  if (err instanceof MessageFormatError) return 'wechat-send.status.invalid';
  return 'wechat-send.status.failed';
}


function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stringOr(value: unknown, fallback: string): string {
  return optionalString(value) ?? fallback;
}

/** A recipient from a property: an id, a '|'-joined list or an array of ids. */
function recipientList(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(String);
  return undefined;
}

/** wechat-reply's payload form: {type: 'text', content} etc., not a platform body. */
function isReplyShaped(payload: unknown): payload is JsonObject {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  const p = payload as JsonObject;
  return typeof p.type === 'string' && p.msgtype === undefined && p.template_id === undefined;
}
