import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DcnLogRecord } from '../../lib/dcn';
import type { DcnResultRecord } from '../../lib/dcn/types';
import { basicHeader } from '../../lib/http/basic-auth';
import type { WfDcnHubNode } from '../../nodes/wf-dcn-hub/wf-dcn-hub';
import { NodeRedHarness, RegisterFn } from '../support/node-red-harness';
import { readShippedFlow } from '../support/shipped-flow';
import { ADMIN, NODES, SENDERS, SUPADMIN_DEVICES, answered, trip, tripRequest } from '../support/wf-dcn-flow';

const CORE = join(require.resolve('@node-red/nodes/package.json'), '..', 'core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = (file: string) => require(join(CORE, file)) as RegisterFn;

describe('example: WF-DCN operations and filters (examples/wf-dcn-operations-and-filters.json)', () => {
  const harness = new NodeRedHarness();
  before(async () => {
    const flow = readShippedFlow('wf-dcn-operations-and-filters.json', 'examples');
    const nodes = [...NODES, core('function/10-switch.js'), core('function/15-change.js'), core('common/25-catch.js'), core('common/90-comment.js')];
    await harness.load(nodes, flow, { 'wxbridge.dcn.hub': { senders: JSON.stringify(SENDERS) } });
    const hub = harness.getNode<WfDcnHubNode>('wxbridge.dcn.hub');
    await hub.ready();
    await hub.hub.registry.register(SUPADMIN_DEVICES[0]);
  });
  after(() => harness.stop());

  const post = (query: Record<string, string>, body: string, type = 'application/json') =>
    fetch(`${harness.baseUrl}/dcn/operations/HttpAuthDCNServlet?${new URLSearchParams(query)}`, {
      method: 'POST',
      headers: { authorization: basicHeader(ADMIN.user, ADMIN.password), 'content-type': type },
      body,
    });
  const wf = { cmd: 'wf', security: 'default' };

  it('carries out the named operation approve, and refuses any other', async () => {
    const withOperation = (op: string) => tripRequest({ id: `WID-${op}`, data: [{ id: '1', pkg: 'travel:1.0', messages: [trip('T-1'), { id: '2', mbo: 'Trip', op, cols: { tripId: 'T-1' } }] }] });
    const approved = await answered<DcnResultRecord[]>(await post(wf, JSON.stringify(withOperation('approve'))));
    assert.equal(approved.status, 200);
    assert.deepEqual(approved.body.map((r) => r.success), [true, true]);
    const refused = await answered<DcnLogRecord[]>(await post(wf, JSON.stringify(withOperation('reject'))));
    assert.equal(refused.status, 500);
    assert.match(refused.body[0].error, /rolled back because message 2 failed: .*unknown operation reject/);
  });

  it('turns a CSV line into a WF-DCN request with dcn_filter=csv, and marks the answer', async () => {
    const res = await post({ ...wf, dcn_filter: 'csv' }, 'WID-7;SUPAdmin;Trip request approval required\n', 'text/plain');
    const { status, body, headers } = await answered<DcnResultRecord[]>(res);
    assert.equal(status, 200);
    assert.deepEqual(body, [{ recordID: 'WID-7', success: true, statusMessage: '1 message for 1 device of 1 receiver' }]);
    assert.equal(headers.get('x-dcn-filter'), 'csv');
  });

  it('passes a request on unchanged under any other filter name', async () => {
    const { status, headers } = await answered(await post({ ...wf, dcn_filter: 'audit' }, JSON.stringify(tripRequest({ id: 'WID-8' }))));
    assert.equal(status, 200);
    assert.equal(headers.get('x-dcn-filter'), 'audit');
  });
});
