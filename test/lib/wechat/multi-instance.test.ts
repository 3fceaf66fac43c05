/**
 * Several instances in separate processes, as in a Node-RED cluster: one token request
 * for a burst of sends from all of them (PostgreSQL), and a restarted process reusing
 * the token cached in the SQLite file.
 */
import assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Sandbox, startSandbox } from '../../../sandbox';
import { DEMO_OFFICIAL_ACCOUNT } from '../../../sandbox/demo-accounts';
import { PG_URL, usePostgresSchema } from '../store/pg-support';

interface WorkerResult {
  sent: number;
  failed: number;
  firstError: string | null;
  fetches: number;
}

class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(__dirname, 'fixtures', 'send-worker.js')], { env: { ...process.env, ...env } });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(line);
      } else this.lines.push(line);
    });
  }

  nextLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
  }

  async ready(): Promise<void> {
    assert.equal(await this.nextLine(), 'ready');
  }

  go(): void {
    this.child.stdin.write('go\n');
  }

  async result(): Promise<WorkerResult> {
    const parsed = JSON.parse(await this.nextLine()) as WorkerResult & { fatal?: string };
    assert.equal(parsed.fatal, undefined);
    return parsed;
  }
}

describe('several instances in separate processes', () => {
  let sandbox: Sandbox;
  const baseEnv = () => ({
    APP_ID: DEMO_OFFICIAL_ACCOUNT.appId,
    APP_SECRET: DEMO_OFFICIAL_ACCOUNT.appSecret,
    API_BASE: `${sandbox.baseUrl}/wechat`,
  });

  before(async () => {
    sandbox = await startSandbox();
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.wechat.reset());

  describe('sharing PostgreSQL', () => {
    const schema = usePostgresSchema();

    it('200 concurrent sends from two processes make exactly one token request', async () => {
      const workers = ['a', 'b'].map((id) => new Worker({ ...baseEnv(), STORE_KIND: 'postgres', PG_URL, PG_SCHEMA: schema, SEND_COUNT: '100', WORKER_ID: id }));
      await Promise.all(workers.map((w) => w.ready()));
      workers.forEach((w) => w.go());
      const results = await Promise.all(workers.map((w) => w.result()));
      assert.deepEqual(
        results.map((r) => [r.sent, r.failed, r.firstError]),
        [
          [100, 0, null],
          [100, 0, null],
        ],
      );
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
      assert.equal(results[0].fetches + results[1].fetches, 1);
      assert.equal(sandbox.wechat.messages.length, 200);
    });
  });

  describe('with the SQLite store', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'wxb-mi-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('a restarted process reuses the cached token without fetching', async () => {
      const env = { ...baseEnv(), STORE_KIND: 'sqlite', SQLITE_PATH: join(dir, 'wechat-sap.sqlite'), SEND_COUNT: '3', WORKER_ID: 'r' };
      for (let run = 0; run < 2; run++) {
        const worker = new Worker(env);
        await worker.ready();
        worker.go();
        const result = await worker.result();
        assert.equal(result.sent, 3);
        assert.equal(result.fetches, run === 0 ? 1 : 0);
      }
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
      assert.equal(sandbox.wechat.messages.length, 6);
    });

    it('two processes sharing one SQLite file make one token request', async () => {
      const workers = ['a', 'b'].map((id) => new Worker({ ...baseEnv(), STORE_KIND: 'sqlite', SQLITE_PATH: join(dir, 'shared.sqlite'), SEND_COUNT: '50', WORKER_ID: id }));
      await Promise.all(workers.map((w) => w.ready()));
      workers.forEach((w) => w.go());
      const results = await Promise.all(workers.map((w) => w.result()));
      assert.deepEqual(results.map((r) => r.sent), [50, 50]);
      assert.equal(sandbox.wechat.tokenRequestCount, 1);
    });
  });
});
