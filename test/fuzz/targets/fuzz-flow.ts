/**
 * The Node-RED the route targets run against: test flows for every route we own (WeChat
 * callbacks in each mode, c4c-notification-in, a WF-DCN hub with its servlets and admin
 * routes, the flow's hooks answered at once) next to the shipped TimeOff flow (its REST
 * routes and its Mobile Services message handler), with a sandbox for the remote systems.
 * Every inbound node's sends are watched: a message carrying the unauthenticated mark is a leak.
 */
import type { Node, NodeMessage } from 'node-red';
import registerC4CNotificationIn from '../../../nodes/c4c-notification-in/c4c-notification-in';
import registerApp from '../../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../../nodes/mobile-services-push/mobile-services-push';
import registerAccount from '../../../nodes/wechat-account/wechat-account';
import registerIn from '../../../nodes/wechat-in/wechat-in';
import registerReply from '../../../nodes/wechat-reply/wechat-reply';
import registerRecords from '../../../nodes/wechat-sap-records/wechat-sap-records';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import registerHub, { WfDcnHubNode } from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerDcnIn from '../../../nodes/wf-dcn-in/wf-dcn-in';
import registerDcnResponse from '../../../nodes/wf-dcn-response/wf-dcn-response';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { Sandbox, startSandbox } from '../../../sandbox/index';
import { mergeFlows } from '../../../scripts/node-red-userdir';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { loadShippedFlow, readShippedFlow, useDemoEnvironment } from '../../support/shipped-flow';
import { C4C_NOTIFY_LOGIN } from '../cases/c4c';
import { DCN_MBOS, DCN_SENDERS } from '../cases/dcn';
import { carriesMark } from '../cases/marker';

export const ROUTES = {
  official: '/fuzz/wechat/official',
  plain: '/fuzz/wechat/plain',
  wecom: '/fuzz/wechat/wecom',
  /** The shipped TimeOff flow's message handler, behind SAP Mobile Services. */
  mobileServices: '/timeoff/OnMessage',
  c4c: '/fuzz/c4c/notify',
  dcnHttpAuth: '/fuzz/dcn/HttpAuthDCNServlet',
  dcnParameters: '/fuzz/dcn/DCNServlet',
  dcnAdmin: '/fuzz/dcn/admin',
  timeoff: '/timeoff/leaverequest',
} as const;

/** The inbound nodes whose sends are watched, by id. */
export const INBOUND_NODES = ['fz.in.official', 'fz.in.plain', 'fz.in.wecom', 'timeoff.chat.in', 'fz.c4c', 'fz.dcn.in'] as const;
export type InboundNodeId = (typeof INBOUND_NODES)[number];

const NODES = [registerAccount, registerIn, registerReply, registerApp, registerPush, registerRecords, registerStore, registerC4CNotificationIn, registerHub, registerDcnIn, registerDcnResponse];

function fuzzFlow(): FlowNode[] {
  const account = (id: string, kind: string, appId: string, agentId = '') => ({ id, type: 'wechat-account', kind, appId, agentId, apiBase: 'http://127.0.0.1:9', store: '' });
  const inNode = (id: string, accountId: string, url: string, wires: string[]) => ({ id, type: 'wechat-in', z: 'fz.tab', account: accountId, url, replayWindow: 300, replyTimeout: 4.5, wires: [wires] });
  const fn = (id: string, func: string, wires: string[]) => ({ id, type: 'function', z: 'fz.tab', func, outputs: 1, wires: [wires] });
  return [
    { id: 'fz.tab', type: 'tab', label: 'fuzz' },
    account('fz.acc.official', 'official', DEMO_OFFICIAL_ACCOUNT.appId),
    account('fz.acc.plain', 'official', DEMO_OFFICIAL_ACCOUNT.appId),
    account('fz.acc.wecom', 'wecom', DEMO_WECOM_APP.corpId, DEMO_WECOM_APP.agentId),
    // The Official Account's messages get a passive reply (their Content echoed), so the answer waits on the flow within WeChat's deadline.
    inNode('fz.in.official', 'fz.acc.official', ROUTES.official, ['fz.echo']),
    fn('fz.echo', "const c = msg.payload && msg.payload.Content; msg.payload = typeof c === 'string' && c.trim() ? c.slice(0, 200) : 'ok'; return msg;", ['fz.reply']),
    { id: 'fz.reply', type: 'wechat-reply', z: 'fz.tab', wires: [] },
    inNode('fz.in.plain', 'fz.acc.plain', ROUTES.plain, []),
    inNode('fz.in.wecom', 'fz.acc.wecom', ROUTES.wecom, []),
    { id: 'fz.c4c', type: 'c4c-notification-in', z: 'fz.tab', url: ROUTES.c4c, auth: 'basic', dedupeSeconds: 300, readEntity: false, system: '', store: '', wires: [[]] },
    { id: 'fz.hub', type: 'wf-dcn-hub', mbos: JSON.stringify(DCN_MBOS), visibilityTimeout: 30, maxAttempts: 5, retryDelay: 5, adminUrl: ROUTES.dcnAdmin, store: '' },
    { id: 'fz.dcn.in', type: 'wf-dcn-in', z: 'fz.tab', hub: 'fz.hub', url: ROUTES.dcnHttpAuth, paramUrl: ROUTES.dcnParameters, operationTimeout: 5, wires: [['fz.dcn.op'], ['fz.dcn.pass'], ['fz.dcn.pass']] },
    // Named operations succeed, the filter passes its text on: the flow answers at once.
    fn('fz.dcn.op', 'msg.payload = { success: true }; return msg;', ['fz.dcn.resp']),
    fn('fz.dcn.pass', 'return msg;', ['fz.dcn.resp']),
    { id: 'fz.dcn.resp', type: 'wf-dcn-response', z: 'fz.tab', wires: [] },
  ];
}

function fuzzCredentials(): Record<string, object> {
  const official = { appSecret: DEMO_OFFICIAL_ACCOUNT.appSecret, token: DEMO_OFFICIAL_ACCOUNT.token };
  return {
    'fz.acc.official': { ...official, encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey },
    'fz.acc.plain': official,
    'fz.acc.wecom': { appSecret: DEMO_WECOM_APP.corpSecret, token: DEMO_WECOM_APP.token, encodingAESKey: DEMO_WECOM_APP.encodingAESKey },
    'fz.c4c': C4C_NOTIFY_LOGIN,
    'fz.hub': { senders: JSON.stringify(DCN_SENDERS) },
  };
}

/** What an inbound node sent into its flow. */
interface Watched {
  sent: number;
  marked: number;
}

export class FuzzNodeRed {
  readonly harness = new NodeRedHarness();
  private sandbox: Sandbox | null = null;
  private restoreEnv: () => void = () => undefined;
  private readonly watched = new Map<InboundNodeId, Watched>();

  async start(): Promise<void> {
    this.sandbox = await startSandbox({ port: 0 });
    this.restoreEnv = useDemoEnvironment(this.sandbox.baseUrl);
    const flow = mergeFlows([fuzzFlow(), readShippedFlow('timeoff.json')]);
    await loadShippedFlow(this.harness, NODES, flow, fuzzCredentials());
    for (const id of INBOUND_NODES) this.watch(id);
    await this.hub().ready();
  }

  get baseUrl(): string {
    return this.harness.baseUrl;
  }

  /** Lets the test harness forget the node calls it recorded (see NodeRedHarness.forgetCalls). */
  forgetCalls(): void {
    this.harness.forgetCalls();
  }

  hub(): WfDcnHubNode {
    return this.harness.getNode<WfDcnHubNode>('fz.hub');
  }

  /** Counts every message the node sends, and those that carry the unauthenticated mark. */
  private watch(id: InboundNodeId): void {
    const node: Node = this.harness.getNode(id);
    const counts: Watched = { sent: 0, marked: 0 };
    this.watched.set(id, counts);
    const send = node.send.bind(node);
    node.send = (msg: NodeMessage | Array<NodeMessage | null>) => {
      counts.sent++;
      const messages = Array.isArray(msg) ? msg : [msg];
      if (messages.some((m) => m && carriesMark(m.payload))) counts.marked++;
      send(msg);
    };
  }

  marked(id: InboundNodeId): number {
    return this.watched.get(id)?.marked ?? 0;
  }

  sent(id: InboundNodeId): number {
    return this.watched.get(id)?.sent ?? 0;
  }

  async stop(): Promise<void> {
    await this.harness.stop();
    this.restoreEnv();
    await this.sandbox?.close();
    this.sandbox = null;
  }
}
