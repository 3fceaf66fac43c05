/**
 * Inbound benchmark (issue §8): what WeChat's full callback security costs inside
 * Node-RED, measured in one run over loopback with autocannon, 50 connections:
 *
 *   (a) Node-RED 4: wechat-in → change (fixed text) → wechat-reply,
 *       for WeCom (encrypted) and an Official Account (plain);
 *   (b) the same Node-RED: core http in → change → http response, the cheapest flow;
 *   (c) a bare node:http server doing the same protocol work with lib/ (inbound-server.ts).
 *
 * Every request is a distinct, validly signed delivery with its own MsgId, prepared
 * ahead by the client simulator, so wechat-in's de-duplication never answers from its
 * cache. A sample of the answers is checked like WeChat would check them; any non-2xx,
 * connection error or invalid answer fails the suite. The suite only reports figures.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEMO_MICRO_APP, demoEnvironment } from '../sandbox/demo-accounts';
import { PreparedDelivery, WeChatClientSimulator } from '../sandbox/wechat-client';
import { FlowNode, packageRoot, prepareDemoUserDir, spawnNodeRed, stopChild, waitForHttp } from '../scripts/node-red-userdir';
import { BENCH_REPLY_TEXT } from './inbound-server';
import { median } from './measure';
import type { BenchSuite } from './run';

const CONNECTIONS = 50;
/** Seconds per measured run; Node-RED's targets are measured in ROUNDS runs each. */
const MEASURE_SECONDS = 4;
const ROUNDS = 3;
/** The warm-up is a fixed number of requests, so its pool is known; the measured run's pool is sized from its rate. */
const WARMUP_REQUESTS = 10_000;
/** Headroom over the warm-up rate, so the measured run never wraps around its pool. */
const POOL_HEADROOM = 2;
/**
 * Targets without a de-duplication cache (the bare server, http in) rotate through at
 * most this many deliveries: a repeat costs them exactly the same work, and a pool sized
 * for 20k+ req/s would take longer to sign than the run itself.
 */
const ROTATING_POOL_MAX = 60_000;
/** One answer in this many is opened and checked like WeChat would. */
const CHECK_EVERY = 25;
/** Extra Node.js flags for the Node-RED child, for profiling: e.g. "--cpu-prof --cpu-prof-dir=.bench/prof". */
const NODE_RED_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
/** A comma-separated subset of targets to run (a-wecom, a-official, b, c-wecom, c-official); all when unset. */
const ONLY_TARGETS = (process.env.BENCH_TARGETS ?? '').split(',').filter(Boolean);

const benchDir = join(packageRoot, '.bench');
const PATHS = { official: '/bench/official', wecom: '/bench/wecom', http: '/bench/http', microApp: '/bench/microapp' };

interface Target {
  name: string;
  label: string;
  url: string;
  pid: number;
  pool: RequestPool;
  /** wechat-in answers a repeated MsgId from its cache, so its requests must never repeat. */
  dedups: boolean;
  /** Returns why an answer is wrong, or undefined when it is right. */
  check(delivery: PreparedDelivery, status: number, body: string): string | undefined;
}

interface Measured {
  target: Target;
  reqPerSec: number;
  p50: number;
  p99: number;
  rssMiB: number;
  total: number;
  failures: string[];
}

/** Pre-generated deliveries, handed out in order; running out would repeat MsgIds, so it is counted. */
class RequestPool {
  private readonly items: PreparedDelivery[] = [];
  private cursor = 0;
  wrapped = 0;

  constructor(
    private readonly make: () => PreparedDelivery,
    private readonly pathFor: (delivery: PreparedDelivery) => string = (d) => d.path,
  ) {}

  /** Makes sure at least `count` unused deliveries are ready (generated before a run, never during one). */
  ensureUnused(count: number): void {
    while (this.items.length - this.cursor < count) this.items.push(this.make());
  }

  next(): PreparedDelivery {
    if (this.cursor >= this.items.length) {
      this.wrapped++;
      this.cursor = 0;
    }
    return this.items[this.cursor++];
  }

  path(delivery: PreparedDelivery): string {
    return this.pathFor(delivery);
  }

  get used(): number {
    return this.cursor;
  }
}

type LoadContext = { delivery?: PreparedDelivery };

/** One autocannon run against a target; answers are sampled and checked. */
async function load(target: Target, limit: { seconds: number } | { requests: number }): Promise<{ result: autocannon.Result; failures: string[] }> {
  const failures: string[] = [];
  let answered = 0;
  const wrappedBefore = target.pool.wrapped;
  const result = await autocannon({
    url: target.url,
    connections: CONNECTIONS,
    ...('seconds' in limit ? { duration: limit.seconds } : { amount: limit.requests }),
    requests: [
      {
        setupRequest: (request, context) => {
          const delivery = target.pool.next();
          (context as LoadContext).delivery = delivery;
          return { ...request, method: 'POST', path: target.pool.path(delivery), headers: delivery.headers, body: delivery.body };
        },
        onResponse: (status, body, context) => {
          if (++answered % CHECK_EVERY !== 0 && status >= 200 && status < 300) return;
          const delivery = (context as LoadContext).delivery;
          const problem = delivery ? target.check(delivery, status, body) : 'no delivery recorded for the answer';
          if (problem && failures.length < 5) failures.push(problem);
        },
      },
    ],
  });
  if (target.dedups && target.pool.wrapped > wrappedBefore) failures.push('the request pool ran out, so MsgIds repeated');
  if (result.non2xx) failures.push(`${result.non2xx} non-2xx answers`);
  if (result.errors) failures.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
  return { result, failures };
}

async function warmUp(target: Target): Promise<{ rate: number; failures: string[] }> {
  target.pool.ensureUnused(WARMUP_REQUESTS + CONNECTIONS);
  const warm = await load(target, { requests: WARMUP_REQUESTS });
  return { rate: warm.result.requests.total / Math.max(warm.result.duration, 0.1), failures: warm.failures.map((f) => `warm-up: ${f}`) };
}

/** One measured run, with the pool topped up beforehand (never during the run). */
async function measureOnce(target: Target, rate: number): Promise<{ result: autocannon.Result; failures: string[] }> {
  const expected = Math.ceil(rate * MEASURE_SECONDS * POOL_HEADROOM);
  target.pool.ensureUnused(target.dedups ? expected : Math.min(expected, ROTATING_POOL_MAX));
  return load(target, { seconds: MEASURE_SECONDS });
}

/**
 * Measures targets that share one server in ROUNDS rounds, rotating which goes first, and
 * reports each target's medians: a slow moment of the machine or a heap left large by the
 * previous target then weighs on every target alike instead of on one.
 */
async function measureInRounds(targets: Target[]): Promise<Measured[]> {
  const warm = new Map<Target, { rate: number; failures: string[] }>();
  for (const target of targets) warm.set(target, await warmUp(target));
  const runs = new Map<Target, autocannon.Result[]>(targets.map((t) => [t, []]));
  const failures = new Map<Target, string[]>(targets.map((t) => [t, [...warm.get(t)!.failures]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length];
      const { result, failures: failed } = await measureOnce(target, warm.get(target)!.rate);
      runs.get(target)!.push(result);
      failures.get(target)!.push(...failed);
    }
  }
  return targets.map((target) => {
    const results = runs.get(target)!;
    return {
      target,
      reqPerSec: median(results.map((r) => r.requests.average)),
      p50: median(results.map((r) => r.latency.p50)),
      p99: median(results.map((r) => r.latency.p99)),
      rssMiB: rssMiB(target.pid),
      total: results.reduce((sum, r) => sum + r.requests.total, 0),
      failures: failures.get(target)!,
    };
  });
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// ── Clients and checks ───────────────────────────────────────────────────────────

const wecomClient = WeChatClientSimulator.demo('wecom');
const microAppClient = WeChatClientSimulator.demo('microapp');
const forwardLogin = `Basic ${Buffer.from(`${DEMO_MICRO_APP.forwardUser}:${DEMO_MICRO_APP.forwardPassword}`).toString('base64')}`;
const officialClient = WeChatClientSimulator.demo('official', { mode: 'plain' });

/**
 * Nonces count up from a random start: a 32-bit random nonce repeats within one second
 * at this rate now and then, and wechat-in refuses a plain signature that carries a
 * second message (one signed query, one message), which would count as a failure here.
 */
let nextNonce = Math.floor(Math.random() * 1e9);

function prepareText(client: WeChatClientSimulator, url: string): PreparedDelivery {
  nextNonce = (nextNonce + 1) % 4_294_967_296;
  return client.prepare(url, { type: 'text', content: 'What are your opening hours? 营业时间？' }, { nonce: String(nextNonce) });
}

/**
 * What Mobile Services posts to the message handler: the decrypted WeCom message as
 * plain XML, with the destination's forward login; nothing is signed on this hop.
 */
function prepareForwarded(url: string): PreparedDelivery {
  const message = microAppClient.buildMessage({ type: 'text', content: 'What are your opening hours? 营业时间？' });
  const { pathname } = new URL(url);
  const headers = { authorization: forwardLogin, 'content-type': 'text/xml; charset=utf-8' };
  // 'plain': the reply comes back as plain XML, which the simulator then checks like any plain reply.
  return { method: 'POST', url, path: pathname, query: {}, headers, body: message.xml, mode: 'plain', encrypted: false, timestamp: '', nonce: '', message };
}

function forwardedReplyCheck(delivery: PreparedDelivery, status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 80)}`;
  const outcome = microAppClient.openReply(delivery, status, body);
  if (outcome.kind !== 'reply') return `${outcome.kind}: ${'reason' in outcome ? outcome.reason : body.slice(0, 80)}`;
  return outcome.text === BENCH_REPLY_TEXT ? undefined : `unexpected reply text ${JSON.stringify(outcome.text)}`;
}

function replyCheck(client: WeChatClientSimulator) {
  return (delivery: PreparedDelivery, status: number, body: string): string | undefined => {
    const outcome = client.openReply(delivery, status, body);
    if (outcome.kind !== 'reply') return `${outcome.kind}: ${'reason' in outcome ? outcome.reason : body.slice(0, 80)}`;
    if (outcome.encrypted !== delivery.encrypted) return 'the reply is not sealed like the message';
    return outcome.text === BENCH_REPLY_TEXT ? undefined : `unexpected reply text ${JSON.stringify(outcome.text)}`;
  };
}

function plainTextCheck(_delivery: PreparedDelivery, status: number, body: string): string | undefined {
  if (status < 200 || status > 299) return `HTTP ${status}: ${body.slice(0, 80)}`;
  return body === BENCH_REPLY_TEXT ? undefined : `unexpected body ${JSON.stringify(body.slice(0, 80))}`;
}

// ── Node-RED (targets a and b) ───────────────────────────────────────────────────

function fixedText(id: string, next: string): FlowNode {
  return {
    id,
    type: 'change',
    z: 'bench.tab',
    name: 'fixed reply',
    rules: [{ t: 'set', p: 'payload', pt: 'msg', to: BENCH_REPLY_TEXT, tot: 'str' }],
    wires: [[next]],
  };
}

function benchFlows(): FlowNode[] {
  return [
    { id: 'bench.tab', type: 'tab', label: 'Inbound benchmark' },
    { id: 'bench.account.oa', type: 'wechat-account', name: 'OA', kind: 'official', appId: '${WECHAT_OA_APPID}', agentId: '', apiBase: '', emptyReceiverId: false },
    { id: 'bench.account.wecom', type: 'wechat-account', name: 'WeCom', kind: 'wecom', appId: '${WECOM_CORPID}', agentId: '${WECOM_AGENTID}', apiBase: '', emptyReceiverId: false },
    { id: 'bench.in.oa', type: 'wechat-in', z: 'bench.tab', account: 'bench.account.oa', url: PATHS.official, replayWindow: 300, replyTimeout: 4.5, wires: [['bench.change.oa']] },
    fixedText('bench.change.oa', 'bench.reply.oa'),
    { id: 'bench.reply.oa', type: 'wechat-reply', z: 'bench.tab', wires: [] },
    { id: 'bench.in.wecom', type: 'wechat-in', z: 'bench.tab', account: 'bench.account.wecom', url: PATHS.wecom, replayWindow: 300, replyTimeout: 4.5, wires: [['bench.change.wecom']] },
    fixedText('bench.change.wecom', 'bench.reply.wecom'),
    { id: 'bench.reply.wecom', type: 'wechat-reply', z: 'bench.tab', wires: [] },
    { id: 'bench.account.microapp', type: 'wechat-account', name: 'Micro App', kind: 'wecom', appId: '${MICROAPP_CORPID}', agentId: '${MICROAPP_AGENTID}', apiBase: '', emptyReceiverId: false },
    // The credentials rule of the demo (sandbox/demo-credentials.ts) gives the handler at this path its forward login.
    { id: 'bench.in.microapp', type: 'wechat-in', z: 'bench.tab', account: 'bench.account.microapp', url: DEMO_MICRO_APP.handlerPath, mode: 'mobile-services', forwardAuth: 'basic', replayWindow: 300, replyTimeout: 4.5, wires: [['bench.change.microapp']] },
    fixedText('bench.change.microapp', 'bench.reply.microapp'),
    { id: 'bench.reply.microapp', type: 'wechat-reply', z: 'bench.tab', wires: [] },
    { id: 'bench.http.in', type: 'http in', z: 'bench.tab', url: PATHS.http, method: 'post', upload: false, swaggerDoc: '', wires: [['bench.http.change']] },
    fixedText('bench.http.change', 'bench.http.out'),
    { id: 'bench.http.out', type: 'http response', z: 'bench.tab', statusCode: '', headers: {}, wires: [] },
  ];
}

/** A Node-RED with every bench flow; each Node-RED target gets its own, identical one. */
async function startNodeRed(port: number, name: string): Promise<ChildProcess> {
  const flows = benchFlows();
  const userDir = join(benchDir, `inbound-${name}`);
  const settingsFile = prepareDemoUserDir(userDir, flows, '127.0.0.1', port, {
    disableEditor: true,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
  });
  const child = spawnNodeRed({
    redJs: require.resolve('node-red/red.js'),
    userDir,
    settingsFile,
    // The accounts' API base is never called here; the sandbox URL is only a placeholder.
    // No EncodingAESKey for the Official Account: it is measured in plain mode, which an account with a key refuses.
    env: { ...process.env, ...demoEnvironment('http://127.0.0.1:9'), WECHAT_OA_AESKEY: '' },
    stdio: ['ignore', 'inherit', 'inherit'],
    nodeArgs: NODE_RED_ARGS,
  });
  // A valid URL verification as the readiness probe, so wechat-in logs no rejected request.
  await waitForHttp(wecomClient.prepareVerification(`http://127.0.0.1:${port}${PATHS.wecom}`).url, 30_000, child);
  return child;
}

// ── Bare server (target c) ───────────────────────────────────────────────────────

async function startBareServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(__dirname, 'inbound-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code}) before listening`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return { child, port };
}

// ── Report ───────────────────────────────────────────────────────────────────────

function table(rows: Measured[]): string {
  const head = ['target', 'req/s', 'p50 ms', 'p99 ms', 'RSS MiB', 'requests'];
  const body = rows.map((m) => [m.target.label, m.reqPerSec.toFixed(0), m.p50.toFixed(1), m.p99.toFixed(1), m.rssMiB.toFixed(0), String(m.total)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

/** The ratios the issue sets goals for; a ratio is left out when a target was not run (BENCH_TARGETS). */
function summary(byName: Map<string, Measured>): string {
  const lines: string[] = [];
  const ratio = (label: string, top: string, bottom: string, value: (m: Measured) => number, goal?: (r: number) => string) => {
    const [a, b] = [byName.get(top), byName.get(bottom)];
    if (!a || !b) return;
    const r = value(a) / value(b);
    lines.push(`${label.padEnd(36)} ${r.toFixed(2)}${goal ? `  (${goal(r)})` : ''}`);
  };
  const throughput = (m: Measured) => m.reqPerSec;
  const p99 = (m: Measured) => m.p99;
  ratio('a/b throughput, WeCom encrypted:', 'a-wecom', 'b', throughput, (r) => `goal ≥ 0.80: ${verdict(r >= 0.8)}`);
  ratio('a/b throughput, Official plain:', 'a-official', 'b', throughput);
  ratio('handler / plain throughput:', 'a-microapp', 'a-official', throughput);
  ratio('p99(handler)/p99(plain):', 'a-microapp', 'a-official', p99);
  ratio('a/c throughput, WeCom encrypted:', 'a-wecom', 'c-wecom', throughput);
  ratio('a/c throughput, Official plain:', 'a-official', 'c-official', throughput);
  ratio('p99(a)/p99(b), WeCom encrypted:', 'a-wecom', 'b', p99, (r) => `goal ≤ 1.25: ${verdict(r <= 1.25)}`);
  ratio('p99(a)/p99(b), Official plain:', 'a-official', 'b', p99);
  return lines.join('\n');
}

async function runInbound(): Promise<string> {
  const loadBefore = loadavg()[0].toFixed(2);
  // (a) and (b) run in identical Node-RED processes of their own, so neither pays for the
  // other's heap (wechat-in keeps every delivery's answer for 30 s), and they are measured in
  // alternating rounds, so a slow moment of the machine weighs on all of them alike.
  const reds = new Map<string, { child: ChildProcess; base: string }>();
  for (const name of ['b', 'a-wecom', 'a-official', 'a-microapp']) {
    const port = await freePort();
    reds.set(name, { child: await startNodeRed(port, name), base: `http://127.0.0.1:${port}` });
  }
  const bare = await startBareServer();
  const rows: Measured[] = [];
  try {
    const red = (name: string) => reds.get(name)!;
    const bareBase = `http://127.0.0.1:${bare.port}`;
    // (b) reuses the WeCom deliveries, so it reads the same bodies over the same paths' length.
    const httpPath = (d: PreparedDelivery) => PATHS.http + d.path.slice(d.path.indexOf('?'));
    const b = red('b');
    const aWecom = red('a-wecom');
    const aOfficial = red('a-official');
    const aMicroApp = red('a-microapp');
    const nodeRed: Target[] = [
      { name: 'b', label: '(b) Node-RED http in → change → http response', url: b.base, pid: b.child.pid!, pool: new RequestPool(() => prepareText(wecomClient, b.base + PATHS.wecom), httpPath), dedups: false, check: plainTextCheck },
      { name: 'a-wecom', label: '(a) Node-RED wechat-in → reply, WeCom encrypted', url: aWecom.base, pid: aWecom.child.pid!, pool: new RequestPool(() => prepareText(wecomClient, aWecom.base + PATHS.wecom)), dedups: true, check: replyCheck(wecomClient) },
      { name: 'a-official', label: '(a) Node-RED wechat-in → reply, Official plain', url: aOfficial.base, pid: aOfficial.child.pid!, pool: new RequestPool(() => prepareText(officialClient, aOfficial.base + PATHS.official)), dedups: true, check: replyCheck(officialClient) },
      { name: 'a-microapp', label: '(a) Node-RED wechat-in → reply, via Mobile Services', url: aMicroApp.base, pid: aMicroApp.child.pid!, pool: new RequestPool(() => prepareForwarded(aMicroApp.base + DEMO_MICRO_APP.handlerPath)), dedups: true, check: forwardedReplyCheck },
    ];
    const bareTargets: Target[] = [
      { name: 'c-wecom', label: '(c) bare node:http + lib, WeCom encrypted', url: bareBase, pid: bare.child.pid!, pool: new RequestPool(() => prepareText(wecomClient, bareBase + '/wecom')), dedups: false, check: replyCheck(wecomClient) },
      { name: 'c-official', label: '(c) bare node:http + lib, Official plain', url: bareBase, pid: bare.child.pid!, pool: new RequestPool(() => prepareText(officialClient, bareBase + '/official')), dedups: false, check: replyCheck(officialClient) },
    ];
    const chosen = (t: Target) => !ONLY_TARGETS.length || ONLY_TARGETS.includes(t.name);
    rows.push(...(await measureInRounds(nodeRed.filter(chosen))));
    rows.push(...(await measureInRounds(bareTargets.filter(chosen))));
  } finally {
    await Promise.all([...[...reds.values()].map((r) => stopChild(r.child)), stopChild(bare.child)]);
  }
  const report = [
    `${CONNECTIONS} connections over loopback, ${WARMUP_REQUESTS} warm-up requests per target, then ${ROUNDS} rounds of ${MEASURE_SECONDS} s each,`,
    `rotating the order; figures are the medians of the rounds. Node ${process.version}, ${cpus().length} CPUs.`,
    `Load average before the run: ${loadBefore} (other work on the machine skews the figures).`,
    'Requests are valid signed deliveries (unique MsgId, current timestamp); those to wechat-in never repeat (its de-dup',
    `cache would answer them), the others rotate through at most ${ROTATING_POOL_MAX} distinct ones.`,
    'RSS: VmRSS of each target\'s server process after the run (the two (c) targets share one process).',
    '',
    table(rows),
    '',
    summary(new Map(rows.map((m) => [m.target.name, m]))),
  ].join('\n');
  const failed = rows.filter((m) => m.failures.length);
  if (failed.length) {
    const details = failed.map((m) => `  ${m.target.name}: ${m.failures.join('; ')}`).join('\n');
    throw new Error(`${report}\n\nThe inbound benchmark saw failed requests:\n${details}`);
  }
  return report;
}

export const inboundSuite: BenchSuite = { name: 'inbound', run: runInbound };
