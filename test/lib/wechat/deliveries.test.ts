import { strict as assert } from 'node:assert';
import { DeliveryRegistry, DeliveryTracker, NO_REPLY } from '../../../lib/wechat/deliveries';

describe('lib/wechat/deliveries', () => {
  let tracker: DeliveryTracker;
  let registry: DeliveryRegistry;
  const findDelivery = (id: string) => registry.find(id);
  beforeEach(() => {
    registry = new DeliveryRegistry();
    tracker = new DeliveryTracker(registry, 30_000);
  });
  afterEach(() => tracker.close());

  it('a first delivery is new and findable by id; a retry waits for its answer', async () => {
    const first = tracker.begin('m:1', 1000);
    assert.equal(first.retry, false);
    if (first.retry) return;
    assert.equal(findDelivery(first.delivery.id), first.delivery);
    const retry = tracker.begin('m:1', 2000);
    assert.equal(retry.retry, true);
    assert.equal(first.delivery.settle('<xml>reply</xml>'), 'answered');
    assert.equal(await first.delivery.answer, '<xml>reply</xml>');
    assert.equal(retry.retry && (await retry.answer), '<xml>reply</xml>');
    assert.equal(findDelivery(first.delivery.id), undefined, 'an answered delivery is no longer open');
    const later = tracker.begin('m:1', 3000);
    assert.equal(later.retry && (await later.answer), '<xml>reply</xml>', 'the answer is remembered');
  });

  it('only the first settle counts', () => {
    const { delivery } = tracker.begin('m:2') as { delivery: import('../../../lib/wechat/deliveries').Delivery };
    assert.equal(delivery.settle('a'), 'answered');
    assert.equal(delivery.settle('b'), 'duplicate');
  });

  it('the deadline answers no reply; a later reply is late and then answers retries', async () => {
    const begun = tracker.begin('m:3');
    if (begun.retry) throw new Error('expected a new delivery');
    let expired = 0;
    begun.delivery.armDeadline(20, () => expired++);
    assert.equal(await begun.delivery.answer, NO_REPLY);
    assert.equal(expired, 1);
    const duringWait = tracker.begin('m:3');
    assert.equal(duringWait.retry && (await duringWait.answer), NO_REPLY);
    assert.equal(findDelivery(begun.delivery.id), begun.delivery, 'still open for a late reply');
    assert.equal(begun.delivery.settle('<xml>late</xml>'), 'late');
    const afterLate = tracker.begin('m:3');
    assert.equal(afterLate.retry && (await afterLate.answer), '<xml>late</xml>');
  });

  it('a key is forgotten after its time to live', () => {
    const short = new DeliveryTracker(registry, 1000);
    try {
      assert.equal(short.begin('e:u|1|subscribe|', 0).retry, false);
      assert.equal(short.begin('e:u|1|subscribe|', 999).retry, true);
      assert.equal(short.begin('e:u|1|subscribe|', 1001).retry, false, 'expired keys start a new delivery');
      assert.equal(short.size, 1);
    } finally {
      short.close();
    }
  });

  it('closing answers every open delivery with no reply', async () => {
    const begun = tracker.begin('m:4');
    if (begun.retry) throw new Error('expected a new delivery');
    begun.delivery.armDeadline(60_000);
    tracker.close();
    assert.equal(await begun.delivery.answer, NO_REPLY);
    assert.equal(findDelivery(begun.delivery.id), undefined);
    assert.equal(tracker.size, 0);
  });
});
