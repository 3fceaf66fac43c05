/**
 * A WF-DCN hub in a test flow: a wf-dcn-hub with the trip MBOs and two senders (an admin
 * back end and a travel app confined to its own security configuration), a wf-dcn-in
 * whose three outputs end in helper nodes the test answers from, a wf-dcn-response, and
 * Catch nodes: one turning errors of the operation's helper into a failed operation, one
 * collecting the response node's own errors. Requests go over real HTTP.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import { basicHeader } from '../../lib/http/basic-auth';
import type { DcnSender, Device, MboDefinition } from '../../lib/dcn/types';
import registerHub, { WfDcnHubNode } from '../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerIn from '../../nodes/wf-dcn-in/wf-dcn-in';
import registerResponse from '../../nodes/wf-dcn-response/wf-dcn-response';
import registerStore from '../../nodes/wechat-sap-store/wechat-sap-store';
import { DEMO_DCN } from '../../sandbox/demo-accounts';
import type { DcnFlowMessage } from '../../nodes/wf-dcn-in/dcn-route';
import { FlowNode, NodeRedHarness, RegisterFn } from './node-red-harness';

export const NODES: RegisterFn[] = [registerHub, registerIn, registerResponse, registerStore];

export const ADMIN: DcnSender = { user: DEMO_DCN.sender, password: DEMO_DCN.password, security: 'admin', admin: true };
export const TRAVEL_APP: DcnSender = { user: 'travel-app', password: 'travel-app-password', security: 'travel', admin: false };
export const SENDERS = [ADMIN, TRAVEL_APP];

export const MBOS: MboDefinition[] = [
  { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: [] },
  { package: 'travel', name: 'TripLeg', keys: ['tripId', 'leg'], attributes: ['city'] },
];

export const HTTP_AUTH = '/dcn/HttpAuthDCNServlet';
export const PARAMETERS = '/dcn/DCNServlet';

export const SUPADMIN_DEVICES: Array<Omit<Device, 'registeredAt'>> = [
  { security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin', msDevice: '' },
  { security: 'default', user: 'SUPAdmin', deviceId: 'ms-SUPAdmin', channel: 'mobile-services', address: 'SUPAdmin', msDevice: '' },
];

export const trip = (tripId: string, id = '1', status = 'PENDING') => ({ id, mbo: 'Trip', op: ':upsert', cols: { tripId, status } });

/** The WF-DCN request of SAP's documentation, with the trip's data. */
export function tripRequest(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    op: ':upsert',
    id: 'WID123',
    to: 'SUPAdmin',
    subject: 'Trip request approval required',
    from: 'user321',
    body: 'This is a message just used to do a test',
    received: '2009-03-29T10:07:45+05:00',
    read: false,
    priority: true,
    data: [{ id: '1', pkg: 'travel:1.0', messages: [trip('T-77')] }],
    ...changes,
  };
}

export interface DcnFlowOptions {
  hub?: Partial<FlowNode>;
  in?: Partial<FlowNode>;
  /** More nodes (a wechat-sap-store, another hub). */
  extra?: FlowNode[];
  /** Credentials of the hub; default: the two senders as the editor writes them. */
  hubCredentials?: object;
  credentials?: object;
  settings?: object;
}

export function dcnFlow(options: DcnFlowOptions = {}): FlowNode[] {
  return [
    { id: 'tab', type: 'tab' },
    { id: 'hub', type: 'wf-dcn-hub', mbos: JSON.stringify(MBOS), visibilityTimeout: 30, maxAttempts: 5, retryDelay: 5, adminUrl: '/dcn/admin', store: '', ...options.hub },
    {
      id: 'in',
      type: 'wf-dcn-in',
      z: 'tab',
      hub: 'hub',
      url: HTTP_AUTH,
      paramUrl: PARAMETERS,
      operationTimeout: 5,
      wires: [['op'], ['pre'], ['post']],
      ...options.in,
    },
    { id: 'op', type: 'helper', z: 'tab' },
    { id: 'pre', type: 'helper', z: 'tab' },
    { id: 'post', type: 'helper', z: 'tab' },
    { id: 'resp', type: 'wf-dcn-response', z: 'tab' },
    // A failing operation step reaches the response through a Catch node, as a flow wires it.
    { id: 'catch-op', type: 'catch', z: 'tab', scope: ['op'], uncaught: false, wires: [['resp']] },
    { id: 'catch-resp', type: 'catch', z: 'tab', scope: ['resp'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' },
    ...(options.extra ?? []),
  ];
}

export type Answer = (msg: DcnFlowMessage) => void;

/** A loaded hub flow and what the test does with it. */
export class DcnFlow {
  readonly harness = new NodeRedHarness();
  /** What the flow's three outputs received, in order. */
  readonly seen: Record<'op' | 'pre' | 'post', DcnFlowMessage[]> = { op: [], pre: [], post: [] };
  /** Errors the response node reported (what a Catch node gets). */
  readonly caught: Array<NodeMessage & { error: { message: string } }> = [];
  /** How the test answers each output; unset: the message is left unanswered. */
  answer: Partial<Record<'op' | 'pre' | 'post', Answer>> = {};

  /** Loads the flow; the embedded store starts empty unless `keepStore` (a redeploy that keeps the data). */
  async load(options: DcnFlowOptions = {}, keepStore = false): Promise<void> {
    // The previous flow closed its store on unload; its file goes, so each test starts from nothing.
    if (!keepStore) for (const suffix of ['', '-wal', '-shm']) rmSync(join(this.harness.userDir, `wechat-sap.sqlite${suffix}`), { force: true });
    this.seen.op = [];
    this.seen.pre = [];
    this.seen.post = [];
    this.caught.length = 0;
    this.answer = {};
    const credentials = { hub: options.hubCredentials ?? { senders: JSON.stringify(SENDERS) }, ...options.credentials };
    await this.harness.load(NODES, dcnFlow(options), credentials, options.settings);
    for (const output of ['op', 'pre', 'post'] as const) {
      this.harness.getNode(output).on('input', (msg: NodeMessage) => {
        const sent = msg as DcnFlowMessage;
        this.seen[output].push(sent);
        this.answer[output]?.(sent);
      });
    }
    this.harness.getNode('caught').on('input', (msg: NodeMessage) => this.caught.push(msg as NodeMessage & { error: { message: string } }));
  }

  /** What node `id` itself logged at `level` (the helper spies on Node's prototype, so each call is told apart by its node). */
  logged(level: 'error' | 'warn', id: string): string[] {
    const node = this.harness.getNode(id);
    const spy = node[level] as unknown as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> };
    return spy
      .getCalls()
      .filter((call) => call.thisValue === node)
      .map((call) => String(call.args[0]));
  }

  hub(id = 'hub'): WfDcnHubNode {
    return this.harness.getNode<WfDcnHubNode>(id);
  }

  /** Sends `msg` to the wf-dcn-response node, as the end of a flow would. */
  respond(msg: object): void {
    this.harness.getNode('resp').receive(msg as NodeMessage);
  }

  async registerDevices(devices = SUPADMIN_DEVICES, hubId = 'hub'): Promise<void> {
    const hub = this.hub(hubId);
    await hub.ready();
    for (const device of devices) await hub.hub.registry.register(device);
  }

  url(path: string, query: Record<string, string> = {}): string {
    const search = new URLSearchParams(query).toString();
    return `${this.harness.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  /** POSTs a raw JSON body to HttpAuthDCNServlet as `sender` (Basic). */
  post(query: Record<string, string>, body: unknown, sender: DcnSender | null = ADMIN, headers: Record<string, string> = {}): Promise<Response> {
    const auth: Record<string, string> = sender ? { authorization: basicHeader(sender.user, sender.password) } : {};
    return fetch(this.url(HTTP_AUTH, query), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  stop(): Promise<void> {
    return this.harness.stop();
  }
}

/** The answer's JSON, with its status, for assertions. */
export async function answered<T = unknown>(response: Response): Promise<{ status: number; body: T; text: string; headers: Headers }> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a post-process filter may answer anything): the text is the body.
  }
  return { status: response.status, body: body as T, text, headers: response.headers };
}
