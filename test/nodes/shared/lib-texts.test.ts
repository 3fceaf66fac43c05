import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_HINTS, WeChatApiError } from '../../../lib/wechat/api-errors';
import { C4CError, NotificationError, parseNotification } from '../../../lib/c4c';
import { MessageFormatError } from '../../../lib/wechat/api-errors';
import { checkMedia, prepareMediaMessage, prepareMessage } from '../../../lib/wechat/messages';
import { ReplyFormatError, normalizeReply } from '../../../lib/wechat/replies';

const catalogue = (lang: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'nodes', 'shared', 'locales', lang, 'lib.json'), 'utf8')) as Record<string, string>;
const fill = (text: string, params: Record<string, unknown>) => text.replace(/__(\w+)__/g, (m, name: string) => (name in params ? String(params[name]) : m));

describe("nodes/shared/locales: the texts of lib's error codes", () => {
  it('has every code in both languages', () => {
    assert.deepEqual(Object.keys(catalogue('zh-CN')).sort(), Object.keys(catalogue('en-US')).sort());
  });

  it('says in English exactly what the WeChat API errors say, for every errcode with a hint', () => {
    const en = catalogue('en-US');
    for (const errcode of Object.keys(ERROR_HINTS).map(Number)) {
      const err = new WeChatApiError('message/custom/send', errcode, 'some errmsg');
      assert.equal(fill(en[err.textCode], err.params), err.message, `errcode ${errcode}`);
    }
  });

  it('names a text for every C4C error kind, keeping the server detail', () => {
    for (const kind of ['http', 'conflict', 'csrf', 'auth', 'network', 'timeout', 'input', 'protocol'] as const) {
      const err = new C4CError(kind, 500, 'SY/530', 'the server said no');
      for (const lang of ['en-US', 'zh-CN']) {
        const text = catalogue(lang)[err.textCode];
        assert.ok(text, `${lang} ${kind}`);
        assert.match(fill(text, { ...err.params, detail: err.message }), /the server said no|SY\/530/, `${lang} ${kind}`);
      }
    }
  });

  it('has, for every way a C4C notification is refused for its shape, an English text that says what lib says, and a Chinese one', () => {
    const en = catalogue('en-US');
    const zh = catalogue('zh-CN');
    let nested: unknown = {};
    for (let i = 0; i < 70; i++) nested = { data: nested };
    const refusals = [[1, 2], { foo: 1 }, { businessObjectId: 'x', extra: nested }].map((body) => {
      try {
        parseNotification(body);
      } catch (err) {
        return err;
      }
      return assert.fail(`${JSON.stringify(body).slice(0, 40)} was accepted`);
    });
    assert.deepEqual(
      refusals.map((err) => (err instanceof NotificationError ? err.code : String(err))),
      ['notification_not_object', 'notification_no_instance', 'too_deep'],
    );
    for (const err of refusals as NotificationError[]) {
      if (err.code !== 'too_deep') assert.equal(fill(en[err.code], err.params), err.message, err.code);
      assert.ok(zh[err.code] && !/__\w+__/.test(fill(zh[err.code], err.params)), `a Chinese text for ${err.code}, every parameter filled`);
    }
  });

  it('has, for every message and reply format error, an English text that says exactly what lib says, and a Chinese one', () => {
    const en = catalogue('en-US');
    const zh = catalogue('zh-CN');
    const attempts: Array<() => unknown> = [
      () => prepareMessage('official', 'not an object', {}),
      () => prepareMessage('official', { msgtype: 'nope', touser: 'o1' }, {}),
      () => prepareMessage('wecom', { msgtype: 'nope', touser: 'u1', agentid: 1 }, {}),
      () => prepareMessage('wecom', { msgtype: 'text', text: { content: 'x' } }, { agentId: '1000002' }),
      () => prepareMessage('official', { msgtype: 'text', touser: 'o1', text: {} }, {}),
      () => prepareMessage('official', { msgtype: 'news', touser: 'o1', news: { articles: [] } }, {}),
      () => prepareMessage('official', { template_id: 't', touser: 'o1', data: { a: 1 } }, {}),
      () => checkMedia('official', 'file', Buffer.alloc(10)),
      () => checkMedia('wecom', 'image', Buffer.alloc(3)),
      () => checkMedia('official', 'image', Buffer.alloc(11 * 1024 * 1024)),
      () => prepareMediaMessage('official', 'thumb', Buffer.alloc(10), { touser: 'o1' }),
      () => normalizeReply([1], 'official'),
      () => normalizeReply({ type: 'nope' }, 'wecom'),
      () => normalizeReply({ type: 'text', content: '' }, 'official'),
      () => normalizeReply({ type: 'news', articles: [] }, 'official'),
      () => normalizeReply({ type: 'news', articles: [1] }, 'official'),
      () => normalizeReply({ type: 'text', content: 'x'.repeat(3000) }, 'wecom'),
    ];
    const codes = new Set<string>();
    for (const attempt of attempts) {
      let err: unknown;
      try {
        attempt();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof MessageFormatError || err instanceof ReplyFormatError, `${attempt} threw ${String(err)}`);
      const { code, params, message } = err as MessageFormatError;
      assert.ok(en[code] && zh[code], `a text for ${code}`);
      assert.equal(fill(en[code], params), message, code);
      assert.doesNotMatch(fill(zh[code], params), /__\w+__/, `every parameter of ${code} is filled in Chinese`);
      codes.add(code);
    }
    assert.ok(codes.size >= 12, `several distinct codes checked (${[...codes].join(', ')})`);
  });
});
