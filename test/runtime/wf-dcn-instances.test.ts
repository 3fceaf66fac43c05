/**
 * The WF-DCN hub in a whole Node-RED process on its SQLite store, killed under load and
 * restarted: no request is half applied, and every committed message is delivered, none
 * of them again once it was acknowledged. (Two instances sharing PostgreSQL behind a load
 * balancer are in ./two-instances.test.ts.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { createStore } from '../../lib/store';
import { NodeRedInstance } from '../support/node-red-process';
import { DCN_READY_PATH, MessageRow, ROWS, acks, allDelivered, assertFannedOut, cachedRowsPerRequest, dcnNodes, deliveries, handOuts, loadUntil, messageRows, registerDevices } from '../support/wf-dcn-process';

describe('WF-DCN hub in a whole Node-RED process', function () {
  this.timeout(120_000);
  const instances: NodeRedInstance[] = [];
  after(() => Promise.all(instances.map((i) => i.stop())));

  async function start(name: string, userDir?: string): Promise<NodeRedInstance> {
    const { flows, credentials } = dcnNodes('dcn-tab', '');
    const instance = await NodeRedInstance.start({
      flows: [{ id: 'dcn-tab', type: 'tab', label: 'wf-dcn runtime test' }, ...flows],
      credentials,
      env: { INSTANCE: name },
      readyPath: DCN_READY_PATH,
      settings: { httpAdminRoot: '/admin' },
      userDir,
    });
    instances.push(instance);
    return instance;
  }

  it('SIGKILL under load on SQLite, then a restart: no half-applied request, every committed message delivered, none again once acknowledged', async () => {
    const first = await start('first');
    await registerDevices(first.baseUrl);
    const load = loadUntil([first.baseUrl], 'CRASH', 8);
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
      const perRequest = await cachedRowsPerRequest(file);
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

    const restarted = await start('restarted', userDir);
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
