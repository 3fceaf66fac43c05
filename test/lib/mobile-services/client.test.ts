import assert from 'node:assert/strict';
import type { Sandbox } from '../../../sandbox';
import { DEMO_MOBILE_SERVICES } from '../../../sandbox/demo-accounts';
import { MEDIA_LIMITS, MobileServicesAuth, MobileServicesClient, MobileServicesConfig, MobileServicesError, mediaContent, textContent, targetRequest } from '../../../lib/mobile-services';
import { withSandbox } from '../../support/sandbox';

const ms = DEMO_MOBILE_SERVICES;

describe('lib/mobile-services client', () => {
  let sandbox: Sandbox;
  let t = 1_700_000_000_000;
  const now = () => t;
  withSandbox((started) => (sandbox = started), { mobileServices: { now, tokenLifetimeSeconds: 3600 } });

  const apiKey: MobileServicesAuth = { kind: 'apiKey', apiKey: ms.apiKey };
  const client = (config: Partial<MobileServicesConfig> = {}) =>
    new MobileServicesClient({ serverUrl: `${sandbox.baseUrl}/mobile-services`, appId: ms.appId, auth: apiKey, retryDelayMs: 1, now, ...config });
  const oauth = (): MobileServicesAuth => ({ kind: 'oauth', tokenUrl: `${sandbox.baseUrl}/mobile-services/oauth/token`, clientId: ms.clientId, clientSecret: ms.clientSecret });

  async function rejection(promise: Promise<unknown>): Promise<MobileServicesError> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof MobileServicesError, String(err));
      return err;
    }
    assert.fail('the push was expected to fail');
  }

  it('sends a Micro App text with createtime as ISO-8601 with milliseconds and Z and users at the top level', async () => {
    const outcome = await client().pushMicroApp(textContent('Leave request approved'), ['P000001']);
    assert.deepEqual(sandbox.mobileServices.deliveries[0].body, {
      notification: { wechat: { msgtype: 'text', text: { content: 'Leave request approved' }, createtime: new Date(t).toISOString() } },
      users: ['P000001'],
    });
    assert.match(String((sandbox.mobileServices.deliveries[0].body.notification as { wechat: { createtime: string } }).wechat.createtime), /\.\d{3}Z$/);
    assert.deepEqual(
      outcome.pushResults.map((r) => [r.target, r.code]),
      [['P000001', 0]],
    );
    assert.equal(sandbox.mobileServices.deliveries[0].auth, 'apiKey');
  });

  it('puts users inside notification.wechat when so configured, which a stand-in expecting that accepts', async () => {
    const other = await import('../../../sandbox').then((m) => m.startSandbox({ mobileServices: { microAppUsersIn: 'wechat' } }));
    try {
      const c = new MobileServicesClient({ serverUrl: `${other.baseUrl}/mobile-services`, appId: ms.appId, auth: apiKey, usersPlacement: 'wechat' });
      await c.pushMicroApp(textContent('hi'), ['P000002']);
      const body = other.mobileServices.deliveries[0].body as { users?: unknown; notification: { wechat: { users: unknown } } };
      assert.deepEqual(body.notification.wechat.users, ['P000002']);
      assert.equal(body.users, undefined);
    } finally {
      await other.close();
    }
  });

  it('names the topic of a topic push in the configured body field', () => {
    assert.deepEqual(targetRequest({ kind: 'topic', topic: 'leave' }, { alert: 'a' }).body, { topic: 'leave', notification: { alert: 'a' } });
    assert.deepEqual(targetRequest({ kind: 'topic', topic: 'leave' }, { alert: 'a' }, 'topicName').body, { topicName: 'leave', notification: { alert: 'a' } });
  });

  it('authenticates with Basic (key alias and key) and with a cached OAuth bearer token', async () => {
    await client({ auth: { kind: 'basic', alias: ms.keyAlias, key: ms.apiKey } }).push({ kind: 'group', group: 'approvers' }, { alert: 'a' });
    const c = client({ auth: oauth() });
    await c.push({ kind: 'topic', topic: 'leave' }, { alert: 'b' });
    await c.push({ kind: 'topic', topic: 'leave' }, { alert: 'c' });
    assert.deepEqual(
      sandbox.mobileServices.deliveries.map((d) => d.auth),
      ['basic', 'bearer', 'bearer'],
    );
    assert.equal(sandbox.mobileServices.tokenRequestCount, 1, 'the token is fetched once and cached');
  });

  it('renews the token shortly before it expires, and once when the server refuses it', async () => {
    const c = client({ auth: oauth() });
    await c.push({ kind: 'all' }, { alert: 'x' });
    t += 3600_000 - 30_000;
    await c.push({ kind: 'all' }, { alert: 'y' });
    assert.equal(sandbox.mobileServices.tokenRequestCount, 2, 'renewed within the last minute of its life');
    sandbox.mobileServices.expireTokens();
    await c.push({ kind: 'all' }, { alert: 'z' });
    assert.equal(sandbox.mobileServices.tokenRequestCount, 3);
    assert.equal(sandbox.mobileServices.deliveries.length, 3);
  });

  it('reports a refused OAuth client without its secret', async () => {
    const err = await rejection(client({ auth: { ...oauth(), clientSecret: 'wrong-secret-value' } as MobileServicesAuth }).push({ kind: 'all' }, {}));
    assert.equal(err.code, 'ms_token');
    assert.equal(err.status, 401);
    assert.match(err.message, /Bad credentials/);
    assert.doesNotMatch(JSON.stringify({ ...err, message: err.message }), /wrong-secret-value/);
  });

  it('refuses a wrong push service key with 401 and never retries it', async () => {
    const c = client({ auth: { kind: 'apiKey', apiKey: 'not-the-key' } });
    const err = await rejection(c.push({ kind: 'all' }, {}));
    assert.equal(err.code, 'ms_auth');
    assert.equal(c.requests, 1);
    assert.doesNotMatch(err.message, /not-the-key/);
  });

  it('splits more than 1000 users into requests of at most 1000 and merges their results', async () => {
    const users = Array.from({ length: 2501 }, (_, i) => `U${i}`);
    users[0] = 'P000001';
    users[1500] = 'P000002';
    users[2200] = 'P000003';
    const outcome = await client().push({ kind: 'users', users }, { alert: 'many', badge: 1 });
    assert.deepEqual(
      sandbox.mobileServices.deliveries.map((d) => (d.body.users as string[]).length),
      [1000, 1000, 501],
    );
    assert.deepEqual(
      outcome.pushResults.map((r) => [r.target, r.code]),
      [
        ['P000001', 0],
        ['P000002', 0],
        ['P000003', 7],
      ],
    );
    assert.equal(outcome.responses.length, 3);
  });

  it('keeps what the earlier requests of a split push answered on the error of a later one', async () => {
    const users = Array.from({ length: 1001 }, (_, i) => `U${i}`);
    users[0] = 'P000001';
    const err = await rejection(client().push({ kind: 'users', users }, { alert: 'x' }));
    assert.equal(err.status, 400, 'the second request reached no registration');
    assert.deepEqual(
      err.delivered?.pushResults.map((r) => (r as { target: string }).target),
      ['P000001'],
    );
    assert.equal(sandbox.mobileServices.deliveries.length, 1);
  });

  for (const fault of [{ status: 503 }, { status: 429 }, { reset: true }]) {
    it(`retries ${JSON.stringify(fault)} with backoff and then succeeds`, async () => {
      sandbox.mobileServices.inject({ api: 'push', times: 2, ...fault });
      const c = client();
      const outcome = await c.push({ kind: 'device', user: 'P000001', device: 'sandbox-device-1' }, { alert: 'hello', sound: 'default', priority: 'high', data: { id: '7' }, custom: { k: 'v' } });
      assert.equal(c.requests, 3);
      assert.equal(outcome.pushResults[0].code, 0);
      assert.equal(sandbox.mobileServices.deliveries.length, 1);
    });
  }

  it('gives up after the configured retries with the status and the server text', async () => {
    sandbox.mobileServices.inject({ api: 'push', times: 10, status: 502 });
    const c = client({ retries: 2 });
    const err = await rejection(c.push({ kind: 'all' }, { alert: 'x' }));
    assert.equal(c.requests, 3);
    assert.equal(err.status, 502);
    assert.match(err.message, /502: upstream unavailable/);
  });

  it('never retries a 4xx and carries the server message: no registrations for unknown users', async () => {
    const c = client();
    const err = await rejection(c.push({ kind: 'users', users: ['nobody'] }, { alert: 'x' }));
    assert.equal(c.requests, 1);
    assert.equal(err.status, 400);
    assert.equal(err.params.server, 'No registrations for the given users');
  });

  it('checks media against the per-type limits before sending anything', () => {
    assert.throws(() => mediaContent('voice', Buffer.alloc(MEDIA_LIMITS.voice + 1), 'v.amr'), { code: 'ms_media_size' });
    assert.throws(() => mediaContent('file', Buffer.alloc(5), 'tiny.txt'), { code: 'ms_media_size' });
    assert.throws(() => mediaContent('sticker', Buffer.alloc(10), 'a.gif'), { code: 'ms_media_type' });
    assert.deepEqual(mediaContent('image', Buffer.from('0123456789'), 'photo.PNG'), {
      msgtype: 'image',
      image: { media_file_encoded: `data:image/png;base64,${Buffer.from('0123456789').toString('base64')}`, media_file_name: 'photo.PNG' },
    });
    assert.equal(sandbox.mobileServices.pushRequestCount, 0);
  });

  it('sends the answer of a push to all users with its correlationId, and x-tenant-id when set', async () => {
    const outcome = await client({ tenantId: 'tenant-1' }).push({ kind: 'all' }, { alert: 'everyone' });
    assert.equal(outcome.status?.code, 0);
    assert.match(String(outcome.correlationId), /^[0-9a-f]{32}$/);
    assert.equal(sandbox.mobileServices.deliveries[0].tenantId, 'tenant-1');
  });
});
