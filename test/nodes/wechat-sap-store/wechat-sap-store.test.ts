import assert from 'node:assert/strict';
import { WeChatSapStoreDef, storeConfigOf } from '../../../nodes/wechat-sap-store/wechat-sap-store';

describe('wechat-sap-store configuration', () => {
  const def = (extra: Partial<WeChatSapStoreDef>): WeChatSapStoreDef =>
    ({ id: 's', type: 'wechat-sap-store', name: '', kind: 'sqlite', path: '', host: '', port: '', database: '', user: '', ssl: false, schema: '', tablePrefix: '', ...extra }) as WeChatSapStoreDef;

  it('defaults to the embedded file in the userDir and resolves relative paths below it', () => {
    assert.deepEqual(storeConfigOf(def({}), {}, '/nr'), { kind: 'sqlite', path: '/nr/wechat-sap.sqlite', synchronous: 'full' });
    assert.deepEqual(storeConfigOf(def({ path: 'state/x.sqlite' }), {}, '/nr'), { kind: 'sqlite', path: '/nr/state/x.sqlite', synchronous: 'full' });
    assert.deepEqual(storeConfigOf(def({ path: '/var/lib/x.sqlite' }), {}, '/nr'), { kind: 'sqlite', path: '/var/lib/x.sqlite', synchronous: 'full' });
  });

  it('passes the durability setting on: full unless normal is chosen', () => {
    assert.deepEqual(storeConfigOf(def({ synchronous: 'normal' }), {}, '/nr'), { kind: 'sqlite', path: '/nr/wechat-sap.sqlite', synchronous: 'normal' });
    assert.deepEqual(storeConfigOf(def({ synchronous: '' }), {}, '/nr'), { kind: 'sqlite', path: '/nr/wechat-sap.sqlite', synchronous: 'full' });
  });

  it('takes PostgreSQL fields from properties and the password or URL from credentials', () => {
    const config = storeConfigOf(def({ kind: 'postgres', host: 'db', port: '6543', database: 'nr', user: 'app', ssl: true, schema: 'wx', tablePrefix: 'p_' }), { password: 'pw' }, '/nr');
    assert.deepEqual(config, { kind: 'postgres', connectionString: undefined, host: 'db', port: 6543, database: 'nr', user: 'app', password: 'pw', ssl: true, schema: 'wx', tablePrefix: 'p_' });
    const url = storeConfigOf(def({ kind: 'postgres' }), { connectionString: 'postgres://a:b@h/d' }, '/nr');
    assert.equal(url.kind === 'postgres' && url.connectionString, 'postgres://a:b@h/d');
  });
});
