import assert from 'node:assert/strict';
import type { DcnLogRecord } from '../../../lib/dcn';
import type { DcnResultRecord } from '../../../lib/dcn/types';
import { waitFor, waitForStatus } from '../../support/flow-watch';
import { DcnFlow, answered, tripRequest } from '../../support/wf-dcn-flow';

describe('wf-dcn-response', () => {
  const flow = new DcnFlow();
  after(() => flow.stop());
  beforeEach(async () => {
    await flow.load({ in: { operationTimeout: 0.5 } });
    await flow.registerDevices();
  });
  afterEach(() => flow.harness.unload());

  const filtered = { cmd: 'wf', security: 'default', dcn_filter: 'f' };
  // A Catch node's msg.error.message is the error as text: "Error: …".
  const caughtText = () => flow.caught.map((m) => m.error.message.replace(/^Error: /, ''));

  it('refuses a message that did not come from wf-dcn-in, or whose request is not waiting', async () => {
    flow.respond({ payload: 'hello' });
    flow.respond({ payload: true, dcn: { hub: 'hub', callId: 'no-such-call', stage: 'operation' } });
    flow.respond({ payload: true, dcn: { hub: 'elsewhere', callId: 'x', stage: 'operation' } });
    await waitFor('three errors', () => flow.caught.length === 3);
    assert.deepEqual(caughtText(), [
      'msg.dcn.callId is missing: the message did not come from a wf-dcn-in node',
      'no DCN request waits for this answer: it was answered already, its time ran out, or its wf-dcn-in node was stopped',
      'no DCN request waits for this answer: it was answered already, its time ran out, or its wf-dcn-in node was stopped',
    ]);
  });

  it('takes the first answer only; a second, or one after the time ran out, is an error', async () => {
    flow.answer.pre = (msg) => {
      flow.respond({ ...msg, payload: JSON.stringify(tripRequest()) });
      flow.respond({ ...msg, payload: 'again' });
    };
    flow.answer.post = (msg) => setTimeout(() => flow.respond({ ...msg, payload: 'too late' }), 700);
    const { status, body } = await answered<DcnLogRecord[]>(await flow.post(filtered, 'raw'));
    assert.equal(status, 500);
    assert.match(body[0].error, /no wf-dcn-response answered the postprocess within 0.5 s; the data and messages are committed/);
    await waitFor('two errors', () => flow.caught.length === 2);
    assert.match(caughtText().join('\n'), /^no DCN request waits for this answer.*\nno DCN request waits for this answer/);
  });

  it("takes a pre-process filter's object or Buffer as the request text, and refuses anything else with a 500", async () => {
    const answers: unknown[] = [tripRequest({ id: 'WID-OBJ' }), Buffer.from(JSON.stringify(tripRequest({ id: 'WID-BUF' })))];
    flow.answer.pre = (msg) => flow.respond({ ...msg, payload: answers.shift() ?? 42 });
    flow.answer.post = (msg) => flow.respond(msg);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { status, body } = await answered<DcnResultRecord[]>(await flow.post(filtered, 'raw'));
      assert.equal(status, 200);
      ids.push(body.at(-1)!.recordID);
    }
    assert.deepEqual(ids, ['WID-OBJ', 'WID-BUF']);
    const refused = await answered<DcnLogRecord[]>(await flow.post(filtered, 'raw'));
    assert.equal(refused.status, 500);
    assert.match(refused.body[0].error, /the pre-process filter gave a number, not a request/);
    await waitFor('the error', () => flow.caught.length === 1);
    assert.deepEqual(caughtText(), ["the pre-process filter's answer must be the request text (a string or an object), not a number"]);
    await waitForStatus(flow.harness.getNode('resp'), { fill: 'red', shape: 'ring', text: 'wf-dcn-response.status.failed' });
  });

  it("sends a post-process filter's Buffer or object as the body, with its headers, and refuses headers HTTP does not allow", async () => {
    flow.answer.pre = (msg) => flow.respond(msg);
    const answers: Array<{ payload: unknown; headers?: unknown }> = [
      { payload: Buffer.from('<ok/>'), headers: { 'content-type': 'application/xml', 'X-Count': 2, 'Content-Length': '1' } },
      { payload: { accepted: true } },
      { payload: 'x', headers: { 'X-Bad': 'line\r\nbreak' } },
      { payload: 'x', headers: 'nope' },
    ];
    flow.answer.post = (msg) => flow.respond({ ...msg, ...answers.shift() });
    const xml = await answered(await flow.post(filtered, JSON.stringify(tripRequest())));
    assert.equal(xml.status, 200);
    assert.equal(xml.text, '<ok/>');
    assert.equal(xml.headers.get('content-type'), 'application/xml');
    assert.equal(xml.headers.get('x-count'), '2');
    assert.equal(xml.headers.get('content-length'), '5', 'the framing stays the node\'s own');
    const json = await answered(await flow.post(filtered, JSON.stringify(tripRequest({ id: 'WID-2' }))));
    assert.deepEqual(json.body, { accepted: true });
    assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
    for (const expected of [/invalid header "X-Bad"/, /headers that are not an object/]) {
      const refused = await answered<DcnLogRecord[]>(await flow.post(filtered, JSON.stringify(tripRequest({ id: 'WID-3' }))));
      assert.equal(refused.status, 500);
      assert.match(refused.body[0].error, expected);
    }
    await waitFor('two errors', () => flow.caught.length === 2);
    assert.deepEqual(caughtText(), ['msg.headers has an invalid header: X-Bad', 'msg.headers must be an object of header names and values']);
  });

  it('shows what it answered', async () => {
    flow.answer.op = (msg) => flow.respond({ ...msg, payload: true });
    const request = tripRequest({ data: [{ id: '1', pkg: 'travel:1.0', messages: [{ id: '1', mbo: 'Trip', op: 'approve', cols: {} }] }] });
    assert.equal((await flow.post({ cmd: 'wf', security: 'default' }, request)).status, 200);
    await waitForStatus(flow.harness.getNode('resp'), { fill: 'green', shape: 'dot', text: 'wf-dcn-response.status.succeeded' });
  });
});
