import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicHeader } from '../../../lib/http/basic-auth';
import { DataCache, checkMboDefinitions } from '../../../lib/dcn/cache';
import { DcnProcessor } from '../../../lib/dcn/processor';
import { DeviceRegistry, checkDeviceRegistration } from '../../../lib/dcn/registry';
import { authenticate, checkedCall, parseDcnRequest, parseWfRequest } from '../../../lib/dcn/request';
import { DcnError, DcnHttpCall, DcnSender } from '../../../lib/dcn/types';
import { createStore } from '../../../lib/store';
import { MemoryOutbox } from './support/memory-outbox';
import { TrackedStore } from './support/tracked-store';

const catalogue = (lang: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'nodes', 'shared', 'locales', lang, 'lib.json'), 'utf8')) as Record<string, string>;
const fill = (text: string, params: Record<string, unknown>) => text.replace(/__(\w+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));

const SENDER: DcnSender = { user: 'hr-system', password: 'hr-secret', security: 'hr', admin: false };
const MBOS = [{ package: 'travel', name: 'Trip', keys: ['tripId'], attributes: ['status'] }];

async function refusal(attempt: () => unknown): Promise<DcnError> {
  try {
    await attempt();
  } catch (err) {
    assert.ok(err instanceof DcnError, `${String(attempt)} threw ${String(err)}`);
    return err;
  }
  assert.fail(`${String(attempt)} threw nothing`);
}

describe('lib/dcn: the texts of every DcnError code', () => {
  it('says in English exactly what each refusal says, fills every parameter in Chinese, and has a text for each code and no more', async () => {
    const call = (parameters: Record<string, string>): DcnHttpCall => ({ servlet: 'http-auth', method: 'POST', parameters, rawBody: '{}', headers: {}, authorization: basicHeader('x', 'y') });
    const wf = (changes: Record<string, unknown>) => parseWfRequest(JSON.stringify({ op: ':upsert', id: 'W', to: 'a', ...changes }));
    const store = createStore({ kind: 'sqlite', path: ':memory:' });
    const cache = new DataCache(store.database(), MBOS);
    const registry = new DeviceRegistry(store.database());
    const tracked = new TrackedStore(store);
    const processor = new DcnProcessor({ db: tracked.store.database(), cache, registry, outbox: new MemoryOutbox(tracked), now: Date.now });
    const dcnCall = { cmd: 'dcn' as const, sender: 'x', security: '', package: 'travel', domain: 'default', filter: '', headers: {} };
    const processed = async (request: unknown, failure?: Error) => {
      const response = await processor.process(
        { ...dcnCall, request: JSON.stringify(request) },
        failure
          ? {
              namedOperation: async () => {
                throw failure;
              },
            }
          : {},
      );
      return (JSON.parse(response.body) as Array<{ statusMessage: string }>)[0].statusMessage;
    };

    const attempts: Array<() => unknown> = [
      () => authenticate(call({}), [SENDER]),
      () => checkedCall(call({ cmd: 'wf', security: 'default' }), SENDER),
      () => checkedCall(call({}), SENDER),
      () => checkedCall(call({ cmd: 'sync' }), SENDER),
      () => parseWfRequest(`"${'x'.repeat(16 * 1024 * 1024)}"`),
      () => parseWfRequest(`${'['.repeat(40)}${']'.repeat(40)}`),
      () => parseWfRequest('{'),
      () => parseDcnRequest(JSON.stringify({ pkg: 'leave', messages: [] }), 'travel'),
      () => wf({ op: ':merge' }),
      () => wf({ received: 'today' }),
      () => wf({ to: 1 }),
      () => wf({ data: [1] }),
      () => wf({ data: 'x' }),
      () => wf({ read: 'maybe' }),
      () => wf({ id: '' }),
      () => wf({ subject: 's'.repeat(1001) }),
      () => wf({ to: Array.from({ length: 1001 }, (_, i) => String(i)) }),
      () => parseDcnRequest(JSON.stringify({ messages: Array.from({ length: 10_001 }, () => ({ id: '1', mbo: 'Trip', op: ':delete', cols: {} })) }), 'travel'),
      () => wf({ from: '\u0000' }),
      () => cache.check('travel', { id: '1', mbo: 'Nope', op: ':upsert', cols: {} }),
      () => cache.check('travel', { id: '1', mbo: 'Trip', op: 'approve', cols: {} }),
      () => cache.check('travel', { id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: 'T', colour: 'red' } }),
      () => checkMboDefinitions([MBOS[0], MBOS[0]]),
      () => checkMboDefinitions([{ package: 'p', name: 'n', keys: ['k', 'k'] }]),
      () => cache.check('travel', { id: '1', mbo: 'Trip', op: ':upsert', cols: {} }),
      () => cache.check('travel', { id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: [] } }),
      () => cache.check('travel', { id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: 'x'.repeat(2000) } }),
      () => cache.read('travel', 'Trip', { status: 'x' }),
      () => registry.list({ limit: -1 }),
      () => checkDeviceRegistration({ security: 's', user: 'u', deviceId: 'd', channel: 'sms' }),
      () => checkDeviceRegistration({ security: 's', user: 'u', deviceId: 'd', channel: 'wecom', address: 'a', msDevice: 'm' }),
      () => checkDeviceRegistration({ security: 's', user: 'u', deviceId: 'd', channel: 'wecom' }),
    ];
    const en = catalogue('en-US');
    const zh = catalogue('zh-CN');
    const codes = new Set<string>();
    for (const attempt of attempts) {
      const err = await refusal(attempt);
      assert.ok(en[err.code] && zh[err.code], `a text for ${err.code}`);
      assert.equal(fill(en[err.code], err.params), err.message, err.code);
      assert.doesNotMatch(fill(zh[err.code], err.params), /__\w+__/, `every parameter of ${err.code} is filled in Chinese`);
      codes.add(err.code);
    }
    // The two a named operation gives: lib's texts, told through the result records.
    const unhandled = await processed({ messages: [{ id: '1', mbo: 'Trip', op: 'approve', cols: {} }] });
    assert.equal(unhandled, fill(en.dcn_no_operation_handler, { op: 'approve', mbo: 'Trip' }));
    const failed = await processed({ messages: [{ id: '1', mbo: 'Trip', op: 'approve', cols: {} }] }, new Error('no'));
    assert.equal(failed, fill(en.dcn_operation_failed, { op: 'approve', mbo: 'Trip', detail: 'no' }));
    codes.add('dcn_no_operation_handler').add('dcn_operation_failed');
    assert.deepEqual(
      [...codes].sort(),
      Object.keys(en)
        .filter((code) => code.startsWith('dcn_'))
        .sort(),
      'every dcn_ text belongs to a refusal checked here',
    );
    await store.close();
  });
});
