/**
 * The seeded, fixed set of route cases that `npm test` runs against one Node-RED with
 * every route we own (npm run fuzz runs 100,000 per route). Each route must never
 * crash, answer a 5xx for bad input or miss a deadline, must refuse every broken
 * signature and login, must let nothing marked into its flow, and must have let
 * authenticated messages through to the flow: the cases reach past the signature checks.
 */
import { strict as assert } from 'node:assert';
import { Agent } from 'node:http';
import { formatReport, runTarget } from './engine/runner';
import { FuzzNodeRed, INBOUND_NODES, InboundNodeId } from './targets/fuzz-flow';
import { routeTargets } from './targets/routes';

const CASES = 150;
const SEED = 'npm-test';

/** The TimeOff REST routes are open (the page in WeCom calls them): no login to break. */
const OPEN_ROUTES = new Set(['route:timeoff-rest']);

/** The inbound node each route target's accepted messages reach. */
const FLOW_OF: Record<string, InboundNodeId | null> = {
  'route:wechat-in:plain': 'fz.in.plain',
  'route:wechat-in:compatible': 'fz.in.official',
  'route:wechat-in:safe': 'fz.in.official',
  'route:wechat-in:wecom': 'fz.in.wecom',
  'route:wechat-in:mobile-services': 'timeoff.chat.in',
  'route:c4c-notification-in': 'fz.c4c',
  'route:wf-dcn-in:http-auth': 'fz.dcn.in',
  'route:wf-dcn-in:parameters': 'fz.dcn.in',
  'route:timeoff-rest': null,
  'route:wf-dcn-hub:admin': null,
};

describe(`fuzz: the routes we own (${CASES} seeded cases each)`, function () {
  this.timeout(120_000);
  const rig = new FuzzNodeRed();
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  before(() => rig.start());
  after(async () => {
    agent.destroy();
    await rig.stop();
  });

  for (const target of routeTargets(rig, agent)) {
    it(`${target.name}: no crash, no 5xx for bad input, broken authentication refused, nothing marked into the flow`, async () => {
      const inbound = FLOW_OF[target.name];
      const sentBefore = inbound ? rig.sent(inbound) : 0;
      const report = await runTarget(target, { cases: CASES, seed: SEED, concurrency: 4 });
      assert.equal(report.crashes, 0, formatReport(report));
      assert.equal(report.flowLeaks, 0, formatReport(report));
      const refused = (report.histogram['401'] ?? 0) + (report.histogram['403'] ?? 0);
      if (!OPEN_ROUTES.has(target.name)) assert.ok(refused > 0, `no case was refused for its authentication\n${formatReport(report)}`);
      const accepted = (report.histogram['200'] ?? 0) + (report.histogram['201'] ?? 0) + (report.histogram['202'] ?? 0);
      assert.ok(accepted > 0, `no case got through\n${formatReport(report)}`);
      if (inbound) assert.ok(rig.sent(inbound) > sentBefore, `nothing reached the flow of ${inbound}`);
    });
  }

  it('watches every inbound node of the fuzz flow', () => {
    const watchedByTargets = new Set(Object.values(FLOW_OF));
    for (const id of INBOUND_NODES) assert.ok(watchedByTargets.has(id), `no route target sends to ${id}`);
  });
});
