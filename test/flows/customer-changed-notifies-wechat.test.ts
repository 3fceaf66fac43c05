import { strict as assert } from 'node:assert';
import registerNotificationIn from '../../nodes/c4c-notification-in/c4c-notification-in';
import registerOdata from '../../nodes/c4c-odata/c4c-odata';
import registerSystem from '../../nodes/c4c-system/c4c-system';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import registerSend from '../../nodes/wechat-send/wechat-send';
import { DEMO_C4C, DEMO_OFFICIAL_ACCOUNT } from '../../sandbox/demo-accounts';
import type { Sandbox } from '../../sandbox/index';
import { randomOpenId, WeChatClientSimulator } from '../../sandbox/wechat-client';
import { logs, runShippedFlow, waitFor, warnings } from '../support/flow-watch';

describe('scenario: C4C customer changed notifies WeChat (flows/customer-changed-notifies-wechat.json)', () => {
  const run = runShippedFlow('customer-changed-notifies-wechat.json', [registerAccount, registerSend, registerNotificationIn, registerSystem, registerOdata]);
  const { harness } = run;
  let sandbox: Sandbox;
  const ROUTE = '/c4c/notify';

  before(() => {
    sandbox = run.sandbox;
  });
  beforeEach(() => {
    sandbox.c4c.reset();
    sandbox.wechat.reset();
    sandbox.c4c.setConsumer({ url: harness.baseUrl + ROUTE, user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword });
  });

  const customer = (fields: Record<string, string> = {}) =>
    sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Chen', RoleCode: 'CRM000', ...fields });
  /** Changes the customer in C4C and waits until C4C's notification was answered. */
  const change = async (objectId: unknown) => {
    sandbox.c4c.changeCustomer(String(objectId), { Phone: '+86 21 5555 0101' });
    await sandbox.c4c.flush();
    return sandbox.c4c.deliveries[sandbox.c4c.deliveries.length - 1];
  };
  const messagesTo = (openId: string) => sandbox.wechat.messages.filter((m) => m.body.touser === openId);

  it('sends the follower the default text through the Official Account when their customer changes', async () => {
    const openId = randomOpenId();
    const { ObjectID } = customer({ WechatID: openId });

    const delivery = await change(ObjectID);
    assert.equal(delivery.status, 202, JSON.stringify(delivery));
    await waitFor('the WeChat message', () => messagesTo(openId).length > 0);

    const [message] = messagesTo(openId);
    assert.equal(message.api, 'message/custom/send');
    assert.equal(message.account, DEMO_OFFICIAL_ACCOUNT.appId);
    assert.deepEqual(message.body, { touser: openId, msgtype: 'text', text: { content: 'Your account details were updated.' } });
    assert.equal(sandbox.wechat.messages.length, 1);
  });

  it('reads WechatID through the custom service by ParentObjectID', async () => {
    // Two followers: only the changed customer's OpenID may be messaged.
    const other = randomOpenId();
    customer({ WechatID: other });
    const openId = randomOpenId();
    const { ObjectID } = customer({ WechatID: openId });

    await change(ObjectID);
    await waitFor('the WeChat message', () => sandbox.wechat.messages.length > 0);
    assert.deepEqual(
      sandbox.wechat.messages.map((m) => m.body.touser),
      [openId],
    );
  });

  it('takes the text from C4C_NOTIFY_TEXT when it is set', async () => {
    process.env.C4C_NOTIFY_TEXT = '您的客户资料已更新。';
    try {
      const openId = randomOpenId();
      const { ObjectID } = customer({ WechatID: openId });
      await change(ObjectID);
      await waitFor('the WeChat message', () => messagesTo(openId).length > 0);
      assert.deepEqual(messagesTo(openId)[0].body.text, { content: '您的客户资料已更新。' });
    } finally {
      delete process.env.C4C_NOTIFY_TEXT;
    }
  });

  it('logs and skips a customer without WechatID', async () => {
    const { ObjectID } = customer();
    const warned = warnings(harness.getNode('notify.compose'));

    const delivery = await change(ObjectID);
    assert.equal(delivery.status, 202);
    await waitFor('the warning', () => warned.length > 0);
    assert.equal(warned[0], `customer ${ObjectID} has no WechatID: skipped`);
    assert.equal(sandbox.wechat.messages.length, 0);
  });

  it('names the customer when the custom service has no row for it at all', async () => {
    // A corporate account is a Customer too, but has no individual-customer Common row.
    const account = sandbox.c4c.createCustomer({ Name: 'Acme Trading', RoleCode: 'CRM000' }, 'CorporateAccountCollection');
    const warned = warnings(harness.getNode('notify.compose'));

    sandbox.c4c.changeCustomer(String(account.ObjectID), { Phone: '+86 10 5555 0102' }, 'CorporateAccountCollection');
    await sandbox.c4c.flush();
    await waitFor('the warning', () => warned.length > 0);
    assert.equal(warned[0], `customer ${account.ObjectID} has no WechatID: skipped`);
    assert.equal(sandbox.wechat.messages.length, 0);
  });

  it('logs and skips a customer who unfollowed the account', async () => {
    const { ObjectID } = customer({ WechatID: randomOpenId(), WechatStatus: 'unsubscribed' });
    const warned = warnings(harness.getNode('notify.compose'));

    await change(ObjectID);
    await waitFor('the warning', () => warned.length > 0);
    assert.equal(warned[0], `customer ${ObjectID} unfollowed the account: skipped`);
    assert.equal(sandbox.wechat.messages.length, 0);
  });

  it('refuses a notification with the wrong login and sends nothing', async () => {
    sandbox.c4c.setConsumer({ url: harness.baseUrl + ROUTE, user: DEMO_C4C.notifyUser, password: 'not-the-password' });
    const { ObjectID } = customer({ WechatID: randomOpenId() });

    const delivery = await change(ObjectID);
    assert.equal(delivery.status, 401);
    // Prove the flow is otherwise live: the next, correctly authenticated change is delivered.
    sandbox.c4c.setConsumer({ url: harness.baseUrl + ROUTE, user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword });
    await change(ObjectID);
    await waitFor('the WeChat message', () => sandbox.wechat.messages.length > 0);
    assert.equal(sandbox.wechat.messages.length, 1);
  });
});

describe("scenarios together: the follow flow's own C4C writes are not notified (both C4C flows, as under npm start)", () => {
  const run = runShippedFlow(
    ['follow-creates-customer.json', 'customer-changed-notifies-wechat.json'],
    [registerAccount, registerIn, registerReply, registerSend, registerNotificationIn, registerSystem, registerOdata],
  );
  const { harness } = run;
  let sandbox: Sandbox;

  before(() => {
    sandbox = run.sandbox;
  });
  beforeEach(() => {
    sandbox.c4c.reset();
    sandbox.wechat.reset();
    sandbox.c4c.setConsumer({ url: `${harness.baseUrl}/c4c/notify`, user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword });
  });

  // Each event gets its own CreateTime: a repeat of the same event in the same second is a WeChat retry.
  let clock = Math.floor(Date.now() / 1000);
  const event = async (client: WeChatClientSimulator, name: 'subscribe' | 'unsubscribe') => {
    const result = await client.deliver(`${harness.baseUrl}/wechat/follow`, { event: name, createTime: ++clock });
    return result.reply.kind === 'reply' ? (result.reply.text ?? '') : result.reply.kind;
  };
  const customerOf = (openId: string) => sandbox.c4c.customers().find((c) => c.WechatID === openId);
  const messagesTo = (openId: string) => sandbox.wechat.messages.filter((m) => m.body.touser === openId);

  /** Follows, unfollows and follows again, each C4C notification handled before the next step. */
  async function followUnfollowFollow(client: WeChatClientSimulator): Promise<{ objectId: string; welcomeBack: string; ownWrites: string[] }> {
    assert.match(await event(client, 'subscribe'), /^Welcome! Your customer number is \d+\.$/);
    const objectId = String(customerOf(client.user)?.ObjectID);
    const skipped = warnings(harness.getNode('notify.compose'));
    assert.equal(await event(client, 'unsubscribe'), 'no-reply');
    await waitFor('the unfollow to be skipped', () => skipped.includes(`customer ${objectId} unfollowed the account: skipped`));

    const ownWrites = logs(harness.getNode('notify.author'));
    const welcomeBack = await event(client, 'subscribe');
    await waitFor('WechatStatus to become subscribed', () => customerOf(client.user)?.WechatStatus === 'subscribed');
    await sandbox.c4c.flush();
    return { objectId, welcomeBack, ownWrites };
  }

  it('sends a follower who comes back only the welcome, not "Your account details were updated"', async () => {
    const client = WeChatClientSimulator.demo('official', { user: randomOpenId() });
    const { objectId, welcomeBack, ownWrites } = await followUnfollowFollow(client);

    assert.equal(welcomeBack, 'Welcome back! Your customer record is already with us.');
    // The follow flow's WechatStatus write did reach the change flow, which recognised it.
    await waitFor('the change flow to pass over its own write', () => ownWrites.length > 0);
    assert.deepEqual(ownWrites, [`customer ${objectId} was last changed by the flows themselves (${DEMO_C4C.userName}): not notified`]);
    assert.equal(sandbox.c4c.getCustomer(objectId)?.ChangedBy, DEMO_C4C.userName);
    assert.deepEqual(messagesTo(client.user), []);
  });

  it("still tells the follower who came back about a person's change", async () => {
    const client = WeChatClientSimulator.demo('official', { user: randomOpenId() });
    const { objectId, ownWrites } = await followUnfollowFollow(client);
    await waitFor('the change flow to pass over its own write', () => ownWrites.length > 0);

    sandbox.c4c.changeCustomer(objectId, { FirstName: 'Anna' });
    await sandbox.c4c.flush();
    await waitFor('the WeChat message', () => messagesTo(client.user).length > 0);
    assert.deepEqual(
      messagesTo(client.user).map((m) => m.body),
      [{ touser: client.user, msgtype: 'text', text: { content: 'Your account details were updated.' } }],
    );
    assert.equal(ownWrites.length, 1);
  });

  it("notifies the flows' own writes too when C4C_FLOWS_CHANGED_BY is not set", async () => {
    const name = process.env.C4C_FLOWS_CHANGED_BY;
    delete process.env.C4C_FLOWS_CHANGED_BY;
    try {
      const client = WeChatClientSimulator.demo('official', { user: randomOpenId() });
      await followUnfollowFollow(client);
      await waitFor('the WeChat message', () => messagesTo(client.user).length > 0);
      assert.equal(messagesTo(client.user).length, 1);
    } finally {
      process.env.C4C_FLOWS_CHANGED_BY = name;
    }
  });
});
