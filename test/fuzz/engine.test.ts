import { strict as assert } from 'node:assert';
import { mutateBytes } from './engine/bytes';
import { mutateJson } from './engine/json';
import { Random, hashSeed } from './engine/random';
import { caseRandom, runTarget } from './engine/runner';
import { mutateXml, writeXml } from './engine/xml';
import { parseArguments } from './cli';
import { isProtocolFailure } from './targets/routes';
import { refusalsFor } from './cases/http-case';
import { carriesMark, UNAUTHENTICATED_MARK } from './cases/marker';

describe('fuzz engine', () => {
  it('replays a case from its seed, target and number alone', () => {
    const draw = (r: Random) => [r.uint32(), r.int(10), r.next()];
    assert.deepEqual(draw(caseRandom('s', 'route:x', 7)), draw(caseRandom('s', 'route:x', 7)));
    assert.notDeepEqual(draw(caseRandom('s', 'route:x', 7)), draw(caseRandom('s', 'route:x', 8)));
    assert.notEqual(hashSeed('a', 'b'), hashSeed('ab'));
  });

  it('spreads its draws over the whole range', () => {
    const rng = new Random(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[rng.int(10)]++;
    for (const n of buckets) assert.ok(n > 800 && n < 1200, `bucket of ${n}`);
  });

  it('mutates: bytes, XML and JSON come out changed, and the same for the same seed', () => {
    const input = Buffer.from('<xml><Content><![CDATA[hello]]></Content></xml>');
    const fields = { ToUserName: 'gh_1', Content: 'hello' };
    let changed = 0;
    for (let i = 0; i < 200; i++) {
      if (!mutateBytes(new Random(i), input, ['<xml>']).equals(input)) changed++;
      assert.equal(mutateXml(new Random(i), fields), mutateXml(new Random(i), fields));
      assert.equal(mutateJson(new Random(i), { a: [1, 'b'] }), mutateJson(new Random(i), { a: [1, 'b'] }));
    }
    assert.ok(changed > 180, `${changed} of 200 byte mutations changed something`);
    assert.equal(writeXml({ A: 'x', B: { C: ['1', '2'] } }), '<xml><A><![CDATA[x]]></A><B><C><![CDATA[1]]></C><C><![CDATA[2]]></C></B></xml>');
  });

  it('keeps generated JSON bounded however the mutations compound', () => {
    for (let i = 0; i < 500; i++) assert.ok(mutateJson(new Random(i), { a: [{ b: 'c' }], d: 'e' }).length <= 4 * 1024 * 1024);
  });

  it('counts statuses, problems, throws and unhandled rejections of a target', async () => {
    const report = await runTarget(
      {
        name: 'probe',
        async run(_rng, index) {
          if (index === 3) throw new Error('boom');
          if (index === 4) void Promise.reject(new Error('lost'));
          return index % 2 ? { status: 'odd' } : { status: 'even', problem: index === 0 ? 'first' : undefined };
        },
        settle: () => new Promise((resolve) => setImmediate(resolve)),
        leaks: () => 2,
      },
      { cases: 6, seed: 't' },
    );
    assert.deepEqual(report.histogram, { even: 3, odd: 2, threw: 1 });
    // Under mocha, whose own handler rethrows it, the rejection is also seen as an uncaught exception.
    assert.ok(report.unhandled >= 1);
    assert.equal(report.crashes, 2 + report.unhandled);
    assert.equal(report.flowLeaks, 2);
    assert.deepEqual([...new Set(report.findings.map((f) => f.index))].sort(), [-1, 0, 3]);
  });

  it('reads its command line', () => {
    assert.deepEqual(parseArguments(['--cases', '5', '--seed', 'x', '--target', 'a,b', '--concurrency', '2']), { cases: 5, seed: 'x', targets: ['a', 'b'], concurrency: 2 });
    assert.throws(() => parseArguments(['--cases', '0']), /whole number/);
    assert.throws(() => parseArguments(['--bogus']), /unknown option/);
  });
});

describe('fuzz judging', () => {

  it("takes WF-DCN's 500 with log records as the protocol's, not one with an exception in it", () => {
    assert.ok(isProtocolFailure(JSON.stringify([{ operation: 'data', error: 'rolled back because message 1 failed: :upsert of Trip needs the key attribute tripId' }])));
    assert.ok(!isProtocolFailure(JSON.stringify([{ operation: 'process', error: "processing failed: Cannot read properties of undefined (reading 'x')" }])));
    assert.ok(!isProtocolFailure(JSON.stringify({ error: 'dcn_internal', message: 'internal error' })));
    assert.ok(!isProtocolFailure('Internal Server Error'));
  });

  it('expects 401 for a broken signature or login, 403 for a stale timestamp or a forbidden address', () => {
    assert.deepEqual(refusalsFor('flipped'), [401]);
    assert.deepEqual(refusalsFor('stale-timestamp'), [403]);
    assert.deepEqual(refusalsFor('forbidden'), [403]);
    assert.deepEqual(refusalsFor('other-key'), [400, 403]);
  });

  it('finds the unauthenticated mark anywhere in a payload', () => {
    assert.ok(carriesMark({ a: [{ b: `x${UNAUTHENTICATED_MARK}1` }] }));
    assert.ok(!carriesMark({ a: 'clean' }));
  });
});
