/**
 * What wechat-in does: GET answers URL verification (callbacks from WeChat itself only);
 * POST authenticates the caller, opens the message (decrypts it, or takes it as SAP
 * Mobile Services forwarded it), drops retries and sends each delivery into the flow
 * once. The HTTP answer waits for a wechat-reply node the message can reach, up to a
 * deadline that stays inside WeChat's 5 s. Both modes share this route; only the
 * endpoint that opens the body and the check of the caller differ (./inbound-mode).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI, NodeMessage } from 'node-red';
import { BodyError, readBody, sendText } from '../../lib/http/body';
import { CallbackError, CallbackQuery, InboundMessage } from '../../lib/wechat/callback';
import { WeChatInboundMessage } from '../../lib/wechat/contract';
import { Delivery, DeliveryTracker, NO_REPLY } from '../../lib/wechat/deliveries';
import { ForwarderRefusedError } from '../../lib/wechat/forwarded';
import { ClaimLease, SharedDeliveries } from '../../lib/wechat/shared-deliveries';
import { SignedQueryLedger } from '../../lib/wechat/signed-queries';
import { XmlObject } from '../../lib/wechat/xml';
import { configNode } from '../shared/config-node';
import { errorText } from '../shared/errors';
import { FlowNodeConfig, reachesType } from '../shared/flow-graph';
import { numericSetting } from '../shared/numeric-setting';
import { RoutedRequest, mountRoute, routePath } from '../shared/owned-route';
import { numberSetting } from '../shared/settings';
import { NodeStatus } from '../shared/status';
import { WarningThrottle } from '../shared/warning-throttle';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import { InboundMode, inboundMode } from './inbound-mode';
import type { WeChatInDef, WeChatInNode } from './wechat-in';

/** The message wechat-in sends: the contract with wechat-reply lives in lib/wechat/contract. */
export type WeChatMessage = NodeMessage & WeChatInboundMessage;

export const DEFAULT_MAX_BODY = 256 * 1024;
const DEFAULT_REPLY_TIMEOUT_S = 4.5;
/** WeChat gives up after 5 s; answering later than this is pointless. */
const MAX_REPLY_TIMEOUT_S = 4.9;

function text(fields: XmlObject, name: string): string | undefined {
  const v = fields[name];
  return typeof v === 'string' ? v : undefined;
}

export function startCallbackRoute(RED: NodeAPI, node: WeChatInNode, config: WeChatInDef): void {
  const status = new NodeStatus(node);
  const account = configNode<WeChatAccountNode>(RED, config.account, 'wechat-account');
  const replayWindow = numericSetting(config.replayWindow, 300);
  const replyTimeoutMs = numericSetting(config.replyTimeout, DEFAULT_REPLY_TIMEOUT_S, 0, MAX_REPLY_TIMEOUT_S) * 1000;
  const maxBody = numberSetting(RED, 'wechatInMaxBody', DEFAULT_MAX_BODY);
  if (!account) return notStarted(new Error(RED._('wechat-in.errors.noAccount')));
  // Named once it is known to be there: the handlers below are hoisted and see no narrowing.
  const owner: WeChatAccountNode = account;
  let mode: InboundMode;
  let path: string;
  try {
    mode = inboundMode(RED, node, config, account, replayWindow);
    path = routePath(config.url);
  } catch (err) {
    return notStarted(err);
  }
  const { endpoint, verifyUrl, admit: checkCaller } = mode;
  const tracker = new DeliveryTracker(owner.deliveries);
  const ledger = new SignedQueryLedger(replayWindow);
  const counts = new RouteCounts(status, path);
  const warnings = new WarningThrottle((line) => node.warn(line));
  const more = (count: number) => (count ? RED._('wechat-in.warn.more', { count }) : '');
  const storeWarning = (err: Error) => warnings.report('store', (n) => RED._('wechat-in.warn.storeFailed', { detail: errorText(RED, 'wechat-in', err) }) + more(n));
  const selectedStore = owner.selectedStore();
  const shared = selectedStore ? new SharedDeliveries(selectedStore, `${owner.appId}:${owner.agentId}`, storeWarning) : null;
  const replies = new ReplyReachability(RED, node.id);

  let unmount: () => void;
  try {
    unmount = mountRoute(RED, path, {
      get: verifyUrl ? (req, res) => handleVerification(verifyUrl, req, res) : refuseGet,
      // Express 4 ignores rejected promises; anything unexpected is answered and logged here.
      post: (req, res) => void handleMessage(req, res).catch((err) => reject(req, res, err)),
    });
  } catch (err) {
    tracker.close();
    replies.stop();
    return notStarted(err);
  }
  counts.show();

  function notStarted(err: unknown): void {
    node.error(RED._('wechat-in.errors.notStarted', { reason: errorText(RED, 'wechat-in', err) }));
    status.error('wechat-in.status.notStarted');
  }

  function reject(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    counts.add('rejected');
    if (err instanceof CallbackError || err instanceof BodyError) {
      const reason = err instanceof CallbackError ? err.reason : err.code === 'parsed_body' ? 'parsed_body' : 'bad_body';
      const ip = req.socket.remoteAddress ?? '?';
      warnings.report(reason, (n) => RED._('wechat-in.warn.rejected', { path, ip, reason, detail: errorText(RED, 'wechat-in', err) }) + more(n));
      if (err instanceof ForwarderRefusedError && err.challenge) res.setHeader('WWW-Authenticate', err.challenge);
      sendText(res, err.status, reason);
      return;
    }
    node.error(RED._('wechat-in.warn.failed', { path, detail: (err as Error).message }));
    if (!res.headersSent) sendText(res, 500, 'internal_error');
  }

  function handleVerification(verify: (query: CallbackQuery) => string, req: RoutedRequest, res: ServerResponse): void {
    try {
      sendText(res, 200, verify(req.query as CallbackQuery));
      node.log(RED._('wechat-in.log.verified', { path }));
    } catch (err) {
      reject(req, res, err);
    }
  }

  /** Behind SAP Mobile Services, WeCom verifies the URL at Mobile Services; a GET here means WeCom was pointed at this node. */
  function refuseGet(req: RoutedRequest, res: ServerResponse): void {
    res.setHeader('Allow', 'POST');
    reject(req, res, new CallbackError(405, 'get_not_served', RED._('wechat-in.reason.getNotServed')));
  }

  async function handleMessage(req: RoutedRequest, res: ServerResponse): Promise<void> {
    const arrived = Date.now();
    let inbound: InboundMessage;
    try {
      admit(req);
      const body = await readBody(req, maxBody);
      inbound = endpoint.open(req.query as CallbackQuery, body.toString('utf8'));
      // A plain callback's signed query carries one message; a forwarded one has no signed query.
      if (inbound.signature && !inbound.bodySigned) {
        ledger.record(inbound.signature, inbound.dedupKey);
        // No await (and no store round trip) on the hot path without a shared store.
        if (shared) await recordSharedSignature(shared, inbound);
      }
    } catch (err) {
      reject(req, res, err);
      return;
    }
    const begun = tracker.begin(inbound.dedupKey);
    if (begun.retry) {
      counts.add('retries');
      answer(res, await begun.answer, inbound.encrypted);
      return;
    }
    let lease: ClaimLease | null = null;
    if (shared) {
      const claim = await sharedClaim(shared, inbound.dedupKey);
      if (claim?.kind === 'answered') {
        // Another instance answered this delivery: this is a retry, and gets the same reply.
        begun.delivery.settle(claim.answer);
        counts.add('retries');
        answer(res, claim.answer, inbound.encrypted);
        return;
      }
      lease = claim?.lease ?? null;
    }
    counts.add('received');
    emit(begun.delivery, inbound, replyTimeoutMs - (Date.now() - arrived));
    const reply = await begun.delivery.answer;
    answer(res, reply, inbound.encrypted);
    lease?.finish(reply).catch(storeWarning);
  }

  /** The caller's check before the body is read; a refused caller's body is drained unread. */
  function admit(req: RoutedRequest): void {
    try {
      checkCaller(req.headers);
    } catch (err) {
      req.resume();
      throw err;
    }
  }

  /** With a shared store, one signed query carries one message across every instance too. */
  async function recordSharedSignature(deliveries: SharedDeliveries, inbound: InboundMessage): Promise<void> {
    try {
      await deliveries.recordSignature(inbound.signature, inbound.dedupKey, ledger.keepMs);
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
    if (replies.reachable()) delivery.armDeadline(Math.max(0, deadlineMs), () => counts.add('timedOut'));
    else delivery.settle(NO_REPLY);
    const msg: WeChatMessage = {
      _msgid: RED.util.generateId(),
      payload: fields,
      wechat: {
        accountId: owner.id,
        kind: owner.kind,
        appId: owner.appId,
        agentId: owner.agentId || undefined,
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
    replies.stop();
    status.stop();
    done();
  });
}

type Counter = 'received' | 'retries' | 'rejected' | 'timedOut';

/** The route and its counts on the node's status: ↓ received, ↻ retries, ✕ refused, ⏱ deadlines missed. */
class RouteCounts {
  private readonly counts: Record<Counter, number> = { received: 0, retries: 0, rejected: 0, timedOut: 0 };

  constructor(
    private readonly status: NodeStatus,
    private readonly path: string,
  ) {}

  add(counter: Counter): void {
    this.counts[counter]++;
    this.show();
  }

  show(): void {
    const { received, retries, rejected, timedOut } = this.counts;
    const mark = (symbol: string, n: number) => (n ? ` ${symbol}${n}` : '');
    const line = `${this.path} ↓${received}${mark('↻', retries)}${mark('✕', rejected)}${mark('⏱', timedOut)}`;
    if (rejected + timedOut > 0) this.status.warning(line);
    else this.status.ok(line);
  }
}

/**
 * Whether a wechat-reply can be reached from this node's outputs, judged from the
 * deployed flows and again after every deploy. Only when none can does the node answer
 * at once; when in doubt it waits for a reply, as before.
 */
class ReplyReachability {
  private value = true;
  private readonly onStarted = () => this.judge();

  constructor(
    private readonly RED: NodeAPI,
    private readonly nodeId: string,
  ) {
    this.judge();
    RED.events.on('flows:started', this.onStarted);
  }

  reachable(): boolean {
    return this.value;
  }

  stop(): void {
    this.RED.events.removeListener('flows:started', this.onStarted);
  }

  private judge(): void {
    const configs: FlowNodeConfig[] = [];
    this.RED.nodes.eachNode((config) => configs.push(config as unknown as FlowNodeConfig));
    this.value = reachesType(configs, this.nodeId, 'wechat-reply') === 'reachable';
  }
}
