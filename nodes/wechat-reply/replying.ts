/**
 * What wechat-reply does: answers the callback a wechat-in node is holding with a passive reply,
 * encrypted when the message was. A reply that misses the deadline is reported as late.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { WeChatContext } from '../../lib/wechat/contract';
import { NO_REPLY } from '../../lib/wechat/deliveries';
import { NormalizedReply, ReplyFormatError, normalizeReply, replyXml } from '../../lib/wechat/replies';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import { configNode } from '../shared/config-node';
import { NodeStatus } from '../shared/status';
import { errorText, flowError } from '../shared/errors';

type ReplyInput = NodeMessage & { wechat?: Partial<WeChatContext> };

function isNoReply(payload: unknown): boolean {
  return payload === '' || payload === null || payload === undefined;
}

export function startReplying(RED: NodeAPI, node: Node): void {
  /** The delivery's answer: the plain reply XML, or NO_REPLY; wechat-in seals it like the message. */
  function replyBody(context: Partial<WeChatContext>, reply: NormalizedReply | null): string {
    return reply ? replyXml(reply, context.from ?? '', context.to ?? '') : NO_REPLY;
  }

  /**
   * WeChat was already told "no reply", so a late reply can only reach the user as an
   * active message: a customer-service message (Official Account) or an app message (WeCom).
   */
  function sendLate(node: Node, status: NodeStatus, account: WeChatAccountNode, toUser: string, reply: NormalizedReply, done: (err?: Error) => void): void {
    status.working('wechat-reply.status.sendingLate');
    account
      .api()
      .sendReply(reply, toUser)
      .then(() => {
        status.warning('wechat-reply.status.sentLate');
        node.warn(RED._('wechat-reply.warn.late', { user: toUser }));
        done();
      })
      .catch((err: Error) => {
        status.error('wechat-reply.status.lateFailed');
        done(new Error(RED._('wechat-reply.errors.lateFailed', { user: toUser, detail: errorText(RED, 'wechat-reply', err) })));
      });
  }

  // NodeStatus sends a status only when it changes, so "replied" is pushed to the editor once.
  const status = new NodeStatus(node);
  node.on('close', () => status.stop());

  node.on('input', (msg: ReplyInput, _send: unknown, done: (err?: Error) => void) => {
    const context = msg.wechat;
    if (!context || typeof context.replyId !== 'string') {
      done(new Error(RED._('wechat-reply.errors.notFromWechatIn')));
      return;
    }
    const account = configNode<WeChatAccountNode>(RED, context.accountId, 'wechat-account');
    const delivery = account?.deliveries.find(context.replyId);
    if (!account || !delivery) {
      done(new Error(RED._('wechat-reply.errors.closed')));
      return;
    }
    let reply: NormalizedReply | null;
    try {
      reply = isNoReply(msg.payload) ? null : normalizeReply(msg.payload, account.kind);
    } catch (err) {
      done(flowError(RED, 'wechat-reply', err as ReplyFormatError));
      return;
    }
    const result = delivery.settle(replyBody(context, reply));
    if (result === 'answered') {
      // Set once, not per message: every status change is pushed to the editor.
      status.ok('wechat-reply.status.replied');
      done();
    } else if (result === 'duplicate') {
      done(new Error(RED._('wechat-reply.errors.closed')));
    } else if (reply) {
      sendLate(node, status, account, context.from ?? '', reply, done);
    } else {
      done();
    }
  });
}
