import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MobileServicesError, microAppBody, replyPushContent } from '../../../lib/mobile-services';
import { NormalizedReply, normalizeReply } from '../../../lib/wechat/replies';

const catalogue = (lang: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'nodes', 'shared', 'locales', lang, 'lib.json'), 'utf8')) as Record<string, string>;
const fill = (text: string, params: Record<string, unknown>) => text.replace(/__(\w+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));

describe('lib/mobile-services: a late passive reply as a Micro App push', () => {
  it('turns a text reply into a text push', () => {
    assert.deepEqual(replyPushContent(normalizeReply('已批准', 'wecom')), { msgtype: 'text', text: { content: '已批准' } });
  });

  it('turns a news reply into a news push with WeCom message/send field names, leaving out what the reply left out', () => {
    const reply = normalizeReply({ type: 'news', articles: [{ title: 'A', picUrl: 'https://example.com/a.png' }, { title: 'B', description: 'b', url: 'https://example.com/b' }] }, 'wecom');
    assert.deepEqual(replyPushContent(reply), {
      msgtype: 'news',
      news: { articles: [{ title: 'A', picurl: 'https://example.com/a.png' }, { title: 'B', description: 'b', url: 'https://example.com/b' }] },
    });
  });

  it('gives a body the push client sends as it is: notification.wechat with createtime, users at the top', () => {
    const body = microAppBody(replyPushContent(normalizeReply('ok', 'wecom')), ['P000001'], 'top', new Date('2026-05-01T08:00:00Z'));
    assert.deepEqual(body, { notification: { wechat: { msgtype: 'text', text: { content: 'ok' }, createtime: '2026-05-01T08:00:00.000Z' } }, users: ['P000001'] });
  });

  it('refuses media, music and transfer replies, which no push can carry, with a text in both languages', () => {
    const replies: NormalizedReply[] = [
      { type: 'image', mediaId: 'M' },
      { type: 'voice', mediaId: 'M' },
      { type: 'video', mediaId: 'M' },
      { type: 'music', thumbMediaId: 'T' },
      { type: 'transfer_customer_service' },
    ];
    for (const reply of replies) {
      assert.throws(
        () => replyPushContent(reply),
        (err: MobileServicesError) => {
          assert.equal(err.kind, 'input');
          assert.equal(err.code, 'ms_reply_type');
          assert.equal(fill(catalogue('en-US')[err.code], err.params), err.message);
          assert.doesNotMatch(fill(catalogue('zh-CN')[err.code], err.params), /__\w+__/);
          return err.message.startsWith(`${reply.type} replies`);
        },
        reply.type,
      );
    }
  });
});
