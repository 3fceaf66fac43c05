import { strict as assert } from 'node:assert';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basicHeader } from '../../lib/http/basic-auth';
import { readBody, sendJson } from '../../lib/http/body';
import { main } from '../../sandbox/cli';
import { DEMO_DCN, DEMO_MOBILE_SERVICES, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import { TRIP_MBO, TRIP_SUBJECT, adminBaseFor, defaultDcnUrl, templateTrips, tripRequest } from '../../sandbox/dcn-requests';
import type { Sandbox } from '../../sandbox/index';
import { withSandbox } from '../support/sandbox';

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** Plays the hub's servlet and admin routes: records each call and answers what the test set. */
class HubDouble {
  readonly calls: Received[] = [];
  answer: { status: number; body: unknown } = { status: 200, body: [{ recordID: '1', success: true, statusMessage: '' }] };
  admin: Record<string, unknown> = {};
  private server!: Server;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      void readBody(req, 1 << 20).then((body) => {
        this.calls.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body: body.toString('utf8') });
        const path = (req.url ?? '').split('?')[0];
        if (path.startsWith('/dcn/admin/')) {
          const found = this.admin[path];
          return found === undefined ? sendJson(res, 404, { error: 'not_found', message: `nothing at ${path}` }) : sendJson(res, 200, found);
        }
        sendJson(res, this.answer.status, this.answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('sandbox CLI: dcn (a back end posting WF-DCN requests)', () => {
  const hub = new HubDouble();
  let sandbox: Sandbox;
  withSandbox((s) => (sandbox = s));
  const out: string[] = [];
  const err: string[] = [];
  const run = (args: string[]) => {
    out.length = 0;
    err.length = 0;
    return main(args, (line) => out.push(...line.split('\n')), (line) => err.push(...line.split('\n')));
  };
  const servlet = () => defaultDcnUrl(hub.baseUrl);

  before(() => hub.start());
  after(() => hub.stop());
  beforeEach(() => {
    hub.calls.length = 0;
    hub.answer = { status: 200, body: [{ recordID: '1', success: true, statusMessage: '' }] };
  });

  it('posts the trip template as the raw JSON body, Basic as the demo sender, to the Basic servlet with cmd=wf', async () => {
    assert.equal(await run(['dcn', 'post', '--url', servlet()]), 0, err.join('\n'));
    const [call] = hub.calls;
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/dcn/HttpAuthDCNServlet?cmd=wf&security=default&domain=default');
    assert.equal(call.authorization, basicHeader(DEMO_DCN.sender, DEMO_DCN.password));
    assert.equal(call.contentType, 'application/json');
    const sent = JSON.parse(call.body) as ReturnType<typeof tripRequest>;
    assert.deepEqual(sent, tripRequest('trip'));
    assert.equal(sent.subject, TRIP_SUBJECT);
    assert.equal(sent.to, 'SUPAdmin');
    assert.equal(sent.data?.[0].pkg, 'travel:1.0');
    assert.deepEqual(sent.data?.[0].messages.map((m) => [m.mbo, m.op, m.cols.tripId]), templateTrips('trip').map((t) => ['Trip', ':upsert', t]));
    assert.match(out[0], /^→ POST http:\/\/127\.0\.0\.1:\d+\/dcn\/HttpAuthDCNServlet {2}\(WF-DCN :upsert TRIP-APPROVAL-1001 to SUPAdmin, template trip: 5 Trip rows; as dcn-backend\)$/);
    assert.equal(out[1], '← 200 processed: the result records');
    assert.deepEqual(JSON.parse(out.slice(2).join('\n')), hub.answer.body);
  });

  it('the failing template: its third data message has no key; a 500 prints the log records and exits 1', async () => {
    hub.answer = { status: 500, body: [{ id: 'TRIP-APPROVAL-2001', error: 'data[0].messages[2]: tripId missing' }] };
    assert.equal(await run(['dcn', 'post', '--template', 'trip-failing', '--url', servlet()]), 1);
    const sent = JSON.parse(hub.calls[0].body) as ReturnType<typeof tripRequest>;
    const messages = sent.data![0].messages;
    assert.equal(messages.length, 5);
    assert.deepEqual(messages.map((m) => 'tripId' in m.cols), [true, true, false, true, true]);
    assert.equal(out[1], '← 500 processing failed, nothing was committed: the log records');
    assert.match(out.join('\n'), /tripId missing/);
  });

  it('delete withdraws the template\'s id, or the one --id names, for the --to receivers', async () => {
    assert.equal(await run(['dcn', 'delete', '--url', servlet()]), 0);
    assert.deepEqual(JSON.parse(hub.calls[0].body), { op: ':delete', id: 'TRIP-APPROVAL-1001', to: 'SUPAdmin' });
    assert.equal(await run(['dcn', 'delete', '--id', 'X-1', '--to', 'a,b', '--url', servlet()]), 0);
    assert.deepEqual(JSON.parse(hub.calls[1].body), { op: ':delete', id: 'X-1', to: 'a,b' });
    assert.equal(await run(['dcn', 'post', '--template', 'trip-failing', '--id', 'MINE', '--to', 'jdoe', '--url', servlet(), '--json']), 0);
    const sent = JSON.parse(hub.calls[2].body) as ReturnType<typeof tripRequest>;
    assert.deepEqual([sent.id, sent.to], ['MINE', 'jdoe']);
    assert.deepEqual(JSON.parse(out.slice(1).join('\n')), { status: 200, body: hub.answer.body });
  });

  it('sends another sender\'s login, and says which status refused it', async () => {
    hub.answer = { status: 401, body: { error: 'dcn_unauthorized', message: 'unknown sender or wrong password' } };
    assert.equal(await run(['dcn', 'post', '--user', 'other', '--password', 'pw', '--url', servlet()]), 1);
    assert.equal(hub.calls[0].authorization, basicHeader('other', 'pw'));
    assert.equal(out[1], "← 401 refused: the sender's credentials");
  });

  it('refuses what it cannot send as usage errors (exit 2), and an unreachable hub as a failure (exit 1)', async () => {
    assert.equal(await run(['dcn']), 2);
    assert.match(err[0], /dcn needs what to do: post, delete or status/);
    assert.equal(await run(['dcn', 'send']), 2);
    assert.match(err[0], /dcn takes post, delete or status, not "send"/);
    assert.equal(await run(['dcn', 'post', '--template', 'leave']), 2);
    assert.match(err[0], /--template must be trip or trip-failing/);
    assert.equal(await run(['dcn', 'post', '--user', 'only']), 2);
    assert.match(err[0], /--user and --password go together/);
    assert.equal(await run(['dcn', 'post', '--to', ' , ']), 2);
    assert.equal(await run(['dcn', 'post', '--url', 'ftp://x']), 2);
    assert.deepEqual(hub.calls, []);
    assert.equal(await run(['dcn', 'post', '--url', 'http://127.0.0.1:9/dcn/HttpAuthDCNServlet?cmd=wf&security=default']), 1);
    assert.match(err[0], /could not reach the hub at .*: is npm start running\?/);
  });

  it('status: the template\'s rows in the cache and the receiver\'s devices (admin routes), and what reached the receiver (sandbox)', async () => {
    const admin = new URL(adminBaseFor(servlet())).pathname;
    hub.admin[`${admin}/cache/${TRIP_MBO.package}/${TRIP_MBO.name}`] = [
      { package: 'travel', mbo: 'Trip', key: { tripId: 'T-1001' }, row: { tripId: 'T-1001', destination: 'Shanghai', status: 'PENDING' }, updatedAt: '2024-05-30T01:30:00.000Z' },
      { package: 'travel', mbo: 'Trip', key: { tripId: 'T-9999' }, row: { tripId: 'T-9999', destination: 'Elsewhere', status: 'OPEN' }, updatedAt: '2024-05-30T01:30:00.000Z' },
    ];
    hub.admin[`${admin}/registry/default/SUPAdmin`] = [
      { security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin', msDevice: '', registeredAt: '' },
      { security: 'default', user: 'SUPAdmin', deviceId: 'ms-SUPAdmin', channel: 'mobile-services', address: 'SUPAdmin', msDevice: '', registeredAt: '' },
    ];
    await deliverToSupAdmin(sandbox);

    assert.equal(await run(['dcn', 'status', '--url', servlet(), '--sandbox', sandbox.baseUrl]), 0, err.join('\n'));
    const text = out.join('\n');
    assert.match(text, /Trip rows of the template in the hub's cache \(1 of 5\):/);
    assert.match(text, /T-1001 +Shanghai +PENDING/);
    assert.doesNotMatch(text, /T-9999/);
    assert.match(text, /SUPAdmin's devices \(default\): 2/);
    assert.match(text, /wecom-SUPAdmin +wecom +SUPAdmin/);
    assert.match(text, /What reached SUPAdmin through the stand-ins: 2/);
    assert.match(text, /WeCom message\/send +text +Trip request approval required/);
    assert.match(text, /Mobile Services users push +notification +Trip request approval required/);
    assert.ok(hub.calls.every((c) => c.authorization === basicHeader(DEMO_DCN.sender, DEMO_DCN.password)));
  });

  it('status names the admin route that refused', async () => {
    assert.equal(await run(['dcn', 'status', '--to', 'nobody', '--url', servlet(), '--sandbox', sandbox.baseUrl]), 1);
    assert.match(err[0], /admin route .*\/registry\/default\/nobody answered 404: nothing at/);
  });
});

/**
 * The scenario's receiver as both stand-ins know it: the WeCom app takes SUPAdmin as a
 * UserID, and Mobile Services has a registration for SUPAdmin (generic pushes).
 */
async function deliverToSupAdmin(sandbox: Sandbox): Promise<void> {
  const token = (await (await fetch(`${sandbox.baseUrl}/wecom/cgi-bin/gettoken?corpid=${DEMO_WECOM_APP.corpId}&corpsecret=${DEMO_WECOM_APP.corpSecret}`)).json()) as { access_token: string };
  const sent = (await (
    await fetch(`${sandbox.baseUrl}/wecom/cgi-bin/message/send?access_token=${token.access_token}`, {
      method: 'POST',
      body: JSON.stringify({ touser: DEMO_DCN.wecomUser, msgtype: 'text', agentid: DEMO_WECOM_APP.agentId, text: { content: TRIP_SUBJECT } }),
    })
  ).json()) as { errcode: number; invaliduser: string };
  assert.deepEqual([sent.errcode, sent.invaliduser], [0, '']);
  const push = await fetch(`${sandbox.baseUrl}/mobile-services/mobileservices/push/v2/backend/applications/${DEMO_MOBILE_SERVICES.appId}/notifications/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-API-Key': DEMO_MOBILE_SERVICES.apiKey },
    body: JSON.stringify({ users: [DEMO_DCN.mobileServicesUser], notification: { alert: TRIP_SUBJECT } }),
  });
  const pushResults = ((await push.json()) as { pushResults: Array<{ target: string; code: number }> }).pushResults;
  assert.deepEqual([push.status, pushResults.map((r) => [r.target, r.code])], [201, [[DEMO_DCN.mobileServicesUser, 0]]]);
}
