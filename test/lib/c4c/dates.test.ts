import assert from 'node:assert/strict';
import { isoFromMs, odataDateToIso } from '../../../lib/c4c/dates';
import { convertDate, unwrap } from '../../../lib/c4c/odata';

describe('lib/c4c dates and unwrapping details', () => {
  it('formats exactly like Date#toISOString across days, months, leap years and centuries', () => {
    const samples = [
      0, 1, 999, 59_999, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 951_868_800_000, 4_107_542_400_000 /* 2100-03-01 */,
      1_709_164_800_000 /* 2024-02-29 */, 1_700_000_000_000, 253_402_300_799_999 /* 9999-12-31T23:59:59.999 */,
    ];
    // A fixed-step walk through four centuries reaches every month and the day boundaries.
    for (let ms = 0; ms < 253_402_300_800_000; ms += 7_777_777_777) samples.push(ms);
    for (const ms of samples) assert.equal(isoFromMs(ms), new Date(ms).toISOString(), String(ms));
  });

  it('falls back to Date outside 0000–9999 and keeps values Date cannot represent', () => {
    assert.equal(isoFromMs(-1), '1969-12-31T23:59:59.999Z');
    assert.equal(isoFromMs(253_402_300_800_000), '+010000-01-01T00:00:00.000Z');
    assert.equal(isoFromMs(9e15), undefined);
    assert.equal(convertDate('/Date(99999999999999999)/'), '/Date(99999999999999999)/');
  });

  it('reads only the OData date form, with or without an offset', () => {
    assert.equal(odataDateToIso('/Date(1700000000000)/'), '2023-11-14T22:13:20.000Z');
    assert.equal(odataDateToIso('/Date(1700000000000-0300)/'), '2023-11-14T22:13:20.000Z');
    assert.equal(odataDateToIso('/Date(-86400000)/'), '1969-12-31T00:00:00.000Z');
    for (const text of ['/Date()/', '/Date(12a)/', '/Date(1)/ ', '/path/to', '/']) assert.equal(odataDateToIso(text), undefined, text);
  });

  it('drops only pure deferred links and keeps the entries of expanded navigations in order', () => {
    const body = JSON.stringify({
      d: {
        results: [
          {
            __metadata: { etag: 'e1' },
            A: '/not a date',
            Link: { __deferred: { uri: 'x' } },
            NotALink: { __deferred: 'kept', Other: 1 },
            Team: { results: [{ __metadata: {}, Since: '/Date(0)/', Roles: ['/Date(86400000)/', 'x'] }] },
            Owner: { __metadata: { uri: 'o' }, Name: 'N', Manager: { __deferred: { uri: 'm' } } },
            Empty: null,
          },
          { __metadata: { uri: 'no etag' }, A: 'b' },
        ],
      },
    });
    const out = unwrap(body);
    assert.deepEqual(out.value, [
      {
        A: '/not a date',
        NotALink: { __deferred: 'kept', Other: 1 },
        Team: [{ Since: '1970-01-01T00:00:00.000Z', Roles: ['1970-01-02T00:00:00.000Z', 'x'] }],
        Owner: { Name: 'N' },
        Empty: null,
      },
      { A: 'b' },
    ]);
    assert.deepEqual(Object.keys((out.value as object[])[0]), ['A', 'NotALink', 'Team', 'Owner', 'Empty']);
    assert.deepEqual(out.etags, ['e1', undefined]);
  });
});
