/**
 * What wechat-reply does: answers the callback a wechat-in node is holding with a passive reply,
 * encrypted when the message was. A reply that misses the deadline is reported as late and
 * delivered another way: as an active message through the platform's API, or, for a message
 * that came through SAP Mobile Services, as a Micro App push through the account's
 * mobile-services-app.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { failedResults, replyPushContent } from '../../lib/mobile-services';
import type { WeChatContext } from '../../lib/wechat/contract';
import { NO_REPLY } from '../../lib/wechat/deliveries';
import { NormalizedReply, ReplyFormatError, normalizeReply, replyXml } from '../../lib/wechat/replies';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import { configNode } from '../shared/config-node';
import { NodeStatus } from '../shared/status';
import { errorText, flowError } from '../shared/errors';

type ReplyInput = NodeMessage & { wechat?: Partial<WeChatContext> };

/** How a late reply travels, and the texts that say so. */
interface LateRoute {
  deliver: () => Promise<void>;
  sending: string;
  sent: string;
  warning: string;
  failed: string;
}

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
  function activeMessage(account: WeChatAccountNode, toUser: string, reply: NormalizedReply): LateRoute {
    return {
      deliver: () => account.api().sendReply(reply, toUser).then(() => undefined),
      sending: 'wechat-reply.status.sendingLate',
      sent: 'wechat-reply.status.sentLate',
      warning: 'wechat-reply.warn.late',
      failed: 'wechat-reply.errors.lateFailed',
    };
  }

  /**
   * Behind SAP Mobile Services the account may have no AppSecret at all (Mobile Services
   * holds the app's keys), so a late reply goes out as a Micro App push to the sender.
   */
  function microAppPush(account: WeChatAccountNode, toUser: string, reply: NormalizedReply): LateRoute {
    return {
      deliver: async () => {
        const app = account.mobileServicesApp();
        if (!app) throw new Error(RED._('wechat-reply.errors.noMobileServices', { account: account.name || account.id }));
        const outcome = await app.client().pushMicroApp(replyPushContent(reply), [toUser]);
        const failed = failedResults(outcome.pushResults);
        if (failed.length) {
          const results = failed.map((r) => `${r.target ?? '?'}: ${r.code}${r.message ? ` ${r.message}` : ''}`).join('; ');
          throw new Error(RED._('wechat-reply.errors.pushNotDelivered', { results }));
        }
      },
      sending: 'wechat-reply.status.pushingLate',
      sent: 'wechat-reply.status.pushedLate',
      warning: 'wechat-reply.warn.latePushed',
      failed: 'wechat-reply.errors.latePushFailed',
    };
  }

  function sendLate(route: LateRoute, toUser: string, done: (err?: Error) => void): void {
    status.working(route.sending);
    route.deliver().then(
      () => {
        status.warning(route.sent);
        node.warn(RED._(route.warning, { user: toUser }));
        done();
      },
      (err: Error) => {
        status.error('wechat-reply.status.lateFailed');
        done(new Error(RED._(route.failed, { user: toUser, detail: errorText(RED, 'wechat-reply', err) }), { cause: err }));
      },
    );
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
      const toUser = context.from ?? '';
      const late = context.mode === 'mobile-services' ? microAppPush(account, toUser, reply) : activeMessage(account, toUser, reply);
      sendLate(late, toUser, done);
    } else {
      done();
    }
  });
}
