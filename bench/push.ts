/**
 * Push benchmark: mobile-services-push against the Mobile Services stand-in, as a ratio
 * to raw HTTP posts of the very same bodies, measured in the same process and run.
 *
 *   - 1,000 Micro App text pushes, one user each, 50 in flight;
 *   - generic pushes to 1,000 users (one request each) and to 5,000 users (split by the
 *     node into five requests of 1,000).
 *
 * The node runs in Node-RED 4 embedded in this process (the package loaded from a user
 * dir, as an install loads it), the stand-in in this process too, so both sides pay for
 * the same server. The raw side replays the bodies the node put on the wire, with the
 * same keep-alive pool size, so the difference is what the node costs: message
 * handling, body building, authentication headers and result merging. Rounds alternate
 * node and raw; medians are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { AxiosInstance } from 'axios';
import type { Node, NodeMessage } from 'node-red';
import { Sandbox, startSandbox } from '../sandbox';
import { DEMO_MOBILE_SERVICES, demoEnvironment } from '../sandbox/demo-accounts';
import { FlowNode, prepareUserDir } from '../scripts/node-red-userdir';
import { Figures, measure, median } from './measure';
import type { BenchSuite } from './run';

const CONCURRENCY = 50;
const TEXT_PUSHES = 1000;
const ROUNDS = 5;
/** The client's pool size (lib/mobile-services/client.ts), given to the raw side too. */
const MAX_SOCKETS = 32;
const USERS = Array.from({ length: 5000 }, (_, i) => `BENCH${String(i).padStart(5, '0')}`);

type Settle = { resolve: (msg: NodeMessage) => void; reject: (err: Error) => void };

/** The embedded runtime's part that the bench uses. */
interface EmbeddedNodeRed {
  init(server: Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): Node | null };
  events: { once(event: string, listener: () => void): void };
}

const PUSH_NODES = { microApp: 'bench.push.microapp', generic: 'bench.push.generic' } as const;
type PushMode = keyof typeof PUSH_NODES;

/**
 * The flow: each push node's output goes to a function node that hands the message back
 * to the bench; a Catch node does the same with errors. Both find the bench's callbacks
 * in the global context (functionGlobalContext).
 */
function benchFlow(): FlowNode[] {
  const handBack = (id: string, callback: string, y: number): FlowNode => ({
    id,
    type: 'function',
    z: 'bench.tab',
    name: callback,
    func: `global.get('${callback}')(msg);\nreturn null;`,
    outputs: 0,
    x: 500,
    y,
    wires: [],
  });
  const push = (id: string, mode: PushMode, y: number): FlowNode => ({
    id,
    type: 'mobile-services-push',
    z: 'bench.tab',
    app: 'bench.app',
    mode,
    target: 'users',
    recipients: 'users',
    recipientsType: 'msg',
    x: 200,
    y,
    wires: [['bench.done']],
  });
  return [
    { id: 'bench.tab', type: 'tab', label: 'push bench' },
    { id: 'bench.app', type: 'mobile-services-app', serverUrl: '${MS_SERVER_URL}', appId: '${MS_APP_ID}', authType: 'apiKey' },
    push(PUSH_NODES.microApp, 'microApp', 100),
    push(PUSH_NODES.generic, 'generic', 160),
    handBack('bench.done', 'benchDone', 100),
    { id: 'bench.catch', type: 'catch', z: 'bench.tab', scope: null, uncaught: false, x: 200, y: 220, wires: [['bench.failed']] },
    handBack('bench.failed', 'benchFailed', 220),
  ];
}

/** Node-RED 4 in this process over a user dir that links this package, running benchFlow(). */
class PushFlows {
  private readonly pending = new Map<string, Settle>();
  private sequence = 0;
  private readonly server = createServer();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  private readonly red = require('node-red') as EmbeddedNodeRed;

  constructor(private readonly userDir: string) {}

  async start(env: Record<string, string>): Promise<void> {
    Object.assign(process.env, env);
    prepareUserDir({ userDir: this.userDir, flows: benchFlow(), credentials: { 'bench.app': { apiKey: '${MS_API_KEY}' } }, settings: {} });
    this.red.init(this.server, {
      userDir: this.userDir,
      flowFile: 'flows.json',
      credentialSecret: false,
      httpAdminRoot: false,
      httpNodeRoot: false,
      telemetry: { enabled: false },
      logging: { console: { level: 'warn', metrics: false, audit: false } },
      functionGlobalContext: { benchDone: this.settle('resolve'), benchFailed: this.settle('reject') },
    });
    const started = new Promise<void>((resolve) => this.red.events.once('flows:started', resolve));
    await this.red.start();
    await started;
  }

  push(mode: PushMode, msg: Record<string, unknown>): Promise<NodeMessage> {
    const node = this.red.nodes.getNode(PUSH_NODES[mode]);
    if (!node) return Promise.reject(new Error(`the ${mode} push node did not start`));
    const benchId = String(++this.sequence);
    return new Promise((resolve, reject) => {
      this.pending.set(benchId, { resolve, reject });
      node.receive({ ...msg, benchId } as NodeMessage);
    });
  }

  async stop(): Promise<void> {
    await this.red.stop();
    this.server.close();
  }

  private settle(outcome: 'resolve' | 'reject') {
    return (msg: NodeMessage & { benchId?: string; error?: { message?: string } }) => {
      const waiting = msg.benchId ? this.pending.get(msg.benchId) : undefined;
      if (!waiting || !msg.benchId) return;
      this.pending.delete(msg.benchId);
      if (outcome === 'resolve') waiting.resolve(msg);
      else waiting.reject(new Error(msg.error?.message ?? 'push failed'));
    };
  }
}

/** Raw posts of recorded bodies to their paths (relative to the application's v2 push API), with the push service key, as a hand-written client would. */
function rawPoster(sandbox: Sandbox): (path: string, body: object) => Promise<void> {
  const http: AxiosInstance = axios.create({ httpAgent: new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }), validateStatus: () => true });
  const base = `${sandbox.baseUrl}/mobile-services/mobileservices/push/v2/backend/applications/${encodeURIComponent(DEMO_MOBILE_SERVICES.appId)}`;
  return async (path, body) => {
    const res = await http.post(`${base}/${path}`, body, { headers: { 'X-API-Key': DEMO_MOBILE_SERVICES.apiKey } });
    if (res.status < 200 || res.status > 299) throw new Error(`raw push answered ${res.status}`);
  };
}

interface Comparison {
  label: string;
  requestsPerJob: number;
  node: Figures;
  raw: Figures;
}

/** Alternating rounds of the node and of raw replays of what the node sent in its round. */
async function compare(
  label: string,
  sandbox: Sandbox,
  flows: PushFlows,
  mode: PushMode,
  jobs: number,
  message: (i: number) => Record<string, unknown>,
): Promise<Comparison> {
  const post = rawPoster(sandbox);
  const node: Figures[] = [];
  const raw: Figures[] = [];
  let requestsPerJob = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    sandbox.mobileServices.reset();
    const byNode = await measure(jobs, CONCURRENCY, (i) => flows.push(mode, message(i)).then(() => undefined));
    const sent = sandbox.mobileServices.deliveries.map((d) => ({ path: d.path, body: d.body }));
    if (sent.length === 0 || sent.length % jobs !== 0) throw new Error(`${label}: the node sent ${sent.length} requests for ${jobs} pushes`);
    requestsPerJob = sent.length / jobs;
    // The raw side does, per job, the same requests one after another, as the node does.
    const byRaw = await measure(jobs, CONCURRENCY, async (i) => {
      for (let r = 0; r < requestsPerJob; r++) {
        const { path, body } = sent[i * requestsPerJob + r];
        await post(path, body);
      }
    });
    // Round 0 warms both paths up and is not counted.
    if (round === 0) continue;
    node.push(byNode);
    raw.push(byRaw);
  }
  const pick = (list: Figures[]): Figures => ({ perSecond: median(list.map((f) => f.perSecond)), p50: median(list.map((f) => f.p50)), p99: median(list.map((f) => f.p99)) });
  return { label, requestsPerJob, node: pick(node), raw: pick(raw) };
}

async function run(): Promise<string> {
  const registrations = USERS.map((user) => ({ user, devices: ['d1'], groups: [], topics: [], microApp: true }));
  const sandbox = await startSandbox({ mobileServices: { registrations } });
  const userDir = mkdtempSync(join(tmpdir(), 'wxb-bench-push-'));
  const flows = new PushFlows(userDir);
  const results: Comparison[] = [];
  try {
    await flows.start(demoEnvironment(sandbox.baseUrl));
    results.push(
      await compare(`${TEXT_PUSHES} Micro App text pushes, one user each`, sandbox, flows, 'microApp', TEXT_PUSHES, (i) => ({
        payload: `Leave request ${i} approved`,
        users: [USERS[i % USERS.length]],
      })),
    );
    for (const count of [1000, 5000]) {
      results.push(
        await compare(`generic push to ${count} users`, sandbox, flows, 'generic', 20, (i) => ({
          payload: { alert: `Trip ${i} approved`, badge: 1, data: { trip: String(i) } },
          users: USERS.slice(0, count),
        })),
      );
    }
  } finally {
    await flows.stop();
    await sandbox.close();
    rmSync(userDir, { recursive: true, force: true });
  }
  const row = (c: Comparison) =>
    `| ${c.label} | ${c.requestsPerJob} | ${Math.round(c.node.perSecond)} | ${Math.round(c.raw.perSecond)} | ${(c.node.perSecond / c.raw.perSecond).toFixed(2)} | ${c.node.p99.toFixed(1)} | ${c.raw.p99.toFixed(1)} |`;
  return [
    `mobile-services-push vs raw HTTP posts of the same bodies, ${CONCURRENCY} pushes in flight, median of ${ROUNDS} rounds (goal: ratio ≥ 0.8).`,
    '',
    '| pushes | requests per push | node pushes/s | raw pushes/s | ratio | node p99 ms | raw p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.map(row),
  ].join('\n');
}

export const pushSuite: BenchSuite = { name: 'push', run };
