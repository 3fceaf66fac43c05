import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_HINTS, WeChatApiError } from '../../../lib/wechat/api-errors';
import { C4CError } from '../../../lib/c4c';

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
});
