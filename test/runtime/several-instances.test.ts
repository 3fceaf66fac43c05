/**
 * Two Node-RED processes sharing one PostgreSQL store, as two instances behind a load
 * balancer; one is killed with SIGKILL while it holds a claimed WeChat callback and
 * accepted C4C notifications. Every one of them must still reach a flow. A third case
 * restarts a single instance over its own SQLite store.
 */
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WeChatClientSimulator } from '../../sandbox/wechat-client';
import { PG_URL, usePostgresSchema } from '../lib/store/pg-support';
import { NodeRedInstance } from '../support/node-red-process';
import { notifyAuth, runtimeFlow, RuntimeFlowOptions } from '../support/runtime-flow';

/**
 * A C4C entity endpoint that holds every read while closed, so a notification stays in
 * the hands of the instance reading it; opened, it answers the held reads and new ones.
 */
class EntityGate {
  private server!: Server;
  private held: ServerResponse[] = [];
  private open = false;
  readonly reads: string[] = [];
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.reads.push(req.url ?? '');
      if (this.open) this.answer(res);
      else this.held.push(res);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  endpoint(id: string): string {
    return `${this.baseUrl}/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${id}')`;
  }

  release(): void {
    this.open = true;
    for (const res of this.held.splice(0)) if (!res.destroyed) this.answer(res);
  }

  private answer(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ d: { ObjectID: 'gated', LastName: 'Gate' } }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function notify(instance: NodeRedInstance, gate: EntityGate, id: string): Promise<number> {
  const body = JSON.stringify({ businessObject: 'Customer', businessObjectId: id, event: 'Update', odataServiceEndpoint: gate.endpoint(id) });
  return fetch(instance.url('/c4c/notify'), { method: 'POST', headers: { 'content-type': 'application/json', authorization: notifyAuth }, body }).then((r) => r.status);
}

describe('several Node-RED instances sharing a store', function () {
  this.timeout(90_000);
  const gate = new EntityGate();
  const instances: NodeRedInstance[] = [];
  before(() => gate.start());
  after(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await gate.stop();
  });

  async function startInstance(name: string, options: RuntimeFlowOptions, userDir?: string): Promise<NodeRedInstance> {
    const instance = await NodeRedInstance.start({ ...runtimeFlow(options), env: { INSTANCE: name }, readyPath: '/wx/oa', settings: { httpAdminRoot: '/admin' }, userDir });
    instances.push(instance);
    return instance;
  }

  describe('on PostgreSQL', () => {
    const schema = usePostgresSchema();
    let a: NodeRedInstance;
    let b: NodeRedInstance;
    const options = (): RuntimeFlowOptions => ({
      store: { kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' },
      storeCredentials: { connectionString: PG_URL },
      c4cBaseUrl: gate.baseUrl,
    });

    before(async () => {
      [a, b] = await Promise.all([startInstance('a', options()), startInstance('b', options())]);
    });

    it('a WeChat retry landing on the other instance gets the first answer and runs no flow there', async () => {
      const client = WeChatClientSimulator.demo('official', { mode: 'safe' });
      const message = client.buildMessage({ content: 'once' });
      const first = await client.send(client.prepare(a.url('/wx/oa'), message));
      const retry = await client.send(client.prepare(b.url('/wx/oa'), message));
      assert.equal(first.reply.kind === 'reply' && first.reply.text, 'answer from a');
      assert.equal(retry.reply.kind === 'reply' && retry.reply.text, 'answer from a', 'the retry gets the same reply');
      assert.equal([...a.reports, ...b.reports].filter((r) => r.content === 'once').length, 1);
    });

    it('a notification repeated to the other instance is emitted once', async () => {
      gate.release();
      assert.equal(await notify(a, gate, 'REPEATED'), 202);
      assert.equal(await notify(b, gate, 'REPEATED'), 202);
      await a.waitForReport('the notification', (r) => r.rootId === 'REPEATED').catch(() => b.waitForReport('the notification', (r) => r.rootId === 'REPEATED'));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal([...a.reports, ...b.reports].filter((r) => r.rootId === 'REPEATED').length, 1);
    });

    it('SIGKILL of an instance holding a claimed callback and accepted notifications loses none of them', async () => {
      const gated = new EntityGate();
      await gated.start();
      // Both instances read entities through one closed gate: accepted notifications stay in hand.
      await Promise.all([a.stop(), b.stop()]);
      instances.length = 0;
      [a, b] = await Promise.all([startInstance('a', { ...options(), c4cBaseUrl: gated.baseUrl }), startInstance('b', { ...options(), c4cBaseUrl: gated.baseUrl })]);
      try {
        const ids = ['N1', 'N2', 'N3', 'N4'];
        for (const id of ids) assert.equal(await notify(a, gated, id), 202, `${id} accepted`);
        const client = WeChatClientSimulator.demo('official', { mode: 'safe' });
        const held = client.prepare(a.url('/wx/oa'), { content: 'hold' });
        const firstTry = client.send(held, { timeoutMs: 10_000 });
        await a.waitForReport('the held callback on a', (r) => r.content === 'hold');
        await new Promise((r) => setTimeout(r, 300));
        await a.kill();
        assert.equal((await firstTry).reply.kind, 'network-error', 'WeChat saw the instance die');

        // WeChat tries again; the load balancer sends the retry to b.
        const retry = await client.send({ ...held, url: held.url.replace(a.baseUrl, b.baseUrl) }, { timeoutMs: 10_000 });
        assert.equal(retry.status, 200);
        await b.waitForReport('the callback taken over by b', (r) => r.content === 'hold');

        gated.release();
        for (const id of ids) await b.waitForReport(`notification ${id} on b`, (r) => r.rootId === id, 20_000);
        assert.ok(!a.reports.some((r) => r.kind === 'c4c'), 'a died before any notification reached its flow');
      } finally {
        await gated.stop();
      }
    });
  });

  it('a restarted instance emits what it accepted before it was killed (SQLite store)', async () => {
    const gated = new EntityGate();
    await gated.start();
    try {
      const options: RuntimeFlowOptions = { store: { kind: 'sqlite', path: 'restart.sqlite' }, c4cBaseUrl: gated.baseUrl };
      const first = await startInstance('first', options);
      assert.equal(await notify(first, gated, 'R1'), 202);
      assert.equal(await notify(first, gated, 'R2'), 202);
      await new Promise((r) => setTimeout(r, 1500));
      await first.kill();
      const userDir = first.keepUserDir();
      gated.release();
      const restarted = await startInstance('restarted', options, userDir);
      for (const id of ['R1', 'R2']) await restarted.waitForReport(`${id} after the restart`, (r) => r.rootId === id, 20_000);
      assert.ok(!first.reports.some((r) => r.kind === 'c4c'));
      restarted.keepUserDir();
      await restarted.stop();
      (await import('node:fs')).rmSync(userDir, { recursive: true, force: true });
    } finally {
      await gated.stop();
    }
  });
});
