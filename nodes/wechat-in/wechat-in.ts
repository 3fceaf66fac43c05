/**
 * wechat-in: owns the callback URL of one WeChat Official Account or WeCom app.
 * GET answers URL verification; POST authenticates, decrypts and parses the message,
 * drops WeChat's retries and sends each delivery into the flow once. The HTTP answer
 * waits for a wechat-reply node, up to a deadline that stays inside WeChat's 5 s.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { BodyError, readBody, sendText } from '../../lib/http/body';
import { CallbackEndpoint, CallbackError, CallbackQuery, InboundMessage } from '../../lib/wechat/callback';
import { Delivery, DeliveryTracker, NO_REPLY } from '../../lib/wechat/deliveries';
import { ClaimLease, SharedDeliveries } from '../../lib/wechat/shared-deliveries';
import { SignedQueryLedger } from '../../lib/wechat/signed-queries';
import { XmlObject } from '../../lib/wechat/xml';
import { RoutedRequest, mountRoute, routePath } from '../shared/owned-route';
import { WarningThrottle } from '../shared/warning-throttle';
import { hasReplyNodes } from '../wechat-reply/reply-nodes';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import { numericSetting } from '../shared/numeric-setting';

export interface WeChatInDef extends NodeDef {
  account: string;
  url: string;
  /** Seconds a timestamp may differ from our clock; 0 disables the check. */
  replayWindow: number | string;
  /** Seconds to wait for wechat-reply before answering "no reply". */
  replyTimeout: number | string;
}

/** What wechat-reply (and flows) need to know of the delivery; lives on msg.wechat. */
export interface WeChatContext {
  accountId: string;
  kind: 'official' | 'wecom';
  appId: string;
  agentId?: string;
  /** Sender: OpenID (Official Account) or UserID (WeCom). */
  from: string;
  /** Receiver: the account's gh_ id or the CorpID. */
  to: string;
  msgType: string;
  event?: string;
  encrypted: boolean;
  mode: string;
  replyId: string;
  dedupKey: string;
}

export interface WeChatMessage extends NodeMessage {
  payload: XmlObject;
  wechat: WeChatContext;
}

const DEFAULT_MAX_BODY = 256 * 1024;
const DEFAULT_REPLY_TIMEOUT_S = 4.5;
/** WeChat gives up after 5 s; answering later than this is pointless. */
const MAX_REPLY_TIMEOUT_S = 4.9;

type Counter = 'received' | 'retries' | 'rejected' | 'timedOut';

function text(fields: XmlObject, name: string): string | undefined {
  const v = fields[name];
  return typeof v === 'string' ? v : undefined;
}

export default function register(RED: NodeAPI): void {
  function WeChatIn(this: Node, config: WeChatInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const selected = RED.nodes.getNode(config.account) as WeChatAccountNode | null;
    const replayWindow = numericSetting(config.replayWindow, 300);
    const replyTimeoutMs = numericSetting(config.replyTimeout, DEFAULT_REPLY_TIMEOUT_S, 0, MAX_REPLY_TIMEOUT_S) * 1000;
    const maxBody = numericSetting((RED.settings as unknown as Record<string, unknown>).wechatInMaxBody, DEFAULT_MAX_BODY);
    const tracker = new DeliveryTracker();
    const ledger = new SignedQueryLedger(replayWindow);

    let account: WeChatAccountNode;
    let endpoint: CallbackEndpoint;
    let path: string;
    let unmount: () => void = () => undefined;
    try {
      if (!selected) throw new Error(RED._('wechat-in.errors.noAccount'));
      account = selected;
      endpoint = new CallbackEndpoint(account.callbackAccount(), { replayWindowSeconds: replayWindow });
      path = routePath(config.url);
      unmount = mountRoute(RED, path, {
        get: handleVerification,
        // Express 4 ignores rejected promises; anything unexpected is answered and logged here.
        post: (req, res) => void handleMessage(req, res).catch((err) => reject(req, res, err)),
      });
    } catch (err) {
      node.error(RED._('wechat-in.errors.notStarted', { reason: (err as Error).message }));
      node.status({ fill: 'red', shape: 'ring', text: 'wechat-in.status.notStarted' });
      return;
    }
    const status = routeStatus(node, path);
    const warnings = new WarningThrottle((text) => node.warn(text));
    const storeWarning = (err: Error) =>
      warnings.report('store', (more) => RED._('wechat-in.warn.storeFailed', { detail: err.message }) + (more ? RED._('wechat-in.warn.more', { count: more }) : ''));
    const selectedStore = account.selectedStore();
    const shared = selectedStore ? new SharedDeliveries(selectedStore, `${account.appId}:${account.agentId}`, storeWarning) : null;

    function reject(req: IncomingMessage, res: ServerResponse, err: unknown): void {
      status.count('rejected');
      if (err instanceof CallbackError || err instanceof BodyError) {
        const reason = err instanceof CallbackError ? err.reason : err.code === 'parsed_upstream' ? 'parsed_body' : 'bad_body';
        const ip = req.socket.remoteAddress ?? '?';
        warnings.report(reason, (more) =>
          RED._('wechat-in.warn.rejected', { path, ip, reason, detail: err.message }) + (more ? RED._('wechat-in.warn.more', { count: more }) : ''),
        );
        sendText(res, err.status, reason);
        return;
      }
      node.error(RED._('wechat-in.warn.failed', { path, detail: (err as Error).message }));
      if (!res.headersSent) sendText(res, 500, 'internal_error');
    }

    function handleVerification(req: RoutedRequest, res: ServerResponse): void {
      try {
        sendText(res, 200, endpoint.verifyUrl(req.query as CallbackQuery));
        node.log(RED._('wechat-in.log.verified', { path }));
      } catch (err) {
        reject(req, res, err);
      }
    }

    async function handleMessage(req: RoutedRequest, res: ServerResponse): Promise<void> {
      const arrived = Date.now();
      let inbound: InboundMessage;
      try {
        const body = await readBody(req, maxBody);
        inbound = endpoint.open(req.query as CallbackQuery, body.toString('utf8'));
        if (!inbound.bodySigned) {
          ledger.record(inbound.signature, inbound.dedupKey);
          await recordSharedSignature(inbound);
        }
      } catch (err) {
        reject(req, res, err);
        return;
      }
      const begun = tracker.begin(inbound.dedupKey);
      if (begun.retry) {
        status.count('retries');
        answer(res, await begun.answer, inbound.encrypted);
        return;
      }
      let lease: ClaimLease | null = null;
      if (shared) {
        const claim = await sharedClaim(shared, inbound.dedupKey);
        if (claim?.kind === 'answered') {
          // Another instance answered this delivery: this is a retry, and gets the same reply.
          begun.delivery.settle(claim.answer);
          status.count('retries');
          answer(res, claim.answer, inbound.encrypted);
          return;
        }
        lease = claim?.lease ?? null;
      }
      status.count('received');
      emit(begun.delivery, inbound, replyTimeoutMs - (Date.now() - arrived));
      const reply = await begun.delivery.answer;
      answer(res, reply, inbound.encrypted);
      lease?.finish(reply).catch(storeWarning);
    }

    /** With a shared store, one signed query carries one message across every instance too. */
    async function recordSharedSignature(inbound: InboundMessage): Promise<void> {
      if (!shared) return;
      try {
        await shared.recordSignature(inbound.signature, inbound.dedupKey, ledger.keepMs);
      } catch (err) {
        if (err instanceof CallbackError) throw err;
        // A store outage must not drop messages; this instance's own ledger still applies.
        storeWarning(err as Error);
      }
    }

    /** The delivery's claim across instances; null when the store failed, and the delivery is handled here. */
    async function sharedClaim(deliveries: SharedDeliveries, dedupKey: string) {
      try {
        return await deliveries.claim(dedupKey, replyTimeoutMs);
      } catch (err) {
        storeWarning(err as Error);
        return null;
      }
    }

    /** `deadlineMs`: what is left of the reply window (less after waiting for another instance's claim). */
    function emit(delivery: Delivery, inbound: InboundMessage, deadlineMs: number): void {
      const { fields } = inbound;
      if (hasReplyNodes()) {
        delivery.armDeadline(Math.max(0, deadlineMs), () => status.count('timedOut'));
      } else {
        delivery.settle(NO_REPLY);
      }
      const msg: WeChatMessage = {
        _msgid: RED.util.generateId(),
        payload: fields,
        wechat: {
          accountId: account.id,
          kind: account.kind,
          appId: account.appId,
          agentId: account.agentId || undefined,
          from: text(fields, 'FromUserName') ?? '',
          to: text(fields, 'ToUserName') ?? '',
          msgType: text(fields, 'MsgType') ?? '',
          event: text(fields, 'Event'),
          encrypted: inbound.encrypted,
          mode: inbound.mode,
          replyId: delivery.id,
          dedupKey: inbound.dedupKey,
        },
      };
      node.send(msg);
    }

    /**
     * Deliveries carry the plain reply XML (or NO_REPLY); it is sealed per answer, so a
     * retry gets the same reply under a fresh nonce, and the remembered answers stay small.
     */
    function answer(res: ServerResponse, reply: string, encrypted: boolean): void {
      if (reply === NO_REPLY) sendText(res, 200, endpoint.noReplyBody);
      else sendText(res, 200, endpoint.seal(reply, encrypted), 'text/xml; charset=utf-8');
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      unmount();
      tracker.close();
      status.stop();
      done();
    });
  }

  RED.nodes.registerType('wechat-in', WeChatIn, {
    settings: { wechatInMaxBody: { value: DEFAULT_MAX_BODY, exportable: false } },
  });
}

/** Status shows the route and counts; at most once a second, so load doesn't flood the editor. */
function routeStatus(node: Node, path: string) {
  const counts: Record<Counter, number> = { received: 0, retries: 0, rejected: 0, timedOut: 0 };
  let timer: NodeJS.Timeout | null = null;
  let last = 0;
  const show = () => {
    timer = null;
    last = Date.now();
    const mark = (symbol: string, n: number) => (n ? ` ${symbol}${n}` : '');
    node.status({
      fill: counts.rejected + counts.timedOut ? 'yellow' : 'green',
      shape: 'dot',
      text: `${path} ↓${counts.received}${mark('↻', counts.retries)}${mark('✕', counts.rejected)}${mark('⏱', counts.timedOut)}`,
    });
  };
  const update = () => {
    if (timer) return;
    const wait = Math.max(0, 1000 - (Date.now() - last));
    if (wait === 0) show();
    else timer = setTimeout(show, wait);
  };
  update();
  return {
    count(counter: Counter) {
      counts[counter]++;
      update();
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}
