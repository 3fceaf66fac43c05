import assert from 'node:assert/strict';
import type { CachedRow, DcnSender, Device, OutboxMessage } from '../../../lib/dcn';
import { basicHeader } from '../../../lib/http/basic-auth';
import registerHub from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import type { WfDcnHubNode } from '../../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerStore from '../../../nodes/wechat-sap-store/wechat-sap-store';
import { NodeRedHarness } from '../../support/node-red-harness';
import { usePostgresSchema } from '../../lib/store/pg-support';
import { ADMIN_SENDER, DEFAULT_SENDER, RECEIVER, SECURITY, StoreChoice, hubNodes, post, postgresStore, sqliteStore, tripRequest } from '../../support/dcn-delivery';

const ADMIN_URL = '/dcn/admin';

interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}
interface Refusal {
  error: string;
  message: string;
}

describe('wf-dcn-hub admin routes', () => {
  const harness = new NodeRedHarness();
  after(() => harness.stop());
  afterEach(() => harness.unload());

  async function load(store: StoreChoice): Promise<WfDcnHubNode> {
    const { nodes, credentials } = hubNodes(store, { adminUrl: ADMIN_URL });
    await harness.load([registerHub, registerStore], [{ id: 'tab', type: 'tab' }, ...nodes], credentials);
    const hub = harness.getNode<WfDcnHubNode>('hub');
    await hub.ready();
    return hub;
  }

  async function call<T = unknown>(method: string, path: string, sender: DcnSender | null = ADMIN_SENDER, body?: unknown, password?: string): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    if (sender) headers.authorization = basicHeader(sender.user, password ?? sender.password);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${harness.baseUrl}${ADMIN_URL}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    // Express's own 404 page is HTML: only a JSON answer is parsed.
    const json = /^application\/json/.test(response.headers.get('content-type') ?? '');
    return { status: response.status, body: (json ? JSON.parse(text) : text) as T, headers: response.headers };
  }

  const registry = `/registry/${SECURITY}/${RECEIVER}`;

  function routes(open: () => StoreChoice): void {
    it('asks for the credentials of one of the hub senders: 401 without them or with a wrong password', async () => {
      await load(open());
      for (const [path, method] of [
        ['/cache/travel:1.0/Trip', 'GET'],
        [registry, 'GET'],
        [registry, 'POST'],
        [`${registry}/wecom-1`, 'DELETE'],
        [`/inbox/${SECURITY}/${RECEIVER}`, 'GET'],
      ]) {
        const anonymous = await call<Refusal>(method, path, null, method === 'POST' ? {} : undefined);
        assert.equal(anonymous.status, 401, `${method} ${path}`);
        assert.equal(anonymous.body.error, 'dcn_unauthorized');
        assert.match(String(anonymous.headers.get('www-authenticate')), /^Basic realm=/);
        const wrong = await call<Refusal>(method, path, ADMIN_SENDER, method === 'POST' ? {} : undefined, 'not-the-password');
        assert.equal(wrong.status, 401, `${method} ${path} with a wrong password`);
        assert.doesNotMatch(JSON.stringify(wrong.body), /not-the-password|sandbox-dcn-password/, 'no password in the answer');
      }
    });

    it('lets a sender that is not admin address only its own security configuration (403), and read the cache', async () => {
      await load(open());
      assert.equal(DEFAULT_SENDER.security, SECURITY);
      const own = await call<Device>('POST', registry, DEFAULT_SENDER, { deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
      assert.equal(own.status, 201);
      for (const [method, path] of [
        ['GET', `/registry/travel/${RECEIVER}`],
        ['POST', `/registry/travel/${RECEIVER}`],
        ['DELETE', `/registry/travel/${RECEIVER}/wecom-1`],
        ['GET', `/inbox/travel/${RECEIVER}`],
      ]) {
        const refused = await call<Refusal>(method, path, DEFAULT_SENDER, method === 'POST' ? { deviceId: 'x', channel: 'inbox' } : undefined);
        assert.equal(refused.status, 403, `${method} ${path}`);
        assert.equal(refused.body.error, 'dcn_forbidden');
        assert.match(refused.body.message, /travel-backend may only address the security configuration default, not travel/);
      }
      assert.equal((await call('GET', `/registry/travel/${RECEIVER}`, ADMIN_SENDER)).status, 200, 'an admin sender may address every one');
      assert.equal((await call('GET', '/cache/travel:1.0/Trip', DEFAULT_SENDER)).status, 200);
    });

    it('reads the data cache: the rows of an MBO, or those whose key attributes match the query', async () => {
      const hub = await load(open());
      await post(hub, tripRequest('TR-30'));
      await post(hub, tripRequest('TR-31'));
      const all = await call<CachedRow[]>('GET', '/cache/travel:1.0/Trip');
      assert.equal(all.status, 200);
      assert.match(String(all.headers.get('content-type')), /^application\/json/);
      assert.deepEqual(
        all.body.map((r) => [r.package, r.mbo, r.key.tripId, r.row.status]),
        [
          ['travel', 'Trip', 'TR-30', 'PENDING'],
          ['travel', 'Trip', 'TR-31', 'PENDING'],
        ],
      );
      const one = await call<CachedRow[]>('GET', '/cache/travel/Trip?tripId=TR-31');
      assert.deepEqual(
        one.body.map((r) => r.row),
        [{ tripId: 'TR-31', status: 'PENDING' }],
      );
      assert.deepEqual((await call('GET', '/cache/travel/Trip?tripId=TR-99')).body, []);

      const notKey = await call<Refusal>('GET', '/cache/travel/Trip?status=PENDING');
      assert.deepEqual([notKey.status, notKey.body.error], [400, 'dcn_not_a_key']);
      const twice = await call<Refusal>('GET', '/cache/travel/Trip?tripId=TR-30&tripId=TR-31');
      assert.equal(twice.status, 400);
      assert.match(twice.body.message, /the key attribute tripId must be given once/);
      const unknown = await call<Refusal>('GET', '/cache/travel/Hotel');
      assert.deepEqual([unknown.status, unknown.body.error], [404, 'dcn_unknown_mbo']);
    });

    it('lists, registers and removes devices; refuses invalid ones with the field', async () => {
      await load(open());
      const created = await call<Device>('POST', registry, ADMIN_SENDER, { deviceId: 'ms-1', channel: 'mobile-services', address: 'P000001', msDevice: 'sandbox-device-1' });
      assert.equal(created.status, 201);
      assert.deepEqual({ ...created.body, registeredAt: '' }, { security: SECURITY, user: RECEIVER, deviceId: 'ms-1', channel: 'mobile-services', address: 'P000001', msDevice: 'sandbox-device-1', registeredAt: '' });
      await call('POST', registry, ADMIN_SENDER, { security: SECURITY, user: RECEIVER, deviceId: 'wecom-1', channel: 'wecom', address: RECEIVER });
      const listed = await call<Device[]>('GET', registry);
      assert.deepEqual(
        listed.body.map((d) => d.deviceId),
        ['ms-1', 'wecom-1'],
      );

      const refusals: Array<[unknown, RegExp]> = [
        [{ user: 'jdoe', deviceId: 'x', channel: 'inbox' }, /user in the body must be the path's \(SUPAdmin\)/],
        [{ deviceId: 'x', channel: 'sms', address: 'a' }, /channel must be one of wecom, wechat, mobile-services, inbox/],
        [{ channel: 'wecom', address: 'a' }, /deviceId/],
        [['wecom'], /must be an object/],
        ['{"deviceId": ', /not valid JSON/],
      ];
      for (const [body, text] of refusals) {
        const refused = await call<Refusal>('POST', registry, ADMIN_SENDER, body);
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.match(refused.body.message, text);
      }

      const removed = await call<{ removed: number }>('DELETE', `${registry}/ms-1`);
      assert.deepEqual([removed.status, removed.body], [200, { removed: 1 }]);
      const again = await call<Refusal>('DELETE', `${registry}/ms-1`);
      assert.deepEqual([again.status, again.body.error], [404, 'not_found']);
      assert.deepEqual(
        (await call<Device[]>('GET', registry)).body.map((d) => d.deviceId),
        ['wecom-1'],
      );
    });

    it("reads a user's inbox, newest first, with a limit", async () => {
      const hub = await load(open());
      assert.equal((await call('POST', registry, ADMIN_SENDER, { deviceId: 'inbox', channel: 'inbox' })).status, 201);
      await post(hub, tripRequest('TR-32'));
      await post(hub, tripRequest('TR-33'));
      const inbox = await call<OutboxMessage[]>('GET', `/inbox/${SECURITY}/${RECEIVER}`);
      assert.equal(inbox.status, 200);
      assert.deepEqual(
        inbox.body.map((m) => [m.requestId, m.kind, m.device.address]),
        [
          ['TR-33', 'message', RECEIVER],
          ['TR-32', 'message', RECEIVER],
        ],
      );
      assert.deepEqual(
        (await call<OutboxMessage[]>('GET', `/inbox/${SECURITY}/${RECEIVER}?limit=1`)).body.map((m) => m.requestId),
        ['TR-33'],
      );
      const bad = await call<Refusal>('GET', `/inbox/${SECURITY}/${RECEIVER}?limit=0`);
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /limit must be a whole number from 1 to 1000/);
      assert.deepEqual((await call('GET', `/inbox/${SECURITY}/nobody`)).body, []);
    });
  }

  describe('on SQLite', () => {
    routes(() => sqliteStore());

    it('refuses a path segment that is not valid %-encoding with its own JSON 400, as other bad input (found by fuzzing)', async () => {
      await load(sqliteStore());
      // Express used to decode these as route parameters first: an HTML 400 page, and a stack trace in the log per request.
      for (const [method, path] of [
        ['GET', '/cache/%/Trip'],
        ['GET', `/registry/${SECURITY}/%E4%BD`],
        ['DELETE', `${registry}/%ZZ`],
        ['GET', `/inbox/%/${RECEIVER}`],
      ]) {
        const refused = await call<Refusal>(method, path);
        assert.equal(refused.status, 400, `${method} ${path}`);
        assert.equal(refused.body.error, 'dcn_bad_request', `${method} ${path}`);
        assert.match(refused.body.message, /is not valid %-encoding/);
      }
      // Well-formed escapes are still decoded: the registry holds the user as named.
      const created = await call<Device>('POST', `/registry/${SECURITY}/${encodeURIComponent('李 雷')}`, ADMIN_SENDER, { deviceId: 'd-1', channel: 'inbox' });
      assert.deepEqual([created.status, created.body.user], [201, '李 雷']);
      assert.equal((await call('GET', `/REGISTRY/${SECURITY}/${RECEIVER}/`)).status, 200, 'matched as Express matches paths: any case, a trailing slash');
    });

    it('are gone once the hub stops', async () => {
      await load(sqliteStore());
      assert.equal((await call('GET', registry)).status, 200);
      await harness.unload();
      assert.equal((await call('GET', registry)).status, 404);
    });
  });

  describe('on PostgreSQL', () => {
    const schema = usePostgresSchema();
    routes(() => postgresStore(schema));
  });
});
