/**
 * Two Node-RED processes sharing one PostgreSQL store behind a round-robin proxy (the
 * load balancer), with the sandbox's WeChat API: WeChat's retries landing on the other
 * instance reach a flow once and the user still gets an answer; 1,000 sends spread over
 * both instances fetch one access token; WF-DCN requests are handed out once per attempt
 * and all delivered; one instance killed with SIGKILL mid-load loses nothing that was
 * acknowledged. Each test prints its figures (README, "Beyond one machine").
 */
import assert from 'node:assert/strict';
import { Store, createStore } from '../../lib/store';
import { Sandbox, startSandbox } from '../../sandbox';
import { DEMO_OFFICIAL_ACCOUNT } from '../../sandbox/demo-accounts';
import { DeliveryResult, WeChatClientSimulator, randomOpenId } from '../../sandbox/wechat-client';
import type { FlowNode } from '../../scripts/node-red-userdir';
import { PG_URL, pgConfig, usePostgresSchema } from '../lib/store/pg-support';
import { waitFor } from '../support/flow-watch';
import { NodeRedInstance, Report, reportingFunction } from '../support/node-red-process';
import { RoundRobinProxy } from '../support/round-robin-proxy';
import {
  MESSAGES_PER_REQUEST,
  ROWS,
  acks,
  allDelivered,
  assertFannedOut,
  cachedRowsPerRequest,
  dcnNodes,
  deliveries,
  handOuts,
  loadUntil,
  postRequest,
  registerDevices,
  reportsOf,
} from '../support/wf-dcn-process';

const TAB = 'two-tab';
const CALLBACK = '/wx/oa';
/** Instance a is slow: requests reach it this much later than they reach b. */
const SLOW_MS = 2000;
/** The flow's work before it replies: in time for the passive reply, but with SLOW_MS past WeChat's 5 s. */
const WORK_MS = 3500;
/** Work for messages whose text starts with "late": past the reply deadline, so the reply goes out as a customer-service message. */
const LATE_MS = 6000;
const RETRIED_MESSAGES = 40;
const SENDS = 1000;
const SEND_LANES = 25;

/** wechat-in → report → work → wechat-reply; POST /send → wechat-send; both on the account's shared store. */
function wechatNodes(sandboxUrl: string): FlowNode[] {
  const at = (x: number, y: number) => ({ z: TAB, x, y });
  return [
    { id: 'account', type: 'wechat-account', kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, agentId: '', apiBase: `${sandboxUrl}/wechat`, emptyReceiverId: false, tokenMode: 'stable', store: 'store' },
    { id: 'wx-in', type: 'wechat-in', account: 'account', url: CALLBACK, replayWindow: 300, replyTimeout: 4.5, ...at(100, 100), wires: [['wx-seen']] },
    { id: 'wx-seen', type: 'function', func: reportingFunction("{ kind: 'wechat', instance: env.get('INSTANCE'), content: msg.payload.Content }"), outputs: 1, ...at(300, 100), wires: [['wx-work']] },
    {
      id: 'wx-work',
      type: 'function',
      func: `const content = msg.payload.Content;\nsetTimeout(() => { msg.payload = 'answer to ' + content + ' from ' + env.get('INSTANCE'); node.send(msg); }, content.startsWith('late') ? ${LATE_MS} : ${WORK_MS});\nreturn null;`,
      outputs: 1,
      ...at(500, 100),
      wires: [['wx-reply']],
    },
    { id: 'wx-reply', type: 'wechat-reply', ...at(700, 100), wires: [] },
    { id: 'send-in', type: 'http in', url: '/send', method: 'post', upload: false, swaggerDoc: '', ...at(100, 200), wires: [['send-prepare']] },
    { id: 'send-prepare', type: 'function', func: 'msg.to = msg.payload.to;\nmsg.payload = msg.payload.text;\nreturn msg;', outputs: 1, ...at(300, 200), wires: [['send']] },
    { id: 'send', type: 'wechat-send', account: 'account', store: '', to: 'to', toType: 'msg', ...at(500, 200), wires: [['send-answer']] },
    { id: 'send-failed', type: 'catch', scope: ['send'], uncaught: false, ...at(500, 260), wires: [['send-502']] },
    { id: 'send-502', type: 'function', func: 'msg.statusCode = 502;\nmsg.payload = msg.error.message;\nreturn msg;', outputs: 1, ...at(700, 260), wires: [['send-answer']] },
    { id: 'send-answer', type: 'http response', statusCode: '', headers: {}, ...at(700, 200), wires: [] },
  ];
}

function twoInstanceFlow(sandboxUrl: string, schema: string): { flows: FlowNode[]; credentials: Record<string, Record<string, string>> } {
  const dcn = dcnNodes(TAB, 'store');
  return {
    flows: [
      { id: TAB, type: 'tab', label: 'two instances' },
      { id: 'store', type: 'wechat-sap-store', kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' },
      ...wechatNodes(sandboxUrl),
      ...dcn.flows,
    ],
    credentials: {
      store: { connectionString: PG_URL },
      account: { appSecret: DEMO_OFFICIAL_ACCOUNT.appSecret, token: DEMO_OFFICIAL_ACCOUNT.token, encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey },
      ...dcn.credentials,
    },
  };
}

/** One line of figures, for README's "Beyond one machine". */
function figures(what: string, values: Record<string, number | string>): void {
  console.log(`      [two instances] ${what}: ${Object.entries(values).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Runs `count` jobs, `lanes` at a time. */
async function inLanes<T>(count: number, lanes: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await job(i);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

describe('two Node-RED instances behind a round-robin proxy, sharing PostgreSQL', function () {
  this.timeout(120_000);
  const schema = usePostgresSchema();
  const instances: NodeRedInstance[] = [];
  let sandbox: Sandbox;
  let proxy: RoundRobinProxy;
  let store: Store;
  let a: NodeRedInstance;
  let b: NodeRedInstance;

  before(async function () {
    this.timeout(90_000);
    sandbox = await startSandbox();
    const spec = twoInstanceFlow(sandbox.baseUrl, schema);
    const start = async (name: string) => {
      const instance = await NodeRedInstance.start({ ...spec, env: { INSTANCE: name }, readyPath: CALLBACK, settings: { httpAdminRoot: '/admin' } });
      instances.push(instance);
      return instance;
    };
    [a, b] = await Promise.all([start('a'), start('b')]);
    proxy = await RoundRobinProxy.start([a.baseUrl, b.baseUrl]);
    store = createStore(pgConfig(schema));
  });

  after(async () => {
    await proxy?.stop();
    await Promise.all(instances.map((i) => i.stop()));
    await store?.close();
    await sandbox?.close();
  });

  it('1,000 sends spread over both instances fetch one access token', async () => {
    const began = Date.now();
    const users = Array.from({ length: SENDS }, () => randomOpenId());
    const statuses = await inLanes(SENDS, SEND_LANES, async (i) => {
      const res = await fetch(proxy.url('/send'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: users[i], text: `send ${i}` }) });
      await res.text();
      return res.status;
    });
    const took = seconds(began);
    assert.deepEqual([...new Set(statuses)], [200], 'every send answered 200');
    const sent = sandbox.wechat.messages.filter((m) => m.api === 'message/custom/send' && String((m.body.text as { content?: string } | undefined)?.content).startsWith('send '));
    assert.equal(sent.length, SENDS, 'every message reached WeChat');
    assert.equal(new Set(sent.map((m) => m.body.touser)).size, SENDS, 'each to its own user');
    const [toA, toB] = proxy.spread();
    assert.equal(toA, SENDS / 2);
    assert.equal(toB, SENDS / 2);
    assert.equal(sandbox.wechat.tokenRequestCount, 1, 'one token request for both instances');
    figures('sends', { sends: SENDS, 'in flight': SEND_LANES, 'on a': toA, 'on b': toB, 'token requests': sandbox.wechat.tokenRequestCount, time: took });
  });

  it('WeChat retries landing on the other instance reach a flow once, and every user gets an answer', async () => {
    proxy.slowDown(0, SLOW_MS);
    const logFrom = proxy.log.length;
    const messagesFrom = sandbox.wechat.messages.length;
    const client = WeChatClientSimulator.demo('official', { mode: 'safe' });
    const contents = Array.from({ length: RETRIED_MESSAGES }, (_, i) => `${i % 4 === 1 || i % 4 === 2 ? 'late' : 'quick'} ${i}`);
    const deliveriesOut = contents.map((content) => client.prepare(proxy.url(CALLBACK), client.buildMessage({ content, from: randomOpenId() })));
    const began = Date.now();
    // All at once: the proxy hands them to a and b in turn, and WeChat's retries follow in turn.
    const results = await Promise.all(deliveriesOut.map((d) => client.sendWithRetries(d)));
    const answered = seconds(began);

    const passive = (r: DeliveryResult) => (r.reply.kind === 'reply' ? r.reply.text : undefined);
    const unanswered = results.filter((r) => passive(r) === undefined);
    // Those answered "success" get the late reply as a customer-service message.
    const lateSent = () => sandbox.wechat.messages.slice(messagesFrom).filter((m) => m.api === 'message/custom/send');
    await waitFor('every late reply sent', () => lateSent().length >= unanswered.length, 20_000);
    proxy.slowDown(0, 0);

    const seen = (content: string) => [...a.reports, ...b.reports].filter((r: Report) => r.kind === 'wechat' && r.content === content);
    const attempts = proxy.log.slice(logFrom);
    let retried = 0;
    let crossed = 0;
    results.forEach((result, i) => {
      const content = contents[i];
      assert.equal(result.status, 200, `${content}: WeChat got an answer`);
      const flows = seen(content);
      assert.equal(flows.length, 1, `${content} reached a flow once across both instances`);
      const targets = attempts.filter((r) => r.path === result.delivery.path).map((r) => r.target);
      assert.equal(targets.length, result.attempts.length, `${content}: every attempt went through the proxy`);
      if (targets.length > 1) retried++;
      if (new Set(targets).size > 1) crossed++;
      const answer = `answer to ${content} from ${String(flows[0].instance)}`;
      const toUser = lateSent().filter((m) => m.body.touser === result.delivery.message.from);
      if (passive(result) !== undefined) {
        assert.equal(passive(result), answer, `${content}: the passive reply of the flow that ran, whichever instance answered`);
        assert.equal(toUser.length, 0, `${content}: no second answer`);
      } else {
        assert.equal(result.reply.kind, 'no-reply', `${content}: "success"`);
        assert.deepEqual(
          toUser.map((m) => (m.body.text as { content: string }).content),
          [answer],
          `${content}: the late reply, once, as a customer-service message`,
        );
      }
    });
    // The first attempts on slow a all miss WeChat's deadline; about half their retries go to b.
    assert.ok(retried >= RETRIED_MESSAGES / 2, `${retried} messages retried`);
    assert.ok(crossed >= RETRIED_MESSAGES / 8, `${crossed} retries landed on the other instance`);
    const crossedLate = results.filter((r, i) => contents[i].startsWith('late') && new Set(attempts.filter((x) => x.path === r.delivery.path).map((x) => x.target)).size > 1);
    assert.ok(crossedLate.length > 0, 'late replies among the retries on the other instance');
    figures('WeChat retries', {
      messages: RETRIED_MESSAGES,
      attempts: attempts.length,
      retried,
      'retries on the other instance': crossed,
      'flow runs': [...a.reports, ...b.reports].filter((r) => r.kind === 'wechat').length,
      'passive replies': RETRIED_MESSAGES - unanswered.length,
      'late replies as customer-service messages': lateSent().length,
      'token requests in all': sandbox.wechat.tokenRequestCount,
      'all answered in': answered,
    });
    assert.equal(sandbox.wechat.tokenRequestCount, 1, 'the late replies used the shared token');
  });

  describe('WF-DCN through the proxy', () => {
    before(() => registerDevices(proxy.baseUrl));

    it('requests spread over both: every message handed out once per attempt, by one instance, and all delivered', async () => {
      const began = Date.now();
      const ids = Array.from({ length: 30 }, (_, i) => `BOTH-${i}`);
      const statuses = new Map<string, number>();
      await Promise.all(ids.map(async (id) => statuses.set(id, await postRequest(proxy.baseUrl, id))));
      assert.deepEqual([...new Set(statuses.values())], [200]);

      const rows = await allDelivered(store, 'BOTH');
      const took = seconds(began);
      assertFannedOut(statuses, rows);
      assert.equal(rows.length, ids.length * MESSAGES_PER_REQUEST);
      const reports = reportsOf([...a.reports, ...b.reports], 'BOTH');
      const counts = handOuts(reports);
      assert.deepEqual([...counts.values()].filter((c) => c > 1), [], 'no attempt handed out twice');
      const delivered = new Set(deliveries(reports).map((r) => r.messageId));
      assert.equal(delivered.size, rows.length, 'every message reached a flow');
      const byA = deliveries(reportsOf(a.reports, 'BOTH')).length;
      const byB = deliveries(reportsOf(b.reports, 'BOTH')).length;
      assert.ok(byA > 0 && byB > 0, 'both instances delivered');
      figures('WF-DCN', { requests: ids.length, messages: rows.length, 'hand-outs': counts.size, 'delivered by a': byA, 'delivered by b': byB, 'all delivered in': took });
    });

    it('SIGKILL of one instance mid-load: every acknowledged request applied and delivered, what it held sent by the other', async () => {
      const began = Date.now();
      const load = loadUntil([proxy.baseUrl], 'KILL', 6);
      // Kill a while it holds messages it handed to its flow and has not acknowledged.
      const inHand = () => {
        const acked = new Set(acks(a.reports).map((r) => r.messageId));
        return deliveries(reportsOf(a.reports, 'KILL')).some((r) => !acked.has(r.messageId));
      };
      await waitFor('a holding an unacknowledged message under load', () => load.answered() >= 20 && inHand(), 20_000);
      await a.kill();
      const statuses = await load.stop();

      const rows = await allDelivered(store, 'KILL', 40_000);
      const took = seconds(began);
      assertFannedOut(statuses, rows);
      const perRequest = await cachedRowsPerRequest(store);
      for (const [id, status] of statuses) if (status === 200) assert.equal(perRequest.get(id), ROWS, `answered request ${id} has its rows`);
      const reports = reportsOf([...a.reports, ...b.reports], 'KILL');
      const counts = handOuts(reports);
      assert.deepEqual([...counts.entries()].filter(([, c]) => c > 1), [], 'each attempt of a message handed out by one instance');
      // What a held when it died went out again from b, as a later attempt.
      const ackedByA = new Set(acks(a.reports).map((r) => r.messageId));
      const heldByA = deliveries(reportsOf(a.reports, 'KILL')).filter((r) => !ackedByA.has(r.messageId));
      assert.ok(heldByA.length > 0);
      const retried = deliveries(b.reports).filter((r) => heldByA.some((h) => h.messageId === r.messageId));
      assert.ok(retried.length > 0, 'b delivered messages a held');
      for (const r of retried) assert.ok(Number(r.attempt) > Number(heldByA.find((h) => h.messageId === r.messageId)!.attempt));
      const status = (s: number) => [...statuses.values()].filter((v) => v === s).length;
      figures('SIGKILL', {
        requests: statuses.size,
        'answered 200': status(200),
        '502 (a gone)': status(502),
        'no answer': status(0),
        'messages committed': rows.length,
        'held by a at the kill': heldByA.length,
        'sent again by b': retried.length,
        'all delivered in': took,
      });
    });
  });
});
