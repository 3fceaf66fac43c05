import assert from 'node:assert/strict';
import { basicHeader } from '../../../lib/http/basic-auth';
import { DcnHub } from '../../../lib/dcn/hub';
import type { DcnHooks, DcnLogRecord, NamedOperation } from '../../../lib/dcn/processor';
import { DCN_LIMITS } from '../../../lib/dcn/request';
import { DcnError, DcnHttpCall, DcnResponse, DcnResultRecord, DcnSender, MboDefinition } from '../../../lib/dcn/types';
import type { Store } from '../../../lib/store';
import { MemoryOutbox } from './support/memory-outbox';
import { onBothStores } from './support/stores';
import { TrackedStore } from './support/tracked-store';

const T0 = Date.UTC(2024, 4, 1, 1, 30, 0);

const ADMIN: DcnSender = { user: 'dcn-backend', password: 'sandbox-dcn-password-0008', security: 'admin', admin: true };
const HR: DcnSender = { user: 'hr-system', password: 'hr-secret', security: 'hr', admin: false };

const MBOS: MboDefinition[] = [
  { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: [] },
  { package: 'travel', name: 'TripLeg', keys: ['tripId', 'leg'], attributes: [] },
  { package: 'leave', name: 'LeaveRequest', keys: ['requestId'], attributes: ['state'] },
];

interface Wf {
  op?: string;
  id?: string;
  to?: unknown;
  subject?: string;
  data?: unknown;
  [field: string]: unknown;
}

const trip = (tripId: string, status = 'PENDING', id = '1') => ({ id, mbo: 'Trip', op: ':upsert', cols: { tripId, status } });
const leg = (tripId: string, legNo: number, id: string) => ({ id, mbo: 'TripLeg', op: ':upsert', cols: { tripId, leg: legNo, city: `city ${legNo}` } });

const TRIP_REQUEST: Wf = {
  op: ':upsert',
  id: 'WID123',
  to: 'SUPAdmin',
  subject: 'Trip request approval required',
  from: 'user321',
  body: 'This is a message just used to do a test',
  received: '2009-03-29T10:07:45+05:00',
  read: false,
  priority: true,
  data: [{ id: '1', pkg: 'travel:1.0', messages: [trip('T-77'), leg('T-77', 1, '2')] }],
};

const parsed = <T>(response: DcnResponse): T => JSON.parse(response.body) as T;

onBothStores('lib/dcn/hub', (open) => {
  let inner: Store;
  let tracked: TrackedStore;
  let outbox: MemoryOutbox;
  let hub: DcnHub;
  let time: number;

  beforeEach(async () => {
    time = T0;
    inner = open();
    tracked = new TrackedStore(inner);
    outbox = new MemoryOutbox(tracked, () => time);
    hub = new DcnHub({ store: tracked.store, senders: [ADMIN, HR], mbos: MBOS, outbox, now: () => time });
    await hub.ready();
    await hub.registry.register({ security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin' });
    await hub.registry.register({ security: 'default', user: 'SUPAdmin', deviceId: 'ms-SUPAdmin', channel: 'mobile-services', address: 'SUPAdmin' });
    await hub.registry.register({ security: 'default', user: 'jdoe', deviceId: 'inbox', channel: 'inbox' });
    await hub.registry.register({ security: 'hr', user: 'mchan', deviceId: 'wechat-mchan', channel: 'wechat', address: 'oMchan0000000000000000000000' });
  });
  afterEach(() => inner.close());

  function call(body: unknown, parameters: Record<string, string> = { cmd: 'wf', security: 'default' }, overrides: Partial<DcnHttpCall> = {}): DcnHttpCall {
    return {
      servlet: 'http-auth',
      method: 'POST',
      parameters,
      rawBody: typeof body === 'string' ? body : JSON.stringify(body),
      authorization: basicHeader(ADMIN.user, ADMIN.password),
      headers: { 'content-type': 'application/json' },
      ...overrides,
    };
  }

  const wf = (changes: Wf = {}, hooks?: DcnHooks, parameters?: Record<string, string>) => hub.handle(call({ ...TRIP_REQUEST, ...changes }, parameters), hooks);
  const rows = async (mbo = 'Trip', pkg = 'travel') => (await hub.cache.read(pkg, mbo)).map((r) => r.row);
  const tripIds = async () => (await rows()).map((r) => r.tripId);
  const sent = () => outbox.messages.map((m) => `${m.message.kind}:${m.message.device.user}/${m.message.device.deviceId}:${m.state}`);

  describe('the fan-out', () => {
    it('applies the data, creates one message per device of the receiver and answers 200 with the result records', async () => {
      const response = await wf();
      assert.equal(response.status, 200, response.body);
      assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
      assert.deepEqual(parsed(response), [
        { recordID: '1', success: true, statusMessage: '' },
        { recordID: 'WID123', success: true, statusMessage: '2 messages for 2 devices of 1 receiver' },
      ]);
      assert.deepEqual(await rows(), [{ tripId: 'T-77', status: 'PENDING' }]);
      assert.deepEqual(await rows('TripLeg'), [{ tripId: 'T-77', leg: 1, city: 'city 1' }]);
      assert.deepEqual(sent(), ['message:SUPAdmin/ms-SUPAdmin:pending', 'message:SUPAdmin/wecom-SUPAdmin:pending']);
      const message = outbox.messages[0].message;
      assert.deepEqual(
        [message.requestId, message.subject, message.from, message.body, message.received, message.read, message.priority],
        ['WID123', 'Trip request approval required', 'user321', 'This is a message just used to do a test', '2009-03-29T10:07:45+05:00', false, true],
      );
    });

    it('commits a WF-DCN of cache writes once, whatever its DCN requests; with a named operation, each part on its own', async () => {
      const requests = [
        { id: 'R1', pkg: 'travel', messages: [trip('T-1', 'PENDING', '1')] },
        { id: 'R2', pkg: 'travel', messages: [trip('T-2', 'PENDING', '1'), leg('T-2', 1, '2')] },
      ];
      const before = tracked.commits;
      assert.equal((await wf({ id: 'ONE', data: requests })).status, 200);
      assert.equal(tracked.commits - before, 1, 'the data and the messages in one commit');
      const named = [...requests, { id: 'R3', pkg: 'travel', messages: [{ id: '1', mbo: 'Trip', op: 'approve', cols: { tripId: 'T-1' } }] }];
      const between = tracked.commits;
      assert.equal((await wf({ id: 'STEPS', data: named }, { namedOperation: async () => undefined })).status, 200);
      assert.equal(tracked.commits - between, 3, 'R1, R2 (R3 writes nothing) and the messages each committed on their own');
      assert.deepEqual(await tripIds(), ['T-1', 'T-2']);
      assert.equal(outbox.messages.filter((m) => m.message.requestId === 'ONE').length, 2);
    });

    it('takes `to` as a list and as an array, and says who had no device', async () => {
      const listed = parsed<DcnResultRecord[]>(await wf({ id: 'A', to: 'SUPAdmin, jdoe, nobody,SUPAdmin' }));
      assert.deepEqual(listed.at(-1), { recordID: 'A', success: true, statusMessage: '3 messages for 3 devices of 2 receivers; no device registered for nobody' });
      const array = parsed<DcnResultRecord[]>(await wf({ id: 'B', to: ['jdoe'], data: [] }));
      assert.deepEqual(array, [{ recordID: 'B', success: true, statusMessage: '1 message for 1 device of 1 receiver' }]);
      assert.equal(outbox.messages.filter((m) => m.message.requestId === 'A').length, 3);
    });

    it('succeeds with a status message when no receiver has a device', async () => {
      const response = await wf({ to: 'nobody,ghost', data: {} });
      assert.equal(response.status, 200);
      assert.deepEqual(parsed(response), [{ recordID: 'WID123', success: true, statusMessage: 'no messages: no receiver has a registered device (nobody, ghost)' }]);
      assert.deepEqual(outbox.messages, []);
    });

    it('looks receivers up in the security configuration of the call', async () => {
      const response = await wf({ to: 'mchan,SUPAdmin', data: [] }, undefined, { cmd: 'wf', security: 'hr' });
      assert.deepEqual(parsed<DcnResultRecord[]>(response)[0].statusMessage, '1 message for 1 device of 1 receiver; no device registered for SUPAdmin');
      assert.deepEqual(sent(), ['message:mchan/wechat-mchan:pending']);
      assert.deepEqual(outbox.securities, ['hr'], 'the outbox is told the call\'s configuration');
    });

    it('accepts a GET-encoded request with ~ for : and credentials as parameters on DCNServlet', async () => {
      const request = JSON.stringify({ ...TRIP_REQUEST, op: '~upsert', data: [{ id: '1', pkg: 'travel:1.0', messages: [{ ...trip('T-80'), op: '~upsert' }] }] });
      const response = await hub.handle({
        servlet: 'parameters',
        method: 'GET',
        parameters: { cmd: 'wf', security: 'default', username: HR.user, password: HR.password, dcn_request: request },
        rawBody: '',
        headers: {},
      });
      assert.equal(response.status, 403, 'HR may not address default');
      const admin = await hub.handle({
        servlet: 'parameters',
        method: 'GET',
        parameters: { cmd: 'wf', security: 'default', username: `${ADMIN.user}@admin`, password: ADMIN.password, dcn_request: request },
        rawBody: '',
        headers: {},
      });
      assert.equal(admin.status, 200, admin.body);
      assert.deepEqual(await tripIds(), ['T-80']);
      assert.equal(outbox.messages.length, 2);
    });
  });

  describe('refusals', () => {
    it('answers 401 for missing or wrong credentials and for parameters sent to HttpAuthDCNServlet, doing nothing', async () => {
      const cases: Array<[string, Partial<DcnHttpCall>]> = [
        ['missing', { authorization: undefined }],
        ['wrong', { authorization: basicHeader(ADMIN.user, 'wrong') }],
        ['parameters on the Basic servlet', { authorization: undefined, parameters: { cmd: 'wf', security: 'default', username: ADMIN.user, password: ADMIN.password } }],
      ];
      for (const [what, overrides] of cases) {
        const response = await hub.handle(call(TRIP_REQUEST, undefined, overrides));
        assert.equal(response.status, 401, what);
        assert.deepEqual(parsed(response), { error: 'dcn_unauthorized', message: 'the user name or password is missing or wrong' }, what);
      }
      assert.deepEqual(await tripIds(), []);
      assert.equal(outbox.createCalls, 0);
    });

    it('answers 403 when a sender that is not admin addresses another security configuration; admin may address all', async () => {
      const forbidden = await hub.handle(call(TRIP_REQUEST, { cmd: 'wf', security: 'default' }, { authorization: basicHeader(HR.user, HR.password) }));
      assert.equal(forbidden.status, 403);
      assert.deepEqual(parsed(forbidden), { error: 'dcn_forbidden', message: 'the sender hr-system may address the security configuration hr only, not default' });
      assert.deepEqual(await tripIds(), []);
      const own = await hub.handle(call({ ...TRIP_REQUEST, to: 'mchan' }, { cmd: 'wf', security: 'hr' }, { authorization: basicHeader(HR.user, HR.password) }));
      assert.equal(own.status, 200, own.body);
      for (const security of ['hr', 'default', 'somewhere']) {
        assert.equal((await hub.handle(call({ ...TRIP_REQUEST, id: security, data: [] }, { cmd: 'wf', security }))).status, 200, security);
      }
    });

    it('answers 400 naming the parameter or field, doing nothing', async () => {
      const cases: Array<[DcnHttpCall, string, string]> = [
        [call(TRIP_REQUEST, {}), 'cmd', 'cmd not supplied in the DCN request'],
        [call(TRIP_REQUEST, { cmd: 'wf' }), 'security', 'security not supplied in the DCN request'],
        [call(TRIP_REQUEST, { cmd: 'dcn' }), 'package', 'package not supplied in the DCN request'],
        [call('', { cmd: 'wf', security: 'default' }), 'dcn_request', 'dcn_request not supplied in the DCN request'],
        [call('{"op":":upsert",', { cmd: 'wf', security: 'default' }), 'dcn_request', ''],
        [call({ ...TRIP_REQUEST, to: 5 }), 'to', 'to must be a string (got number)'],
        [call({ ...TRIP_REQUEST, data: [{ id: '1', pkg: 'travel', messages: [trip('T-1'), { ...trip('T-2'), cols: [] }] }] }), 'data[0].messages[1].cols', 'data[0].messages[1].cols must be an object (got array)'],
      ];
      for (const [c, field, message] of cases) {
        const response = await hub.handle(c);
        assert.equal(response.status, 400, response.body);
        const body = parsed<{ error: string; message: string; field: string }>(response);
        assert.equal(body.field, field);
        if (message) assert.equal(body.message, message);
        assert.match(body.error, /^dcn_/);
      }
      assert.deepEqual(await tripIds(), []);
      assert.equal(outbox.createCalls, 0);
    });

    it('answers huge arrays, deep nesting and big strings with 400 (a text over the limit with 413), not a crash', async () => {
      const many = Array.from({ length: 5000 }, (_, i) => `user${i}`);
      const cases: Array<[unknown, number, string]> = [
        [{ ...TRIP_REQUEST, to: many }, 400, 'to'],
        [`{"op":":upsert","id":"x","to":"a","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`, 400, 'dcn_request'],
        [{ ...TRIP_REQUEST, body: 'x'.repeat(DCN_LIMITS.bodyChars + 1) }, 400, 'body'],
        [{ ...TRIP_REQUEST, data: [{ id: '1', pkg: 'travel', messages: [{ ...trip('T-1'), cols: { tripId: 'T-1', notes: 'n'.repeat(DCN_LIMITS.valueChars + 1) } }] }] }, 400, 'data[0].messages[0].cols.notes'],
        [`{"op":":upsert","id":"x","to":"a","body":"${'x'.repeat(DCN_LIMITS.requestChars)}"}`, 413, 'dcn_request'],
      ];
      for (const [body, status, field] of cases) {
        const response = await hub.handle(call(body));
        assert.equal(response.status, status, response.body.slice(0, 200));
        assert.equal(parsed<{ field: string }>(response).field, field);
      }
    });
  });

  describe('the data', () => {
    it('upserts, deletes and runs named MBO operations in message order, handing the flow what it needs', async () => {
      await wf({ id: 'W1', data: [{ id: '1', pkg: 'travel:1.0', messages: [trip('T-1'), trip('T-2')] }] });
      const seen: NamedOperation[] = [];
      const hooks: DcnHooks = {
        namedOperation: async (op) => {
          seen.push(op);
          // The flow may read the hub's store while it handles the operation.
          assert.deepEqual(await tripIds(), ['T-1', 'T-2']);
        },
      };
      const response = await wf(
        {
          id: 'W2',
          data: [
            {
              id: '7',
              pkg: 'travel:1.0',
              messages: [
                { id: 'a', mbo: 'Trip', op: ':delete', cols: { tripId: 'T-1' } },
                { id: 'b', mbo: 'Trip', op: 'approve', cols: { tripId: 'T-2', by: 'SUPAdmin' } },
                trip('T-2', 'APPROVED', 'c'),
              ],
            },
          ],
        },
        hooks,
      );
      assert.equal(response.status, 200, response.body);
      assert.deepEqual(seen, [{ cmd: 'wf', package: 'travel:1.0', mbo: 'Trip', op: 'approve', cols: { tripId: 'T-2', by: 'SUPAdmin' }, requestId: '7', messageId: 'b' }]);
      assert.deepEqual(await rows(), [{ tripId: 'T-2', status: 'APPROVED' }]);
    });

    it('rolls back the DCN request whose third message of four fails, skips the requests after it, answers 500 with log records and creates no message', async () => {
      const response = await wf({
        data: [
          { id: 'R1', pkg: 'travel', messages: [trip('T-10', 'PENDING', '1')] },
          { id: 'R2', pkg: 'travel', messages: [trip('T-20', 'PENDING', '1'), leg('T-20', 1, '2'), { id: '3', mbo: 'Trip', op: ':upsert', cols: { status: 'no key' } }, trip('T-21', 'PENDING', '4')] },
          { id: 'R3', pkg: 'travel', messages: [trip('T-30', 'PENDING', '1')] },
        ],
      });
      assert.equal(response.status, 500);
      const log = parsed<DcnLogRecord[]>(response);
      assert.deepEqual(
        log.map((r) => [r.operation, r.recordID, r.success, r.error]),
        [
          ['data', 'R1', true, ''],
          ['data', 'R2', false, 'rolled back because message 3 failed: :upsert of Trip needs the key attribute tripId'],
          ['data', 'R3', false, 'skipped because DCN request R2 failed'],
          [':upsert', 'WID123', false, 'no messages were created because DCN request R2 failed'],
        ],
      );
      assert.deepEqual(
        { ...log[1], time: undefined },
        {
          time: undefined,
          cmd: 'wf',
          package: 'travel',
          security: 'default',
          user: 'dcn-backend',
          id: 'WID123',
          subject: 'Trip request approval required',
          from: 'user321',
          to: 'SUPAdmin',
          operation: 'data',
          recordID: 'R2',
          success: false,
          error: 'rolled back because message 3 failed: :upsert of Trip needs the key attribute tripId',
        },
      );
      assert.equal(log[0].time, '2024-05-01T01:30:00.000Z');
      assert.deepEqual(await tripIds(), ['T-10'], 'R1 stays committed (SMP commits each DCN request), R2 and R3 left nothing');
      assert.deepEqual(await rows('TripLeg'), []);
      assert.equal(outbox.createCalls, 0);
      assert.deepEqual(outbox.messages, []);
    });

    it('rolls back in the database when the store fails writing the third message of four', async () => {
      tracked.failStatement({ sql: 'INSERT INTO {dcn_cache}', nth: 3, error: new Error('disk I/O error') });
      const response = await wf({
        data: [{ id: 'R1', pkg: 'travel', messages: [trip('T-1', 'PENDING', '1'), trip('T-2', 'PENDING', '2'), trip('T-3', 'PENDING', '3'), trip('T-4', 'PENDING', '4')] }],
      });
      assert.equal(response.status, 500);
      assert.deepEqual(
        parsed<DcnLogRecord[]>(response).map((r) => r.error),
        ['rolled back because message 3 failed: disk I/O error', 'no messages were created because DCN request R1 failed'],
      );
      assert.deepEqual(await tripIds(), [], 'the first two inserts were rolled back');
      assert.deepEqual(outbox.messages, []);
    });

    it('fails a named operation no flow handles, or that the flow fails, keeping what ran before it', async () => {
      const messages = [trip('T-1', 'PENDING', '1'), { id: '2', mbo: 'Trip', op: 'approve', cols: { tripId: 'T-1' } }, { id: '3', mbo: 'Trip', op: 'notify', cols: {} }];
      const unhandled = await wf({ data: [{ id: 'R1', pkg: 'travel', messages }] });
      assert.equal(unhandled.status, 500);
      assert.equal(parsed<DcnLogRecord[]>(unhandled)[0].error, 'rolled back because message 2 failed: no flow handles the operation approve of Trip');
      const failing = await wf(
        { data: [{ id: 'R1', pkg: 'travel', messages }] },
        {
          namedOperation: async (op) => {
            if (op.op === 'notify') throw new Error('the back end said no');
          },
        },
      );
      assert.equal(failing.status, 500);
      assert.equal(parsed<DcnLogRecord[]>(failing)[0].error, 'rolled back because message 3 failed: the operation notify of Trip failed: the back end said no (the named operations of messages 2 ran and are not undone)');
      const refusedByFlow = await wf(
        { data: [{ id: 'R1', pkg: 'travel', messages }] },
        {
          namedOperation: async () => {
            throw new DcnError(500, 'dcn_operation_failed', 'approval needs a manager', {});
          },
        },
      );
      assert.match(parsed<DcnLogRecord[]>(refusedByFlow)[0].error, /message 2 failed: approval needs a manager$/);
      assert.deepEqual(await tripIds(), []);
      assert.equal(outbox.createCalls, 0);
    });

    it('fails a message naming an unknown MBO or attribute', async () => {
      const unknownMbo = await wf({ data: [{ id: 'R1', pkg: 'travel', messages: [{ id: '1', mbo: 'trip', op: ':upsert', cols: { tripId: 'x' } }] }] });
      assert.match(parsed<DcnLogRecord[]>(unknownMbo)[0].error, /message 1 failed: the package travel has no MBO trip/);
      const unknownAttribute = await wf({ data: [{ id: 'R1', pkg: 'leave:1.0', messages: [{ id: '1', mbo: 'LeaveRequest', op: ':upsert', cols: { requestId: 'LR-1', colour: 'red' } }] }] });
      assert.match(parsed<DcnLogRecord[]>(unknownAttribute)[0].error, /the MBO LeaveRequest has no attribute colour/);
    });
  });

  describe('creating the messages', () => {
    it('creates none when the outbox fails inside its transaction, keeps the committed data (as SMP) and answers 500', async () => {
      outbox.failCreate = new Error('the outbox table is full');
      const response = await wf();
      assert.equal(response.status, 500);
      const log = parsed<DcnLogRecord[]>(response);
      assert.deepEqual(
        log.map((r) => [r.operation, r.recordID, r.success, r.error]),
        [
          ['data', '1', true, ''],
          [':upsert', 'WID123', false, 'no messages were created: the outbox table is full; the data of the DCN requests stays committed'],
        ],
      );
      assert.equal(outbox.createCalls, 1);
      assert.deepEqual(outbox.messages, []);
      assert.deepEqual(await tripIds(), ['T-77'], 'step 4 was committed before step 5 failed');
    });

    it('creates none when the device lookup fails', async () => {
      tracked.failStatement({ sql: 'FROM {dcn_devices}', nth: 1, error: new Error('connection reset') });
      const response = await wf({ data: [] });
      assert.equal(response.status, 500);
      assert.equal(parsed<DcnLogRecord[]>(response)[0].error, 'no messages were created: connection reset');
      assert.equal(outbox.createCalls, 0);
    });
  });

  describe('withdrawing', () => {
    it('withdraws the earlier :upsert of the same id: cancels what is undelivered, sends a retraction where it was delivered', async () => {
      await wf({ to: 'SUPAdmin,jdoe', data: [] });
      outbox.deliver('WID123/default/SUPAdmin/wecom-SUPAdmin/message/0');
      const response = await hub.handle(call({ op: ':delete', id: 'WID123', to: 'SUPAdmin' }));
      assert.equal(response.status, 200, response.body);
      assert.deepEqual(parsed(response), [{ recordID: 'WID123', success: true, statusMessage: 'withdrawn: 2 undelivered messages cancelled; retracted on 1 device that had it' }]);
      assert.deepEqual(sent(), [
        'message:SUPAdmin/ms-SUPAdmin:cancelled',
        'message:SUPAdmin/wecom-SUPAdmin:delivered',
        'message:jdoe/inbox:cancelled',
        'retraction:SUPAdmin/wecom-SUPAdmin:pending',
      ]);
    });

    it('succeeds with a status message for an id no :upsert had', async () => {
      const response = await hub.handle(call({ op: '~delete', id: 'WID-404' }));
      assert.equal(response.status, 200);
      assert.deepEqual(parsed(response), [{ recordID: 'WID-404', success: true, statusMessage: 'no earlier :upsert has the id WID-404; nothing was withdrawn' }]);
    });

    it('applies the data of a :delete first', async () => {
      await wf({ data: [] });
      const response = await hub.handle(call({ op: ':delete', id: 'WID123', data: [{ id: 'D', pkg: 'travel', messages: [trip('T-9', 'WITHDRAWN')] }] }));
      assert.deepEqual(
        parsed<DcnResultRecord[]>(response).map((r) => r.recordID),
        ['D', 'WID123'],
      );
      assert.deepEqual(await rows(), [{ tripId: 'T-9', status: 'WITHDRAWN' }]);
    });
  });

  describe('filters', () => {
    it('lets the pre-process filter rewrite the raw request and the post-process filter the body and headers', async () => {
      const seen: Array<[string, string, string, Record<string, string>]> = [];
      const hooks: DcnHooks = {
        preprocess: async (filter, raw, headers) => {
          seen.push(['pre', filter, raw, headers]);
          const [id, tripId, to] = raw.split(';');
          return JSON.stringify({ op: ':upsert', id, to, subject: `Trip ${tripId}`, data: [{ id: '1', pkg: 'travel', messages: [trip(tripId)] }] });
        },
        postprocess: async (filter, result, headers) => {
          seen.push(['post', filter, result, { ...headers }]);
          headers['content-type'] = 'text/plain; charset=utf-8';
          headers['x-dcn'] = 'filtered';
          return `OK ${(JSON.parse(result) as DcnResultRecord[]).length}`;
        },
      };
      const response = await hub.handle(call('LEGACY-1;T-55;SUPAdmin', { cmd: 'wf', security: 'default', dcn_filter: 'com.example.LegacyFilter' }, { headers: { 'content-type': 'text/plain', 'x-backend': 'erp' } }), hooks);
      assert.equal(response.status, 200);
      assert.equal(response.body, 'OK 2');
      assert.deepEqual(response.headers, { 'content-type': 'text/plain; charset=utf-8', 'x-dcn': 'filtered' });
      assert.deepEqual(seen, [
        ['pre', 'com.example.LegacyFilter', 'LEGACY-1;T-55;SUPAdmin', { 'content-type': 'text/plain', 'x-backend': 'erp' }],
        [
          'post',
          'com.example.LegacyFilter',
          JSON.stringify([
            { recordID: '1', success: true, statusMessage: '' },
            { recordID: 'LEGACY-1', success: true, statusMessage: '2 messages for 2 devices of 1 receiver' },
          ]),
          { 'content-type': 'application/json; charset=utf-8' },
        ],
      ]);
      assert.deepEqual(await tripIds(), ['T-55']);
    });

    it('answers 500 "not available" for a named filter the flow does not supply, before doing anything', async () => {
      const named = { cmd: 'wf', security: 'default', dcn_filter: 'com.example.Missing' };
      for (const hooks of [undefined, { preprocess: async (_f: string, raw: string) => raw }, { postprocess: async (_f: string, body: string) => body }]) {
        const response = await hub.handle(call(TRIP_REQUEST, named), hooks);
        assert.equal(response.status, 500);
        const [record] = parsed<DcnLogRecord[]>(response);
        assert.equal(record.operation, 'preprocess');
        assert.equal(record.error, 'the filter com.example.Missing is not available');
      }
      assert.deepEqual(await tripIds(), []);
      assert.equal(outbox.createCalls, 0);
    });

    it('answers 500 when a filter fails; after a failing post-process the data and messages are committed and it says so', async () => {
      const named = { cmd: 'wf', security: 'default', dcn_filter: 'f' };
      const pass = async (_f: string, text: string) => text;
      const pre = await hub.handle(call(TRIP_REQUEST, named), { preprocess: async () => Promise.reject(new Error('cannot read EDI')), postprocess: pass });
      assert.equal(pre.status, 500);
      assert.equal(parsed<DcnLogRecord[]>(pre)[0].error, 'the filter f failed in preprocess: cannot read EDI');
      assert.deepEqual(await tripIds(), []);
      const post = await hub.handle(call(TRIP_REQUEST, named), { preprocess: pass, postprocess: async () => Promise.reject(new Error('template missing')) });
      assert.equal(post.status, 500);
      assert.equal(parsed<DcnLogRecord[]>(post)[0].error, 'the filter f failed in postprocess: template missing; the data and messages are committed');
      assert.deepEqual(await tripIds(), ['T-77']);
      assert.equal(outbox.messages.length, 2);
      const garbage = await hub.handle(call(TRIP_REQUEST, named), { preprocess: async () => 'not json', postprocess: pass });
      assert.equal(garbage.status, 400, "what the filter returned is parsed like any request");
    });
  });

  describe('cmd=dcn', () => {
    const dcn = (body: unknown, hooks?: DcnHooks, pkg = 'travel:1.0') => hub.handle(call(body, { cmd: 'dcn', package: pkg }), hooks);

    it('applies a general DCN request in one transaction, one result record per message, and creates no message', async () => {
      const response = await dcn({ pkg: 'travel:1.0', messages: [trip('T-77', 'PENDING', '1'), { id: '2', mbo: 'Trip', op: ':delete', cols: { tripId: 'T-12' } }] });
      assert.equal(response.status, 200);
      assert.deepEqual(parsed(response), [
        { recordID: '1', success: true, statusMessage: '' },
        { recordID: '2', success: true, statusMessage: '' },
      ]);
      assert.deepEqual(await tripIds(), ['T-77']);
      assert.equal(outbox.createCalls, 0);
    });

    it('answers 200 with rolled back / failed / skipped records when a message fails, and keeps nothing of the request', async () => {
      const ops: string[] = [];
      const response = await dcn(
        {
          messages: [
            trip('T-1', 'PENDING', '1'),
            { id: '2', mbo: 'Trip', op: 'approve', cols: {} },
            { id: '3', mbo: 'Departments', op: ':upsert', cols: { id: 1 } },
            trip('T-4', 'PENDING', '4'),
          ],
        },
        { namedOperation: async (op) => void ops.push(`${op.cmd}:${op.op}:${op.requestId}:${op.messageId}`) },
      );
      assert.equal(response.status, 200);
      assert.deepEqual(parsed(response), [
        { recordID: '1', success: false, statusMessage: 'rolled back because message 3 failed' },
        { recordID: '2', success: false, statusMessage: 'the operation ran and cannot be rolled back; message 3 failed after it' },
        { recordID: '3', success: false, statusMessage: 'the package travel has no MBO Departments (MBO names are case-sensitive)' },
        { recordID: '4', success: false, statusMessage: 'skipped because message 3 failed' },
      ]);
      assert.deepEqual(ops, ['dcn:approve::2']);
      assert.deepEqual(await tripIds(), []);
    });

    it('answers 500 with log records when the store fails', async () => {
      tracked.failStatement({ sql: 'INSERT INTO {dcn_cache}', nth: 2, error: new Error('database is locked') });
      const response = await dcn({ id: 'B1', messages: [trip('T-1', 'PENDING', '1'), trip('T-2', 'PENDING', '2')] });
      assert.equal(response.status, 500);
      const log = parsed<DcnLogRecord[]>(response);
      assert.deepEqual(
        log.map((r) => [r.cmd, r.id, r.package, r.recordID, r.error]),
        [
          ['dcn', 'B1', 'travel:1.0', '1', 'rolled back because message 2 failed'],
          ['dcn', 'B1', 'travel:1.0', '2', 'database is locked'],
        ],
      );
      assert.deepEqual(await tripIds(), []);
    });

    it('refuses a pkg of another package than the parameter', async () => {
      const response = await dcn({ pkg: 'leave:1.0', messages: [trip('T-1')] });
      assert.equal(response.status, 400);
      assert.equal(parsed<{ field: string }>(response).field, 'pkg');
    });
  });
});

describe('lib/dcn/hub without a usable store', () => {
  it('answers 500 with a log record when the store cannot be opened, and 401 before looking at it', async () => {
    const { createStore } = await import('../../../lib/store');
    const store = createStore({ kind: 'postgres', connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    const tracked = new TrackedStore(store);
    const hub = new DcnHub({ store: tracked.store, senders: [ADMIN], mbos: MBOS, outbox: new MemoryOutbox(tracked) });
    const base: DcnHttpCall = { servlet: 'http-auth', method: 'POST', parameters: { cmd: 'wf', security: 'default' }, rawBody: JSON.stringify(TRIP_REQUEST), headers: {} };
    assert.equal((await hub.handle(base)).status, 401);
    const response = await hub.handle({ ...base, authorization: basicHeader(ADMIN.user, ADMIN.password) });
    assert.equal(response.status, 500);
    const [record] = parsed<DcnLogRecord[]>(response);
    assert.equal(record.user, 'dcn-backend');
    assert.match(record.error, /^processing failed: /);
    await store.close();
  });
});
