/**
 * wechat-reply: answers the callback a wechat-in node is holding with a passive reply,
 * encrypted when the message was. A reply that misses the deadline is reported as late.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { findDelivery } from '../../lib/wechat/deliveries';
import { NormalizedReply, ReplyFormatError, normalizeReply, replyXml } from '../../lib/wechat/replies';
import { CallbackEndpoint } from '../../lib/wechat/callback';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import type { WeChatContext } from '../wechat-in/wechat-in';
import { replyNodeAdded, replyNodeRemoved } from './reply-nodes';

type ReplyInput = NodeMessage & { wechat?: Partial<WeChatContext> };

export default function register(RED: NodeAPI): void {
  /** One sealing endpoint per account, built on first use (it only seals, never checks). */
  const endpoints = new WeakMap<WeChatAccountNode, CallbackEndpoint>();

  function endpointFor(account: WeChatAccountNode): CallbackEndpoint {
    let endpoint = endpoints.get(account);
    if (!endpoint) {
      endpoint = new CallbackEndpoint(account.callbackAccount(), { replayWindowSeconds: 0 });
      endpoints.set(account, endpoint);
    }
    return endpoint;
  }

  /** An empty payload answers "no reply" at once; anything else becomes reply XML, sealed like the message. */
  function replyBody(account: WeChatAccountNode, context: Partial<WeChatContext>, payload: unknown): string {
    const endpoint = endpointFor(account);
    if (payload === '' || payload === null || payload === undefined) return endpoint.noReplyBody;
    const reply: NormalizedReply = normalizeReply(payload, account.kind);
    return endpoint.seal(replyXml(reply, context.from ?? '', context.to ?? ''), context.encrypted === true);
  }

  function WeChatReply(this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    replyNodeAdded();

    node.on('input', (msg: ReplyInput, _send: unknown, done: (err?: Error) => void) => {
      const context = msg.wechat;
      if (!context || typeof context.replyId !== 'string') {
        done(new Error(RED._('wechat-reply.errors.notFromWechatIn')));
        return;
      }
      const account = RED.nodes.getNode(context.accountId ?? '') as WeChatAccountNode | null;
      const delivery = findDelivery(context.replyId);
      if (!account || !delivery) {
        done(new Error(RED._('wechat-reply.errors.closed')));
        return;
      }
      let body: string;
      try {
        body = replyBody(account, context, msg.payload);
      } catch (err) {
        done(err instanceof ReplyFormatError ? err : new Error(String((err as Error).message)));
        return;
      }
      const result = delivery.settle(body);
      if (result === 'answered') {
        node.status({ fill: 'green', shape: 'dot', text: 'wechat-reply.status.replied' });
        done();
      } else if (result === 'duplicate') {
        done(new Error(RED._('wechat-reply.errors.closed')));
      } else {
        node.status({ fill: 'yellow', shape: 'ring', text: 'wechat-reply.status.late' });
        node.warn(RED._('wechat-reply.warn.late', { user: context.from ?? '' }));
        done();
      }
    });

    node.on('close', (done: () => void) => {
      replyNodeRemoved();
      done();
    });
  }

  RED.nodes.registerType('wechat-reply', WeChatReply);
}
