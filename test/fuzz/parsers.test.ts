/**
 * The seeded, fixed set of parser cases that `npm test` runs (npm run fuzz runs 100,000
 * per parser). Each target must crash never, and must have reached both its accepting
 * and its refusing paths: cases that are all refused at the door test nothing.
 */
import { strict as assert } from 'node:assert';
import { formatReport, runTarget, TargetReport } from './engine/runner';
import { PARSER_TARGETS } from './targets/parsers';

const CASES = 600;
const SEED = 'npm-test';

function count(report: TargetReport, match: (status: string) => boolean): number {
  return Object.entries(report.histogram)
    .filter(([status]) => match(status))
    .reduce((sum, [, n]) => sum + n, 0);
}

describe(`fuzz: lib/ parsers (${CASES} seeded cases each)`, () => {
  for (const make of PARSER_TARGETS) {
    const target = make();
    it(`${target.name}: no crash, inputs both accepted and refused`, async () => {
      const report = await runTarget(target, { cases: CASES, seed: SEED });
      assert.equal(report.crashes, 0, formatReport(report));
      assert.equal(report.flowLeaks, 0, formatReport(report));
      assert.ok(count(report, (s) => s === 'ok') > CASES / 20, formatReport(report));
      assert.ok(count(report, (s) => s.startsWith('refused')) > CASES / 20, formatReport(report));
    });
  }
});
