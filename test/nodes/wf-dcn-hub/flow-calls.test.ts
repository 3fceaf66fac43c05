import assert from 'node:assert/strict';
import { FlowCalls } from '../../../nodes/wf-dcn-hub/flow-calls';

const expired = () => new Error('expired');

describe('wf-dcn-hub: the calls waiting for the flow', () => {
  it('finds an open call by its id and takes its first answer only', async () => {
    const calls = new FlowCalls();
    const call = calls.open('preprocess', 'in-1', 10_000, expired);
    const found = calls.find(call.id);
    assert.ok(found && found.stage === 'preprocess');
    assert.equal(found.answer('{"op":":upsert"}'), true);
    assert.equal(found.answer('second'), false);
    assert.equal(found.fail(new Error('late')), false);
    assert.equal(await call.promise, '{"op":":upsert"}');
    assert.equal(calls.find(call.id), undefined, 'an answered call is gone');
    assert.equal(calls.size, 0);
  });

  it('gives every call its own id and ignores ids that are not text', () => {
    const calls = new FlowCalls();
    const ids = new Set(Array.from({ length: 100 }, () => calls.open('operation', 'in-1', 10_000, expired).id));
    assert.equal(ids.size, 100);
    assert.equal(calls.find(undefined), undefined);
    assert.equal(calls.find(42), undefined);
    calls.close(new Error('closed'));
  });

  it('fails a call nobody answers in time, and forgets it', async () => {
    const calls = new FlowCalls();
    const call = calls.open('operation', 'in-1', 5, expired);
    await assert.rejects(call.promise, /expired/);
    assert.equal(calls.find(call.id), undefined);
    assert.equal(call.answer(undefined), false, 'a late answer does not count');
  });

  it("fails the calls of a closed node only, and every call when the hub closes", async () => {
    const calls = new FlowCalls();
    const mine = calls.open('postprocess', 'in-1', 10_000, expired);
    const theirs = calls.open('operation', 'in-2', 10_000, expired);
    const outcome = theirs.promise.then(() => 'answered', (err: Error) => err.message);
    calls.closeOwner('in-1', new Error('node stopped'));
    await assert.rejects(mine.promise, /node stopped/);
    assert.ok(calls.find(theirs.id), 'the other node\'s call is still open');
    calls.close(new Error('hub stopped'));
    assert.equal(await outcome, 'hub stopped');
    assert.equal(calls.size, 0);
  });
});
