/**
 * The hub end to end on the real outbox: a call in, the data in the cache, the
 * messages committed in the outbox and handed to delivery; on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { basicHeader } from '../../../lib/http/basic-auth';
import { DeliveryWorker } from '../../../lib/dcn/delivery';
import { DcnHub } from '../../../lib/dcn/hub';
import { SqlOutbox } from '../../../lib/dcn/outbox';
import type { DcnLogRecord } from '../../../lib/dcn/processor';
import type { DcnHttpCall, DcnResponse, DcnResultRecord, Device, DeviceChannel, MboDefinition, OutboxMessage, WfDcnRequest } from '../../../lib/dcn/types';
import type { SqlExecutor } from '../../../lib/store/sql';
import type { Store } from '../../../lib/store';
import { DEMO_DCN } from '../../../sandbox/demo-accounts';
import { onBothStores } from './support/stores';

const T0 = Date.UTC(2024, 4, 6, 9, 0, 0);
const SENDERS = [{ user: DEMO_DCN.sender, password: DEMO_DCN.password, security: DEMO_DCN.senderSecurity, admin: true }];
const MBOS: MboDefinition[] = [
  { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: [] },
  { package: 'travel', name: 'TripLeg', keys: ['tripId', 'leg'], attributes: [] },
];
const CHANNELS: DeviceChannel[] = ['wecom', 'wechat', 'mobile-services'];

const trip = (tripId: string, id: string) => ({ id, mbo: 'Trip', op: ':upsert', cols: { tripId, status: 'PENDING' } });

/** The scenario's request: the trip for SUPAdmin, with its data. */
const TRIP_REQUEST = {
  op: ':upsert',
  id: 'WID123',
  to: DEMO_DCN.receiver,
  subject: 'Trip request approval required',
  from: 'user321',
  body: 'This is a message just used to do a test',
  received: '2009-03-29T10:07:45+05:00',
  read: false,
  priority: true,
  data: [{ id: '1', pkg: DEMO_DCN.package, messages: [trip('T-77', '1'), { id: '2', mbo: 'TripLeg', op: ':upsert', cols: { tripId: 'T-77', leg: 1, city: 'Shanghai' } }] }],
};

/** An outbox that writes its messages and then fails, inside the fan-out's transaction. */
class FailingAfterWrite extends SqlOutbox {
  override async createInTx(tx: SqlExecutor, request: WfDcnRequest, devices: Device[], security?: string): Promise<OutboxMessage[]> {
    const created = await super.createInTx(tx, request, devices, security);
    assert.ok(created.length > 0, 'rows were written before the failure');
    throw new Error('the message queue is unavailable');
  }
}

const parsed = <T>(response: DcnResponse): T => JSON.parse(response.body) as T;

onBothStores('lib/dcn/hub with the SQL outbox', (open, _kind, reopen) => {
  let store: Store;
  let outbox: SqlOutbox;
  let hub: DcnHub;
  let time: number;
  const now = () => time;

  async function start(s: Store, box: SqlOutbox = new SqlOutbox(s.database(), { now })): Promise<void> {
    store = s;
    outbox = box;
    hub = new DcnHub({ store, senders: SENDERS, mbos: MBOS, outbox, now });
    await hub.ready();
  }

  beforeEach(async () => {
    time = T0;
    await start(open());
    await hub.registry.register({ security: DEMO_DCN.security, user: DEMO_DCN.receiver, deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: DEMO_DCN.wecomUser });
    await hub.registry.register({ security: DEMO_DCN.security, user: DEMO_DCN.receiver, deviceId: 'ms-SUPAdmin', channel: 'mobile-services', address: DEMO_DCN.mobileServicesUser });
    await hub.registry.register({ security: DEMO_DCN.security, user: 'jdoe', deviceId: 'inbox', channel: 'inbox' });
  });
  afterEach(() => store.close());

  const post = (body: unknown): Promise<DcnResponse> => {
    const c: DcnHttpCall = {
      servlet: 'http-auth',
      method: 'POST',
      parameters: { cmd: 'wf', security: DEMO_DCN.security },
      rawBody: JSON.stringify(body),
      authorization: basicHeader(DEMO_DCN.sender, DEMO_DCN.password),
      headers: {},
    };
    return hub.handle(c);
  };
  const leaseAll = () => outbox.lease('test', 100, 30, CHANNELS);
  const tripIds = async () => (await hub.cache.read('travel', 'Trip')).map((r) => r.row.tripId);

  it('fans the trip request out: the data in the cache, one committed message per device, 200 with the result', async () => {
    const response = await post({ ...TRIP_REQUEST, to: `${DEMO_DCN.receiver},jdoe` });
    assert.equal(response.status, 200, response.body);
    assert.deepEqual(parsed(response), [
      { recordID: '1', success: true, statusMessage: '' },
      { recordID: 'WID123', success: true, statusMessage: '3 messages for 3 devices of 2 receivers' },
    ]);
    assert.deepEqual(await tripIds(), ['T-77']);
    assert.deepEqual((await hub.cache.read('travel', 'TripLeg', { tripId: 'T-77' })).map((r) => r.row.city), ['Shanghai']);
    const leased = await leaseAll();
    assert.deepEqual(leased.map((m) => [m.messageId, m.device.channel, m.device.address, m.attempt]).sort(), [
      ['WID123/default/SUPAdmin/ms-SUPAdmin/message/1', 'mobile-services', DEMO_DCN.mobileServicesUser, 1],
      ['WID123/default/SUPAdmin/wecom-SUPAdmin/message/1', 'wecom', DEMO_DCN.wecomUser, 1],
    ]);
    assert.deepEqual([leased[0].subject, leased[0].from, leased[0].priority], ['Trip request approval required', 'user321', true]);
    assert.deepEqual(
      (await hub.outbox.inbox(DEMO_DCN.security, 'jdoe', 10)).map((m) => m.subject),
      ['Trip request approval required'],
      "the inbox device has it at once",
    );
  });

  it('hands committed messages to delivery, and marks them delivered on acknowledgement', async () => {
    const worker = new DeliveryWorker(outbox, { pollMs: 20, now });
    try {
      const got: OutboxMessage[] = [];
      worker.addDeliverer({ channels: CHANNELS, deliver: (m) => void got.push(m), dead: () => assert.fail('nothing dies') });
      assert.equal((await post(TRIP_REQUEST)).status, 200);
      worker.kick();
      const until = Date.now() + 5000;
      while (got.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.equal(got.length, 2);
      for (const m of got) assert.equal(await worker.acknowledge(m.messageId), true);
      assert.deepEqual(await worker.stats(), { pending: 0, delivered: 2, dead: 0 });
    } finally {
      await worker.stop();
    }
  });

  it('creates no message and changes nothing of the failing DCN request when its third message of four fails: 500', async () => {
    const response = await post({
      ...TRIP_REQUEST,
      data: [{ id: 'R1', pkg: 'travel', messages: [trip('T-1', '1'), trip('T-2', '2'), { id: '3', mbo: 'Trip', op: ':upsert', cols: { status: 'no key' } }, trip('T-4', '4')] }],
    });
    assert.equal(response.status, 500);
    assert.deepEqual(
      parsed<DcnLogRecord[]>(response).map((r) => r.error),
      ['rolled back because message 3 failed: :upsert of Trip needs the key attribute tripId', 'no messages were created because DCN request R1 failed'],
    );
    assert.deepEqual(await tripIds(), []);
    assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 0, dead: 0 });
    assert.deepEqual(await leaseAll(), []);
  });

  it('creates no message when the outbox fails after writing inside the fan-out transaction; the data stays committed: 500', async () => {
    await start(store, new FailingAfterWrite(store.database(), { now }));
    const response = await post({ ...TRIP_REQUEST, to: `${DEMO_DCN.receiver},jdoe` });
    assert.equal(response.status, 500);
    assert.deepEqual(parsed<DcnLogRecord[]>(response).at(-1)?.error, 'no messages were created: the message queue is unavailable; the data of the DCN requests stays committed');
    assert.deepEqual(await outbox.stats(), { pending: 0, delivered: 0, dead: 0 });
    assert.deepEqual(await leaseAll(), []);
    assert.deepEqual(await outbox.inbox(DEMO_DCN.security, 'jdoe', 10), []);
    assert.deepEqual(await tripIds(), ['T-77']);
    const retry = await post({ op: ':delete', id: 'WID123' });
    assert.match(parsed<DcnResultRecord[]>(retry)[0].statusMessage, /^no earlier :upsert has the id WID123/, 'the rolled-back fan-out left no trace of the id');
  });

  it('withdraws: the undelivered message is cancelled, the delivered one followed by a retraction, the inbox entry removed', async () => {
    await post({ ...TRIP_REQUEST, to: `${DEMO_DCN.receiver},jdoe` });
    const [first] = await outbox.lease('test', 100, 30, ['wecom']);
    assert.equal(await outbox.acknowledge(first.messageId), true);
    time += 60_000;
    const response = await post({ op: ':delete', id: 'WID123', to: DEMO_DCN.receiver });
    assert.equal(response.status, 200, response.body);
    assert.deepEqual(parsed(response), [{ recordID: 'WID123', success: true, statusMessage: 'withdrawn: 1 undelivered message cancelled; retracted on 2 devices that had it' }]);
    time += 60_000;
    const retractions = await leaseAll();
    assert.deepEqual(
      retractions.map((m) => [m.kind, m.device.deviceId]),
      [['retraction', 'wecom-SUPAdmin']],
    );
    assert.deepEqual(await outbox.inbox(DEMO_DCN.security, 'jdoe', 10), []);
    const unknown = await post({ op: ':delete', id: 'WID-404' });
    assert.deepEqual(parsed(unknown), [{ recordID: 'WID-404', success: true, statusMessage: 'no earlier :upsert has the id WID-404; nothing was withdrawn' }]);
  });

  it('keeps the data and the undelivered messages across a restart', async () => {
    assert.equal((await post(TRIP_REQUEST)).status, 200);
    await store.close();
    await start(reopen());
    assert.deepEqual(await tripIds(), ['T-77']);
    assert.equal((await leaseAll()).length, 2);
    assert.equal((await hub.registry.list({ user: DEMO_DCN.receiver })).length, 2);
  });

  it('replaces the undelivered messages of an id upserted again', async () => {
    await post(TRIP_REQUEST);
    const again = await post({ ...TRIP_REQUEST, subject: 'Trip request approval required (changed)', data: [] });
    assert.deepEqual(parsed<DcnResultRecord[]>(again).at(-1)?.statusMessage, '2 messages for 2 devices of 1 receiver');
    const leased = await leaseAll();
    assert.deepEqual(
      leased.map((m) => [m.messageId.endsWith('/2'), m.subject]),
      [
        [true, 'Trip request approval required (changed)'],
        [true, 'Trip request approval required (changed)'],
      ],
    );
  });
});
