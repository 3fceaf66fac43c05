import { strict as assert } from 'node:assert';
import type { SinonSpy } from 'sinon';
import registerAccount, { WeChatAccountNode } from '../../../nodes/wechat-account/wechat-account';
import registerMobileServicesApp from '../../../nodes/mobile-services-app/mobile-services-app';
import { NodeRedHarness } from '../../support/node-red-harness';

describe('wechat-account', () => {
  const harness = new NodeRedHarness();
  afterEach(() => harness.unload());
  after(() => harness.stop());

  const load = (props: Record<string, unknown>, credentials: Record<string, string> = {}) =>
    harness.load([registerAccount], [{ id: 'acc', type: 'wechat-account', kind: 'official', appId: 'wx123', agentId: '', apiBase: '', ...props }], { acc: credentials });
  const warnings = () => (harness.getNode('acc').warn as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));

  it('uses the platform API host unless another base is given', async () => {
    await load({});
    assert.equal(harness.getNode<WeChatAccountNode>('acc').apiBase, 'https://api.weixin.qq.com');
    await harness.unload();
    await load({ kind: 'wecom', appId: 'ww1', agentId: '1000002' });
    assert.equal(harness.getNode<WeChatAccountNode>('acc').apiBase, 'https://qyapi.weixin.qq.com');
    await harness.unload();
    await load({ apiBase: 'http://127.0.0.1:1890/wechat/' });
    assert.equal(harness.getNode<WeChatAccountNode>('acc').apiBase, 'http://127.0.0.1:1890/wechat');
  });

  it('takes settings from environment variables and names the ones that are not set', async () => {
    process.env.WXBRIDGE_TEST_APPID = 'wxFromEnv';
    try {
      await load(
        { appId: '${WXBRIDGE_TEST_APPID}', apiBase: '${WXBRIDGE_TEST_UNSET_BASE}' },
        { token: '${WXBRIDGE_TEST_UNSET_TOKEN}', appSecret: 'a-real-secret' },
      );
      const account = harness.getNode<WeChatAccountNode>('acc');
      assert.equal(account.appId, 'wxFromEnv');
      assert.equal(account.apiBase, 'https://api.weixin.qq.com', 'an unset API base means the default');
      const warned = warnings();
      assert.deepEqual(warned, ['token is "${WXBRIDGE_TEST_UNSET_TOKEN}", but the environment variable WXBRIDGE_TEST_UNSET_TOKEN is not set']);
      assert.ok(!warned.join('').includes('a-real-secret'));
    } finally {
      delete process.env.WXBRIDGE_TEST_APPID;
    }
  });

  it('tells a callback endpoint its Token, key and receiver id', async () => {
    await load({ emptyReceiverId: true }, { token: 't', encodingAESKey: 'k'.repeat(43) });
    assert.deepEqual(harness.getNode<WeChatAccountNode>('acc').callbackAccount(), {
      kind: 'official',
      appId: 'wx123',
      token: 't',
      encodingAESKey: 'k'.repeat(43),
      receiverId: '',
      acceptPlain: false,
    });
  });

  it('accepts plaintext callbacks only when set to, and never for WeCom', async () => {
    await load({ acceptPlain: true }, { token: 't', encodingAESKey: 'k'.repeat(43) });
    assert.equal(harness.getNode<WeChatAccountNode>('acc').callbackAccount().acceptPlain, true);
    await harness.unload();
    await load({ kind: 'wecom', agentId: '1000002', acceptPlain: true }, { token: 't', encodingAESKey: 'k'.repeat(43) });
    assert.equal(harness.getNode<WeChatAccountNode>('acc').callbackAccount().acceptPlain, false);
  });

  it('names the mobile-services-app for late replies of forwarded messages, and none when none (or another kind of node) is selected', async () => {
    const app = { id: 'ms', type: 'mobile-services-app', serverUrl: 'http://127.0.0.1:9/mobile-services', appId: 'com.sandbox.timeoff', authType: 'apiKey' };
    const account = (mobileServices: string) => ({ id: 'acc', type: 'wechat-account', kind: 'wecom', appId: 'ww1', agentId: '1000003', apiBase: '', mobileServices });
    await harness.load([registerAccount, registerMobileServicesApp], [app, account('ms')], { ms: { apiKey: 'k' } });
    assert.equal(harness.getNode<WeChatAccountNode>('acc').mobileServicesApp()?.id, 'ms');
    await harness.unload();
    await harness.load([registerAccount, registerMobileServicesApp], [app, account('')]);
    assert.equal(harness.getNode<WeChatAccountNode>('acc').mobileServicesApp(), null);
    await harness.unload();
    await harness.load([registerAccount, registerMobileServicesApp], [app, { ...account('other'), id: 'acc' }, { ...account(''), id: 'other' }]);
    assert.equal(harness.getNode<WeChatAccountNode>('acc').mobileServicesApp(), null, 'a wechat-account is not a mobile-services-app');
  });
});
