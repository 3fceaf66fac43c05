import assert from 'node:assert/strict';
import { MessageFormatError } from '../../../lib/wechat/api-errors';
import { checkMedia, mediaBody, prepareMediaMessage, prepareMessage, replyToActiveMessage, textBody } from '../../../lib/wechat/messages';

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

  const card = (templateCard: object) => ({ touser: 'u', agentid: 1, msgtype: 'template_card', template_card: templateCard });

  it('accepts each template card type with the fields it needs', () => {
    const cards = [
      { card_type: 'text_notice', main_title: { title: 't' }, card_action: { type: 1, url: 'https://x' } },
      { card_type: 'news_notice', main_title: { title: 't' }, card_image: { url: 'https://p' }, card_action: { type: 1, url: 'https://x' } },
      { card_type: 'button_interaction', task_id: 't1', main_title: { title: 't' }, button_list: [{ text: 'OK', key: 'ok' }] },
      { card_type: 'vote_interaction', task_id: 't2', checkbox: { question_key: 'q', option_list: [{ id: 'a', text: 'A' }] }, submit_button: { text: 'Go', key: 'go' } },
      { card_type: 'multiple_interaction', task_id: 't3', select_list: [{ question_key: 'q', option_list: [{ id: 'a', text: 'A' }] }], submit_button: { text: 'Go', key: 'go' } },
    ];
    for (const c of cards) assert.equal(prepareMessage('wecom', card(c)).api, 'app', c.card_type);
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
    ['Official Account customer-service news with 2 articles', 'official', { touser: 'o', msgtype: 'news', news: { articles: [{ title: 'a' }, { title: 'b' }] } }, /exactly 1 article/],
    ['WeCom 9 news articles', 'wecom', { touser: 'u', agentid: 1, msgtype: 'news', news: { articles: Array(9).fill({ title: 't', url: 'u' }) } }, /1 to 8/],
    ['WeCom news article with no link', 'wecom', { touser: 'u', agentid: 1, msgtype: 'news', news: { articles: [{ title: 't' }] } }, /url, or appid/],
    ['WeCom textcard title over 128 bytes', 'wecom', { touser: 'u', agentid: 1, msgtype: 'textcard', textcard: { title: 'x'.repeat(129), description: 'd', url: 'u' } }, /128/],
    ['WeCom unknown card type', 'wecom', { touser: 'u', agentid: 1, msgtype: 'template_card', template_card: { card_type: 'poster' } }, /card_type/],
    ['WeCom interval over 4 h', 'wecom', { touser: 'u', agentid: 1, enable_duplicate_check: 1, duplicate_check_interval: 14401, ...textBody('x') }, /duplicate_check_interval/],
    ['WeCom without agentid', 'wecom', { touser: 'u', ...textBody('x') }, /agentid/],
    ['WeCom text_notice card without card_action', 'wecom', card({ card_type: 'text_notice', main_title: { title: 't' } }), /template_card\.card_action/],
    ['WeCom button card without task_id', 'wecom', card({ card_type: 'button_interaction', button_list: [{ text: 'OK', key: 'ok' }] }), /template_card\.task_id/],
    ['WeCom button card with 7 buttons', 'wecom', card({ card_type: 'button_interaction', task_id: 't', button_list: Array(7).fill({ text: 'b', key: 'k' }) }), /button_list must hold 1 to 6/],
    ['WeCom vote card without submit_button', 'wecom', card({ card_type: 'vote_interaction', task_id: 't', checkbox: { question_key: 'q', option_list: [] } }), /submit_button/],
    ['WeCom multiple card with 4 selectors', 'wecom', card({ card_type: 'multiple_interaction', task_id: 't', select_list: Array(4).fill({}), submit_button: {} }), /select_list must hold 1 to 3/],
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

  it('checks a media message completely before its upload and fills in the media_id afterwards', () => {
    const data = Buffer.alloc(100, 1);
    const messageFor = prepareMediaMessage('official', 'video', data, { touser: 'openid' }, { title: 'T', thumbMediaId: 'TH' });
    assert.deepEqual(messageFor('MEDIA-1'), {
      api: 'custom',
      body: { touser: 'openid', msgtype: 'video', video: { media_id: 'MEDIA-1', thumb_media_id: 'TH', title: 'T' } },
    });
    assert.deepEqual(prepareMediaMessage('wecom', 'file', data, { touser: ['a', 'b'], agentId: '1000002' })('F').body, {
      touser: 'a|b',
      agentid: 1000002,
      msgtype: 'file',
      file: { media_id: 'F' },
    });
    const refused: [Parameters<typeof prepareMediaMessage>, RegExp][] = [
      [['official', 'thumb', data, { touser: 'u' }], /sent as image, voice, video by an Official Account, not as "thumb"/],
      [['official', 'file', data, { touser: 'u' }], /not as "file"/],
      [['wecom', 'voice', Buffer.alloc(2 * 1024 * 1024 + 1), { touser: 'u', agentId: 1 }], /voice limit/],
      [['official', 'image', data, {}], /touser must be a non-empty string/],
      [['wecom', 'image', data, { agentId: 1 }], /touser, toparty or totag/],
    ];
    for (const [args, pattern] of refused) assert.throws(() => prepareMediaMessage(...args), (err: Error) => err instanceof MessageFormatError && pattern.test(err.message));
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
