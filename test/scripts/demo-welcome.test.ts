import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { commandLine, DemoCommand, demoSteps, nextWorkingWeek, welcomeText } from '../../scripts/demo-welcome';
import { main } from '../../sandbox/cli';
import { DEMO_DCN, DEMO_FOLLOWER_OPENID, DEMO_MICRO_APP } from '../../sandbox/demo-accounts';
import { DEFAULT_SANDBOX_URL } from '../../sandbox/demo-addresses';
import type { Sandbox } from '../../sandbox/index';
import { devicesRegistered } from '../../sandbox/dcn-requests';
import { runDemo } from '../support/demo-run';
import { logs, waitFor } from '../support/flow-watch';

describe('npm start: the commands it prints (scripts/demo-welcome.ts)', () => {
  // Every shipped flow, as npm start runs them, with the sandbox on a port of its own (not the default one).
  const run = runDemo();
  const { harness } = run;
  let sandbox: Sandbox;
  let steps: ReturnType<typeof demoSteps>;

  before(() => {
    sandbox = run.sandbox;
    steps = demoSteps(harness.baseUrl, sandbox.baseUrl);
  });

  /** Runs a printed command with the arguments a shell hands the CLI; returns what it printed. */
  async function runPrinted(command: DemoCommand, input?: NodeJS.ReadableStream): Promise<string> {
    const printed: string[] = [];
    const code = await main(command.args, (line) => printed.push(line), (line) => printed.push(line), input);
    assert.equal(code, 0, `${commandLine(command)}\n${printed.join('\n')}`);
    return printed.join('\n');
  }
  const step = (title: RegExp) => {
    const found = steps.find((s) => title.test(s.title));
    assert.ok(found, `a step ${title}`);
    return found.commands;
  };
  // Two follow events from one follower within one second would be one WeChat delivery (a retry).
  let lastSecond = 0;
  const nextSecond = async () => {
    await waitFor('the next second', () => Math.floor(Date.now() / 1000) > lastSecond);
    lastSecond = Math.floor(Date.now() / 1000);
  };

  it('prints every command whole, with --sandbox exactly when the sandbox is not at the default address', () => {
    const text = welcomeText(harness.baseUrl, sandbox.baseUrl);
    const commands = steps.flatMap((s) => s.commands);
    for (const c of commands) assert.ok(text.includes(`\n   ${commandLine(c)}`), commandLine(c));
    // The loopback addresses need no quoting: these lines are what a user copies.
    assert.match(text, new RegExp(`\n   npm run sandbox -- customers --sandbox ${sandbox.baseUrl}\n`));
    const c4c = commands.filter((c) => c.args[0] === 'customers' || c.args[0] === 'change');
    assert.equal(c4c.length, 2);
    for (const c of c4c) assert.deepEqual(c.args.slice(-2), ['--sandbox', sandbox.baseUrl]);
    const atDefault = demoSteps(harness.baseUrl, DEFAULT_SANDBOX_URL).flatMap((s) => s.commands);
    assert.ok(atDefault.every((c) => !c.args.includes('--sandbox')));
  });

  it('quotes an IPv6 address, which a shell would take for a glob', () => {
    const text = welcomeText('http://[::1]:18800', 'http://[::1]:18900');
    assert.ok(text.includes("\n   npm run sandbox -- customers --sandbox 'http://[::1]:18900'\n"));
    assert.ok(text.includes("--url 'http://[::1]:18800/wechat/follow' --event subscribe"));
  });

  it('runs the Q&A bot commands as printed', async () => {
    const [hours, address, subscribe, report] = step(/Q&A bot/);
    assert.match(await runPrinted(hours), /We are open Monday to Friday/);
    assert.match(await runPrinted(address), /上海市示例路 1 号/);
    assert.match(await runPrinted(subscribe), /Welcome! Send "hours"/);
    assert.match(await runPrinted(report), /no passive reply/);
    await waitFor('the late answer as a customer-service message', () =>
      sandbox.wechat.messages.some((m) => m.api === 'message/custom/send' && JSON.stringify(m.body).includes('Your monthly report is ready')),
    );
  });

  it('runs the C4C commands as printed, in order: follow, list, unfollow, follow again, change', async () => {
    const messagesToFollower = () => sandbox.wechat.messages.filter((m) => m.body.touser === DEMO_FOLLOWER_OPENID);
    const [subscribe, customers] = step(/^Follow the account/);
    const [unsubscribe, subscribeAgain] = step(/^Unfollow/);
    const [change] = step(/^Change that customer/);

    await nextSecond();
    assert.match(await runPrinted(subscribe), /Welcome! Your customer number is \d+\./);
    assert.match(await runPrinted(customers), new RegExp(`${DEMO_FOLLOWER_OPENID} +subscribed`));

    await nextSecond();
    assert.match(await runPrinted(unsubscribe), /no passive reply/);
    await waitFor('WechatStatus to become unsubscribed', () => sandbox.c4c.customers()[0]?.WechatStatus === 'unsubscribed');
    await sandbox.c4c.flush();

    const ownWrites = logs(harness.getNode('notify.author'));
    await nextSecond();
    assert.match(await runPrinted(subscribeAgain), /Welcome back!/);
    await waitFor('the change flow to pass over the follow flow\'s own write', () => ownWrites.length > 0);
    assert.deepEqual(messagesToFollower(), []);
    assert.equal(sandbox.c4c.customers().length, 1);

    assert.match(await runPrinted(change), /^changed customer \d+ .*"FirstName":"Anna"/);
    await waitFor('the WeChat message', () => messagesToFollower().length > 0);
    assert.deepEqual(
      messagesToFollower().map((m) => m.body.text),
      [{ content: 'Your account details were updated.' }],
    );
  });

  it('runs the TimeOff commands as printed: the request, the approver\'s decision in chat, the pushes; and the page', async () => {
    const [create, start, end, reason, submit] = step(/^TimeOff through SAP Mobile Services/);
    const [approverChat, pushes] = step(/^As the approver/);
    const { start: monday, end: wednesday } = nextWorkingWeek(new Date());
    assert.ok(start.args.includes(`start ${monday}`), start.args.join(' '));
    assert.match(await runPrinted(create), /draft/i);
    await runPrinted(start);
    await runPrinted(end);
    await runPrinted(reason);
    const submitted = await runPrinted(submit);
    const number = /(?:request|申请)\D*(\d+)/i.exec(submitted)?.[1];
    assert.ok(number, `the submit reply names the request number:\n${submitted}`);
    await waitFor('the approver\'s text card', () =>
      sandbox.mobileServices.deliveries.some((d) => d.delivered.includes(DEMO_MICRO_APP.approver) && JSON.stringify(d.body).includes('textcard')),
    );
    // The printed chat command, fed the line the title tells the approver to type.
    const typed = new PassThrough();
    typed.end(`approve ${number}\n`);
    assert.match(await runPrinted(approverChat, typed), /approved/i);
    await waitFor('the requester\'s text card', () =>
      sandbox.mobileServices.deliveries.some((d) => d.delivered.includes(DEMO_MICRO_APP.requester)),
    );
    assert.match(await runPrinted(pushes), /textcard/);
    const [page, rest] = steps.find((s) => /page/.test(s.title))?.links ?? [];
    assert.equal((await fetch(page)).status, 200);
    const listed = (await (await fetch(/'(.+)'/.exec(rest)![1])).json()) as { id: number; status: string }[];
    assert.equal(listed.find((r) => String(r.id) === number)?.status, 'approved');
    assert.ok(wednesday > monday);
  });

  it('runs the WF-DCN commands as printed: the trip request reaches both devices, status shows it, delete withdraws it, the failing one answers 500', async () => {
    const [post, status] = step(/^WF-DCN fan-out/);
    const [remove, failing] = step(/^Withdraw it/);
    for (const c of [post, status, remove, failing]) assert.deepEqual(c.args.slice(c.args.indexOf('--url'), c.args.indexOf('--url') + 2), ['--url', `${harness.baseUrl}/dcn/HttpAuthDCNServlet?cmd=wf&security=default&domain=default`]);
    const toReceiver = () => sandbox.wecom.messages.filter((m) => m.body.touser === DEMO_DCN.wecomUser);
    const pushed = () => sandbox.mobileServices.deliveries.filter((d) => d.delivered.includes(DEMO_DCN.mobileServicesUser));
    // The flow registers the devices at deploy (an inject), which the first command must not overtake.
    await devicesRegistered(harness.baseUrl);
    const printed = await runPrinted(post);
    assert.match(printed, /← 200 processed: the result records/);
    assert.match(printed, /"statusMessage": "2 messages for 2 devices of 1 receiver"/);
    await waitFor('the WeCom message and the push to SUPAdmin', () => toReceiver().length > 0 && pushed().length > 0);
    const shown = await runPrinted(status);
    assert.match(shown, /Trip rows of the template in the hub's cache \(5 of 5\)/);
    assert.match(shown, /SUPAdmin's devices \(default\): 2/);
    assert.match(shown, /WeCom message\/send +text +Trip request approval required/);
    assert.match(await runPrinted(remove), /retracted on 2 devices that had it/);
    await waitFor('the retractions', () => toReceiver().some((m) => JSON.stringify(m.body).includes('Withdrawn')) && pushed().some((d) => JSON.stringify(d.body).includes('Withdrawn')));
    const [wecomSent, pushesSent] = [toReceiver().length, pushed().length];
    const lines: string[] = [];
    assert.equal(await main(failing.args, (l) => lines.push(l), (l) => lines.push(l)), 1, 'a 500 is a failed command');
    assert.match(lines.join('\n'), /← 500 processing failed, nothing was committed: the log records[\s\S]*rolled back because message 3 failed/);
    assert.deepEqual([toReceiver().length, pushed().length], [wecomSent, pushesSent]);
  });
});
