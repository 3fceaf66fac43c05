/**
 * Send benchmark against the sandbox's Official Account API:
 * - messages/s and p99 latency with the cached token manager vs a naive client that
 *   fetches a token for every send (what most existing packages effectively do under
 *   concurrency);
 * - token requests for 10,000 sends from 2 processes sharing a store (goal: 1);
 *   PostgreSQL when reachable, otherwise one SQLite file.
 * Run as `node dist/bench/send.js --worker` this file is one of those processes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { Agent } from 'node:http';
import axios from 'axios';
import { Client } from 'pg';
import { StoreConfig, createStore } from '../lib/store';
import { WeChatApiClient } from '../lib/wechat/api-client';
import { prepareMessage, textBody } from '../lib/wechat/messages';
import { startSandbox } from '../sandbox';
import { DEMO_OFFICIAL_ACCOUNT } from '../sandbox/demo-accounts';
import { Figures, measure } from './measure';
import { PG_URL, pgReachable } from './postgres';
import type { BenchSuite } from './run';

const CONCURRENCY = 50;
const CACHED_SENDS = 5000;
const NAIVE_SENDS = 2000;
const CLUSTER_SENDS = 10_000;

function runWorker(env: Record<string, string>): { ready: Promise<void>; go(): void; done: Promise<number> } {
  const child = spawn(process.execPath, [__filename, '--worker'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let markReady!: () => void;
  let finish!: (fetches: number) => void;
  let fail!: (err: Error) => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const done = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  lines.on('line', (line) => {
    if (line === 'ready') return markReady();
    child.stdin.end();
    const result = JSON.parse(line) as { failed: number; fetches: number; error?: string };
    if (result.error || result.failed) fail(new Error(`worker: ${result.error ?? `${result.failed} sends failed`}`));
    else finish(result.fetches);
  });
  child.once('exit', (code) => (code ? fail(new Error(`worker exited with ${code}`)) : undefined));
  return { ready, go: () => child.stdin.write('go\n'), done };
}

/** The worker process: its own store and client, sends on "go". */
async function worker(): Promise<void> {
  const env = process.env;
  const config: StoreConfig =
    env.STORE_KIND === 'postgres'
      ? { kind: 'postgres', connectionString: PG_URL, schema: env.PG_SCHEMA, maxConnections: 4 }
      : { kind: 'sqlite', path: String(env.SQLITE_PATH) };
  const store = createStore(config);
  await store.get('warm-up');
  const client = new WeChatApiClient(
    { kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, secret: DEMO_OFFICIAL_ACCOUNT.appSecret, apiBase: String(env.API_BASE) },
    { store },
  );
  process.stdout.write('ready\n');
  await waitForGo();
  let failed = 0;
  await measure(Number(env.SEND_COUNT), CONCURRENCY, (i) =>
    client.send(prepareMessage('official', { touser: `w-${i}`, ...textBody('bench') })).then(
      () => undefined,
      () => void failed++,
    ),
  );
  process.stdout.write(JSON.stringify({ failed, fetches: client.tokens.fetchCount }) + '\n');
  await store.close();
  // Keep-alive sockets would hold the process open; the parent waits for the line above.
  process.exit(0);
}

/** Resolves on the first line from stdin, then lets stdin go so the process can end. */
function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => {
      rl.close();
      process.stdin.destroy();
      resolve();
    });
  });
}

async function run(): Promise<string> {
  const sandbox = await startSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'wxb-bench-send-'));
  const apiBase = `${sandbox.baseUrl}/wechat`;
  try {
    const store = createStore({ kind: 'sqlite', path: join(dir, 'cached.sqlite') });
    const client = new WeChatApiClient({ kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, secret: DEMO_OFFICIAL_ACCOUNT.appSecret, apiBase }, { store });
    const body = (i: number) => prepareMessage('official', { touser: `u-${i}`, ...textBody('bench') });
    await measure(200, CONCURRENCY, (i) => client.send(body(i)).then(() => undefined)); // warm-up
    const cached = await measure(CACHED_SENDS, CONCURRENCY, (i) => client.send(body(i)).then(() => undefined));
    const cachedTokenRequests = sandbox.wechat.tokenRequestCount;
    await store.close();

    // The naive client: a token request before every send, same HTTP keep-alive pool.
    const http = axios.create({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) });
    const naiveBefore = sandbox.wechat.tokenRequestCount;
    const naive = await measure(NAIVE_SENDS, CONCURRENCY, async (i) => {
      const token = await http.post(`${apiBase}/cgi-bin/stable_token`, {
        grant_type: 'client_credential',
        appid: DEMO_OFFICIAL_ACCOUNT.appId,
        secret: DEMO_OFFICIAL_ACCOUNT.appSecret,
      });
      const sent = await http.post(`${apiBase}/cgi-bin/message/custom/send`, body(i).body, { params: { access_token: token.data.access_token } });
      if (sent.data.errcode !== 0) throw new Error(`naive send failed: ${sent.data.errcode}`);
    });
    const naiveTokenRequests = sandbox.wechat.tokenRequestCount - naiveBefore;

    // Two processes sharing a store, 10,000 sends between them.
    sandbox.wechat.reset();
    const usePg = await pgReachable();
    const schema = `wxb_bench_${process.pid}`;
    const shared: Record<string, string> = usePg
      ? { STORE_KIND: 'postgres', PG_SCHEMA: schema }
      : { STORE_KIND: 'sqlite', SQLITE_PATH: join(dir, 'shared.sqlite') };
    const workers = [0, 1].map(() => runWorker({ ...shared, API_BASE: apiBase, SEND_COUNT: String(CLUSTER_SENDS / 2) }));
    await Promise.all(workers.map((w) => w.ready));
    const clusterStart = performance.now();
    workers.forEach((w) => w.go());
    await Promise.all(workers.map((w) => w.done));
    const clusterSeconds = (performance.now() - clusterStart) / 1000;
    if (usePg) {
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
    }

    const row = (name: string, f: Figures) => `| ${name} | ${Math.round(f.perSecond)} | ${f.p50.toFixed(1)} | ${f.p99.toFixed(1)} |`;
    return [
      `Official Account text messages against the local sandbox, ${CONCURRENCY} in flight.`,
      '',
      '| client | messages/s | p50 ms | p99 ms |',
      '|---|---:|---:|---:|',
      row(`cached token manager (${CACHED_SENDS} sends)`, cached),
      row(`naive: token per send (${NAIVE_SENDS} sends)`, naive),
      '',
      `Cached vs naive: ${(cached.perSecond / naive.perSecond).toFixed(1)}x the throughput, p99 ${(naive.p99 / cached.p99).toFixed(1)}x lower. ` +
        `Token requests: cached ${cachedTokenRequests}, naive ${naiveTokenRequests}.`,
      '',
      `${CLUSTER_SENDS} sends from 2 processes sharing ${usePg ? 'PostgreSQL' : 'one SQLite file (PostgreSQL unreachable)'}: ` +
        `${sandbox.wechat.tokenRequestCount} token request(s), ${sandbox.wechat.messages.length} messages delivered, ` +
        `${Math.round(CLUSTER_SENDS / clusterSeconds)} messages/s.`,
    ].join('\n');
  } finally {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sendSuite: BenchSuite = { name: 'send', run };

if (require.main === module && process.argv.includes('--worker')) {
  worker().catch((err: Error) => {
    process.stdout.write(JSON.stringify({ failed: 0, fetches: 0, error: err.message }) + '\n');
    process.exit(1);
  });
}
