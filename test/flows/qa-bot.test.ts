import { strict as assert } from 'node:assert';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import { WeChatClientSimulator } from '../../sandbox/wechat-client';
import { runShippedFlow, waitFor } from '../support/flow-watch';

describe('scenario: WeChat Q&A bot (flows/qa-bot.json)', () => {
  const run = runShippedFlow('qa-bot.json', [registerAccount, registerIn, registerReply]);
  const { harness } = run;

  const official = () => WeChatClientSimulator.demo('official');
  const wecom = () => WeChatClientSimulator.demo('wecom');
  const text = async (client: WeChatClientSimulator, path: string, content: string) => {
    const result = await client.deliver(harness.baseUrl + path, { content });
    assert.equal(result.reply.kind, 'reply', JSON.stringify(result.reply));
    return result.reply.kind === 'reply' ? (result.reply.text ?? '') : '';
  };

  it('answers a known question on the Official Account, encrypted in safe mode', async () => {
    assert.match(await text(official(), '/wechat/official', 'What are your opening hours?'), /Monday to Friday/);
  });

  it('answers in Chinese keywords on WeCom', async () => {
    assert.match(await text(wecom(), '/wechat/wecom', '公司地址在哪？'), /示例路/);
  });

  it('answers unknown questions with the help text', async () => {
    assert.match(await text(official(), '/wechat/official', 'what is the meaning of life'), /Try: hours, address, contact/);
  });

  it('welcomes a new follower and someone opening the WeCom app', async () => {
    for (const [client, path, event] of [
      [official(), '/wechat/official', 'subscribe'],
      [wecom(), '/wechat/wecom', 'enter_agent'],
    ] as const) {
      const result = await client.deliver(harness.baseUrl + path, { event });
      assert.equal(result.reply.kind === 'reply' && /Welcome/.test(result.reply.text ?? ''), true, JSON.stringify(result.reply));
    }
  });

  it('answers other events with no reply at once', async () => {
    const result = await official().deliver(harness.baseUrl + '/wechat/official', { event: 'unsubscribe' }, { timeoutMs: 2000 });
    assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' });
  });

  it('refuses plaintext: the shipped account has an EncodingAESKey, so WeChat sends it only encrypted', async () => {
    const plain = WeChatClientSimulator.demo('official', { mode: 'plain' });
    const result = await plain.deliver(harness.baseUrl + '/wechat/official', { content: 'contact' });
    assert.deepEqual([result.status, result.body], [403, 'plaintext_refused']);
  });

  it('works in compatible mode too', async () => {
    const compatible = WeChatClientSimulator.demo('official', { mode: 'compatible' });
    assert.match(await text(compatible, '/wechat/official', 'contact'), /400-000-0000/);
  });

  it('a slow answer misses the deadline and arrives as a customer-service message', async function () {
    this.timeout(15000);
    const client = official();
    const result = await client.deliver(harness.baseUrl + '/wechat/official', { content: 'monthly report please' });
    assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' }, 'WeChat is answered before its 5 s deadline');
    const { messages } = run.sandbox.wechat;
    await waitFor('the late answer as a customer-service message', () => messages.length > 0);
    assert.equal(messages.length, 1);
    const [message] = messages;
    assert.equal(message.api, 'message/custom/send');
    assert.equal(message.body.touser, client.user);
    assert.match(String((message.body.text as { content: string }).content), /monthly report is ready/);
  });
});
