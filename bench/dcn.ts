/**
 * WF-DCN benchmark (issue 10, §6): requests per second and p99 of the hub in Node-RED 4,
 * durability on (the data rows and the messages are committed before the answer), and
 * in the same run the machine's two limits the hub cannot beat:
 *
 *   (a) Node-RED: wf-dcn-in on a wf-dcn-hub, one on SQLite (the embedded store), one on
 *       PostgreSQL (a wechat-sap-store), each in its own Node-RED process;
 *   (b) Node-RED's cheapest HTTP round trip, http in → change → http response, in a
 *       Node-RED of its own, with the same request bodies;
 *   (c) the bare store: lib/dcn's DcnHub on the same store with the same settings, in
 *       this process, committing the same rows and messages per request (no HTTP, no
 *       Node-RED).
 *
 * Every request is a WF-DCN :upsert with its own id, 5 data rows (Trip, new keys each
 * time) in one DCN request, for one receiver with 3 devices. The devices are WeCom
 * devices and no wf-dcn-deliver leases their channel, so the messages are committed
 * and stay pending: delivery does not run during the measurement (the same rows as a
 * real fan-out, none of the sending). The answers are checked: 200 and every result
 * record successful, or the suite fails.
 *
 * Then the cost as rows (1, 10, 100) and devices (1, 10, 100) grow, through (a) on
 * SQLite, and a CPU profile (--cpu-prof) of (a) on SQLite under the same load, which
 * says what bounds it.
 */
import autocannon from 'autocannon';
import { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DcnHttpCall, DcnHub, DcnSender, SqlOutbox } from '../lib/dcn';
import { basicHeader } from '../lib/http/basic-auth';
import { SqliteSynchronous, Store, StoreConfig, createStore } from '../lib/store';
import { DEMO_DCN } from '../sandbox/demo-accounts';
import { TRIP_MBO, tripRow } from '../sandbox/dcn-requests';
import { FlowNode, packageRoot, prepareUserDir, spawnNodeRed, stopChild, waitForHttp } from '../scripts/node-red-userdir';
import { newestProfile, profileShares, sharesLine, topFunctions } from './cpu-profile';
import { Figures, measure, median } from './measure';
import { PG_URL, pgReachable } from './postgres';
import type { BenchSuite } from './run';

const CONNECTIONS = 50;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 4;
const ROUNDS = 3;
/** The grid's cells are shorter: 9 of them. */
const GRID_SECONDS = 2;
const GRID = [1, 10, 100];
const ROWS = 5;
const DEVICES = 3;
const SECURITY = 'default';
const SERVLET = '/dcn/HttpAuthDCNServlet';
const QUERY = `?cmd=wf&security=${SECURITY}&domain=default`;
const HTTP_PATH = '/bench/http';
const READY_PATH = '/bench/ready';
const SENDER: DcnSender = { user: DEMO_DCN.sender, password: DEMO_DCN.password, security: 'admin', admin: true };
const AUTHORIZATION = basicHeader(SENDER.user, SENDER.password);
const benchDir = join(packageRoot, '.bench');
/** A comma-separated subset of the targets (b, a-sqlite, c-sqlite, a-postgres, c-postgres), and whether the grid and the profile run: for looking at one figure. */
const ONLY_TARGETS = (process.env.BENCH_TARGETS ?? '').split(',').filter(Boolean);
const MAIN_ONLY = process.env.BENCH_DCN_MAIN_ONLY === '1';
/** SQLite's durability for (a) and (c): FULL (the store's default, and what the issue asks for) unless set to normal, for comparing. */
const SYNCHRONOUS: SqliteSynchronous = process.env.BENCH_DCN_SYNCHRONOUS === 'normal' ? 'normal' : 'full';
/** Only the CPU profile of (a) on SQLite: for looking at what bounds it. */
const PROFILE_ONLY = process.env.BENCH_DCN_PROFILE_ONLY === '1';

type StoreKind = 'sqlite' | 'postgres';

// ── Requests ─────────────────────────────────────────────────────────────────────

/** The receiver who has `devices` devices. */
function receiverOf(devices: number): string {
  return `bench-user-${devices}`;
}

/**
 * Request bodies with `rows` data rows for the receiver of `devices` devices: each one
 * with its own WF-DCN id and its own row keys, made by joining a template's parts.
 */
class RequestBodies {
  private readonly parts: string[];
  private n = 0;

  constructor(
    private readonly prefix: string,
    rows: number,
    devices: number,
  ) {
    // Survives JSON.stringify as it is (a control character would be escaped and never found again).
    const marker = '@@ID@@';
    const request = {
      op: ':upsert',
      id: marker,
      to: receiverOf(devices),
      subject: 'Trip request approval required',
      from: 'bench',
      body: `${rows} trips wait for your approval`,
      received: '2024-05-30T09:30:00+08:00',
      read: false,
      priority: false,
      data: [{ id: '1', pkg: DEMO_DCN.package, messages: Array.from({ length: rows }, (_, i) => ({ id: String(i + 1), mbo: TRIP_MBO.name, op: ':upsert', cols: tripRow(`${marker}-${i}`, i) })) }],
    };
    this.parts = JSON.stringify(request).split(marker);
    if (this.parts.length !== rows + 2) throw new Error('the request template lost its id markers');
  }

  next(): string {
    return this.parts.join(`${this.prefix}${++this.n}`);
  }

  get count(): number {
    return this.n;
  }
}

/** Why an answer is not a complete success, or undefined. */
function answerProblem(status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 160)}`;
  let records: unknown;
  try {
    records = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 80)}`;
  }
  if (!Array.isArray(records) || records.length !== 2) return `expected 2 result records, got ${body.slice(0, 160)}`;
  const failed = records.find((r: { success?: unknown }) => r.success !== true);
  return failed ? `a record failed: ${JSON.stringify(failed)}` : undefined;
}

// ── Node-RED targets ─────────────────────────────────────────────────────────────

function hubFlows(store: StoreKind, schema: string): { flows: FlowNode[]; credentials: Record<string, Record<string, string>> } {
  const flows: FlowNode[] = [
    { id: 'bench.tab', type: 'tab', label: 'WF-DCN benchmark' },
    {
      id: 'bench.hub',
      type: 'wf-dcn-hub',
      name: 'bench hub',
      store: 'bench.store',
      mbos: JSON.stringify([TRIP_MBO]),
      visibilityTimeout: 30,
      maxAttempts: 5,
      retryDelay: 5,
      adminUrl: '/dcn/admin',
    },
    // No wf-dcn-deliver: no deliverer leases the devices' channel, so delivery does not run.
    { id: 'bench.in', type: 'wf-dcn-in', z: 'bench.tab', hub: 'bench.hub', url: SERVLET, paramUrl: '', operationTimeout: 10, x: 150, y: 100, wires: [[], [], []] },
  ];
  const credentials: Record<string, Record<string, string>> = { 'bench.hub': { senders: JSON.stringify([SENDER]) } };
  if (store === 'sqlite') {
    // The file in the userDir, as the embedded store's, with the durability setting named.
    flows.push({ id: 'bench.store', type: 'wechat-sap-store', name: 'bench SQLite', kind: 'sqlite', path: 'dcn.sqlite', synchronous: SYNCHRONOUS, host: '', port: '', database: '', user: '', ssl: false, schema: '', tablePrefix: '' });
  } else {
    flows.push({ id: 'bench.store', type: 'wechat-sap-store', name: 'bench PostgreSQL', kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' });
    credentials['bench.store'] = { connectionString: PG_URL };
  }
  return { flows, credentials };
}

function httpFlows(): FlowNode[] {
  return [
    { id: 'bench.tab', type: 'tab', label: 'HTTP round trip' },
    { id: 'bench.http.in', type: 'http in', z: 'bench.tab', url: HTTP_PATH, method: 'post', upload: false, swaggerDoc: '', wires: [['bench.http.change']] },
    { id: 'bench.http.change', type: 'change', z: 'bench.tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '[{"recordID":"1","success":true,"statusMessage":""},{"recordID":"x","success":true,"statusMessage":""}]', tot: 'str' }], wires: [['bench.http.out']] },
    { id: 'bench.http.out', type: 'http response', z: 'bench.tab', statusCode: '', headers: { 'content-type': 'application/json' }, wires: [] },
    // The readiness probe GETs; the measured route takes POSTs only, as the servlet's requests are.
    { id: 'bench.ready.in', type: 'http in', z: 'bench.tab', url: READY_PATH, method: 'get', upload: false, swaggerDoc: '', wires: [['bench.ready.out']] },
    { id: 'bench.ready.out', type: 'http response', z: 'bench.tab', statusCode: '', headers: {}, wires: [] },
  ];
}

interface NodeRedTarget {
  child: ChildProcess;
  base: string;
  userDir: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startNodeRed(name: string, flows: FlowNode[], credentials: Record<string, Record<string, string>>, readyPath: string, nodeArgs: string[] = []): Promise<NodeRedTarget> {
  const port = await freePort();
  const userDir = join(benchDir, `dcn-${name}`);
  rmSync(userDir, { recursive: true, force: true });
  const settingsFile = prepareUserDir({
    userDir,
    flows,
    credentials,
    settings: {
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: false,
      disableEditor: true,
      telemetry: { enabled: false },
      editorTheme: { tours: false, projects: { enabled: false } },
      logging: { console: { level: 'warn', metrics: false, audit: false } },
    },
  });
  const child = spawnNodeRed({ redJs: require.resolve('node-red/red.js'), userDir, settingsFile, env: { ...process.env }, stdio: ['ignore', 'inherit', 'inherit'], nodeArgs });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(base + readyPath, 30_000, child);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { child, base, userDir };
}

/** Registers `count` WeCom devices for the receiver of that many, through the hub's admin route. */
async function registerOverHttp(base: string, count: number): Promise<void> {
  const user = receiverOf(count);
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${base}/dcn/admin/registry/${SECURITY}/${user}`, {
      method: 'POST',
      headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: `wecom-${i}`, channel: 'wecom', address: `${user}-${i}` }),
    });
    if (res.status !== 201) throw new Error(`registering a device answered ${res.status}: ${await res.text()}`);
  }
}

interface Measured extends Figures {
  requests: number;
  failures: string[];
}

/** One autocannon run of `seconds` against `url` with bodies from `bodies`; answers are all checked. */
async function loadHttp(url: string, bodies: RequestBodies, seconds: number): Promise<Measured> {
  const failures: string[] = [];
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (request) => ({ ...request, method: 'POST', headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' }, body: bodies.next() }),
        onResponse: (status, body) => {
          const problem = answerProblem(status, body);
          if (problem && failures.length < 5) failures.push(problem);
        },
      },
    ],
  });
  if (result.errors) failures.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
  return { perSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, failures };
}

// ── The bare store (c) ───────────────────────────────────────────────────────────

interface BareHub {
  hub: DcnHub;
  store: Store;
}

async function openBareHub(config: StoreConfig): Promise<BareHub> {
  const store = createStore(config);
  const hub = new DcnHub({ store, senders: [SENDER], mbos: [TRIP_MBO], outbox: new SqlOutbox(store.database()) });
  await hub.ready();
  return { hub, store };
}

async function registerBare(hub: DcnHub, count: number): Promise<void> {
  const user = receiverOf(count);
  for (let i = 0; i < count; i++) await hub.registry.register({ security: SECURITY, user, deviceId: `wecom-${i}`, channel: 'wecom', address: `${user}-${i}`, msDevice: '' });
}

function bareCall(body: string): DcnHttpCall {
  return { servlet: 'http-auth', method: 'POST', parameters: { cmd: 'wf', security: SECURITY, domain: 'default' }, rawBody: body, authorization: AUTHORIZATION, headers: { 'content-type': 'application/json' } };
}

/** `seconds` worth of requests (sized by a warm-up's rate), CONNECTIONS in flight, straight into the hub. */
async function loadBare(hub: DcnHub, bodies: RequestBodies, rate: number, seconds: number): Promise<Measured> {
  const failures: string[] = [];
  const total = Math.max(CONNECTIONS, Math.round(rate * seconds));
  const figures = await measure(total, CONNECTIONS, async () => {
    const answer = await hub.handle(bareCall(bodies.next()));
    const problem = answerProblem(answer.status, answer.body);
    if (problem && failures.length < 5) failures.push(problem);
  });
  return { ...figures, requests: total, failures };
}

/** What the SQLite store's connection runs with: the journal mode and synchronous level. */
async function sqliteSettings(store: Store): Promise<string> {
  const db = store.database();
  const [journal] = await db.all<{ journal_mode: string }>('PRAGMA journal_mode');
  const [sync] = await db.all<{ synchronous: number }>('PRAGMA synchronous');
  const level = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][sync.synchronous] ?? String(sync.synchronous);
  return `journal_mode=${journal.journal_mode.toUpperCase()}, synchronous=${level}`;
}

// ── Rounds ───────────────────────────────────────────────────────────────────────

interface Target {
  name: string;
  label: string;
  /** A warm-up; returns the rate it reached. */
  warm(): Promise<number>;
  run(rate: number): Promise<Measured>;
}

interface Row {
  target: Target;
  figures: Measured;
}

/** Warms every target up, then measures them in ROUNDS rounds in rotating order; medians. */
async function measureInRounds(targets: Target[]): Promise<Row[]> {
  const rates = new Map<Target, number>();
  for (const t of targets) rates.set(t, await t.warm());
  const runs = new Map<Target, Measured[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + round) % targets.length];
      runs.get(t)!.push(await t.run(rates.get(t)!));
    }
  }
  return targets.map((target) => {
    const all = runs.get(target)!;
    return {
      target,
      figures: {
        perSecond: median(all.map((m) => m.perSecond)),
        p50: median(all.map((m) => m.p50)),
        p99: median(all.map((m) => m.p99)),
        requests: all.reduce((s, m) => s + m.requests, 0),
        failures: all.flatMap((m) => m.failures),
      },
    };
  });
}

function httpTarget(name: string, label: string, url: string, bodies: RequestBodies): Target {
  return {
    name,
    label,
    warm: async () => (await loadHttp(url, bodies, WARMUP_SECONDS)).perSecond,
    run: () => loadHttp(url, bodies, MEASURE_SECONDS),
  };
}

function bareTarget(name: string, label: string, hub: DcnHub, bodies: RequestBodies): Target {
  return {
    name,
    label,
    warm: async () => {
      const started = Date.now();
      const warm = await loadBare(hub, bodies, 500, WARMUP_SECONDS);
      return warm.requests / ((Date.now() - started) / 1000);
    },
    run: (rate) => loadBare(hub, bodies, rate, MEASURE_SECONDS),
  };
}

// ── Report ───────────────────────────────────────────────────────────────────────

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.map(line)].join('\n');
}

function figuresTable(rows: Row[]): string {
  return table(
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'requests'],
    rows.map(({ target, figures: f }) => [target.label, f.perSecond.toFixed(0), f.p50.toFixed(1), f.p99.toFixed(1), String(f.requests)]),
  );
}

function ratios(byName: Map<string, Measured>, kinds: StoreKind[]): string[] {
  const http = byName.get('b')!;
  const lines: string[] = [];
  for (const kind of kinds) {
    const hub = byName.get(`a-${kind}`)!;
    const bare = byName.get(`c-${kind}`)!;
    const lower = Math.min(http.perSecond, bare.perSecond);
    // One JavaScript thread pays for both: the HTTP round trip and the store's work, one after the other.
    const combined = 1 / (1 / http.perSecond + 1 / bare.perSecond);
    const goalRate = kind === 'sqlite' ? `; goal ≥ 1,000 req/s: ${hub.perSecond >= 1000 ? 'met' : 'MISSED'}` : '';
    lines.push(
      `${kind}: a/b ${(hub.perSecond / http.perSecond).toFixed(2)}, a/c ${(hub.perSecond / bare.perSecond).toFixed(2)}; ` +
        `a / the lower limit ${(hub.perSecond / lower).toFixed(2)} (goal ≥ 0.5: ${hub.perSecond / lower >= 0.5 ? 'met' : 'MISSED'})${goalRate}; ` +
        `both costs on one thread, 1/(1/b + 1/c) = ${combined.toFixed(0)} req/s: a reaches ${(hub.perSecond / combined).toFixed(2)} of it; ` +
        `p99 a/b ${(hub.p99 / http.p99).toFixed(2)}`,
    );
  }
  return lines;
}

// ── The run ──────────────────────────────────────────────────────────────────────

async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The grid: (a) on SQLite with rows × devices, a fresh Node-RED whose receivers have 1, 10 and 100 devices. */
async function grid(): Promise<string> {
  const { flows, credentials } = hubFlows('sqlite', '');
  const red = await startNodeRed('grid', flows, credentials, SERVLET);
  try {
    for (const devices of GRID) await registerOverHttp(red.base, devices);
    const cells: string[][] = [];
    for (const rows of GRID) {
      const line = [`${rows} row${rows > 1 ? 's' : ''}`];
      for (const devices of GRID) {
        const bodies = new RequestBodies(`G${rows}x${devices}-`, rows, devices);
        await loadHttp(red.base + SERVLET + QUERY, bodies, 1);
        const m = await loadHttp(red.base + SERVLET + QUERY, bodies, GRID_SECONDS);
        if (m.failures.length) throw new Error(`grid ${rows} rows × ${devices} devices: ${m.failures.join('; ')}`);
        line.push(`${m.perSecond.toFixed(0)} (${m.p99.toFixed(0)})`);
      }
      cells.push(line);
    }
    return table(['req/s (p99 ms)', ...GRID.map((d) => `${d} device${d > 1 ? 's' : ''}`)], cells);
  } finally {
    await stopChild(red.child, 15_000);
  }
}

/** (a) on SQLite once more, under --cpu-prof for one measured run; the profile's shares. */
async function profile(): Promise<string> {
  const dir = join(benchDir, 'dcn-prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { flows, credentials } = hubFlows('sqlite', '');
  const red = await startNodeRed('profiled', flows, credentials, SERVLET, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    await registerOverHttp(red.base, DEVICES);
    const bodies = new RequestBodies('P-', ROWS, DEVICES);
    await loadHttp(red.base + SERVLET + QUERY, bodies, MEASURE_SECONDS);
  } finally {
    // The profile is written when the process exits normally (SIGINT stops Node-RED).
    await stopChild(red.child, 15_000);
  }
  // The samples while requests were processed: start-up and shutdown left out.
  const underLoad = (url: string) => url.includes('/dist/lib/dcn/processor');
  const recorded = newestProfile(dir);
  const shares = profileShares(recorded, underLoad);
  const idle = shares.find((x) => x.category.startsWith('idle'))?.share ?? 0;
  const bound = idle < 0.15 ? `CPU-bound on Node-RED's one JavaScript thread (idle ${(idle * 100).toFixed(0)}%)` : `not CPU-bound (idle ${(idle * 100).toFixed(0)}%: waiting on I/O)`;
  return `${bound}; the time went to: ${sharesLine(shares.filter((x) => !x.category.startsWith('idle')))}.\nTop functions (own time): ${topFunctions(recorded, underLoad, 6).join(', ')}`;
}

async function runDcn(): Promise<string> {
  if (PROFILE_ONLY) return `CPU profile of (a) on SQLite: ${await profile()}`;
  const loadBefore = loadavg()[0].toFixed(2);
  const withPg = await pgReachable();
  const kinds: StoreKind[] = withPg ? ['sqlite', 'postgres'] : ['sqlite'];
  const schema = `wxb_bench_dcn_${process.pid}`;
  const bareSchema = `${schema}_bare`;
  const reds: NodeRedTarget[] = [];
  const bares: BareHub[] = [];
  let settings = '';
  let rows: Row[];
  try {
    const http = await startNodeRed('http', httpFlows(), {}, READY_PATH);
    reds.push(http);
    const targets: Target[] = [httpTarget('b', '(b) Node-RED http in → change → http response', http.base + HTTP_PATH, new RequestBodies('H-', ROWS, DEVICES))];
    for (const kind of kinds) {
      const { flows, credentials } = hubFlows(kind, schema);
      const red = await startNodeRed(kind, flows, credentials, SERVLET);
      reds.push(red);
      await registerOverHttp(red.base, DEVICES);
      targets.push(httpTarget(`a-${kind}`, `(a) Node-RED wf-dcn-in + wf-dcn-hub, ${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, red.base + SERVLET + QUERY, new RequestBodies(`A${kind}-`, ROWS, DEVICES)));
      const bareConfig: StoreConfig = kind === 'sqlite' ? { kind: 'sqlite', path: join(benchDir, 'dcn-bare', 'dcn.sqlite'), synchronous: SYNCHRONOUS } : { kind: 'postgres', connectionString: PG_URL, schema: bareSchema };
      if (kind === 'sqlite') rmSync(join(benchDir, 'dcn-bare'), { recursive: true, force: true });
      const bare = await openBareHub(bareConfig);
      bares.push(bare);
      if (kind === 'sqlite') settings = await sqliteSettings(bare.store);
      await registerBare(bare.hub, DEVICES);
      targets.push(bareTarget(`c-${kind}`, `(c) bare store: lib/dcn DcnHub, ${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, bare.hub, new RequestBodies(`C${kind}-`, ROWS, DEVICES)));
    }
    rows = await measureInRounds(targets.filter((t) => !ONLY_TARGETS.length || ONLY_TARGETS.includes(t.name)));
  } finally {
    await Promise.all(reds.map((r) => stopChild(r.child, 15_000)));
    await Promise.all(bares.map((b) => b.store.close()));
    if (withPg) await Promise.all([dropSchema(schema), dropSchema(bareSchema)]).catch(() => undefined);
  }
  const failed = rows.filter((r) => r.figures.failures.length);
  if (failed.length) throw new Error(`The WF-DCN benchmark saw failed requests:\n${failed.map((r) => `  ${r.target.name}: ${r.figures.failures.join('; ')}`).join('\n')}`);
  const byName = new Map(rows.map((r) => [r.target.name, r.figures]));
  if (MAIN_ONLY || ONLY_TARGETS.length) return figuresTable(rows);
  const gridTable = await grid();
  const profileLine = await profile();
  return [
    `WF-DCN :upsert requests, ${ROWS} data rows (one DCN request) and ${DEVICES} devices of one receiver each, ${CONNECTIONS} in flight;`,
    `${WARMUP_SECONDS} s warm-up per target, then ${ROUNDS} rounds of ${MEASURE_SECONDS} s in rotating order, medians. Node ${process.version}, ${cpus().length} CPUs,`,
    `load average before the run ${loadBefore}. The devices are WeCom devices no wf-dcn-deliver leases: messages are committed, not sent.`,
    `SQLite: a wechat-sap-store with synchronous=${SYNCHRONOUS}; (c) read back ${settings}. PostgreSQL: ${withPg ? 'the local server, default settings (synchronous_commit on)' : 'not reachable, left out'}.`,
    '',
    figuresTable(rows),
    '',
    ...ratios(byName, kinds),
    '',
    `Rows × devices, (a) on SQLite, ${GRID_SECONDS} s each after a 1 s warm-up:`,
    '',
    gridTable,
    '',
    `CPU profile of (a) on SQLite (--cpu-prof, ${MEASURE_SECONDS} s of the same load): ${profileLine}.`,
  ].join('\n');
}

export const dcnSuite: BenchSuite = { name: 'dcn', run: runDcn };
