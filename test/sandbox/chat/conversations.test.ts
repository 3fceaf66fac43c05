/**
 * The chat page's conversations: active messages land in their recipient's conversation,
 * a late one is marked, and the page keeps a bounded history with ids that never repeat.
 */
import { strict as assert } from 'node:assert';
import { Conversations } from '../../../sandbox/chat/conversations';
import type { Sandbox } from '../../../sandbox/index';
import type { PushDelivery } from '../../../sandbox/mobile-services/index';
import type { RecordedMessage } from '../../../sandbox/platform-api';
import { RecordFeed } from '../../../sandbox/record-feed';

/** The three feeds Conversations follows, without the stand-ins around them. */
function feeds() {
  const wechat = new RecordFeed<RecordedMessage>();
  const wecom = new RecordFeed<RecordedMessage>();
  const pushed = new RecordFeed<PushDelivery>();
  const sandbox = { wechat: { delivered: wechat }, wecom: { delivered: wecom }, mobileServices: { pushed } };
  return { wechat, wecom, pushed, sandbox: sandbox as unknown as Pick<Sandbox, 'wechat' | 'wecom' | 'mobileServices'> };
}

function customerServiceText(touser: string, content: string): RecordedMessage {
  return { api: 'message/custom/send', account: 'wx-demo', body: { touser, msgtype: 'text', text: { content } }, at: 0 };
}

describe('sandbox chat page conversations', () => {
  it('puts a customer-service message into its recipient’s conversation, marked late when it answers an unanswered message', () => {
    const { wechat, sandbox } = feeds();
    const conversations = new Conversations(sandbox, () => 1_000);
    conversations.add({ user: 'o-1', channel: 'sent', msgtype: 'text', text: 'report' });
    conversations.awaitLateAnswer('official', 'o-1');
    wechat.publish(customerServiceText('o-1', 'Your report is ready.'));
    wechat.publish(customerServiceText('o-1', 'Anything else?'));
    wechat.publish(customerServiceText('o-2', 'Not yours.'));

    const seen = conversations.of('o-1').map((e) => ({ channel: e.channel, text: e.text, late: e.late === true }));
    assert.deepEqual(seen, [
      { channel: 'sent', text: 'report', late: false },
      { channel: 'customer-service', text: 'Your report is ready.', late: true },
      { channel: 'customer-service', text: 'Anything else?', late: false },
    ]);
    conversations.close();
  });

  it('keeps the newest entries up to its limit, with ids that keep counting', () => {
    const { sandbox } = feeds();
    const conversations = new Conversations(sandbox, Date.now, 3);
    for (let n = 1; n <= 5; n++) conversations.add({ user: 'o-1', channel: 'sent', msgtype: 'text', text: `message ${n}` });

    assert.deepEqual(
      conversations.of('o-1').map((e) => [e.id, e.text]),
      [
        [3, 'message 3'],
        [4, 'message 4'],
        [5, 'message 5'],
      ],
    );
    assert.equal(conversations.add({ user: 'o-2', channel: 'sent', msgtype: 'text', text: 'hi' }).id, 6);
    assert.equal(conversations.of('o-1').length, 2, 'the oldest entry went to make room');
  });
});
