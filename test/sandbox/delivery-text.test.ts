import assert from 'node:assert/strict';
import { messageText, pushText, textCardOf } from '../../sandbox/delivery-text';

describe('sandbox: what reached a person, in a few words', () => {
  it('says what a Micro App push carries, per msgtype, and a generic push by its alert', () => {
    const wechat = (message: Record<string, unknown>) => pushText({ users: ['P000001'], notification: { wechat: { createtime: '2024-05-01T08:00:00.000Z', ...message } } });
    assert.deepEqual(wechat({ msgtype: 'text', text: { content: 'Leave\napproved' } }), { msgtype: 'text', text: 'Leave approved' });
    assert.deepEqual(wechat({ msgtype: 'textcard', textcard: { title: 'Leave', description: '<div class="gray">2024-05-02</div><div>3 days</div>', url: 'https://x' } }), {
      msgtype: 'textcard',
      text: 'Leave — 2024-05-02 3 days',
    });
    // Escaped text of the card shows as the characters it stands for; a literal "&amp;lt;" stays "&lt;".
    assert.equal(wechat({ msgtype: 'textcard', textcard: { title: 'T', description: 'Reply "reject 1 &lt;reason&gt;" &amp;amp;lt;', url: 'https://x' } }).text, 'T — Reply "reject 1 <reason>" &amp;lt;');
    assert.deepEqual(wechat({ msgtype: 'news', news: { articles: [{ title: 'One' }, { title: 'Two' }] } }), { msgtype: 'news', text: 'One; Two' });
    assert.deepEqual(wechat({ msgtype: 'file', file: { media_file_name: 'leave.pdf', media_file_encoded: 'data:application/pdf;base64,AAAA' } }), { msgtype: 'file', text: 'leave.pdf' });
    assert.deepEqual(pushText({ notification: { alert: 'New leave request' } }), { msgtype: 'notification', text: 'New leave request' });
  });

  it('says what an API message carries: app and customer-service messages, template messages by their values', () => {
    assert.deepEqual(messageText({ touser: 'u', msgtype: 'markdown', markdown: { content: '**Due** today' } }), { msgtype: 'markdown', text: '**Due** today' });
    assert.deepEqual(messageText({ touser: 'u', msgtype: 'image', image: { media_id: 'sbx_media_1' } }), { msgtype: 'image', text: 'sbx_media_1' });
    assert.deepEqual(messageText({ touser: 'u', msgtype: 'template_card', template_card: { card_type: 'text_notice', main_title: { title: 'Approve?' } } }), {
      msgtype: 'template_card',
      text: 'Approve?',
    });
    assert.deepEqual(messageText({ touser: 'o1', template_id: 'T1', data: { first: { value: 'Hello' }, keyword1: { value: 'Order 42' } } }), { msgtype: 'template', text: 'Hello / Order 42' });
  });

  it('lays out a text card as a phone does: the title, one line per <div>, the link and its button; nothing for other messages', () => {
    const textcard = { title: 'Leave request 3', description: '<div class="gray">2024-05-06 to 2024-05-08</div><div class="normal">Family &amp; friends</div><div class="highlight">Reply "approve 3"</div>', url: 'https://x/3', btntxt: 'Details' };
    const expected = { title: 'Leave request 3', lines: ['2024-05-06 to 2024-05-08', 'Family & friends', 'Reply "approve 3"'], url: 'https://x/3', button: 'Details' };
    assert.deepEqual(textCardOf({ users: ['P000002'], notification: { wechat: { msgtype: 'textcard', textcard } } }), expected);
    assert.deepEqual(textCardOf({ touser: 'u', msgtype: 'textcard', textcard }), expected);
    assert.equal(textCardOf({ touser: 'u', msgtype: 'text', text: { content: 'hi' } }), null);
    assert.equal(textCardOf({ notification: { alert: 'New leave request' } }), null);
  });
});
