import { strict as assert } from 'node:assert';
import { basicHeader } from '../../lib/http/basic-auth';
import type { CachedRow, Device, OutboxStats } from '../../lib/dcn';
import registerApp from '../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../nodes/mobile-services-push/mobile-services-push';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerSend from '../../nodes/wechat-send/wechat-send';
import registerAck from '../../nodes/wf-dcn-ack/wf-dcn-ack';
import registerDeliver from '../../nodes/wf-dcn-deliver/wf-dcn-deliver';
import registerHub, { WfDcnHubNode } from '../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerIn from '../../nodes/wf-dcn-in/wf-dcn-in';
import registerRegistry from '../../nodes/wf-dcn-registry/wf-dcn-registry';
import registerResponse from '../../nodes/wf-dcn-response/wf-dcn-response';
import { DEMO_DCN } from '../../sandbox/demo-accounts';
import { DcnAnswer, TRIP_MBO, TRIP_SUBJECT, WfDcnRequestJson, defaultDcnUrl, postDcn, retractionRequest, templateId, templateTrips, tripRequest, tripRow } from '../../sandbox/dcn-requests';
import type { PushDelivery } from '../../sandbox/mobile-services/index';
import type { RecordedMessage } from '../../sandbox/platform-api';
import { runShippedFlow, waitFor } from '../support/flow-watch';
import { readShippedFlow } from '../support/shipped-flow';

/** Every node type the fan-out flow uses (its core nodes come with it). */
const FAN_OUT_NODES = [registerHub, registerIn, registerResponse, registerDeliver, registerAck, registerRegistry, registerAccount, registerSend, registerApp, registerPush];

const RECEIVER = DEMO_DCN.receiver;
const login = basicHeader(DEMO_DCN.sender, DEMO_DCN.password);

interface LogRecord {
  time: string;
  cmd: string;
  package: string;
  security: string;
  user: string;
  id: string;
  subject: string;
  from: string;
  to: string;
  operation: string;
  error: string;
}

describe('scenario: WF-DCN fan-out (flows/wf-dcn-fan-out.json)', () => {
  const run = runShippedFlow('wf-dcn-fan-out.json', FAN_OUT_NODES);
  const { harness } = run;
  const hubNode = () => harness.getNode<WfDcnHubNode>('dcn.hub');
  const servlet = () => defaultDcnUrl(harness.baseUrl);

  async function admin<T>(path: string): Promise<T> {
    const res = await fetch(`${harness.baseUrl}/dcn/admin${path}`, { headers: { authorization: login } });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as T;
  }
  const wecomTo = (user: string): RecordedMessage[] => run.sandbox.wecom.messages.filter((m) => m.body.touser === user);
  const pushesTo = (user: string): PushDelivery[] => run.sandbox.mobileServices.deliveries.filter((p) => p.delivered.includes(user));
  const wecomText = (m: RecordedMessage) => String((m.body.text as { content?: unknown } | undefined)?.content ?? '');
  const pushAlert = (p: PushDelivery) => String((p.body.notification as { alert?: unknown } | undefined)?.alert ?? '');
  const stats = (): Promise<OutboxStats> => hubNode().hub.outbox.stats();

  /** Posts, and waits until the flow acknowledged every message it created (none pending). */
  async function post(request: WfDcnRequestJson): Promise<DcnAnswer> {
    const answer = await postDcn(servlet(), request);
    const settled = async () => (await stats()).pending === 0;
    for (let ok = await settled(); !ok; ok = await settled()) await new Promise((r) => setTimeout(r, 20));
    return answer;
  }

  before(async () => {
    // The two injects register SUPAdmin's devices once the flow has started.
    let devices: Device[] = [];
    const poll = setInterval(() => void admin<Device[]>(`/registry/${DEMO_DCN.security}/${RECEIVER}`).then((d) => (devices = d), () => undefined), 50);
    try {
      await waitFor('SUPAdmin\'s two devices in the registry', () => devices.length === 2);
    } finally {
      clearInterval(poll);
    }
  });

  it('reads left to right within 1600 px: every wire goes right, and the send nodes\' Catch reaches the acknowledgement', () => {
    const flow = readShippedFlow('wf-dcn-fan-out.json');
    const placed = new Map(flow.filter((n) => typeof n.x === 'number').map((n) => [n.id, n as typeof n & { x: number; wires?: string[][] }]));
    for (const node of placed.values()) {
      assert.ok(node.x < 1500, `${node.id} at x ${node.x}`);
      for (const target of (node.wires ?? []).flat()) assert.ok(placed.get(target)!.x > node.x, `${node.id} → ${target} goes right`);
    }
    const catchNode = flow.find((n) => n.id === 'dcn.send.catch')!;
    assert.deepEqual(catchNode.scope, ['dcn.send.wecom', 'dcn.push']);
    assert.deepEqual(catchNode.wires, [['dcn.ack']]);
    assert.ok(!flow.some((n) => n.type === 'function'), 'no function node');
  });

  it('registers SUPAdmin\'s WeCom UserID and Mobile Services user at deploy', async () => {
    const devices = await admin<Device[]>(`/registry/${DEMO_DCN.security}/${RECEIVER}`);
    assert.deepEqual(
      devices.map((d) => [d.deviceId, d.channel, d.address, d.msDevice]),
      [
        ['ms-SUPAdmin', 'mobile-services', DEMO_DCN.mobileServicesUser, ''],
        ['wecom-SUPAdmin', 'wecom', DEMO_DCN.wecomUser, ''],
      ],
    );
  });

  it('the trip request: 200 with the result JSON, the 5 rows in the cache, the message on SUPAdmin\'s WeCom app and Mobile Services device', async () => {
    const before = await stats();
    const answer = await post(tripRequest('trip'));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, [
      { recordID: '1', success: true, statusMessage: '' },
      { recordID: templateId('trip'), success: true, statusMessage: '2 messages for 2 devices of 1 receiver' },
    ]);

    const rows = await admin<CachedRow[]>(`/cache/${TRIP_MBO.package}/${TRIP_MBO.name}`);
    const trips = templateTrips('trip');
    assert.deepEqual(rows.filter((r) => trips.includes(String(r.key.tripId))).map((r) => r.key.tripId).sort(), trips);
    const [first] = await admin<CachedRow[]>(`/cache/${TRIP_MBO.package}/${TRIP_MBO.name}?tripId=T-1001`);
    assert.deepEqual(first.row, tripRow('T-1001', 0));

    await waitFor('the WeCom message to SUPAdmin', () => wecomTo(DEMO_DCN.wecomUser).length === 1);
    await waitFor('the Mobile Services push to SUPAdmin', () => pushesTo(DEMO_DCN.mobileServicesUser).length === 1);
    const [wecom] = wecomTo(DEMO_DCN.wecomUser);
    assert.equal(wecom.body.msgtype, 'text');
    assert.equal(wecomText(wecom), `${TRIP_SUBJECT}\n${tripRequest('trip').body}`);
    const [push] = pushesTo(DEMO_DCN.mobileServicesUser);
    assert.equal(push.target, 'users', 'a generic push to the user, not the Micro App');
    assert.equal(pushAlert(push), wecomText(wecom));
    const after = await stats();
    assert.deepEqual([after.delivered - before.delivered, after.pending, after.dead], [2, 0, 0], 'both acknowledged by the flow');
  });

  it('a :delete with the same id retracts it on both devices', async () => {
    const [wecomBefore, pushesBefore] = [wecomTo(DEMO_DCN.wecomUser).length, pushesTo(DEMO_DCN.mobileServicesUser).length];
    const answer = await post(retractionRequest(templateId('trip')));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, [{ recordID: templateId('trip'), success: true, statusMessage: 'withdrawn: 0 undelivered messages cancelled; retracted on 2 devices that had it' }]);
    await waitFor('the retraction on WeCom', () => wecomTo(DEMO_DCN.wecomUser).length === wecomBefore + 1);
    await waitFor('the retraction pushed', () => pushesTo(DEMO_DCN.mobileServicesUser).length === pushesBefore + 1);
    assert.equal(wecomText(wecomTo(DEMO_DCN.wecomUser).at(-1)!), `Withdrawn: ${TRIP_SUBJECT}`);
    assert.equal(pushAlert(pushesTo(DEMO_DCN.mobileServicesUser).at(-1)!), `Withdrawn: ${TRIP_SUBJECT}`);

    // Withdrawn once: a second :delete finds nothing left to withdraw and sends nothing.
    const again = await post(retractionRequest(templateId('trip')));
    assert.equal(again.status, 200);
    assert.deepEqual([wecomTo(DEMO_DCN.wecomUser).length, pushesTo(DEMO_DCN.mobileServicesUser).length], [wecomBefore + 1, pushesBefore + 1]);
  });

  it('the failing request: 500 with log records naming the third message, nothing delivered, its first two rows not in the cache', async () => {
    const before = await stats();
    const sent = [wecomTo(DEMO_DCN.wecomUser).length, pushesTo(DEMO_DCN.mobileServicesUser).length];
    const answer = await post(tripRequest('trip-failing'));
    assert.equal(answer.status, 500, answer.text);
    const records = answer.json as LogRecord[];
    assert.ok(Array.isArray(records) && records.length >= 1, answer.text);
    const [record] = records;
    assert.deepEqual(
      [record.cmd, record.package, record.security, record.user, record.id, record.subject, record.to, record.operation],
      ['wf', DEMO_DCN.package, DEMO_DCN.security, DEMO_DCN.sender, templateId('trip-failing'), TRIP_SUBJECT, RECEIVER, 'data'],
    );
    assert.match(record.error, /rolled back because message 3 failed: .*tripId/);
    assert.ok(!Number.isNaN(Date.parse(record.time)));

    for (const tripId of ['T-2001', 'T-2002', 'T-2004']) {
      assert.deepEqual(await admin<CachedRow[]>(`/cache/${TRIP_MBO.package}/${TRIP_MBO.name}?tripId=${tripId}`), [], `${tripId} is not in the cache`);
    }
    // No message was created, so the worker has nothing to hand out, now or later.
    await hubNode().worker.flush();
    assert.deepEqual(await stats(), before);
    assert.deepEqual([wecomTo(DEMO_DCN.wecomUser).length, pushesTo(DEMO_DCN.mobileServicesUser).length], sent);
  });

  it('a named MBO operation is answered by the flow as a failure naming it, which rolls its DCN request back', async () => {
    const request = tripRequest('trip', { id: 'TRIP-NAMED-1' });
    request.data![0].messages = [
      { id: '1', mbo: 'Trip', op: ':upsert', cols: tripRow('T-3001', 0) },
      { id: '2', mbo: 'Trip', op: 'approve', cols: { tripId: 'T-3001' } },
    ];
    const answer = await post(request);
    assert.equal(answer.status, 500, answer.text);
    assert.match(answer.text, /this flow handles no named operation approve of Trip/);
    assert.deepEqual(await admin<CachedRow[]>(`/cache/${TRIP_MBO.package}/${TRIP_MBO.name}?tripId=T-3001`), []);
  });

  it('refuses a back end with the wrong password (401) and delivers nothing for it', async () => {
    const before = await stats();
    const answer = await postDcn(servlet(), tripRequest('trip', { id: 'TRIP-WRONG-LOGIN' }), { user: DEMO_DCN.sender, password: 'wrong' });
    assert.equal(answer.status, 401);
    assert.deepEqual(await stats(), before);
  });
});
