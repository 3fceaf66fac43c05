import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import registerRecords from '../../nodes/wechat-sap-records/wechat-sap-records';
import { runShippedFlow, waitFor } from '../support/flow-watch';

type Msg = NodeMessage & { record?: { key: string; version: number }; records?: { key: string }[] };

describe('example: records (examples/records.json)', () => {
  const run = runShippedFlow('records.json', [registerRecords], 'examples');

  it('numbers and stores two requests, reads the first back and lists the pending ones', async () => {
    const { harness } = run;
    const results: Msg[] = [];
    harness.getNode('rec.debug').on('input', (m: Msg) => results.push(m));
    harness.getNode('rec.new').receive({});
    await waitFor('the first request stored', () => results.length === 1);
    harness.getNode('rec.new').receive({});
    await waitFor('the second request stored', () => results.length === 2);
    assert.deepEqual(
      results.map((m) => [m.record?.key, m.record?.version, (m.payload as { id: number }).id]),
      [
        ['1', 1, 1],
        ['2', 1, 2],
      ],
    );

    harness.getNode('rec.get').receive({});
    await waitFor('the request read back', () => results.length === 3);
    assert.deepEqual(results[2].payload, { requester: 'P000001', approver: 'P000002', from: '2024-05-06', to: '2024-05-08', reason: 'Family visit', status: 'pending', id: 1 });

    harness.getNode('rec.list').receive({});
    await waitFor('the pending list', () => results.length === 4);
    assert.deepEqual(
      results[3].records?.map((r) => r.key),
      ['1', '2'],
    );
  });
});
