import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import registerRecords from '../../../nodes/wechat-sap-records/wechat-sap-records';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { Records, createStore } from '../../../lib/store';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { waitFor, waitForStatus } from '../../support/flow-watch';
import { PG_URL, usePostgresSchema } from '../../lib/store/pg-support';

type Msg = NodeMessage & Record<string, unknown>;
interface Outcome {
  out?: Msg;
  /** What the Catch node passed on: the message with msg.error. */
  caught?: Msg;
}
/** msg.error as a Catch node passes it on: the error's text (with its name), code and source. */
interface CaughtError {
  message: string;
  code?: string;
  source?: { id: string };
}

const COLLECTION = 'timeoff.requests';

describe('wechat-sap-records node', () => {
  const harness = new NodeRedHarness();
  after(() => harness.stop());
  afterEach(async () => {
    await harness.unload();
    // Each test starts with an empty embedded store; the nodes closed it when they stopped.
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(harness.userDir, `wechat-sap.sqlite${suffix}`), { force: true });
  });

  let settle: ((outcome: Outcome) => void) | null = null;

  /** Loads one records node `rec` (wired to `out`, watched by a Catch node), plus any extra nodes. */
  async function load(records: Partial<FlowNode> = {}, extra: FlowNode[] = [], credentials: object = {}): Promise<void> {
    const flow: FlowNode[] = [
      { id: 'rec', type: 'wechat-sap-records', z: 'tab', store: '', operation: 'msg', collection: COLLECTION, wires: [['out']], ...records },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'catch', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
      ...extra,
    ];
    // Nodes of a tab without a position load as the tab's config nodes; these are flow nodes.
    const placed = flow.map((n) => (n.z ? { x: 100, y: 100, ...n } : n));
    await harness.load([registerRecords, registerStore], [{ id: 'tab', type: 'tab' }, ...placed], credentials);
    harness.getNode('out').on('input', (m: Msg) => settle?.({ out: m }));
    harness.getNode('caught').on('input', (m: Msg) => settle?.({ caught: m }));
  }

  /** Sends msg into node `target` and resolves with whichever of `out` and the Catch node gets it first. */
  function send(msg: Msg, target = 'rec'): Promise<Outcome> {
    return new Promise((resolve) => {
      settle = (outcome) => {
        settle = null;
        resolve(outcome);
      };
      harness.getNode(target).receive(msg);
    });
  }

  /** The message that came out; fails with the caught error's text when it went to the Catch node. */
  async function ok(msg: Msg, target = 'rec'): Promise<Msg> {
    const { out, caught } = await send(msg, target);
    assert.ok(out, `expected output, caught ${JSON.stringify(caught?.error)}`);
    return out;
  }

  /** The error the Catch node saw; fails when the message came out instead. */
  async function refused(msg: Msg, target = 'rec'): Promise<CaughtError> {
    const { out, caught } = await send(msg, target);
    assert.ok(caught, `expected an error, got ${JSON.stringify(out?.payload)}`);
    return caught.error as CaughtError;
  }

  const status = (id = 'rec') => harness.getNode(id);

  it('does every operation from msg.operation: insert, get, put, list, delete, next-id', async () => {
    await load();
    const request = { requester: 'P000001', from: '2024-05-06', to: '2024-05-08', status: 'pending' };
    const inserted = await ok({ operation: 'insert', key: 12, payload: request });
    assert.deepEqual(inserted.payload, request);
    const record = inserted.record as { collection: string; key: string; version: number; createdAt: string; updatedAt: string };
    assert.deepEqual([record.collection, record.key, record.version], [COLLECTION, '12', 1]);
    assert.match(record.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(record.updatedAt, record.createdAt);
    assert.equal(inserted.operation, 'insert', 'the message passes on as it was, with the results');

    const read = await ok({ operation: 'get', key: '12' });
    assert.deepEqual(read.payload, request);
    assert.deepEqual(read.record, record);

    const approved = await ok({ operation: 'put', key: '12', payload: { ...request, status: 'approved' }, ifVersion: 1 });
    assert.equal((approved.record as { version: number }).version, 2);
    await ok({ operation: 'put', key: '13', payload: { requester: 'P000003', status: 'pending' } });

    const pending = await ok({ operation: 'list', where: { status: 'pending' } });
    assert.deepEqual(pending.payload, [{ requester: 'P000003', status: 'pending' }]);
    assert.deepEqual(
      (pending.records as { key: string; version: number }[]).map((r) => [r.key, r.version]),
      [['13', 1]],
    );
    const all = await ok({ operation: 'list', prefix: '1', limit: 1 });
    assert.deepEqual(
      (all.records as { key: string }[]).map((r) => r.key),
      ['12'],
    );

    assert.equal((await ok({ operation: 'delete', key: 13 })).payload, true);
    assert.equal((await ok({ operation: 'delete', key: 13 })).payload, false);
    const gone = await ok({ operation: 'get', key: 13 });
    assert.equal(gone.payload, null);
    assert.equal(gone.record, null);

    assert.deepEqual([(await ok({ operation: 'next-id' })).payload, (await ok({ operation: 'next-id' })).payload], [1, 2]);
  });

  it('does the operation set on the node, whatever msg.operation says', async () => {
    await load({ id: 'rec', operation: 'put' }, [
      { id: 'getter', type: 'wechat-sap-records', z: 'tab', store: '', operation: 'get', collection: COLLECTION, wires: [['out']] },
      { id: 'counter', type: 'wechat-sap-records', z: 'tab', store: '', operation: 'next-id', collection: 'timeoff.ids', wires: [['out']] },
      { id: 'lister', type: 'wechat-sap-records', z: 'tab', store: '', operation: 'list', collection: COLLECTION, wires: [['out']] },
      { id: 'inserter', type: 'wechat-sap-records', z: 'tab', store: '', operation: 'insert', collection: COLLECTION, wires: [['out']] },
      { id: 'remover', type: 'wechat-sap-records', z: 'tab', store: '', operation: 'delete', collection: COLLECTION, wires: [['out']] },
    ]);
    await ok({ operation: 'delete', key: 'a', payload: 'stored by put' });
    assert.equal((await ok({ key: 'a' }, 'getter')).payload, 'stored by put');
    await ok({ key: 'b', payload: 'inserted' }, 'inserter');
    assert.deepEqual((await ok({}, 'lister')).payload, ['stored by put', 'inserted']);
    assert.equal((await ok({ key: 'a' }, 'remover')).payload, true);
    assert.equal((await ok({}, 'counter')).payload, 1);
    await waitForStatus(status('counter'), { fill: 'green', shape: 'dot', text: 'next-id timeoff.ids: 1' });
  });

  it('shows the last operation in the status, and a conflict in red', async () => {
    await load({ operation: 'put' });
    for (const payload of ['v1', 'v2', 'v3']) await ok({ key: 12, payload });
    await waitForStatus(status(), { fill: 'green', shape: 'dot', text: 'put timeoff.requests/12 v3' });
    await refused({ key: 12, payload: 'stale', ifVersion: 1 });
    await waitForStatus(status(), { fill: 'red', shape: 'ring', text: 'timeoff.requests/12: conflict' });
    await refused({ key: {}, payload: 'x' });
    await waitForStatus(status(), { fill: 'red', shape: 'ring', text: 'invalid input' });
  });

  it("sends conflicts to the Catch node with the code record_conflict and lib's text", async () => {
    await load();
    await ok({ operation: 'insert', key: 'r1', payload: { n: 1 } });
    const again = await refused({ operation: 'insert', key: 'r1', payload: { n: 2 } });
    assert.equal(again.code, 'record_conflict');
    assert.equal(again.message, 'RecordError: the record timeoff.requests/r1 already exists');
    assert.equal(again.source?.id, 'rec');
    await ok({ operation: 'put', key: 'r1', payload: { n: 3 } });
    const stale = await refused({ operation: 'put', key: 'r1', payload: { n: 4 }, ifVersion: 1 });
    assert.equal(stale.code, 'record_conflict');
    assert.equal(stale.message, 'RecordError: the record timeoff.requests/r1 is at version 2, not 1');
    const staleDelete = await refused({ operation: 'delete', key: 'r1', ifVersion: 5 });
    assert.equal(staleDelete.code, 'record_conflict');
    assert.deepEqual((await ok({ operation: 'get', key: 'r1' })).payload, { n: 3 }, 'nothing changed');
  });

  it('inserts with msg.unique only while no record has those fields; the Catch node gets the one that has them', async () => {
    await load();
    const draft = { requester: 'P000001', status: 'draft' };
    await ok({ operation: 'insert', key: 1, payload: draft, unique: draft });
    const { out, caught } = await send({ operation: 'insert', key: 2, payload: draft, unique: draft });
    assert.equal(out, undefined);
    const error = caught?.error as CaughtError;
    assert.equal(error.code, 'record_conflict');
    assert.equal(error.message, 'RecordError: the record timeoff.requests/1 already has {"requester":"P000001","status":"draft"}');
    assert.equal((caught?.record as { key: string } | undefined)?.key, '1', 'the record that has the fields');
    assert.equal((await ok({ operation: 'get', key: 2 })).payload, null, 'nothing was inserted');
    await ok({ operation: 'insert', key: 3, payload: { requester: 'P000002', status: 'draft' }, unique: { requester: 'P000002', status: 'draft' } });
    assert.equal((await refused({ operation: 'insert', key: 4, payload: draft, unique: 'draft' })).code, 'record_invalid');
  });

  it('refuses bad input as record_invalid, and goes on with the next message', async () => {
    await load();
    const attempts: Array<[Msg, RegExp]> = [
      [{ operation: 'get' }, /the key must be a string or a whole number \(got undefined\)/],
      [{ operation: 'get', key: { id: 1 } }, /got object/],
      [{ operation: 'get', key: 1.5 }, /got number/],
      [{ operation: 'get', key: '' }, /1 to 200 characters long, not 0/],
      [{ operation: 'put', key: 'x'.repeat(201), payload: 1 }, /not 201/],
      [{ operation: 'put', key: 'k' }, /cannot be stored as JSON/],
      [{ operation: 'put', key: 'k', payload: 'x'.repeat(1024 * 1024) }, /more than the 1048576 allowed/],
      [{ operation: 'put', key: 'k', payload: 1, ifVersion: '1' }, /ifVersion must be a whole number of at least 1 \(got string\)/],
      [{ operation: 'list', limit: 1001 }, /limit must be a whole number from 1 to 1000 \(got 1001\)/],
      [{ operation: 'list', where: 'status=pending' }, /where must be an object/],
      [{ operation: 'list', prefix: 12 }, /prefix must be a string/],
      [{ operation: 'upsert', key: 'k' }, /the operation "upsert" is not one of get, list, insert, put, delete, next-id/],
      [{ key: 'k' }, /the operation "undefined"/],
    ];
    for (const [msg, text] of attempts) {
      const err = await refused(msg);
      assert.equal(err.code, 'record_invalid', JSON.stringify(msg).slice(0, 80));
      assert.match(err.message, text);
    }
    assert.equal((await ok({ operation: 'put', key: 'k', payload: 'fine' })).payload, 'fine');
  });

  it('refuses every message when the collection is not a valid name, and says so at deploy', async () => {
    await load({ collection: 'Leave Requests' });
    await waitForStatus(status(), { fill: 'red', shape: 'ring', text: 'wechat-sap-records.status.badConfig' });
    const err = await refused({ operation: 'get', key: 'k' });
    assert.equal(err.code, 'record_invalid');
    assert.match(err.message, /the collection "Leave Requests" must be 1 to 100 lower-case letters/);
  });

  it('refuses every message when the node names an unknown operation', async () => {
    await load({ operation: 'upsert' });
    await waitForStatus(status(), { fill: 'red', shape: 'ring', text: 'wechat-sap-records.status.badConfig' });
    const err = await refused({ operation: 'get', key: 'k' });
    assert.equal(err.code, 'record_invalid');
    assert.match(err.message, /the operation "upsert" is not one of/);
  });

  it('keeps records in the embedded file of the userDir across a restart (closing and reopening the node)', async () => {
    await load({ collection: 'restart.check' });
    await ok({ operation: 'put', key: 'kept', payload: { survived: true } });
    await ok({ operation: 'next-id' });
    await harness.unload();
    const file = join(harness.userDir, 'wechat-sap.sqlite');
    assert.ok(existsSync(file));
    // The node closed its file: another handle reads what it wrote.
    const store = createStore({ kind: 'sqlite', path: file });
    assert.deepEqual((await new Records(store).get('restart.check', 'kept'))?.value, { survived: true });
    await store.close();

    await load({ collection: 'restart.check' });
    const read = await ok({ operation: 'get', key: 'kept' });
    assert.deepEqual(read.payload, { survived: true });
    assert.equal((read.record as { version: number }).version, 1);
    assert.equal((await ok({ operation: 'next-id' })).payload, 2, 'the counter goes on');
  });

  describe('with a wechat-sap-store node', () => {
    it('keeps the records in the selected SQLite file', async () => {
      const store: FlowNode = { id: 'store', type: 'wechat-sap-store', kind: 'sqlite', path: 'records-elsewhere.sqlite' };
      await load({ store: 'store' }, [store]);
      await ok({ operation: 'put', key: 'where', payload: 'elsewhere' });
      await harness.unload();
      const file = createStore({ kind: 'sqlite', path: join(harness.userDir, 'records-elsewhere.sqlite') });
      assert.equal((await new Records(file).get(COLLECTION, 'where'))?.value, 'elsewhere');
      await file.close();
    });

    it('fails every message clearly when the selected store was rejected', async () => {
      await load({ store: 'store' }, [{ id: 'store', type: 'wechat-sap-store', kind: 'postgres', schema: 'Bad-Name' }]);
      await waitForStatus(status(), { fill: 'red', shape: 'ring', text: 'wechat-sap-records.status.noStore' });
      const err = await refused({ operation: 'get', key: 'k' });
      assert.match(err.message, /the selected store is not available: .*schema "Bad-Name"/);
    });

    describe('on PostgreSQL', () => {
      const schema = usePostgresSchema();

      it('shares records and one counter between two instances on the same database', async () => {
        const pg = (id: string): FlowNode => ({ id, type: 'wechat-sap-store', kind: 'postgres', schema, host: '', port: '', database: '', user: '', ssl: false, path: '', tablePrefix: '' });
        await load({ store: 'store-a', operation: 'msg' }, [pg('store-a'), pg('store-b'), { id: 'rec-b', type: 'wechat-sap-records', z: 'tab', store: 'store-b', operation: 'msg', collection: COLLECTION, wires: [['out']] }], {
          'store-a': { connectionString: PG_URL },
          'store-b': { connectionString: PG_URL },
        });
        await ok({ operation: 'insert', key: 'shared', payload: { by: 'a' } });
        const seen = await ok({ operation: 'get', key: 'shared' }, 'rec-b');
        assert.deepEqual(seen.payload, { by: 'a' });
        const conflict = await refused({ operation: 'insert', key: 'shared', payload: { by: 'b' } }, 'rec-b');
        assert.equal(conflict.code, 'record_conflict');

        const ids: number[] = [];
        harness.getNode('out').on('input', (m: Msg) => typeof m.payload === 'number' && ids.push(m.payload));
        for (let i = 0; i < 40; i++) harness.getNode(i % 2 ? 'rec' : 'rec-b').receive({ operation: 'next-id' });
        await waitFor('40 numbers', () => ids.length === 40);
        assert.deepEqual(
          [...ids].sort((x, y) => x - y),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        assert.ok(!existsSync(join(harness.userDir, 'wechat-sap.sqlite')), 'no embedded file was opened');
      });
    });
  });
});
