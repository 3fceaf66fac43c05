import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import registerNotification from '../../../nodes/c4c-notification-in/c4c-notification-in';
import registerSystem from '../../../nodes/c4c-system/c4c-system';
import { DEMO_C4C } from '../../../sandbox/demo-accounts';
import { startSandbox, Sandbox } from '../../../sandbox/index';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { editorBodyParsers } from '../../support/editor-parsers';
import { waitForStatus } from '../../support/flow-watch';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { createStore } from '../../../lib/store';
import { parseNotification } from '../../../lib/c4c';
import Database from 'better-sqlite3';
import { join } from 'node:path';

type Msg = NodeMessage & Record<string, unknown>;
const auth = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

describe('c4c-notification-in node', () => {
  let sandbox: Sandbox;
  const harness = new NodeRedHarness();
  let received: Msg[] = [];
  before(async () => {
    sandbox = await startSandbox();
  });
  after(async () => {
    await harness.stop();
    await sandbox.close();
  });
  afterEach(() => harness.unload());

  async function load(extra: Partial<FlowNode> = {}, creds: object = { n1: { user: 'notify', password: 'pw-123' } }, settings?: object): Promise<void> {
    received = [];
    await harness.load(
      [registerSystem, registerNotification, registerStore],
      [
        { id: 'tab', type: 'tab' },
        { id: 'sys', type: 'c4c-system', baseUrl: `${sandbox.baseUrl}/c4c`, service: 'standard', authType: 'basic' },
        { id: 'store', type: 'wechat-sap-store', kind: 'sqlite', path: 'notifications.sqlite' },
        { id: 'n1', type: 'c4c-notification-in', z: 'tab', x: 1, y: 1, url: '/c4c/notify', auth: 'basic', dedupeSeconds: 60, wires: [['out']], ...extra },
        { id: 'out', type: 'helper', z: 'tab', x: 2, y: 1 },
      ],
      { ...creds, sys: { user: DEMO_C4C.user, password: DEMO_C4C.password } },
      settings,
    );
    harness.getNode('out').on('input', (m: Msg) => received.push(m));
  }

  const post = (body: string, headers: Record<string, string> = { authorization: auth('notify', 'pw-123') }) =>
    fetch(`${harness.baseUrl}/c4c/notify`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('answers 202, emits a normalised message, keeps unknown fields and drops repeats', async () => {
    await load();
    const body = JSON.stringify({ businessObject: 'Customer', businessObjectId: 'ID1', event: 'Update', odataServiceEndpoint: 'https://t/x', eventTime: 'T1', extra: [1] });
    assert.equal((await post(body)).status, 202);
    assert.equal((await post(body)).status, 202);
    await post(JSON.stringify({ businessObject: 'Customer', businessObjectId: 'ID1', event: 'Update', eventTime: 'T2' }));
    await until(() => received.length >= 2);
    assert.equal(received.length, 2, 'the repeat within the window is not emitted');
    const p = received[0].payload as Record<string, unknown>;
    assert.deepEqual([p.businessObject, p.rootId, p.event, p.odataEndpoint], ['Customer', 'ID1', 'updated', 'https://t/x']);
    assert.deepEqual((p.raw as { extra: number[] }).extra, [1]);
    assert.equal(received[0].topic, 'Customer/updated');
  });

  it('refuses missing or forged credentials, malformed and oversized bodies with a warning', async () => {
    await load();
    const n = harness.getNode('n1') as unknown as { warn: { args: unknown[][] } };
    assert.equal((await post('{}', {})).status, 401);
    assert.equal((await post('{"businessObjectId":"x"}', { authorization: auth('notify', 'guess') })).status, 401);
    assert.equal((await post('{not json')).status, 400);
    assert.equal((await post('{"hello":"world"}')).status, 400);
    assert.equal((await post(JSON.stringify({ businessObjectId: 'x', pad: 'a'.repeat(1100 * 1024) }))).status, 413);
    const warnings = JSON.stringify(n.warn.args);
    // One warning per refusal, in the catalogue's words.
    assert.equal(n.warn.args.filter((a) => String(a[0]).startsWith('Refused a notification with ')).length, 5);
    assert.doesNotMatch(warnings, /guess|pw-123/);
    assert.equal(received.length, 0);
    await waitForStatus(harness.getNode('n1'), { fill: 'red', shape: 'ring', text: '413' });
  });

  it('accepts unauthenticated notifications only when "none" is chosen, and removes its route on close', async () => {
    await load({ auth: 'none' }, {});
    const n = harness.getNode('n1') as unknown as { warn: { args: unknown[][] } };
    assert.deepEqual(n.warn.args[0], ['Authentication is off: notifications are accepted from anyone']);
    assert.equal((await post('{"businessObjectId":"open"}', {})).status, 202);
    await until(() => received.length === 1);
    assert.equal(received.length, 1);
    await harness.unload();
    assert.equal((await post('{"businessObjectId":"gone"}', {})).status, 404);
  });

  it('sends a failed entity read to Catch nodes instead of emitting, after answering C4C', async () => {
    await load({ readEntity: true, system: 'sys' });
    const caught: Msg[] = [];
    // The harness's error spy re-emits each call; args[1] is the message a Catch node gets.
    const n = harness.getNode('n1') as unknown as NodeJS.EventEmitter;
    n.on('call:error', (call: { args: unknown[] }) => caught.push(call.args[1] as Msg));
    const endpoint = `${sandbox.baseUrl}/c4c/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('MISSING')`;
    assert.equal((await post(JSON.stringify({ businessObjectId: 'MISSING', event: 'Update', odataServiceEndpoint: endpoint }))).status, 202);
    await until(() => caught.length === 1);
    assert.equal((caught[0].c4cError as { status: number }).status, 404);
    assert.equal((caught[0].payload as { rootId: string }).rootId, 'MISSING');
    assert.equal(received.length, 0);
  });

  it('emits two notifications that differ in any field, however deep, and drops only true repeats', async () => {
    await load();
    const base = { businessObject: 'Customer', businessObjectId: 'ID7', event: 'Update', eventTime: 'T1' };
    const bodies = [
      { ...base, data: { changes: [{ field: 'FirstName', to: 'Anna' }] } },
      { ...base, data: { changes: [{ field: 'FirstName', to: 'Anne' }] } },
      { data: { changes: [{ to: 'Anna', field: 'FirstName' }] }, eventTime: 'T1', event: 'Update', businessObjectId: 'ID7', businessObject: 'Customer' },
    ];
    for (const body of bodies) assert.equal((await post(JSON.stringify(body))).status, 202);
    await until(() => received.length >= 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      received.map((m) => ((m.payload as { raw: { data: { changes: Array<{ to: string }> } } }).raw.data.changes[0].to)),
      ['Anna', 'Anne'],
      'the third is the first written in another key order: a repeat',
    );
  });

  it('accepts a JSON notification whatever its Content-Type says, and the auth scheme in any case', async () => {
    await load();
    const body = JSON.stringify({ businessObjectId: 'TYPED', event: 'Update' });
    for (const type of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
      const res = await post(body.replace('TYPED', type), { 'content-type': type, authorization: auth('notify', 'pw-123') });
      assert.equal(res.status, 202, type);
    }
    for (const scheme of ['basic', 'BASIC']) {
      const res = await post(body.replace('TYPED', scheme), { authorization: auth('notify', 'pw-123').replace('Basic', scheme) });
      assert.equal(res.status, 202, scheme);
    }
    await until(() => received.length >= 5);
    assert.equal(received.length, 5);
  });

  it('answers 400, never 5xx, to deeply nested JSON, without recursing over it', async () => {
    await load();
    const deep = '{"businessObjectId":"D","x":' + '['.repeat(200_000) + ']'.repeat(200_000) + '}';
    const res = await post(deep);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /nested more than 64 levels/);
    assert.equal(received.length, 0);
  });

  describe('behind the editor\'s body parsers (editor at /, the default)', () => {
    const parsed = { httpNodeMiddleware: editorBodyParsers() };

    it('takes the JSON the parser already read, keeps its 1 MiB limit and its auth order, and says so for a form', async () => {
      await load({}, undefined, parsed);
      assert.equal((await post(JSON.stringify({ businessObjectId: 'P1', event: 'Update' }))).status, 202);
      await until(() => received.length === 1);
      assert.equal((received[0].payload as { rootId: string }).rootId, 'P1');
      const big = JSON.stringify({ businessObjectId: 'BIG', pad: 'a'.repeat(3 * 1024 * 1024) });
      assert.equal((await post(big, { authorization: auth('notify', 'wrong') })).status, 401, 'credentials first');
      const tooBig = await post(big);
      assert.equal(tooBig.status, 413);
      assert.match(((await tooBig.json()) as { error: string }).error, /exceeds the 1048576-byte limit/);
      const form = await post('businessObjectId=F1&event=Update', { 'content-type': 'application/x-www-form-urlencoded', authorization: auth('notify', 'pw-123') });
      assert.equal(form.status, 415);
      assert.match(((await form.json()) as { error: string }).error, /sent as a form/);
      assert.equal(received.length, 1);
    });
  });

  describe('with a store selected', () => {
    it('commits each notification to the store before answering 202, emits it from there and marks it done', async () => {
      await load({ store: 'store' });
      const body = JSON.stringify({ businessObjectId: 'DURABLE', event: 'Update' });
      assert.equal((await post(body)).status, 202);
      assert.equal((await post(body)).status, 202);
      await until(() => received.length === 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(received.length, 1, 'the repeat is recognised through the store');
      const db = new Database(join(harness.userDir, 'notifications.sqlite'), { readonly: true });
      const rows = db.prepare('SELECT queue, done, attempts FROM wxbridge_queue').all();
      db.close();
      assert.deepEqual(rows, [{ queue: 'c4c-notification-in:/c4c/notify', done: 1, attempts: 1 }]);
    });

    it('emits what an earlier run accepted but never emitted', async () => {
      const store = createStore({ kind: 'sqlite', path: join(harness.userDir, 'notifications.sqlite') });
      const payload = parseNotification({ businessObjectId: 'LEFT-OVER', event: 'Create' });
      const { dedupeKey, ...rest } = payload;
      await store.enqueue('c4c-notification-in:/c4c/notify', dedupeKey, JSON.stringify(rest), 60);
      await store.close();
      await load({ store: 'store' });
      await until(() => received.length === 1);
      assert.equal((received[0].payload as { rootId: string }).rootId, 'LEFT-OVER');
      assert.equal(received[0].topic, '/created');
    });

    it('answers 503 when the selected store is unusable, so C4C sends it again', async () => {
      await harness.load(
        [registerNotification, registerStore],
        [
          { id: 'tab', type: 'tab' },
          { id: 'bad-store', type: 'wechat-sap-store', kind: 'postgres', host: '127.0.0.1', port: '1', database: 'none', user: 'u', ssl: false, schema: '', tablePrefix: '' },
          { id: 'n1', type: 'c4c-notification-in', z: 'tab', url: '/c4c/notify', auth: 'basic', dedupeSeconds: 60, store: 'bad-store', wires: [[]] },
        ],
        { n1: { user: 'notify', password: 'pw-123' } },
      );
      const res = await post(JSON.stringify({ businessObjectId: 'X', event: 'Update' }));
      assert.equal(res.status, 503);
    });
  });

  it('reads the changed entity through the C4C system', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'Changed', RoleCode: 'CRM000' });
    await load({ readEntity: true, system: 'sys' });
    const endpoint = `${sandbox.baseUrl}/c4c/sap/c4c/odata/v1/c4codataapi/IndividualCustomerCollection('${c.ObjectID}')`;
    assert.equal((await post(JSON.stringify({ businessObjectId: c.ObjectID, event: 'Update', odataServiceEndpoint: endpoint }))).status, 202);
    await until(() => received.length === 1);
    assert.equal((received[0].entity as { LastName: string }).LastName, 'Changed');
    assert.match(String(received[0].etag), /^W\//);
  });
});
