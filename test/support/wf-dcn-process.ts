/**
 * A WF-DCN hub in whole Node-RED processes (test/support/node-red-process.ts): the flow,
 * the requests a back end posts over HTTP, the load it keeps up, and what the store and
 * the reports show afterwards.
 *
 * The flow delivers WeCom devices' messages to a function node that reports them and
 * acknowledges a little later (as a send would), so a kill always finds messages in hand.
 */
import assert from 'node:assert/strict';
import { DataCache } from '../../lib/dcn/cache';
import { basicHeader } from '../../lib/http/basic-auth';
import type { Store } from '../../lib/store';
import { TRIP_MBO, tripRow } from '../../sandbox/dcn-requests';
import type { FlowNode } from '../../scripts/node-red-userdir';
import { Report, reportingFunction } from './node-red-process';

const SENDER = { user: 'backend', password: 'backend-secret', security: 'admin', admin: true };
const LOGIN = basicHeader(SENDER.user, SENDER.password);
const SECURITY = 'default';
const RECEIVERS = ['u1', 'u2', 'u3'];
const DEVICES_EACH = 2;
export const MESSAGES_PER_REQUEST = RECEIVERS.length * DEVICES_EACH;
export const ROWS = 3;
/**
 * How long the flow's "send" takes before it acknowledges: long against the time between
 * seeing a message in hand and the kill on a loaded machine, so what the test saw in hand
 * is still unacknowledged when the instance dies; short against the visibility timeout.
 */
const SEND_MS = 500;
/** Short, so the messages a killed instance held go out again within the test. */
const VISIBILITY_SECONDS = 2;
/** Where the hub's admin routes are, and the path that answers once the flow runs. */
export const DCN_READY_PATH = '/dcn/HttpAuthDCNServlet';

/**
 * The hub and its flow on tab `tab`, keeping its tables in the wechat-sap-store `storeId`
 * ('' for the embedded SQLite file). The hub's credentials are returned beside the nodes.
 */
export function dcnNodes(tab: string, storeId: string): { flows: FlowNode[]; credentials: Record<string, Record<string, string>> } {
  const flows: FlowNode[] = [
    {
      id: 'dcn-hub',
      type: 'wf-dcn-hub',
      name: 'hub',
      store: storeId,
      mbos: JSON.stringify([TRIP_MBO]),
      visibilityTimeout: VISIBILITY_SECONDS,
      maxAttempts: 20,
      retryDelay: 1,
      adminUrl: '/dcn/admin',
    },
    { id: 'dcn-in', type: 'wf-dcn-in', z: tab, hub: 'dcn-hub', url: DCN_READY_PATH, paramUrl: '', operationTimeout: 10, x: 100, y: 400, wires: [[], [], []] },
    { id: 'dcn-deliver', type: 'wf-dcn-deliver', z: tab, hub: 'dcn-hub', channels: ['wecom'], text: '{{subject}}', retractionText: 'Withdrawn: {{subject}}', x: 100, y: 500, wires: [['dcn-send'], ['dcn-dead']] },
    {
      id: 'dcn-send',
      type: 'function',
      z: tab,
      name: 'send',
      func: `node.log('REPORT ' + JSON.stringify({ kind: 'delivery', instance: env.get('INSTANCE'), messageId: msg.dcn.messageId, requestId: msg.dcn.requestId, attempt: msg.dcn.attempt }));\nsetTimeout(() => node.send(msg), ${SEND_MS});\nreturn null;`,
      outputs: 1,
      x: 300,
      y: 500,
      wires: [['dcn-ack']],
    },
    { id: 'dcn-ack', type: 'wf-dcn-ack', z: tab, hub: 'dcn-hub', x: 500, y: 500, wires: [['dcn-acked']] },
    { id: 'dcn-acked', type: 'function', z: tab, func: reportingFunction("{ kind: 'ack', instance: env.get('INSTANCE'), messageId: msg.dcn.messageId, outcome: msg.dcn.outcome }"), outputs: 1, x: 700, y: 500, wires: [[]] },
    { id: 'dcn-dead', type: 'function', z: tab, func: reportingFunction("{ kind: 'dead', instance: env.get('INSTANCE'), messageId: msg.dcn.messageId }"), outputs: 1, x: 300, y: 560, wires: [[]] },
  ];
  return { flows, credentials: { 'dcn-hub': { senders: JSON.stringify([SENDER]) } } };
}

/** A WF-DCN :upsert for every receiver, with ROWS Trip rows keyed `<id>-<n>`. */
function request(id: string): string {
  return JSON.stringify({
    op: ':upsert',
    id,
    to: RECEIVERS,
    subject: `trip ${id}`,
    from: 'backend',
    body: 'approval required',
    data: [{ id: '1', pkg: 'travel:1.0', messages: Array.from({ length: ROWS }, (_, n) => ({ id: String(n + 1), mbo: 'Trip', op: ':upsert', cols: tripRow(`${id}-${n}`, n) })) }],
  });
}

/** Posts one request to the instance (or proxy) at `baseUrl`; the HTTP status, or 0 when nothing answered. */
export async function postRequest(baseUrl: string, id: string): Promise<number> {
  try {
    const res = await fetch(`${baseUrl}${DCN_READY_PATH}?cmd=wf&security=${SECURITY}`, {
      method: 'POST',
      headers: { authorization: LOGIN, 'content-type': 'application/json' },
      body: request(id),
      signal: AbortSignal.timeout(15_000),
    });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

/** Every receiver's WeCom devices, registered through the hub's admin routes at `baseUrl`. */
export async function registerDevices(baseUrl: string): Promise<void> {
  for (const user of RECEIVERS) {
    for (let d = 0; d < DEVICES_EACH; d++) {
      const res = await fetch(`${baseUrl}/dcn/admin/registry/${SECURITY}/${user}`, {
        method: 'POST',
        headers: { authorization: LOGIN, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: `phone-${d}`, channel: 'wecom', address: `${user}-${d}` }),
      });
      assert.equal(res.status, 201, await res.text());
    }
  }
}

export interface Load {
  /** Requests answered 200 so far. */
  answered: () => number;
  /** Stops after the requests in flight; the status of every request by its id. */
  stop: () => Promise<Map<string, number>>;
}

/** Keeps `lanes` requests in flight, round-robin over `baseUrls`, until `stop()`. */
export function loadUntil(baseUrls: string[], prefix: string, lanes: number): Load {
  const statuses = new Map<string, number>();
  let stopped = false;
  let n = 0;
  const lane = async () => {
    while (!stopped) {
      const id = `${prefix}-${++n}`;
      statuses.set(id, await postRequest(baseUrls[n % baseUrls.length], id));
    }
  };
  const running = Promise.all(Array.from({ length: lanes }, lane));
  return {
    answered: () => [...statuses.values()].filter((s) => s === 200).length,
    stop: async () => {
      stopped = true;
      await running;
      return statuses;
    },
  };
}

export interface MessageRow {
  message_id: string;
  request_id: string;
  state: string;
  attempts: number;
}

export async function messageRows(store: Store, prefix: string): Promise<MessageRow[]> {
  return store.database().all<MessageRow>('SELECT message_id, request_id, state, attempts FROM {dcn_outbox_messages} WHERE request_id LIKE ?', [`${prefix}-%`]);
}

/** Waits until every message of the requests `prefix` names is delivered; fails naming the others. */
export async function allDelivered(store: Store, prefix: string, ms = 30_000): Promise<MessageRow[]> {
  const until = Date.now() + ms;
  for (;;) {
    const rows = await messageRows(store, prefix);
    const open = rows.filter((r) => r.state !== 'delivered');
    if (open.length === 0) return rows;
    if (Date.now() > until) throw new Error(`${open.length} of ${rows.length} messages not delivered: ${JSON.stringify(open.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How many Trip rows the hub's cache holds per request (rows are keyed `<request id>-<n>`). */
export async function cachedRowsPerRequest(store: Store): Promise<Map<string, number>> {
  const rows = await new DataCache(store.database(), [TRIP_MBO]).read('travel', 'Trip', undefined, 100_000);
  const perRequest = new Map<string, number>();
  for (const r of rows) {
    const id = String(r.key.tripId).replace(/-\d+$/, '');
    perRequest.set(id, (perRequest.get(id) ?? 0) + 1);
  }
  return perRequest;
}

export const deliveries = (reports: Report[]) => reports.filter((r) => r.kind === 'delivery');
export const acks = (reports: Report[]) => reports.filter((r) => r.kind === 'ack');

/** The reports about the requests `prefix` names. */
export const reportsOf = (reports: Report[], prefix: string) => reports.filter((r) => String(r.requestId ?? r.messageId).startsWith(prefix));

/** How often each (messageId, attempt) was handed to a flow, across the instances. */
export function handOuts(reports: Report[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of deliveries(reports)) {
    const key = `${String(r.messageId)}#${String(r.attempt)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The requests answered 200 each have all their messages in `rows`. */
export function assertFannedOut(statuses: Map<string, number>, rows: MessageRow[]): void {
  const perRequest = new Map<string, number>();
  for (const r of rows) perRequest.set(r.request_id, (perRequest.get(r.request_id) ?? 0) + 1);
  const ok = [...statuses].filter(([, status]) => status === 200).map(([id]) => id);
  assert.ok(ok.length > 0, 'some requests were answered');
  for (const id of ok) assert.equal(perRequest.get(id), MESSAGES_PER_REQUEST, `request ${id} has all its messages`);
}
