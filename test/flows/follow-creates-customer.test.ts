import { strict as assert } from 'node:assert';
import registerOdata from '../../nodes/c4c-odata/c4c-odata';
import registerSystem from '../../nodes/c4c-system/c4c-system';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import type { Sandbox } from '../../sandbox/index';
import { randomOpenId, WeChatClientSimulator } from '../../sandbox/wechat-client';
import { runShippedFlow, waitFor, warnings } from '../support/flow-watch';

describe('scenario: WeChat follow creates a C4C customer (flows/follow-creates-customer.json)', () => {
  const run = runShippedFlow('follow-creates-customer.json', [registerAccount, registerIn, registerReply, registerSystem, registerOdata]);
  const { harness } = run;
  let sandbox: Sandbox;
  const PATH = '/wechat/follow';

  before(() => {
    sandbox = run.sandbox;
  });
  beforeEach(() => sandbox.c4c.reset());

  const follower = (user = randomOpenId()) => WeChatClientSimulator.demo('official', { user });
  // WeChat de-duplicates events by sender, CreateTime and event (so does wechat-in): a repeat
  // subscribe comes at least a second later, so each event here gets its own second.
  let clock = Math.floor(Date.now() / 1000);
  const event = (client: WeChatClientSimulator, name: 'subscribe' | 'unsubscribe') =>
    client.deliver(harness.baseUrl + PATH, { event: name, createTime: ++clock });
  const byOpenId = (openId: string) => sandbox.c4c.customers().filter((c) => c.WechatID === openId);

  it('creates an individual customer carrying the OpenID and welcomes the follower with its number', async () => {
    const openId = randomOpenId();
    const result = await event(follower(openId), 'subscribe');

    assert.equal(result.reply.kind, 'reply', JSON.stringify(result.reply));
    const text = result.reply.kind === 'reply' ? (result.reply.text ?? '') : '';
    const number = /Welcome! Your customer number is (\d+)\./.exec(text)?.[1];
    const created = byOpenId(openId);
    assert.equal(created.length, 1);
    const [customer] = created;
    assert.equal(customer.CustomerID, number);
    assert.equal(customer.RoleCode, 'CRM000');
    assert.equal(customer.WechatStatus, 'subscribed');
    // A subscribe event carries no profile, so the names fall back to readable defaults.
    assert.equal(customer.FirstName, 'WeChat');
    assert.equal(customer.LastName, `Follower ${openId.slice(-6)}`);
  });

  it('keeps the OpenID readable through the custom service, where the change scenario looks it up', async () => {
    const openId = randomOpenId();
    await event(follower(openId), 'subscribe');
    const [customer] = byOpenId(openId);
    const url = `${sandbox.baseUrl}/c4c/sap/c4c/odata/cust/v1/zindividualcustomer/CustomerCommonCollection?$format=json&$filter=${encodeURIComponent(`ParentObjectID eq '${customer.ObjectID}'`)}`;
    const auth = 'Basic ' + Buffer.from(`${process.env.C4C_USER}:${process.env.C4C_PASSWORD}`).toString('base64');
    const body = (await (await fetch(url, { headers: { Authorization: auth } })).json()) as { d: { results: Array<{ WechatID: string }> } };
    assert.deepEqual(
      body.d.results.map((r) => r.WechatID),
      [openId],
    );
  });

  it('does not create a duplicate on a repeat subscribe and welcomes the follower back', async () => {
    const client = follower();
    const openId = client.user;
    await event(client, 'subscribe');
    const again = await event(client, 'subscribe');

    assert.equal(again.reply.kind === 'reply' && /Welcome back/.test(again.reply.text ?? ''), true, JSON.stringify(again.reply));
    assert.equal(byOpenId(openId).length, 1);
    assert.equal(sandbox.c4c.customers().length, 1);
  });

  it('creates one customer per follower, reusing the CSRF token for every later write', async () => {
    // The first write may refetch the token (reset() made the stand-in forget it).
    await event(follower(), 'subscribe');
    const { csrfFetches, csrfRejections, writes } = sandbox.c4c.stats;
    for (let i = 0; i < 3; i++) await event(follower(), 'subscribe');

    assert.equal(sandbox.c4c.customers().length, 4);
    assert.equal(sandbox.c4c.stats.writes - writes, 3);
    assert.equal(sandbox.c4c.stats.csrfFetches, csrfFetches);
    assert.equal(sandbox.c4c.stats.csrfRejections, csrfRejections);
  });

  it('records an unsubscribe on the customer and answers WeChat without a reply', async () => {
    const client = follower();
    const openId = client.user;
    await event(client, 'subscribe');

    const result = await event(client, 'unsubscribe');
    assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' });
    await waitFor('WechatStatus to become unsubscribed', () => byOpenId(openId)[0]?.WechatStatus === 'unsubscribed');
    assert.equal(sandbox.c4c.customers().length, 1);
  });

  it('marks a follower who comes back as subscribed again, still without a duplicate', async () => {
    const client = follower();
    await event(client, 'subscribe');
    await event(client, 'unsubscribe');
    await waitFor('WechatStatus to become unsubscribed', () => byOpenId(client.user)[0]?.WechatStatus === 'unsubscribed');

    const back = await event(client, 'subscribe');
    assert.equal(back.reply.kind === 'reply' && /Welcome back/.test(back.reply.text ?? ''), true, JSON.stringify(back.reply));
    await waitFor('WechatStatus to become subscribed', () => byOpenId(client.user)[0]?.WechatStatus === 'subscribed');
    assert.equal(sandbox.c4c.customers().length, 1);
  });

  it('logs an unsubscribe from someone without a customer record and changes nothing', async () => {
    const known = randomOpenId();
    await event(follower(known), 'subscribe');
    const before = sandbox.c4c.customers();
    const warned = warnings(harness.getNode('follow.unsub'));

    const result = await event(follower(), 'unsubscribe');
    assert.deepEqual(result.reply, { kind: 'no-reply', marker: 'success' });
    await waitFor('the warning', () => warned.length > 0);
    assert.match(warned[0], /without a customer record/);
    assert.deepEqual(sandbox.c4c.customers(), before);
  });
});
