/**
 * The WF-DCN hub in whole Node-RED processes: two instances sharing a PostgreSQL store
 * take requests side by side and deliver every message, each attempt by one of them;
 * one killed with SIGKILL mid-load leaves its leased messages to the other. Then a
 * single instance on its SQLite store is killed under load and restarted: no request
 * is half applied, and every committed message is delivered, none of them again once
 * it was acknowledged.
 *
 * The flow delivers WeCom devices' messages to a function node that reports them and
 * acknowledges a little later (as a send would), so a kill always finds messages in hand.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { DataCache } from '../../lib/dcn/cache';
import { basicHeader } from '../../lib/http/basic-auth';
import { Store, createStore } from '../../lib/store';
import { TRIP_MBO, tripRow } from '../../sandbox/dcn-requests';
import type { FlowNode } from '../../scripts/node-red-userdir';
import { PG_URL, pgConfig, usePostgresSchema } from '../lib/store/pg-support';
import { NodeRedInstance, Report, reportingFunction } from '../support/node-red-process';

const SENDER = { user: 'backend', password: 'backend-secret', security: 'admin', admin: true };
const LOGIN = basicHeader(SENDER.user, SENDER.password);
const SECURITY = 'default';
const RECEIVERS = ['u1', 'u2', 'u3'];
const DEVICES_EACH = 2;
const MESSAGES_PER_REQUEST = RECEIVERS.length * DEVICES_EACH;
const ROWS = 3;
/**
 * How long the flow's "send" takes before it acknowledges: long against the time between
 * seeing a message in hand and the kill on a loaded machine, so what the test saw in hand
 * is still unacknowledged when the instance dies; short against the visibility timeout.
 */
const SEND_MS = 500;
/** Short, so the messages a killed instance held go out again within the test. */
const VISIBILITY_SECONDS = 2;

interface StoreNode {
  node?: Record<string, unknown>;
  credentials?: Record<string, string>;
}

function dcnFlow(store: StoreNode): { flows: FlowNode[]; credentials: Record<string, Record<string, string>> } {
  const flows: FlowNode[] = [
    { id: 'dcn-tab', type: 'tab', label: 'wf-dcn runtime test' },
    {
      id: 'dcn-hub',
      type: 'wf-dcn-hub',
      name: 'hub',
      store: store.node ? 'dcn-store' : '',
      mbos: JSON.stringify([TRIP_MBO]),
      visibilityTimeout: VISIBILITY_SECONDS,
      maxAttempts: 20,
      retryDelay: 1,
      adminUrl: '/dcn/admin',
    },
    { id: 'dcn-in', type: 'wf-dcn-in', z: 'dcn-tab', hub: 'dcn-hub', url: '/dcn/HttpAuthDCNServlet', paramUrl: '', operationTimeout: 10, x: 100, y: 100, wires: [[], [], []] },
    { id: 'dcn-deliver', type: 'wf-dcn-deliver', z: 'dcn-tab', hub: 'dcn-hub', channels: ['wecom'], text: '{{subject}}', retractionText: 'Withdrawn: {{subject}}', x: 100, y: 200, wires: [['dcn-send'], ['dcn-dead']] },
    {
      id: 'dcn-send',
      type: 'function',
      z: 'dcn-tab',
      name: 'send',
      func: `node.log('REPORT ' + JSON.stringify({ kind: 'delivery', instance: env.get('INSTANCE'), messageId: msg.dcn.messageId, requestId: msg.dcn.requestId, attempt: msg.dcn.attempt }));\nsetTimeout(() => node.send(msg), ${SEND_MS});\nreturn null;`,
      outputs: 1,
      x: 300,
      y: 200,
      wires: [['dcn-ack']],
    },
    { id: 'dcn-ack', type: 'wf-dcn-ack', z: 'dcn-tab', hub: 'dcn-hub', x: 500, y: 200, wires: [['dcn-acked']] },
    { id: 'dcn-acked', type: 'function', z: 'dcn-tab', func: reportingFunction("{ kind: 'ack', instance: env.get('INSTANCE'), messageId: msg.dcn.messageId, outcome: msg.dcn.outcome }"), outputs: 1, x: 700, y: 200, wires: [[]] },
    { id: 'dcn-dead', type: 'function', z: 'dcn-tab', func: reportingFunction("{ kind: 'dead', instance: env.get('INSTANCE'), messageId: msg.dcn.messageId }"), outputs: 1, x: 300, y: 260, wires: [[]] },
  ];
  const credentials: Record<string, Record<string, string>> = { 'dcn-hub': { senders: JSON.stringify([SENDER]) } };
  if (store.node) {
    flows.push({ id: 'dcn-store', type: 'wechat-sap-store', ...store.node });
    if (store.credentials) credentials['dcn-store'] = store.credentials;
  }
  return { flows, credentials };
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

/** Posts one request; the HTTP status, or 0 when the instance went away before answering. */
async function post(instance: NodeRedInstance, id: string): Promise<number> {
  try {
    const res = await fetch(instance.url(`/dcn/HttpAuthDCNServlet?cmd=wf&security=${SECURITY}`), {
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

async function registerDevices(instance: NodeRedInstance): Promise<void> {
  for (const user of RECEIVERS) {
    for (let d = 0; d < DEVICES_EACH; d++) {
      const res = await fetch(instance.url(`/dcn/admin/registry/${SECURITY}/${user}`), {
        method: 'POST',
        headers: { authorization: LOGIN, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: `phone-${d}`, channel: 'wecom', address: `${user}-${d}` }),
      });
      assert.equal(res.status, 201, await res.text());
    }
  }
}

/**
 * Keeps `lanes` requests in flight round-robin over `instances` until `stop()`;
 * resolves with the status of every request by its id.
 */
function loadUntil(instances: NodeRedInstance[], prefix: string, lanes: number): { stop: () => Promise<Map<string, number>>; answered: () => number } {
  const statuses = new Map<string, number>();
  let stopped = false;
  let n = 0;
  const lane = async () => {
    while (!stopped) {
      const id = `${prefix}-${++n}`;
      statuses.set(id, await post(instances[n % instances.length], id));
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

interface MessageRow {
  message_id: string;
  request_id: string;
  state: string;
  attempts: number;
}

async function messageRows(store: Store, prefix: string): Promise<MessageRow[]> {
  return store.database().all<MessageRow>('SELECT message_id, request_id, state, attempts FROM {dcn_outbox_messages} WHERE request_id LIKE ?', [`${prefix}-%`]);
}

/** Waits until every message of the requests `prefix` names is delivered; fails naming the others. */
async function allDelivered(store: Store, prefix: string, ms = 30_000): Promise<MessageRow[]> {
  const until = Date.now() + ms;
  for (;;) {
    const rows = await messageRows(store, prefix);
    const open = rows.filter((r) => r.state !== 'delivered');
    if (open.length === 0) return rows;
    if (Date.now() > until) throw new Error(`${open.length} of ${rows.length} messages not delivered: ${JSON.stringify(open.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const deliveries = (reports: Report[]) => reports.filter((r) => r.kind === 'delivery');
const acks = (reports: Report[]) => reports.filter((r) => r.kind === 'ack');

/** How often each (messageId, attempt) was handed to a flow, across the instances. */
function handOuts(reports: Report[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of deliveries(reports)) {
    const key = `${String(r.messageId)}#${String(r.attempt)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The requests answered 200 each have all their messages in `rows`. */
function assertFannedOut(statuses: Map<string, number>, rows: MessageRow[]): void {
  const perRequest = new Map<string, number>();
  for (const r of rows) perRequest.set(r.request_id, (perRequest.get(r.request_id) ?? 0) + 1);
  const ok = [...statuses].filter(([, status]) => status === 200).map(([id]) => id);
  assert.ok(ok.length > 0, 'some requests were answered');
  for (const id of ok) assert.equal(perRequest.get(id), MESSAGES_PER_REQUEST, `request ${id} has all its messages`);
}

describe('WF-DCN hub in whole Node-RED processes', function () {
  this.timeout(120_000);
  const instances: NodeRedInstance[] = [];
  after(() => Promise.all(instances.map((i) => i.stop())));

  async function start(name: string, store: StoreNode, userDir?: string): Promise<NodeRedInstance> {
    const instance = await NodeRedInstance.start({ ...dcnFlow(store), env: { INSTANCE: name }, readyPath: '/dcn/HttpAuthDCNServlet', settings: { httpAdminRoot: '/admin' }, userDir });
    instances.push(instance);
    return instance;
  }

  describe('two instances on one PostgreSQL store', () => {
    const schema = usePostgresSchema();
    const pgStore = (): StoreNode => ({
      node: { kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' },
      credentials: { connectionString: PG_URL },
    });
    let a: NodeRedInstance;
    let b: NodeRedInstance;
    let store: Store;

    before(async () => {
      [a, b] = await Promise.all([start('a', pgStore()), start('b', pgStore())]);
      await registerDevices(a);
      store = createStore(pgConfig(schema));
    });
    after(() => store?.close());

    it('requests to both: every message handed out once per attempt, by one instance, and all delivered', async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `BOTH-${i}`);
      const statuses = new Map<string, number>();
      await Promise.all(ids.map(async (id, i) => statuses.set(id, await post(i % 2 ? b : a, id))));
      assert.deepEqual([...new Set(statuses.values())], [200]);

      const rows = await allDelivered(store, 'BOTH');
      assertFannedOut(statuses, rows);
      assert.equal(rows.length, ids.length * MESSAGES_PER_REQUEST);
      const reports = [...a.reports, ...b.reports].filter((r) => String(r.requestId ?? r.messageId).startsWith('BOTH'));
      const counts = handOuts(reports);
      assert.deepEqual([...counts.values()].filter((c) => c > 1), [], 'no attempt handed out twice');
      const delivered = new Set(deliveries(reports).map((r) => r.messageId));
      assert.equal(delivered.size, rows.length, 'every message reached a flow');
      assert.ok(deliveries(a.reports).length > 0 && deliveries(b.reports).length > 0, 'both instances delivered');
    });

    it('SIGKILL of one instance mid-load: the other takes over its leased messages and finishes', async () => {
      const load = loadUntil([a, b], 'KILL', 6);
      // Kill a while it holds messages it handed to its flow and has not acknowledged.
      const inHand = () => {
        const acked = new Set(acks(a.reports).map((r) => r.messageId));
        return deliveries(a.reports).some((r) => String(r.requestId).startsWith('KILL') && !acked.has(r.messageId));
      };
      const until = Date.now() + 20_000;
      while (!(load.answered() >= 20 && inHand())) {
        if (Date.now() > until) throw new Error('a never held an unacknowledged message under load');
        await new Promise((r) => setTimeout(r, 5));
      }
      await a.kill();
      const statuses = await load.stop();

      const rows = await allDelivered(store, 'KILL', 40_000);
      assertFannedOut(statuses, rows);
      const reports = [...a.reports, ...b.reports].filter((r) => String(r.requestId ?? r.messageId).startsWith('KILL'));
      const counts = handOuts(reports);
      assert.deepEqual([...counts.entries()].filter(([, c]) => c > 1), [], 'each attempt of a message handed out by one instance');
      // What a held when it died went out again from b, as a later attempt.
      const ackedByA = new Set(acks(a.reports).map((r) => r.messageId));
      const heldByA = deliveries(a.reports).filter((r) => String(r.requestId).startsWith('KILL') && !ackedByA.has(r.messageId));
      assert.ok(heldByA.length > 0);
      const retried = deliveries(b.reports).filter((r) => heldByA.some((h) => h.messageId === r.messageId));
      assert.ok(retried.length > 0, 'b delivered messages a held');
      for (const r of retried) assert.ok(Number(r.attempt) > Number(heldByA.find((h) => h.messageId === r.messageId)!.attempt));
      assert.ok(rows.every((r) => r.state === 'delivered'));
    });
  });

  it('SIGKILL under load on SQLite, then a restart: no half-applied request, every committed message delivered, none again once acknowledged', async () => {
    const first = await start('first', {});
    await registerDevices(first);
    const load = loadUntil([first], 'CRASH', 8);
    // Killed under load, while its flow holds messages it has not acknowledged.
    const acked = () => new Set(acks(first.reports).map((r) => r.messageId));
    const inHand = () => deliveries(first.reports).some((r) => !acked().has(r.messageId));
    const until = Date.now() + 20_000;
    while (!(load.answered() >= 40 && inHand())) {
      if (Date.now() > until) throw new Error(`only ${load.answered()} requests answered`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await first.kill();
    const statuses = await load.stop();
    const userDir = first.keepUserDir();

    // The file the killed process left, as it is, before anything runs again.
    const path = join(userDir, 'wechat-sap.sqlite');
    let atCrash: MessageRow[];
    const file = createStore({ kind: 'sqlite', path });
    try {
      const cache = new DataCache(file.database(), [TRIP_MBO]);
      const rows = await cache.read('travel', 'Trip', undefined, 100_000);
      const perRequest = new Map<string, number>();
      for (const r of rows) {
        const id = String(r.key.tripId).replace(/-\d+$/, '');
        perRequest.set(id, (perRequest.get(id) ?? 0) + 1);
      }
      assert.ok(perRequest.size >= 40);
      for (const [id, count] of perRequest) assert.equal(count, ROWS, `request ${id}: all its rows or none`);
      for (const [id, status] of statuses) if (status === 200) assert.equal(perRequest.get(id), ROWS, `answered request ${id} has its rows`);
      atCrash = await messageRows(file, 'CRASH');
      assertFannedOut(statuses, atCrash);
    } finally {
      await file.close();
    }
    const pendingAtCrash = atCrash.filter((r) => r.state === 'pending').map((r) => r.message_id);
    const deliveredAtCrash = new Set(atCrash.filter((r) => r.state === 'delivered').map((r) => r.message_id));
    assert.ok(pendingAtCrash.length > 0, 'the crash left messages to deliver');

    const restarted = await start('restarted', {}, userDir);
    const file2 = createStore({ kind: 'sqlite', path });
    try {
      const rows = await allDelivered(file2, 'CRASH');
      assertFannedOut(statuses, rows);
      assert.equal(rows.length, atCrash.length, 'the restart created no message');
      const after = deliveries(restarted.reports);
      const resent = new Set(after.map((r) => r.messageId));
      for (const id of pendingAtCrash) assert.ok(resent.has(id), `${id}, pending at the crash, delivered after the restart`);
      assert.deepEqual(after.filter((r) => deliveredAtCrash.has(String(r.messageId))), [], 'no message acknowledged before the crash went out again');
      const counts = handOuts([...first.reports, ...restarted.reports]);
      assert.deepEqual([...counts.entries()].filter(([, c]) => c > 1), [], 'each attempt handed out once');
    } finally {
      await file2.close();
      restarted.keepUserDir();
      await restarted.stop();
      rmSync(userDir, { recursive: true, force: true });
    }
  });
});
