import assert from 'node:assert/strict';
import { DeviceRegistry, checkDeviceRegistration } from '../../../lib/dcn/registry';
import { DcnError } from '../../../lib/dcn/types';
import type { Store } from '../../../lib/store';
import { onBothStores } from './support/stores';

const T0 = Date.UTC(2024, 4, 1, 1, 0, 0);
const AT = '2024-05-01T01:00:00.000Z';

async function rejection(promise: Promise<unknown>): Promise<DcnError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  assert.ok('error' in outcome, `expected a DcnError, got ${JSON.stringify(outcome)}`);
  assert.ok(outcome.error instanceof DcnError, String(outcome.error));
  return outcome.error;
}

onBothStores('lib/dcn/registry', (open) => {
  let store: Store;
  let registry: DeviceRegistry;
  let time: number;

  beforeEach(() => {
    time = T0;
    store = open();
    registry = new DeviceRegistry(store.database(), { now: () => time });
  });
  afterEach(() => store.close());

  const supAdmin = async () => {
    await registry.register({ security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin' });
    await registry.register({ security: 'default', user: 'SUPAdmin', deviceId: 'ms-SUPAdmin', channel: 'mobile-services', address: 'SUPAdmin', msDevice: 'reg-0001' });
  };

  it('registers devices and lists them by security configuration, user and device id', async () => {
    const device = await registry.register({ security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin' });
    assert.deepEqual(device, { security: 'default', user: 'SUPAdmin', deviceId: 'wecom-SUPAdmin', channel: 'wecom', address: 'SUPAdmin', msDevice: '', registeredAt: AT });
    await registry.register({ security: 'default', user: 'SUPAdmin', deviceId: 'ms-SUPAdmin', channel: 'mobile-services', address: 'SUPAdmin', msDevice: 'reg-0001' });
    await registry.register({ security: 'default', user: 'jdoe', deviceId: 'wechat-1', channel: 'wechat', address: 'oAbCdEfGhIjKlMnOpQrStUvWxYz0' });
    await registry.register({ security: 'hr', user: 'jdoe', deviceId: 'inbox', channel: 'inbox' });
    assert.deepEqual(
      (await registry.list()).map((d) => `${d.security}/${d.user}/${d.deviceId}:${d.channel}:${d.address}:${d.msDevice}`),
      ['default/SUPAdmin/ms-SUPAdmin:mobile-services:SUPAdmin:reg-0001', 'default/SUPAdmin/wecom-SUPAdmin:wecom:SUPAdmin:', 'default/jdoe/wechat-1:wechat:oAbCdEfGhIjKlMnOpQrStUvWxYz0:', 'hr/jdoe/inbox:inbox:jdoe:'],
    );
    assert.deepEqual(
      (await registry.list({ security: 'default', user: 'SUPAdmin' })).map((d) => d.deviceId),
      ['ms-SUPAdmin', 'wecom-SUPAdmin'],
    );
    assert.deepEqual(
      (await registry.list({ user: 'jdoe' })).map((d) => d.security),
      ['default', 'hr'],
    );
    assert.equal((await registry.list({ limit: 1 })).length, 1);
    assert.deepEqual(await registry.list({ security: 'nobody' }), []);
  });

  it('replaces the channel and address of a device registered again', async () => {
    await registry.register({ security: 'default', user: 'jdoe', deviceId: 'phone', channel: 'wecom', address: 'jdoe' });
    time += 60_000;
    const again = await registry.register({ security: 'default', user: 'jdoe', deviceId: 'phone', channel: 'mobile-services', address: 'jdoe@example.com', msDevice: 'reg-9' });
    assert.equal(again.registeredAt, '2024-05-01T01:01:00.000Z');
    assert.deepEqual(await registry.list({ user: 'jdoe' }), [again]);
  });

  it('unregisters one device or all of a user, saying how many went', async () => {
    await supAdmin();
    await registry.register({ security: 'hr', user: 'SUPAdmin', deviceId: 'inbox', channel: 'inbox' });
    assert.equal(await registry.unregister('default', 'SUPAdmin', 'ms-SUPAdmin'), 1);
    assert.equal(await registry.unregister('default', 'SUPAdmin', 'ms-SUPAdmin'), 0);
    assert.equal(await registry.unregister('default', 'SUPAdmin'), 1);
    assert.deepEqual(
      (await registry.list()).map((d) => d.security),
      ['hr'],
      'the other configuration keeps its device',
    );
  });

  it("finds the receivers' devices inside a transaction, in the receivers' order, of that configuration only", async () => {
    await supAdmin();
    await registry.register({ security: 'default', user: 'jdoe', deviceId: 'inbox', channel: 'inbox' });
    await registry.register({ security: 'hr', user: 'mchan', deviceId: 'inbox', channel: 'inbox' });
    const devices = await store.database().transaction((tx) => registry.devicesInTx(tx, 'default', ['jdoe', 'mchan', 'SUPAdmin', 'nobody']));
    assert.deepEqual(
      devices.map((d) => `${d.user}/${d.deviceId}`),
      ['jdoe/inbox', 'SUPAdmin/ms-SUPAdmin', 'SUPAdmin/wecom-SUPAdmin'],
    );
    assert.equal(devices[1].msDevice, 'reg-0001');
    assert.equal(devices[1].registeredAt, AT);
  });

  it('looks up more receivers than one statement takes', async () => {
    const users = Array.from({ length: 1000 }, (_, i) => `u${String(i).padStart(4, '0')}`);
    for (const user of users.filter((_, i) => i % 3 === 0)) await registry.register({ security: 'default', user, deviceId: 'inbox', channel: 'inbox' });
    const devices = await store.database().transaction((tx) => registry.devicesInTx(tx, 'default', [...users].reverse()));
    assert.equal(devices.length, 334);
    assert.equal(devices[0].user, 'u0999');
    assert.equal(devices.at(-1)?.user, 'u0000');
  });

  it('refuses wrong registrations field by field, storing nothing', async () => {
    const good = { security: 'default', user: 'jdoe', deviceId: 'phone', channel: 'wecom', address: 'jdoe' };
    const cases: Array<[unknown, string, string]> = [
      ['not a device', 'device', 'dcn_expected_object'],
      [{ ...good, security: undefined }, 'security', 'dcn_expected_string'],
      [{ ...good, user: ' ' }, 'user', 'dcn_empty'],
      [{ ...good, deviceId: 'd'.repeat(201) }, 'deviceId', 'dcn_too_long'],
      [{ ...good, channel: 'sms' }, 'channel', 'dcn_bad_channel'],
      [{ ...good, channel: undefined }, 'channel', 'dcn_bad_channel'],
      [{ ...good, address: '' }, 'address', 'dcn_device_not_supplied'],
      [{ ...good, address: 7 }, 'address', 'dcn_expected_string'],
      [{ ...good, msDevice: 'reg-1' }, 'msDevice', 'dcn_ms_device_channel'],
      [{ ...good, user: 'a\u0000' }, 'user', 'dcn_bad_chars'],
    ];
    for (const [value, field, code] of cases) {
      const err = await rejection(Promise.resolve().then(() => registry.register(value as Parameters<DeviceRegistry['register']>[0])));
      assert.equal(err.status, 400);
      assert.equal(err.code, code, err.message);
      assert.equal(err.params.field, field, err.message);
    }
    assert.deepEqual(await registry.list(), []);
    assert.equal((await rejection(registry.list({ limit: 0 }))).code, 'dcn_bad_limit');
    assert.equal((await rejection(registry.unregister('', 'x'))).params.field, 'security');
  });
});

describe('lib/dcn/registry checkDeviceRegistration', () => {
  it("gives an inbox the user as address and trims every name", () => {
    assert.deepEqual(checkDeviceRegistration({ security: ' default ', user: ' jdoe', deviceId: 'inbox ', channel: 'inbox' }), {
      security: 'default',
      user: 'jdoe',
      deviceId: 'inbox',
      channel: 'inbox',
      address: 'jdoe',
      msDevice: '',
    });
  });
});
