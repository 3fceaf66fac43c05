import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, createStore } from '../../../lib/store';
import { CLAIM_LEASE_SECONDS, SharedDeliveries } from '../../../lib/wechat/shared-deliveries';

describe('lib/wechat/shared-deliveries', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wxb-shared-'));
    store = createStore({ kind: 'sqlite', path: join(dir, 'shared.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a delivery to one instance and its answer to a retry on another', async () => {
    const a = new SharedDeliveries(store, 'wx1:');
    const b = new SharedDeliveries(store, 'wx1:');
    const claim = await a.claim('k1', 1000);
    assert.equal(claim.kind, 'mine');
    const waiting = b.claim('k1', 2000);
    await new Promise((r) => setTimeout(r, 150));
    if (claim.kind === 'mine') await claim.lease.finish('<xml>answer</xml>');
    assert.deepEqual(await waiting, { kind: 'answered', answer: '<xml>answer</xml>' });
    assert.deepEqual(await b.claim('k1', 0), { kind: 'answered', answer: '<xml>answer</xml>' });
  });

  it('keeps a renewed lease past its length, and answers "no reply" when the live holder takes longer than the wait', async () => {
    const a = new SharedDeliveries(store, 's');
    const b = new SharedDeliveries(store, 's');
    const claim = await a.claim('slow', 1000);
    const started = Date.now();
    const other = await b.claim('slow', (CLAIM_LEASE_SECONDS + 1) * 1000);
    assert.deepEqual(other, { kind: 'answered', answer: '' });
    assert.ok(Date.now() - started >= (CLAIM_LEASE_SECONDS + 1) * 1000 - 50, 'it waited for the holder');
    if (claim.kind === 'mine') await claim.lease.finish('');
  });

  it('takes a delivery over once a dead holder’s lease ran out', async () => {
    const dead = new SharedDeliveries(store, 's');
    const claim = await dead.claim('orphan', 1000);
    assert.equal(claim.kind, 'mine');
    if (claim.kind === 'mine') claim.lease.stopRenewing(); // the holder is killed: nothing renews its lease
    const started = Date.now();
    const taken = await new SharedDeliveries(store, 's').claim('orphan', 4500);
    assert.equal(taken.kind, 'mine');
    const waited = Date.now() - started;
    assert.ok(waited <= CLAIM_LEASE_SECONDS * 1000 + 500, `taken over after ${waited} ms`);
    if (taken.kind === 'mine') await taken.lease.finish('');
  });

  it('keeps apart accounts sharing one store', async () => {
    const one = await new SharedDeliveries(store, 'wxA:').claim('same', 0);
    const two = await new SharedDeliveries(store, 'wxB:').claim('same', 0);
    assert.deepEqual([one.kind, two.kind], ['mine', 'mine']);
    for (const c of [one, two]) if (c.kind === 'mine') await c.lease.finish('');
  });

  it('records which message a signature carried, across instances', async () => {
    const a = new SharedDeliveries(store, 's');
    const b = new SharedDeliveries(store, 's');
    await a.recordSignature('sig1', 'message-1', 600_000);
    await b.recordSignature('sig1', 'message-1', 600_000);
    await assert.rejects(b.recordSignature('sig1', 'message-2', 600_000), /already carried another message/);
  });
});
