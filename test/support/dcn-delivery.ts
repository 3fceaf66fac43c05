/**
 * A WF-DCN hub for node tests: the wf-dcn-hub config node on a store of its own (a fresh
 * SQLite file, or tables of their own in a PostgreSQL schema), its senders and MBOs,
 * requests posted straight to the hub (as wf-dcn-in would hand them over), and the
 * delivery wiring the nodes' help describes: deliver → switch on msg.channel →
 * wechat-send / mobile-services-push → ack, with a Catch node scoped to the send nodes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { basicHeader } from '../../lib/http/basic-auth';
import type { DcnHttpCall, DcnResponse, DcnSender, Device, MboDefinition } from '../../lib/dcn';
import type { WfDcnHubNode } from '../../nodes/wf-dcn-hub/wf-dcn-hub';
import { DEMO_DCN, DEMO_MOBILE_SERVICES, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import type { FlowNode, RegisterFn } from './node-red-harness';
import { PG_URL } from '../lib/store/pg-support';

const CORE = join(require.resolve('@node-red/nodes/package.json'), '..', 'core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const registerSwitch = require(join(CORE, 'function', '10-switch.js')) as RegisterFn;

export const ADMIN_SENDER: DcnSender = { user: DEMO_DCN.sender, password: DEMO_DCN.password, security: 'admin', admin: true };
/** A back end of the `default` configuration only. */
export const DEFAULT_SENDER: DcnSender = { user: 'travel-backend', password: 'travel-backend-password-1', security: 'default', admin: false };
export const SENDERS = [ADMIN_SENDER, DEFAULT_SENDER];
export const MBOS: MboDefinition[] = [
  { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: [] },
  { package: 'travel', name: 'TripItem', keys: ['tripId', 'line'], attributes: [] },
];
export const SECURITY = DEMO_DCN.security;
export const RECEIVER = DEMO_DCN.receiver;
/** The receiver's Mobile Services user: one the sandbox's Micro App knows. */
export const MS_USER = DEMO_MOBILE_SERVICES.microAppUsers[0];

/** Where the hub keeps its tables: a config node and its credentials. */
export interface StoreChoice {
  node: FlowNode;
  credentials: Record<string, object>;
}

/** A SQLite file of its own in the userDir; the same name again is the same file (a restart). */
export function sqliteStore(file = `dcn-${randomBytes(4).toString('hex')}.sqlite`): StoreChoice {
  return { node: { id: 'store', type: 'wechat-sap-store', kind: 'sqlite', path: file }, credentials: {} };
}

/** Tables of their own in the schema; the same prefix again is the same tables. */
export function postgresStore(schema: string, tablePrefix = `t${randomBytes(4).toString('hex')}_`): StoreChoice {
  return {
    node: { id: 'store', type: 'wechat-sap-store', kind: 'postgres', schema, tablePrefix, host: '', port: '', database: '', user: '', ssl: false, path: '' },
    credentials: { store: { connectionString: PG_URL } },
  };
}

/** The hub on the store, with short timeouts so redelivery shows within a test. */
export function hubNodes(store: StoreChoice, hub: Partial<FlowNode> = {}): { nodes: FlowNode[]; credentials: Record<string, object> } {
  return {
    nodes: [
      store.node,
      { id: 'hub', type: 'wf-dcn-hub', store: 'store', mbos: JSON.stringify(MBOS), visibilityTimeout: 2, maxAttempts: 3, retryDelay: 0, adminUrl: '', ...hub },
    ],
    credentials: { ...store.credentials, hub: { senders: JSON.stringify(SENDERS) } },
  };
}

/**
 * The WeCom app and the Mobile Services application of the sandbox, for the send nodes.
 * (No config node's id may equal one of its own property values, such as kind 'wecom':
 * Node-RED would take it for a reference to itself and not start it.)
 */
export function accountNodes(sandboxBaseUrl: string): { nodes: FlowNode[]; credentials: Record<string, object> } {
  return {
    nodes: [
      { id: 'wecom-app', type: 'wechat-account', kind: 'wecom', appId: DEMO_WECOM_APP.corpId, agentId: DEMO_WECOM_APP.agentId, apiBase: `${sandboxBaseUrl}/wecom` },
      { id: 'ms-app', type: 'mobile-services-app', serverUrl: `${sandboxBaseUrl}/mobile-services`, appId: DEMO_MOBILE_SERVICES.appId, authType: 'apiKey' },
    ],
    credentials: { 'wecom-app': { appSecret: DEMO_WECOM_APP.corpSecret }, 'ms-app': { apiKey: DEMO_MOBILE_SERVICES.apiKey } },
  };
}

/**
 * deliver → switch (msg.channel) → wechat-send / mobile-services-push → ack → `acked`,
 * a Catch node on the two send nodes → ack, dead letters → `dead`. No function node.
 */
export function deliveryWiring(tab = 'tab'): FlowNode[] {
  const placed = (n: FlowNode): FlowNode => ({ z: tab, x: 100, y: 100, ...n });
  return [
    { id: 'deliver', type: 'wf-dcn-deliver', hub: 'hub', channels: ['wecom', 'mobile-services'], wires: [['route'], ['dead']] },
    {
      id: 'route',
      type: 'switch',
      property: 'channel',
      propertyType: 'msg',
      rules: [
        { t: 'eq', v: 'wecom', vt: 'str' },
        { t: 'eq', v: 'mobile-services', vt: 'str' },
      ],
      checkall: 'false',
      repair: false,
      outputs: 2,
      wires: [['wecom-send'], ['ms-push']],
    },
    { id: 'wecom-send', type: 'wechat-send', account: 'wecom-app', to: 'to', toType: 'msg', wires: [['ack']] },
    { id: 'ms-push', type: 'mobile-services-push', app: 'ms-app', mode: 'microApp', target: 'users', recipients: 'users', recipientsType: 'msg', wires: [['ack']] },
    { id: 'send-failed', type: 'catch', scope: ['wecom-send', 'ms-push'], uncaught: false, wires: [['ack']] },
    { id: 'ack', type: 'wf-dcn-ack', hub: 'hub', wires: [['acked']] },
    { id: 'acked', type: 'helper' },
    { id: 'dead', type: 'helper' },
  ].map(placed);
}

/** A WF-DCN call as wf-dcn-in hands it to the hub: Basic credentials, the request as the raw body. */
export function wfCall(request: object, sender: DcnSender = ADMIN_SENDER, security = SECURITY): DcnHttpCall {
  return {
    servlet: 'http-auth',
    method: 'POST',
    parameters: { cmd: 'wf', security },
    rawBody: JSON.stringify(request),
    authorization: basicHeader(sender.user, sender.password),
    headers: { 'content-type': 'application/json' },
  };
}

/** A trip approval for the receiver, with its trip row. */
export function tripRequest(id: string, extra: object = {}): object {
  return {
    op: ':upsert',
    id,
    to: RECEIVER,
    subject: 'Trip request approval required',
    from: 'travel-system',
    body: `Trip ${id} to Walldorf, 3 days`,
    received: '2024-05-01T09:30:00+08:00',
    read: false,
    priority: true,
    data: [{ id: '1', pkg: DEMO_DCN.package, messages: [{ id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: id, status: 'PENDING' } }] }],
    ...extra,
  };
}

/** Posts to the hub and insists on a 200: the data and the messages are committed. */
export async function post(hub: WfDcnHubNode, request: object): Promise<DcnResponse> {
  await hub.ready();
  const response = await hub.hub.handle(wfCall(request));
  assert.equal(response.status, 200, response.body);
  return response;
}

/** The receiver's WeCom and Mobile Services devices. */
export async function registerReceiver(hub: WfDcnHubNode): Promise<Device[]> {
  await hub.ready();
  return [
    await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: DEMO_DCN.wecomUser }),
    await hub.hub.registry.register({ security: SECURITY, user: RECEIVER, deviceId: 'ms-1', channel: 'mobile-services', address: MS_USER }),
  ];
}
