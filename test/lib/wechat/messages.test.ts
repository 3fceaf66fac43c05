import assert from 'node:assert/strict';
import { MessageFormatError } from '../../../lib/wechat/api-errors';
import { checkMedia, mediaBody, prepareMessage, replyToActiveMessage, textBody } from '../../../lib/wechat/messages';

describe('lib/wechat/messages', () => {
  it('routes official bodies to customer-service or template messages', () => {
    assert.equal(prepareMessage('official', { touser: 'u', ...textBody('x') }).api, 'custom');
    assert.equal(prepareMessage('official', { touser: 'u', template_id: 't', data: { a: { value: 1 } } }).api, 'template');
  });

  it('fills the recipient from defaults only when the body has none', () => {
    assert.equal(prepareMessage('official', textBody('x'), { touser: 'dflt' }).body.touser, 'dflt');
    assert.equal(prepareMessage('official', { touser: 'own', ...textBody('x') }, { touser: 'dflt' }).body.touser, 'own');
    const app = prepareMessage('wecom', { toparty: [1, 2], ...textBody('x') }, { touser: 'ignored', agentId: '1000002' }).body;
    assert.deepEqual([app.touser, app.toparty, app.agentid], [undefined, '1|2', 1000002]);
  });

  const rejects: [string, 'official' | 'wecom', object, RegExp][] = [
    ['unknown OA type', 'official', { touser: 'u', msgtype: 'file', file: {} }, /msgtype must be one of/],
    ['OA text without content', 'official', { touser: 'u', msgtype: 'text', text: {} }, /text\.content/],
    ['OA miniprogrampage without pagepath', 'official', { touser: 'u', msgtype: 'miniprogrampage', miniprogrampage: { title: 't', appid: 'a', thumb_media_id: 'm' } }, /pagepath/],
    ['OA msgmenu without items', 'official', { touser: 'u', msgtype: 'msgmenu', msgmenu: { list: [] } }, /msgmenu\.list/],
    ['template data without value', 'official', { touser: 'u', template_id: 't', data: { a: 'x' } }, /data\.a/],
    ['WeCom without any recipient', 'wecom', { agentid: 1, ...textBody('x') }, /touser, toparty or totag/],
    ['WeCom text over 2048 bytes', 'wecom', { touser: 'u', agentid: 1, ...textBody('字'.repeat(700)) }, /2048/],
    ['WeCom 1001 users', 'wecom', { touser: Array.from({ length: 1001 }, (_, i) => `u${i}`), agentid: 1, ...textBody('x') }, /at most 1000/],
    ['WeCom 9 news articles', 'wecom', { touser: 'u', agentid: 1, msgtype: 'news', news: { articles: Array(9).fill({ title: 't', url: 'u' }) } }, /1 to 8/],
    ['WeCom news article with no link', 'wecom', { touser: 'u', agentid: 1, msgtype: 'news', news: { articles: [{ title: 't' }] } }, /url, or appid/],
    ['WeCom textcard title over 128 bytes', 'wecom', { touser: 'u', agentid: 1, msgtype: 'textcard', textcard: { title: 'x'.repeat(129), description: 'd', url: 'u' } }, /128/],
    ['WeCom unknown card type', 'wecom', { touser: 'u', agentid: 1, msgtype: 'template_card', template_card: { card_type: 'poster' } }, /card_type/],
    ['WeCom interval over 4 h', 'wecom', { touser: 'u', agentid: 1, enable_duplicate_check: 1, duplicate_check_interval: 14401, ...textBody('x') }, /duplicate_check_interval/],
    ['WeCom without agentid', 'wecom', { touser: 'u', ...textBody('x') }, /agentid/],
  ];
  for (const [name, kind, body, pattern] of rejects) {
    it(`rejects ${name}`, () => {
      assert.throws(() => prepareMessage(kind, body), (err: Error) => err instanceof MessageFormatError && pattern.test(err.message));
    });
  }

  it('checks media sizes per platform and type', () => {
    assert.doesNotThrow(() => checkMedia('official', 'thumb', Buffer.alloc(64 * 1024)));
    assert.throws(() => checkMedia('official', 'thumb', Buffer.alloc(64 * 1024 + 1)), /thumb limit/);
    assert.throws(() => checkMedia('wecom', 'file', Buffer.alloc(20 * 1024 * 1024 + 1)), /file limit/);
    assert.throws(() => checkMedia('wecom', 'image', Buffer.alloc(5)), /larger than 5 bytes/);
    assert.deepEqual(mediaBody('video', 'M', { title: 'T' }), { msgtype: 'video', video: { media_id: 'M', title: 'T' } });
  });

  it('turns passive replies into active messages and refuses a customer-service transfer', () => {
    assert.deepEqual(replyToActiveMessage({ type: 'image', mediaId: 'M' }, 'official', 'openid'), {
      api: 'custom',
      body: { touser: 'openid', msgtype: 'image', image: { media_id: 'M' } },
    });
    assert.deepEqual(replyToActiveMessage({ type: 'video', mediaId: 'V', title: 'T' }, 'wecom', 'zhangsan', '1000002'), {
      api: 'app',
      body: { touser: 'zhangsan', agentid: 1000002, msgtype: 'video', video: { media_id: 'V', title: 'T' } },
    });
    assert.throws(() => replyToActiveMessage({ type: 'transfer_customer_service' }, 'official', 'u'), /only as a passive reply/);
  });
});
