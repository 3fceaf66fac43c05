import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import { CallbackError } from '../../../lib/wechat/callback';
import { WeChatApiError } from '../../../lib/wechat/api-errors';
import { errorText, flowError } from '../../../nodes/shared/errors';

/** A RED whose RED._ reads a node's catalogue in `lang` with lib's texts merged in, as the build does. */
function redIn(lang: string, type: string): NodeAPI {
  const nodes = join(__dirname, '..', '..', '..', 'nodes');
  const own = JSON.parse(readFileSync(join(nodes, type, 'locales', lang, `${type}.json`), 'utf8')) as Record<string, Record<string, unknown>>;
  own[type].lib = JSON.parse(readFileSync(join(nodes, 'shared', 'locales', lang, 'lib.json'), 'utf8'));
  const translate = (key: string, params: Record<string, unknown> = {}) => {
    const found = key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), own);
    return typeof found === 'string' ? found.replace(/__(\w+)__/g, (m, n: string) => (n in params ? String(params[n]) : m)) : key;
  };
  return { _: translate } as unknown as NodeAPI;
}

describe('nodes/shared/errors', () => {
  it('turns a lib error code and its parameters into the runtime language: Chinese logs read Chinese', () => {
    const stale = new CallbackError(403, 'stale_timestamp', "timestamp is more than 300 s away from this server's clock", { window: 300 });
    assert.equal(errorText(redIn('zh-CN', 'wechat-in'), 'wechat-in', stale), '时间戳与本服务器时钟相差超过 300 秒');
    assert.equal(errorText(redIn('en-US', 'wechat-in'), 'wechat-in', stale), "the timestamp is more than 300 s away from this server's clock");
    const quota = new WeChatApiError('message/custom/send', 45015, 'response out of time limit');
    assert.match(errorText(redIn('zh-CN', 'wechat-send'), 'wechat-send', quota), /超出 48 小时客服消息窗口/);
  });

  it('keeps the message of an error without a known code, and the fields of one it translates', () => {
    const red = redIn('zh-CN', 'wechat-send');
    assert.equal(errorText(red, 'wechat-send', new Error('plain')), 'plain');
    const wrapped = flowError(red, 'wechat-send', new WeChatApiError('message/custom/send', 45015, 'x')) as Error & { errcode: number; code: number };
    assert.match(wrapped.message, /48 小时/);
    assert.deepEqual([wrapped.errcode, wrapped.code, wrapped.name], [45015, 45015, 'WeChatApiError']);
    assert.ok(wrapped.cause instanceof WeChatApiError);
  });
});
