import assert from 'node:assert/strict';
import registerApp from '../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../nodes/mobile-services-push/mobile-services-push';
import { runShippedFlow, waitFor } from '../support/flow-watch';

describe('example: Mobile Services push (examples/mobile-services-push.json)', () => {
  const run = runShippedFlow('mobile-services-push.json', [registerApp, registerPush], 'examples');

  it('notifies the approver with a text card and tells the requester the decision, through the demo environment', async () => {
    const { harness, sandbox } = run;
    harness.getNode('msp.submitted').receive({});
    await waitFor('the approver push', () => sandbox.mobileServices.deliveries.length === 1);
    harness.getNode('msp.approved').receive({});
    await waitFor('the requester push', () => sandbox.mobileServices.deliveries.length === 2);
    const [card, text] = sandbox.mobileServices.deliveries.map((d) => d.body as { users: string[]; notification: { wechat: Record<string, Record<string, string>> } });
    assert.deepEqual(card.users, ['P000002']);
    assert.equal(card.notification.wechat.textcard.title, 'Leave request LR-1001');
    assert.deepEqual(text.users, ['P000001']);
    assert.equal(text.notification.wechat.text.content, 'Your leave request LR-1001 was approved.');
    assert.deepEqual(
      sandbox.mobileServices.deliveries.map((d) => d.auth),
      ['apiKey', 'apiKey'],
    );
  });
});
