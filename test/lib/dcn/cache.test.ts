import assert from 'node:assert/strict';
import { DataCache, MAX_KEY_BYTES, checkMboDefinitions } from '../../../lib/dcn/cache';
import { DcnError, DcnMessage, MboDefinition } from '../../../lib/dcn/types';
import type { Store } from '../../../lib/store';
import { onBothStores } from './support/stores';

const T0 = Date.UTC(2024, 4, 1, 1, 30, 0);

export const TRAVEL_MBOS: MboDefinition[] = [
  { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: ['status', 'traveller', 'changedAt', 'legs'] },
  { package: 'travel:1.0', name: 'TripLeg', keys: ['tripId', 'leg'], attributes: [] },
];

async function rejection(promise: Promise<unknown>): Promise<DcnError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  assert.ok('error' in outcome, `expected a DcnError, got ${JSON.stringify(outcome)}`);
  assert.ok(outcome.error instanceof DcnError, String(outcome.error));
  return outcome.error;
}

function thrown(fn: () => unknown): DcnError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DcnError, String(err));
    return err;
  }
  assert.fail('nothing thrown');
}

const upsert = (mbo: string, cols: Record<string, unknown>, id = '1'): DcnMessage => ({ id, mbo, op: ':upsert', cols });
const remove = (mbo: string, cols: Record<string, unknown>, id = '1'): DcnMessage => ({ id, mbo, op: ':delete', cols });

onBothStores('lib/dcn/cache', (open) => {
  let store: Store;
  let cache: DataCache;
  let time: number;

  beforeEach(async () => {
    time = T0;
    store = open();
    cache = new DataCache(store.database(), TRAVEL_MBOS, { now: () => time });
    await cache.migrate();
  });
  afterEach(() => store.close());

  const apply = (pkg: string, ...messages: DcnMessage[]) =>
    store.database().transaction(async (tx) => {
      for (const m of messages) await cache.applyInTx(tx, pkg, m);
    });

  it('upserts a row, reads it back by key, and merges a later upsert into it', async () => {
    await apply('travel:1.0', upsert('Trip', { tripId: 'T-77', status: 'PENDING', traveller: 'SUPAdmin' }));
    assert.deepEqual(await cache.read('travel', 'Trip', { tripId: 'T-77' }), [
      { package: 'travel', mbo: 'Trip', key: { tripId: 'T-77' }, row: { tripId: 'T-77', status: 'PENDING', traveller: 'SUPAdmin' }, updatedAt: '2024-05-01T01:30:00.000Z' },
    ]);
    time += 60_000;
    await apply('travel:2.0', upsert('Trip', { tripId: 'T-77', status: 'APPROVED', changedAt: '2024-05-01T09:31:00+08:00' }));
    const [row] = await cache.read('travel:1.0', 'Trip', { tripId: 'T-77' });
    assert.deepEqual(row.row, { tripId: 'T-77', status: 'APPROVED', traveller: 'SUPAdmin', changedAt: '2024-05-01T09:31:00+08:00' }, 'named attributes replaced, others kept');
    assert.equal(row.updatedAt, '2024-05-01T01:31:00.000Z');
  });

  it('deletes by key, ignoring other attributes, and deleting an absent row is no failure', async () => {
    await apply('travel', upsert('Trip', { tripId: 'T-12', status: 'PENDING' }), upsert('Trip', { tripId: 'T-13', status: 'PENDING' }));
    await apply('travel', remove('Trip', { tripId: 'T-12', status: 'whatever' }));
    assert.deepEqual(
      (await cache.read('travel', 'Trip')).map((r) => r.key),
      [{ tripId: 'T-13' }],
    );
    await apply('travel', remove('Trip', { tripId: 'T-404' }));
  });

  it('keeps composite keys in the definition order and finds rows by part of the key', async () => {
    await apply(
      'travel',
      upsert('TripLeg', { leg: 2, tripId: 'T-77', city: 'Shanghai' }),
      upsert('TripLeg', { tripId: 'T-77', leg: 1, city: 'Beijing' }),
      upsert('TripLeg', { tripId: 'T-78', leg: 1, city: 'Shenzhen' }),
    );
    const legs = await cache.read('travel', 'TripLeg', { tripId: 'T-77' });
    assert.deepEqual(
      legs.map((r) => [r.key, r.row.city]),
      [
        [{ tripId: 'T-77', leg: 1 }, 'Beijing'],
        [{ tripId: 'T-77', leg: 2 }, 'Shanghai'],
      ],
    );
    assert.deepEqual(Object.keys(legs[0].key), ['tripId', 'leg']);
    assert.deepEqual(
      (await cache.read('travel', 'TripLeg', { leg: '1' })).map((r) => r.row.city),
      ['Beijing', 'Shenzhen'],
      'a query-string value matches a number',
    );
    assert.deepEqual(
      (await cache.read('travel', 'TripLeg', { tripId: 'T-77', leg: '2' })).map((r) => r.row.city),
      ['Shanghai'],
    );
    assert.equal((await cache.read('travel', 'TripLeg', {}, 2)).length, 2, 'a limit');
    assert.deepEqual(await cache.read('travel', 'TripLeg', { tripId: 'T-00' }), []);
  });

  it('names a key value by its text: 77 and "77" are one row', async () => {
    await apply('travel', upsert('Trip', { tripId: 77, status: 'PENDING' }));
    await apply('travel', upsert('Trip', { tripId: '77', status: 'APPROVED' }));
    assert.deepEqual(
      (await cache.read('travel', 'Trip')).map((r) => r.row),
      [{ tripId: '77', status: 'APPROVED' }],
    );
  });

  it('pages through many rows in key order when reading by part of the key', async () => {
    const messages = Array.from({ length: 1200 }, (_, i) => upsert('TripLeg', { tripId: i % 2 ? 'odd' : 'even', leg: i }));
    await apply('travel', ...messages);
    const odd = await cache.read('travel', 'TripLeg', { tripId: 'odd' }, 5000);
    assert.equal(odd.length, 600);
    assert.ok(odd.every((r) => r.key.tripId === 'odd'));
    assert.equal((await cache.read('travel', 'TripLeg')).length, 1000, 'the default limit');
  });

  it('refuses a message without a key attribute, with an unknown MBO or attribute, or an object as key', async () => {
    const cases: Array<[DcnMessage, string, Record<string, unknown>]> = [
      [upsert('Trip', { status: 'PENDING' }), 'dcn_missing_key', { op: ':upsert', mbo: 'Trip', key: 'tripId' }],
      [upsert('TripLeg', { tripId: 'T-1' }), 'dcn_missing_key', { op: ':upsert', mbo: 'TripLeg', key: 'leg' }],
      [remove('Trip', { status: 'x' }), 'dcn_missing_key', { op: ':delete', mbo: 'Trip', key: 'tripId' }],
      [upsert('trip', { tripId: 'T-1' }), 'dcn_unknown_mbo', { package: 'travel', mbo: 'trip' }],
      [upsert('Trip', { tripId: 'T-1', colour: 'red' }), 'dcn_unknown_attribute', { mbo: 'Trip', attribute: 'colour' }],
      [upsert('Trip', { tripId: { id: 1 } }), 'dcn_bad_key_value', { mbo: 'Trip', key: 'tripId', type: 'object' }],
      [upsert('Trip', { tripId: null }), 'dcn_bad_key_value', { mbo: 'Trip', key: 'tripId', type: 'null' }],
      [upsert('Trip', { tripId: '键'.repeat(600) }), 'dcn_key_too_long', { mbo: 'Trip', bytes: 1804, max: MAX_KEY_BYTES }],
      [{ id: '1', mbo: 'Trip', op: 'approve', cols: {} }, 'dcn_not_cache_op', { op: 'approve', mbo: 'Trip' }],
    ];
    for (const [message, code, params] of cases) {
      const err = await rejection(apply('travel', message));
      assert.equal(err.code, code, err.message);
      assert.deepEqual(err.params, params, err.message);
    }
    assert.equal((await rejection(apply('leave', upsert('Trip', { tripId: 'T-1' })))).code, 'dcn_unknown_mbo', 'MBOs belong to their package');
    assert.deepEqual(await cache.read('travel', 'Trip'), [], 'nothing was written');
  });

  it('rolls back with the transaction it joined', async () => {
    await rejection(apply('travel', upsert('Trip', { tripId: 'T-1' }), upsert('Trip', { tripId: 'T-2' }), upsert('Trip', { status: 'no key' })));
    assert.deepEqual(await cache.read('travel', 'Trip'), []);
  });

  it('refuses reads of an unknown MBO or by a non-key attribute', async () => {
    assert.equal((await rejection(cache.read('travel', 'Nope'))).code, 'dcn_unknown_mbo');
    assert.equal((await rejection(cache.read('travel', 'Trip', { status: 'PENDING' }))).code, 'dcn_not_a_key');
    assert.equal((await rejection(cache.read('travel', 'Trip', { tripId: [1] }))).code, 'dcn_bad_key_value');
  });
});

describe('lib/dcn/cache checkMboDefinitions', () => {
  it('takes definitions without versions and with empty attributes', () => {
    assert.deepEqual(checkMboDefinitions([{ package: 'travel:1.0', name: 'Trip', keys: ['tripId'] }]), [{ package: 'travel', name: 'Trip', keys: ['tripId'], attributes: [] }]);
  });

  it('refuses wrong definitions naming the entry and field', () => {
    const cases: Array<[unknown, string, string]> = [
      [{}, 'mbos', 'dcn_expected_array'],
      [[1], 'mbos[0]', 'dcn_expected_object'],
      [[{ name: 'Trip', keys: ['id'] }], 'mbos[0].package', 'dcn_expected_string'],
      [[{ package: 'travel', name: ' ', keys: ['id'] }], 'mbos[0].name', 'dcn_empty'],
      [[{ package: 'travel', name: 'Trip', keys: [] }], 'mbos[0].keys', 'dcn_empty'],
      [[{ package: 'travel', name: 'Trip', keys: 'id' }], 'mbos[0].keys', 'dcn_expected_array'],
      [[{ package: 'travel', name: 'Trip', keys: ['id', 3] }], 'mbos[0].keys[1]', 'dcn_expected_string'],
      [[{ package: 'travel', name: 'Trip', keys: ['id', 'id'] }], 'mbos[0].keys', 'dcn_duplicate_name'],
      [[{ package: 'travel', name: 'Trip', keys: ['id'], attributes: {} }], 'mbos[0].attributes', 'dcn_expected_array'],
      [
        [
          { package: 'travel', name: 'Trip', keys: ['id'] },
          { package: 'travel:2.0', name: 'Trip', keys: ['id'] },
        ],
        'mbos[1]',
        'dcn_duplicate_mbo',
      ],
    ];
    for (const [value, field, code] of cases) {
      const err = thrown(() => checkMboDefinitions(value));
      assert.equal(err.code, code, err.message);
      assert.equal(err.params.field, field, err.message);
    }
  });
});
