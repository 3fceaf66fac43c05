import assert from 'node:assert/strict';
import { basicHeader } from '../../../lib/http/basic-auth';
import type { DcnResultRecord } from '../../../lib/dcn/types';
import type { DcnLogRecord } from '../../../lib/dcn';
import { editorBodyParsers } from '../../support/editor-parsers';
import { waitForStatus } from '../../support/flow-watch';
import { ADMIN, DcnFlow, HTTP_AUTH, PARAMETERS, TRAVEL_APP, answered, trip, tripRequest } from '../../support/wf-dcn-flow';

type Refusal = { error: string; message: string; field?: string };

describe('wf-dcn-in', () => {
  const flow = new DcnFlow();
  after(() => flow.stop());
  afterEach(() => flow.harness.unload());

  const wf = { cmd: 'wf', security: 'default' };

  describe('the contract', () => {
    beforeEach(async () => {
      await flow.load();
      await flow.registerDevices();
    });

    it('answers a WF-DCN request on HttpAuthDCNServlet: the data in the cache, one message per device, 200 with the result records', async () => {
      const { status, body, headers } = await answered<DcnResultRecord[]>(await flow.post(wf, tripRequest()));
      assert.equal(status, 200);
      assert.match(headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(body, [
        { recordID: '1', success: true, statusMessage: '' },
        { recordID: 'WID123', success: true, statusMessage: '2 messages for 2 devices of 1 receiver' },
      ]);
      const hub = flow.hub();
      assert.deepEqual((await hub.hub.cache.read('travel', 'Trip')).map((r) => r.row), [{ tripId: 'T-77', status: 'PENDING' }]);
      assert.equal((await hub.worker.stats()).pending, 2, 'both messages are committed before the answer');
    });

    it('takes a form POST and a GET with dcn_request and ~ ops on DCNServlet, credentials as parameters', async () => {
      const login = { username: TRAVEL_APP.user, password: TRAVEL_APP.password };
      const general = (tripId: string, op: string) => JSON.stringify({ pkg: 'travel:1.0', messages: [{ ...trip(tripId), op }] });
      const form = new URLSearchParams({ cmd: 'dcn', package: 'travel:1.0', ...login, dcn_request: general('T-1', ':upsert') });
      const posted = await fetch(flow.url(PARAMETERS), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      assert.deepEqual((await answered(posted)).body, [{ recordID: '1', success: true, statusMessage: '' }]);
      const got = await fetch(flow.url(PARAMETERS, { cmd: 'dcn', package: 'travel:1.0', ...login, dcn_request: general('T-2', '~upsert') }));
      assert.equal(got.status, 200);
      const rows = await flow.hub().hub.cache.read('travel', 'Trip');
      assert.deepEqual(rows.map((r) => r.row.tripId).sort(), ['T-1', 'T-2']);
      // The Basic servlet takes the same GET with Basic credentials.
      const basic = await fetch(flow.url(HTTP_AUTH, { cmd: 'dcn', package: 'travel:1.0', dcn_request: general('T-3', '~upsert') }), { headers: { authorization: basicHeader(ADMIN.user, ADMIN.password) } });
      assert.equal(basic.status, 200);
    });

    it('refuses with 401, 403 and 400 naming the parameter or field, on both servlets, and keeps serving', async () => {
      const onParameters = (query: Record<string, string>, body: unknown) =>
        fetch(flow.url(PARAMETERS, query), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const asAdmin = { username: ADMIN.user, password: ADMIN.password };
      const cases: Array<[string, () => Promise<Response>, number, Partial<Refusal>]> = [
        ['no credentials', () => flow.post(wf, tripRequest(), null), 401, { error: 'dcn_unauthorized' }],
        ['a wrong password', () => flow.post(wf, tripRequest(), { ...ADMIN, password: 'guess' }), 401, { error: 'dcn_unauthorized' }],
        ['parameters on the Basic servlet', () => flow.post({ ...wf, ...asAdmin }, tripRequest(), null), 401, { error: 'dcn_unauthorized' }],
        ['a wrong password parameter', () => onParameters({ ...wf, username: ADMIN.user, password: 'guess' }, tripRequest()), 401, { error: 'dcn_unauthorized' }],
        ['another security configuration', () => flow.post(wf, tripRequest(), TRAVEL_APP), 403, { error: 'dcn_forbidden' }],
        ['another security configuration, by parameters', () => onParameters({ ...wf, username: TRAVEL_APP.user, password: TRAVEL_APP.password }, tripRequest()), 403, { error: 'dcn_forbidden' }],
        ['no cmd', () => flow.post({ security: 'default' }, tripRequest()), 400, { field: 'cmd', message: 'cmd not supplied in the DCN request' }],
        ['an unknown cmd', () => onParameters({ cmd: 'sql', security: 'default', ...asAdmin }, tripRequest()), 400, { field: 'cmd' }],
        ['no security for wf', () => flow.post({ cmd: 'wf' }, tripRequest()), 400, { field: 'security' }],
        ['no package for dcn', () => onParameters({ cmd: 'dcn', ...asAdmin }, { messages: [] }), 400, { field: 'package' }],
        ['malformed JSON', () => flow.post(wf, '{"op":":upsert",'), 400, {}],
        ['a wrong type', () => flow.post(wf, tripRequest({ to: 5 })), 400, { field: 'to' }],
        ['a wrong op', () => onParameters({ ...wf, ...asAdmin }, tripRequest({ op: ':merge' })), 400, { field: 'op' }],
        ['a huge array', () => flow.post(wf, tripRequest({ data: Array.from({ length: 1001 }, (_, i) => ({ id: String(i), pkg: 'travel:1.0', messages: [] })) })), 400, { field: 'data' }],
        ['a message without cols', () => flow.post(wf, tripRequest({ data: [{ id: '1', pkg: 'travel:1.0', messages: [{ id: '1', mbo: 'Trip', op: ':upsert' }] }] })), 400, { field: 'data[0].messages[0].cols' }],
      ];
      for (const [what, send, status, expected] of cases) {
        const { status: got, body, headers } = await answered<Refusal>(await send());
        assert.equal(got, status, `${what}: ${JSON.stringify(body)}`);
        assert.equal(typeof body.message, 'string', what);
        for (const [key, value] of Object.entries(expected)) assert.equal(body[key as keyof Refusal], value, `${what}: ${key} in ${JSON.stringify(body)}`);
        if (status === 401 && what === 'no credentials') assert.match(headers.get('www-authenticate') ?? '', /^Basic /);
      }
      assert.match((await answered<Refusal>(await flow.post(wf, '{"op":'))).body.message, /could not be parsed/);
      assert.equal((await flow.post(wf, tripRequest())).status, 200, 'still serving');
      const hub = flow.hub();
      assert.deepEqual((await hub.hub.cache.read('travel', 'Trip')).map((r) => r.row.tripId), ['T-77'], 'no refused request changed the cache');
      await waitForStatus(flow.harness.getNode('in'), { fill: 'green', shape: 'dot', text: `${HTTP_AUTH} ↓1 ✕16 · pending 2, dead 0` });
    });

    it('answers 413 for a body over the limit, raw or as a form', async () => {
      const big = tripRequest({ body: 'x'.repeat(1024 * 1024) });
      assert.equal((await flow.post(wf, big)).status, 413);
      const form = new URLSearchParams({ ...wf, username: ADMIN.user, password: ADMIN.password, dcn_request: JSON.stringify(big) });
      const res = await fetch(flow.url(PARAMETERS), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      const { status, body } = await answered<Refusal>(res);
      assert.equal(status, 413);
      assert.equal(body.error, 'dcn_too_large');
    });

    it('answers 500 with JSON log records when the third data message of four fails, and creates no message', async () => {
      const messages = [trip('T-1', '1'), trip('T-2', '2'), { id: '3', mbo: 'Nowhere', op: ':upsert', cols: { id: 1 } }, trip('T-4', '4')];
      const { status, body } = await answered<DcnLogRecord[]>(await flow.post(wf, tripRequest({ id: 'WID-FAIL', data: [{ id: '1', pkg: 'travel:1.0', messages }] })));
      assert.equal(status, 500);
      assert.ok(Array.isArray(body) && body.length > 0);
      assert.equal(body[0].id, 'WID-FAIL');
      assert.equal(body[0].user, ADMIN.user);
      assert.match(body[0].error, /rolled back because message 3 failed/);
      assert.match(body.at(-1)!.error, /no messages were created/);
      const onParameters = await fetch(flow.url(PARAMETERS, { ...wf, username: ADMIN.user, password: ADMIN.password }), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(tripRequest({ id: 'WID-FAIL-2', data: [{ id: '1', pkg: 'travel:1.0', messages }] })),
      });
      assert.equal(onParameters.status, 500, 'the same on DCNServlet');
      assert.deepEqual(await flow.hub().hub.cache.read('travel', 'Trip'), []);
      assert.equal((await flow.hub().worker.stats()).pending, 0);
      await waitForStatus(flow.harness.getNode('in'), { fill: 'yellow', shape: 'ring', text: `${HTTP_AUTH} ↓0 ⚠2 · pending 0, dead 0` });
    });

    it('withdraws an earlier :upsert with a :delete of the same id, and says so for an unknown id', async () => {
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      const withdrawn = await answered<DcnResultRecord[]>(await flow.post(wf, { op: ':delete', id: 'WID123', to: 'SUPAdmin' }));
      assert.equal(withdrawn.status, 200);
      assert.deepEqual(withdrawn.body, [{ recordID: 'WID123', success: true, statusMessage: 'withdrawn: 2 undelivered messages cancelled; retracted on 0 devices that had it' }]);
      assert.equal((await flow.hub().worker.stats()).pending, 0, 'nothing left to deliver');
      const unknown = await answered<DcnResultRecord[]>(await flow.post(wf, { op: ':delete', id: 'WID-NEVER', to: 'SUPAdmin' }));
      assert.equal(unknown.status, 200);
      assert.match(unknown.body[0].statusMessage, /no earlier :upsert has the id WID-NEVER/);
    });

    it('answers whatever it is sent without crashing', async () => {
      const bodies = ['', 'null', '[]', '"text"', '42', '{"op":null}', '\u0000\u0001', '{'.repeat(10_000), JSON.stringify({ op: ':upsert', id: 'x', to: Array(2000).fill('u') })];
      for (const body of bodies) {
        const res = await flow.post(wf, body);
        assert.ok(res.status === 400 || res.status === 413, `${JSON.stringify(body.slice(0, 20))}: ${res.status}`);
      }
      const nonsense = await fetch(flow.url(HTTP_AUTH, { cmd: 'wf', security: 'default', dcn_request: '%%%' }), { headers: { authorization: basicHeader(ADMIN.user, ADMIN.password) } });
      assert.equal(nonsense.status, 400);
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
    });
  });

  describe('named MBO operations (output 1)', () => {
    const approve = (id = 'WID-OP') => tripRequest({ id, data: [{ id: '1', pkg: 'travel:1.0', messages: [trip('T-9', '1'), { id: '2', mbo: 'Trip', op: 'approve', cols: { tripId: 'T-9', by: 'mgr' } }] }] });

    beforeEach(async () => {
      await flow.load({ in: { operationTimeout: 0.5 } });
      await flow.registerDevices();
    });

    it('hands the operation to the flow and succeeds when wf-dcn-response answers', async () => {
      flow.answer.op = (msg) => flow.respond({ ...msg, payload: { done: true } });
      const { status, body } = await answered<DcnResultRecord[]>(await flow.post(wf, approve()));
      assert.equal(status, 200);
      assert.equal(body[0].success, true);
      const [msg] = flow.seen.op;
      assert.deepEqual(msg.payload, { tripId: 'T-9', by: 'mgr' });
      assert.deepEqual({ ...msg.dcn, callId: typeof msg.dcn.callId }, { hub: 'hub', callId: 'string', stage: 'operation', cmd: 'wf', package: 'travel:1.0', mbo: 'Trip', op: 'approve', requestId: '1', messageId: '2' });
      assert.equal((await flow.hub().hub.cache.read('travel', 'Trip')).length, 1);
    });

    it('fails the message when the flow answers false, { success: false }, through a Catch node, or not in time', async () => {
      const failures: Array<[string, () => void, RegExp]> = [
        ['payload false', () => (flow.answer.op = (msg) => flow.respond({ ...msg, payload: false })), /refused the operation/],
        ['success false', () => (flow.answer.op = (msg) => flow.respond({ ...msg, payload: { success: false, message: 'trip is closed' } })), /trip is closed/],
        ['a Catch node', () => (flow.answer.op = (msg) => flow.harness.getNode('op').error(new Error('approval service down'), msg)), /the operation approve of Trip failed: approval service down/],
        ['no answer', () => (flow.answer.op = () => undefined), /no wf-dcn-response answered the operation within 0.5 s/],
      ];
      for (const [i, [what, arrange, reason]] of failures.entries()) {
        arrange();
        const { status, body } = await answered<DcnLogRecord[]>(await flow.post(wf, approve(`WID-${i}`)));
        assert.equal(status, 500, what);
        assert.match(body[0].error, /rolled back because message 2 failed/, what);
        assert.match(body[0].error, reason, `${what}: ${body[0].error}`);
      }
      assert.deepEqual(await flow.hub().hub.cache.read('travel', 'Trip'), [], 'every upsert before the failing operation was rolled back');
      assert.equal((await flow.hub().worker.stats()).pending, 0);
    });

    it('for cmd=dcn, answers 200 with the failed message in the records', async () => {
      flow.answer.op = (msg) => flow.respond({ ...msg, payload: false });
      const request = { pkg: 'travel:1.0', messages: [trip('T-5', '1'), { id: '2', mbo: 'Trip', op: 'approve', cols: {} }] };
      const { status, body } = await answered<DcnResultRecord[]>(await flow.post({ cmd: 'dcn', package: 'travel:1.0' }, request));
      assert.equal(status, 200);
      assert.deepEqual(body.map((r) => r.success), [false, false]);
      assert.match(body[0].statusMessage, /rolled back because message 2 failed/);
    });

    it('fails a named operation when output 1 has no wires', async () => {
      await flow.harness.unload();
      await flow.load({ in: { wires: [[], ['pre'], ['post']] } });
      const { status, body } = await answered<DcnLogRecord[]>(await flow.post(wf, approve()));
      assert.equal(status, 500);
      assert.match(body[0].error, /no flow handles the operation approve of Trip/);
      assert.equal(flow.seen.op.length, 0);
    });
  });

  describe('pre- and post-process filters (outputs 2 and 3)', () => {
    beforeEach(async () => {
      await flow.load();
      await flow.registerDevices();
    });

    it('lets the flow rewrite the raw request and the result, with headers, only when dcn_filter names a filter', async () => {
      flow.answer.pre = (msg) => {
        const [id, tripId] = String(msg.payload).split(';');
        flow.respond({ ...msg, payload: tripRequest({ id, data: [{ id: '1', pkg: 'travel:1.0', messages: [trip(tripId)] }] }) });
      };
      flow.answer.post = (msg) => {
        const records = JSON.parse(String(msg.payload)) as DcnResultRecord[];
        flow.respond({ ...msg, payload: `OK ${records.length}`, headers: { 'Content-Type': 'text/plain', 'X-Filter': String(msg.dcn.stage) } });
      };
      const res = await flow.post({ ...wf, dcn_filter: 'com.example.CsvFilter' }, 'WID-CSV;T-42', ADMIN, { 'content-type': 'text/plain', 'x-erp': 'R3' });
      const { status, text, headers } = await answered(res);
      assert.equal(status, 200);
      assert.equal(text, 'OK 2');
      assert.equal(headers.get('content-type'), 'text/plain');
      assert.equal(headers.get('x-filter'), 'postprocess');
      const [pre] = flow.seen.pre;
      assert.equal(pre.payload, 'WID-CSV;T-42');
      assert.equal(pre.req?.headers['x-erp'], 'R3');
      assert.equal(pre.req?.headers.authorization, undefined, 'a filter never sees the credentials');
      assert.deepEqual({ ...pre.dcn, callId: 0 }, { hub: 'hub', callId: 0, stage: 'preprocess', filter: 'com.example.CsvFilter' });
      assert.deepEqual(flow.seen.post[0].headers, {});
      assert.deepEqual((await flow.hub().hub.cache.read('travel', 'Trip')).map((r) => r.row.tripId), ['T-42']);

      assert.equal((await flow.post(wf, tripRequest({ id: 'WID-PLAIN' }))).status, 200);
      assert.equal(flow.seen.pre.length, 1, 'no filter named, none called');
    });

    it('answers 500 "not available" when the filter outputs have no wires, and passes the text of an unwired half on', async () => {
      await flow.harness.unload();
      await flow.load({ in: { wires: [['op'], [], []] } });
      const { status, body } = await answered<DcnLogRecord[]>(await flow.post({ ...wf, dcn_filter: 'f' }, tripRequest()));
      assert.equal(status, 500);
      assert.match(body[0].error, /the filter f is not available/);

      await flow.harness.unload();
      await flow.load({ in: { wires: [['op'], ['pre'], []] } });
      await flow.registerDevices();
      flow.answer.pre = (msg) => flow.respond({ ...msg, payload: msg.payload });
      const passed = await answered<DcnResultRecord[]>(await flow.post({ ...wf, dcn_filter: 'f' }, tripRequest()));
      assert.equal(passed.status, 200);
      assert.equal(passed.body.at(-1)?.statusMessage, '2 messages for 2 devices of 1 receiver');
    });

    it('answers 500 when a filter fails or is not answered in time', async () => {
      await flow.harness.unload();
      await flow.load({ in: { operationTimeout: 0.3 } });
      flow.answer.pre = (msg) => flow.respond({ ...msg, error: { message: 'cannot read CSV' } });
      const failed = await answered<DcnLogRecord[]>(await flow.post({ ...wf, dcn_filter: 'f' }, 'x'));
      assert.equal(failed.status, 500);
      assert.match(failed.body[0].error, /cannot read CSV/);
      flow.answer.pre = () => undefined;
      const late = await answered<DcnLogRecord[]>(await flow.post({ ...wf, dcn_filter: 'f' }, 'x'));
      assert.equal(late.status, 500);
      assert.match(late.body[0].error, /no wf-dcn-response answered the preprocess within 0.3 s/);
    });
  });

  describe('as Node-RED runs it', () => {
    it("takes form and JSON bodies that the editor's body parsers read first", async () => {
      await flow.load({ settings: { httpNodeMiddleware: editorBodyParsers() } });
      await flow.registerDevices();
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      const form = new URLSearchParams({ ...wf, username: ADMIN.user, password: ADMIN.password, dcn_request: JSON.stringify(tripRequest({ id: 'WID-FORM' })) });
      const res = await fetch(flow.url(PARAMETERS), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      const { status, body } = await answered<DcnResultRecord[]>(res);
      assert.equal(status, 200);
      assert.equal(body.at(-1)?.recordID, 'WID-FORM');
      assert.equal((await flow.post(wf, tripRequest({ body: 'x'.repeat(1024 * 1024) }))).status, 413);
    });

    it('takes its body limit from settings.wfDcnInMaxBody', async () => {
      await flow.load({ settings: { wfDcnInMaxBody: 2048 } });
      assert.equal((await flow.post(wf, tripRequest({ body: 'x'.repeat(3000) }))).status, 413);
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
    });

    it('serves the parameter servlet only when it has a URL, and removes its routes on close', async () => {
      await flow.load({ in: { paramUrl: '' } });
      assert.equal((await fetch(flow.url(PARAMETERS, { cmd: 'wf' }))).status, 404);
      assert.equal((await flow.post(wf, tripRequest())).status, 200);
      await flow.harness.unload();
      assert.equal((await flow.post(wf, tripRequest())).status, 404);
    });

    it('does not start with both servlets on one URL, or without a hub', async () => {
      await flow.load({ in: { paramUrl: HTTP_AUTH } });
      assert.deepEqual(flow.logged('error', 'in'), ['Not serving DCN requests: both servlets are set to /dcn/HttpAuthDCNServlet; give the parameter servlet another URL or none']);
      await waitForStatus(flow.harness.getNode('in'), { fill: 'red', shape: 'ring', text: 'wf-dcn-in.status.notStarted' });
      await flow.harness.unload();
      await flow.load({ in: { hub: '' } });
      assert.deepEqual(flow.logged('error', 'in'), ['Not serving DCN requests: no wf-dcn-hub is selected']);
      assert.equal((await flow.post(wf, tripRequest())).status, 404);
    });

    it('answers 503 while its hub cannot start, and says so', async () => {
      await flow.load({ hub: { mbos: '[{"package":"travel"}]' } });
      const res = await flow.post(wf, tripRequest());
      const { status, body } = await answered<Refusal>(res);
      assert.equal(status, 503);
      assert.equal(body.error, 'dcn_unavailable');
      assert.equal((await fetch(flow.url(PARAMETERS, { ...wf, username: ADMIN.user, password: ADMIN.password, dcn_request: JSON.stringify(tripRequest()) }))).status, 503);
      await waitForStatus(flow.harness.getNode('in'), { fill: 'red', shape: 'ring', text: 'wf-dcn-in.status.hubNotStarted' });
    });
  });
});
