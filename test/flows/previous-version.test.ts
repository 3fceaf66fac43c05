/**
 * Flows saved by the previous release (0.1.0, kept in test/fixtures/flows-0.1.0 as they
 * were shipped) still deploy with today's nodes and behave the same.
 */
import { strict as assert } from 'node:assert';
import registerNotificationIn from '../../nodes/c4c-notification-in/c4c-notification-in';
import registerOdata from '../../nodes/c4c-odata/c4c-odata';
import registerSystem from '../../nodes/c4c-system/c4c-system';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import registerSend from '../../nodes/wechat-send/wechat-send';
import { DEMO_C4C } from '../../sandbox/demo-accounts';
import { randomOpenId, WeChatClientSimulator } from '../../sandbox/wechat-client';
import { runShippedFlow, waitFor } from '../support/flow-watch';

const SAVED = 'test/fixtures/flows-0.1.0';
const ALL_NODES = [registerAccount, registerIn, registerReply, registerSend, registerSystem, registerOdata, registerNotificationIn];

const replyText = (result: Awaited<ReturnType<WeChatClientSimulator['deliver']>>) => (result.reply.kind === 'reply' ? (result.reply.text ?? '') : JSON.stringify(result.reply));

describe('flows saved by version 0.1.0', () => {
  describe('the Q&A bot', () => {
    const run = runShippedFlow('qa-bot.json', ALL_NODES, SAVED);

    it('answers on the Official Account (safe mode) and on WeCom as before', async () => {
      const oa = await WeChatClientSimulator.demo('official', { mode: 'safe' }).deliver(run.harness.baseUrl + '/wechat/official', { content: 'contact' });
      assert.match(replyText(oa), /400-000-0000/);
      const wecom = await WeChatClientSimulator.demo('wecom').deliver(run.harness.baseUrl + '/wechat/wecom', { content: 'hours' });
      assert.equal(wecom.reply.kind, 'reply');
    });
  });

  describe('follow → C4C customer', () => {
    const run = runShippedFlow('follow-creates-customer.json', ALL_NODES, SAVED);

    it('creates the customer and welcomes the follower with its number', async () => {
      const openId = randomOpenId();
      const result = await WeChatClientSimulator.demo('official', { user: openId }).deliver(run.harness.baseUrl + '/wechat/follow', { event: 'subscribe' });
      const number = /customer number is (\d+)/.exec(replyText(result))?.[1];
      const created = run.sandbox.c4c.customers().filter((c) => c.WechatID === openId);
      assert.equal(created.length, 1);
      assert.equal(created[0].CustomerID, number);
    });
  });

  describe('C4C change → WeChat', () => {
    const run = runShippedFlow('customer-changed-notifies-wechat.json', ALL_NODES, SAVED);

    it('tells the follower about a change to their customer', async () => {
      const { sandbox, harness } = run;
      sandbox.c4c.setConsumer({ url: harness.baseUrl + '/c4c/notify', user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword });
      const openId = randomOpenId();
      const { ObjectID } = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Chen', RoleCode: 'CRM000', WechatID: openId });
      sandbox.c4c.changeCustomer(String(ObjectID), { Phone: '+86 21 5555 0101' });
      await sandbox.c4c.flush();
      await waitFor('the WeChat message', () => sandbox.wechat.messages.some((m) => m.body.touser === openId));
    });
  });
});
