import assert from 'node:assert/strict';
import type { Node, NodeMessage } from 'node-red';
import registerApp from '../../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../../nodes/mobile-services-push/mobile-services-push';
import { DEMO_MOBILE_SERVICES } from '../../../sandbox/demo-accounts';
import type { Sandbox } from '../../../sandbox';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';
import { withSandbox } from '../../support/sandbox';
import { waitFor } from '../../support/flow-watch';

type Msg = NodeMessage & Record<string, unknown>;
type Spy = { args: unknown[][] };
const ms = DEMO_MOBILE_SERVICES;

describe('mobile-services-push node', () => {
  let sandbox: Sandbox;
  const harness = new NodeRedHarness();
  withSandbox((started) => (sandbox = started));
  after(() => harness.stop());
  afterEach(() => harness.unload());

  const app = (extra: Partial<FlowNode> = {}): FlowNode => ({ id: 'app', type: 'mobile-services-app', serverUrl: `${sandbox.baseUrl}/mobile-services`, appId: ms.appId, authType: 'apiKey', ...extra });

  async function load(push: Partial<FlowNode> = {}, appNode: FlowNode = app(), credentials: object = { app: { apiKey: ms.apiKey } }): Promise<void> {
    await harness.load(
      [registerApp, registerPush],
      [
        { id: 'tab', type: 'tab' },
        appNode,
        { id: 'push', type: 'mobile-services-push', z: 'tab', app: 'app', mode: 'microApp', target: 'users', recipients: 'users', recipientsType: 'msg', wires: [['out']], ...push },
        { id: 'out', type: 'helper', z: 'tab' },
      ],
      credentials,
      { mobileServicesAppRetryDelay: 1 },
    );
  }

  async function roundTrip(msg: Msg): Promise<{ out?: Msg; error?: Error }> {
    const { out, caught } = await harness.roundTrip(msg, 'push');
    return { out, error: caught?.error };
  }

  const spy = (method: 'status' | 'warn'): Spy => (harness.getNode('push') as unknown as Record<string, Spy>)[method];
  const lastStatus = () => spy('status').args.at(-1)?.[0] as { fill?: string; text?: string } | undefined;
  const wechatOf = (i = 0) => (sandbox.mobileServices.deliveries[i].body.notification as { wechat: Record<string, unknown> }).wechat;

  it('pushes a string payload as a Micro App text to the users from msg, with pushResults on msg.payload', async () => {
    await load();
    const { out } = await roundTrip({ payload: 'Leave request approved', users: ['P000001'] });
    assert.equal(wechatOf().msgtype, 'text');
    assert.deepEqual(wechatOf().text, { content: 'Leave request approved' });
    assert.match(String(wechatOf().createtime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(sandbox.mobileServices.deliveries[0].body.users, ['P000001']);
    const payload = out?.payload as { pushResults: { target: string; code: number }[]; failed?: unknown };
    assert.deepEqual(
      payload.pushResults.map((r) => [r.target, r.code]),
      [['P000001', 0]],
    );
    assert.equal(payload.failed, undefined);
    assert.equal((out?.pushResponses as unknown[]).length, 1);
    await waitFor('status green', () => lastStatus()?.fill === 'green');
  });

  it('sends a Buffer as media_file_encoded with the MIME type of msg.filename', async () => {
    await load({ recipients: 'P000001,P000002', recipientsType: 'str', mediaType: 'file' });
    const pdf = Buffer.from('%PDF-1.4 leave request');
    await roundTrip({ payload: pdf, filename: 'request.pdf' });
    assert.deepEqual(wechatOf().file, { media_file_encoded: `data:application/pdf;base64,${pdf.toString('base64')}`, media_file_name: 'request.pdf' });
    assert.deepEqual(sandbox.mobileServices.deliveries[0].body.users, ['P000001', 'P000002']);
  });

  it('refuses an oversized voice before sending anything', async () => {
    await load({ recipients: 'P000001', recipientsType: 'str' });
    const { error } = await roundTrip({ payload: Buffer.alloc(2 * 1024 * 1024 + 1), mediaType: 'voice', filename: 'v.amr' });
    assert.match(String(error?.message), /voice of 2097153 bytes is outside what WeCom accepts/);
    assert.equal(sandbox.mobileServices.pushRequestCount, 0);
    assert.equal(lastStatus()?.text, 'mobile-services-push.status.invalid');
  });

  for (const [msgtype, content] of Object.entries({
    markdown: { content: '**approved**' },
    textcard: { title: 'Leave', description: 'approved', url: 'https://example.com/leave/1', btntxt: 'Open' },
    news: { articles: [{ title: 'Leave approved', url: 'https://example.com/leave/1' }] },
  })) {
    it(`passes a ${msgtype} object payload through as notification.wechat.${msgtype}`, async () => {
      await load({ recipients: 'P000002', recipientsType: 'str' });
      await roundTrip({ payload: { msgtype, [msgtype]: content } });
      assert.deepEqual(wechatOf()[msgtype], content);
    });
  }

  it('pushes a generic notification to a group and reports failed targets with their meaning as a warning', async () => {
    await load({ mode: 'generic', target: 'group', targetName: 'approvers', targetNameType: 'str' });
    const { out } = await roundTrip({ payload: { alert: 'New leave request', badge: 1, data: { requestId: '42' } } });
    assert.equal(sandbox.mobileServices.deliveries[0].path, 'groups/approvers/notifications');
    const payload = out?.payload as { failed: { target: string; code: number; meaning: string }[] };
    assert.deepEqual(payload.failed.map((f) => [f.target, f.code, f.meaning]), [['P000003', 7, 'registration expired']]);
    assert.match(String(spy('warn').args[0][0]), /1 target\(s\) failed: P000003: 7 registration expired/);
    await waitFor('status yellow', () => lastStatus()?.fill === 'yellow');
  });

  it('pushes a string alert to a device, a topic and all users', async () => {
    await load({ mode: 'generic', target: 'device', recipients: 'P000001', recipientsType: 'str', targetName: 'sandbox-device-1', targetNameType: 'str' });
    await roundTrip({ payload: 'to the device' });
    await harness.unload();
    await load({ mode: 'generic', target: 'topic', targetName: 'topic', targetNameType: 'msg' });
    await roundTrip({ payload: 'to the topic', topic: 'leave' });
    await harness.unload();
    await load({ mode: 'generic', target: 'all' });
    const { out } = await roundTrip({ payload: 'to everyone' });
    assert.deepEqual(
      sandbox.mobileServices.deliveries.map((d) => [d.target, (d.body.notification as { alert: string }).alert]),
      [
        ['device', 'to the device'],
        ['topic', 'to the topic'],
        ['all', 'to everyone'],
      ],
    );
    assert.ok((out?.payload as { correlationId?: string }).correlationId);
  });

  it('sends a 4xx to done(err) with the status and the server message, without retrying', async () => {
    await load({ recipients: 'nobody', recipientsType: 'str' });
    const { error } = await roundTrip({ payload: 'hello' });
    assert.match(String(error?.message), /failed with HTTP 400: No registrations for the given users/);
    assert.equal((error as Error & { status?: number }).status, 400);
    assert.equal(sandbox.mobileServices.pushRequestCount, 1);
    await waitFor('status HTTP 400', () => lastStatus()?.text === 'HTTP 400');
  });

  it('retries 503 and connection resets, then delivers once', async () => {
    await load({ recipients: 'P000001', recipientsType: 'str' });
    sandbox.mobileServices.inject({ api: 'push', status: 503 });
    sandbox.mobileServices.inject({ api: 'push', reset: true });
    const { out } = await roundTrip({ payload: 'after retries' });
    assert.ok(out);
    assert.equal(sandbox.mobileServices.pushRequestCount, 3);
    assert.equal(sandbox.mobileServices.deliveries.length, 1);
  });

  it('authenticates with an OAuth client from ${ENV} values and keeps secrets out of errors', async () => {
    process.env.WXB_TEST_MS_SERVER = `${sandbox.baseUrl}/mobile-services`;
    process.env.WXB_TEST_MS_SECRET = ms.clientSecret;
    try {
      const oauthApp = app({ serverUrl: '${WXB_TEST_MS_SERVER}', authType: 'oauth', tokenUrl: `${sandbox.baseUrl}/mobile-services/oauth/token` });
      await load({ recipients: 'P000001', recipientsType: 'str' }, oauthApp, { app: { clientId: ms.clientId, clientSecret: '${WXB_TEST_MS_SECRET}' } });
      await roundTrip({ payload: 'via bearer' });
      assert.equal(sandbox.mobileServices.deliveries[0].auth, 'bearer');
      await harness.unload();
      await load({ recipients: 'P000001', recipientsType: 'str' }, oauthApp, { app: { clientId: ms.clientId, clientSecret: 'a-wrong-client-secret' } });
      const { error } = await roundTrip({ payload: 'refused' });
      assert.match(String(error?.message), /token URL refused the OAuth client \(HTTP 401: Bad credentials\)/);
      assert.doesNotMatch(JSON.stringify({ message: error?.message, ...error }), /a-wrong-client-secret/);
    } finally {
      delete process.env.WXB_TEST_MS_SERVER;
      delete process.env.WXB_TEST_MS_SECRET;
    }
  });

  it('warns at deploy about an unset ${ENV} setting', async () => {
    await load({}, app({ appId: '${WXB_TEST_MS_UNSET}' }));
    const warn = (harness.getNode('app') as Node & { warn: Spy }).warn;
    assert.match(String(warn.args[0]?.[0]), /appId is "\$\{WXB_TEST_MS_UNSET\}", but the environment variable WXB_TEST_MS_UNSET is not set/);
  });
});
