/**
 * The sandbox chat page in a real browser, with every shipped flow running: each of the
 * five scenarios is played through the page as a newcomer would, what the phone and the
 * panels show is checked, and each leaves a screenshot (.out/browser/). With
 * WXBRIDGE_DOC_SCREENSHOTS=1 the README's screenshots (docs/chat-en.png, docs/chat-zh.png)
 * are made again too.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Browser, Locator, Page } from 'playwright-core';
import { ChatPage } from '../../sandbox/chat/server';
import { DEMO_DCN, DEMO_FOLLOWER_OPENID, DEMO_MICRO_APP } from '../../sandbox/demo-accounts';
import { nextWorkingWeek } from '../../scripts/demo-welcome';
import { WatchedPage, launchChromium, openWatchedPage, saveScreenshot } from '../support/browser';
import { devicesRegistered } from '../../sandbox/dcn-requests';
import { runDemo } from '../support/demo-run';

const DOCS = join(__dirname, '..', '..', '..', 'docs');
/** Long enough for the Q&A bot's late answer (6 s) on a busy machine. */
const ARRIVAL_MS = 30_000;

describe('the sandbox chat page in Chromium', function () {
  this.timeout(120_000);
  const run = runDemo();
  let chatPage: ChatPage;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  const refused: string[] = [];

  before(async () => {
    chatPage = await ChatPage.start({ sandbox: run.sandbox, nodeRedUrl: run.harness.baseUrl, log: (line) => refused.push(line) });
    browser = await launchChromium();
    watched = await openWatchedPage(browser, { locale: 'en-US', width: 1240, height: 900 });
    page = watched.page;
    await page.goto(chatPage.url);
    await page.getByTestId('composer').waitFor();
  });
  after(async () => {
    await browser?.close();
    await chatPage?.close();
  });
  afterEach(() => {
    assert.deepEqual(watched.pageErrors, [], 'no script error on the page');
    assert.deepEqual(refused, [], 'the page sent nothing its server refused');
  });

  const phone = () => page.getByTestId('conversation');
  /** The bubble of `channel` containing `text`, once it is there. */
  async function arrived(where: Locator, channel: string, text: string | RegExp): Promise<Locator> {
    const bubble = where.locator(`[data-channel="${channel}"]`, { hasText: text }).last();
    await bubble.waitFor({ timeout: ARRIVAL_MS });
    return bubble;
  }
  async function type(composer: Locator, text: string): Promise<void> {
    await composer.locator('input').fill(text);
    await composer.locator('button[type=submit]').click();
  }
  async function pick(account: string, user: string): Promise<void> {
    await page.getByTestId('account').selectOption(account);
    await page.getByTestId('user').selectOption(user);
  }

  it('1 · Q&A bot: answers on the phone, the late one marked as a customer-service message', async () => {
    await pick('official', DEMO_FOLLOWER_OPENID);
    await type(page.getByTestId('composer'), 'hours');
    await arrived(phone(), 'sent', 'hours');
    await arrived(phone(), 'reply', 'We are open Monday to Friday');
    await type(page.getByTestId('composer'), 'report');
    const late = await arrived(phone(), 'customer-service', 'Your monthly report is ready');
    assert.equal(await late.getAttribute('data-late'), 'true');
    assert.match(await late.innerText(), /Late reply/);
    // The passive answers are no late ones.
    assert.equal(await phone().locator('[data-channel="reply"][data-late]').count(), 0);
    await page.getByTestId('composer').getByRole('button', { name: /Location/ }).click();
    await arrived(phone(), 'sent', 'Example Road');
    await arrived(phone(), 'reply', 'Try: hours, address, contact');
    await saveScreenshot(page, 'chat-1-qa-bot');
  });

  it('2 · follow: the welcome names the new C4C customer, listed in the C4C panel as subscribed', async () => {
    await page.locator('[data-action="follow"]').click();
    const welcome = await arrived(phone(), 'reply', /Your customer number is \d+/);
    const number = /customer number is (\d+)/.exec(await welcome.innerText())?.[1];
    await page.locator('nav [data-panel="c4c"]').click();
    await page.getByTestId('c4c-panel').getByRole('button', { name: 'Refresh' }).click();
    const row = page.getByTestId('c4c-panel').locator('tbody tr', { hasText: DEMO_FOLLOWER_OPENID });
    await row.waitFor();
    assert.equal(await row.locator('[data-column="CustomerID"]').innerText(), number);
    assert.equal(await row.locator('[data-column="WechatStatus"]').innerText(), 'subscribed');
    await saveScreenshot(page, 'chat-2-follow-creates-customer');
  });

  it('3 · a change in C4C reaches the follower as a WeChat message', async () => {
    const panel = page.getByTestId('c4c-panel');
    await panel.locator('tbody tr', { hasText: DEMO_FOLLOWER_OPENID }).locator('[data-action="change"]').click();
    await panel.locator('input[name="FirstName"]').fill('Anna');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await panel.locator('.done', { hasText: 'C4C notifies the flow' }).waitFor();
    await arrived(phone(), 'customer-service', 'Your account details were updated.');
    assert.match(await panel.locator('tbody tr', { hasText: DEMO_FOLLOWER_OPENID }).locator('[data-column="Name"]').innerText(), /^Anna/);
    await saveScreenshot(page, 'chat-3-customer-changed-notifies-wechat');
  });

  it('4 · TimeOff through Mobile Services: the requester chats, the approver approves on the text card, the requester hears', async () => {
    const { start, end } = nextWorkingWeek(new Date());
    await pick('microapp', DEMO_MICRO_APP.requester);
    const composer = page.getByTestId('composer');
    await type(composer, 'create');
    await arrived(phone(), 'reply', /Draft \d+ created/);
    for (const line of [`start ${start}`, `end ${end}`, 'reason Family visit']) {
      await type(composer, line);
      await arrived(phone(), 'sent', line);
    }
    await type(composer, 'submit');
    const submitted = await arrived(phone(), 'reply', /Request \d+ submitted/);
    const number = /Request (\d+) submitted/.exec(await submitted.innerText())?.[1];
    await page.locator('nav [data-panel="timeOff"]').click();
    const approver = page.getByTestId('approver-conversation');
    const card = await arrived(approver, 'micro-app-push', `Leave request ${number} from ${DEMO_MICRO_APP.requester}`);
    assert.match(await card.innerText(), /Family visit/);
    await card.getByRole('button', { name: `Approve ${number}` }).click();
    await arrived(approver, 'reply', `You approved request ${number}`);
    await arrived(phone(), 'micro-app-push', `Leave request ${number} approved`);
    await saveScreenshot(page, 'chat-4-timeoff');
    if (process.env.WXBRIDGE_DOC_SCREENSHOTS === '1') await page.screenshot({ path: join(DOCS, 'chat-en.png') });
  });

  it('5 · WF-DCN: the trip request reaches both of SUPAdmin\'s devices, the result JSON is shown, the retraction reaches both', async () => {
    await devicesRegistered(run.harness.baseUrl);
    await page.locator('nav [data-panel="dcn"]').click();
    const panel = page.getByTestId('dcn-panel');
    await panel.locator('[data-action="post"]').click();
    const result = panel.getByTestId('dcn-result').first();
    await result.waitFor();
    assert.equal(await result.getAttribute('data-status'), '200');
    assert.match(await result.innerText(), /2 messages for 2 devices of 1 receiver/);
    const reached = panel.getByTestId('dcn-conversation');
    await arrived(reached, 'wecom-app', 'Trip request approval required');
    await arrived(reached, 'push', 'Trip request approval required');
    await panel.locator('[data-action="retract"]').click();
    await panel.getByTestId('dcn-result').first().filter({ hasText: ':delete' }).waitFor();
    assert.match(await result.innerText(), /retracted on 2 devices that had it/);
    await arrived(reached, 'wecom-app', 'Withdrawn');
    await arrived(reached, 'push', 'Withdrawn');
    // The phone shows the same deliveries to SUPAdmin's WeCom app.
    await pick('wecom', DEMO_DCN.wecomUser);
    await arrived(phone(), 'wecom-app', 'Withdrawn');
    await saveScreenshot(page, 'chat-5-wf-dcn-fan-out');
  });

  it('fits a phone\'s screen: nothing wider than it, the composer in reach', async () => {
    const small = await openWatchedPage(browser, { locale: 'en-US', width: 390, height: 844 });
    try {
      await small.page.goto(chatPage.url);
      await small.page.getByTestId('composer').waitFor();
      const widest = await small.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(widest <= 390, `the page is ${widest} px wide on a 390 px screen`);
      const composer = await small.page.getByTestId('composer').boundingBox();
      assert.ok(composer && composer.y + composer.height <= 844, `the composer ends at ${composer?.y ?? '?'} + ${composer?.height ?? '?'} px, below the first screen`);
      await saveScreenshot(small.page, 'chat-phone-screen');
      assert.deepEqual(small.pageErrors, []);
    } finally {
      await small.context.close();
    }
  });

  it('speaks Chinese to a Chinese browser, with the conversations so far', async () => {
    const zh = await openWatchedPage(browser, { locale: 'zh-CN', width: 1240, height: 900 });
    try {
      await zh.page.goto(chatPage.url);
      const conversation = zh.page.getByTestId('conversation');
      await conversation.locator('[data-channel="customer-service"]').last().waitFor();
      assert.match(await zh.page.locator('nav').innerText(), /请假/);
      assert.match(await conversation.innerText(), /客服消息/);
      assert.match(await conversation.innerText(), /迟到的回复/);
      await zh.page.getByTestId('c4c-panel').locator('tbody tr', { hasText: DEMO_FOLLOWER_OPENID }).waitFor();
      assert.equal(await zh.page.locator('html').getAttribute('lang'), 'zh-CN');
      await saveScreenshot(zh.page, 'chat-zh');
      if (process.env.WXBRIDGE_DOC_SCREENSHOTS === '1') await zh.page.screenshot({ path: join(DOCS, 'chat-zh.png') });
      assert.deepEqual(zh.pageErrors, []);
    } finally {
      await zh.context.close();
    }
  });
});

