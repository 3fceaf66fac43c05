import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { Server, createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { readBody, sendText } from '../../lib/http/body';
import { CallbackEndpoint } from '../../lib/wechat/callback';
import { normalizeReply, replyXml } from '../../lib/wechat/replies';
import { main } from '../../sandbox/cli';
import { DEMO_C4C, DEMO_MICRO_APP, DEMO_MOBILE_SERVICES, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import { Sandbox, startSandbox } from '../../sandbox/index';
import { microAppCallbackUrl } from '../../sandbox/mobile-services/index';
import { waitFor } from '../support/flow-watch';
import { NodeRedHarness } from '../support/node-red-harness';
import { withSandbox } from '../support/sandbox';
import { TinyMessageHandler, textReply } from './mobile-services/message-handler';

/** What one CLI run printed: results (stdout) and failures (stderr) apart. */
class Console {
  out: string[] = [];
  err: string[] = [];
  readonly print = (line: string) => this.out.push(...line.split('\n'));
  readonly report = (line: string) => this.err.push(...line.split('\n'));
  run(args: string[]): Promise<number> {
    return this.runWith(args, process.stdin);
  }
  /** A run whose standard input is `input` (chat reads it). */
  runWith(args: string[], input: NodeJS.ReadableStream): Promise<number> {
    this.out = [];
    this.err = [];
    return main(args, this.print, this.report, input);
  }
}

/** The arguments of a command the CLI printed, e.g. "npm run sandbox -- change X --set A=B". */
function argsOf(printed: string): string[] {
  const command = /npm run sandbox -- (.*)$/.exec(printed)?.[1];
  assert.ok(command, `"${printed}" names a CLI command`);
  assert.doesNotMatch(command, /["'\\]/, 'the printed command needs no shell quoting to split');
  return command.split(' ');
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('sandbox CLI: C4C commands', () => {
  let sandbox: Sandbox;
  const cli = new Console();

  beforeEach(async () => {
    sandbox = await startSandbox();
  });
  afterEach(() => sandbox.close());

  it('lists customers under a header row, with their WeChat follower and status', async () => {
    const follower = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000', WechatID: 'oOpenId1', WechatStatus: 'subscribed' }, undefined, false);
    const other = sandbox.c4c.createCustomer({ LastName: 'Li', RoleCode: 'CRM000' }, undefined, false);

    assert.equal(await cli.run(['customers', '--sandbox', sandbox.baseUrl]), 0);
    const [header, first, second] = cli.out;
    assert.match(header, /^ObjectID +CustomerID +Name +WechatID +WechatStatus$/);
    assert.match(first, new RegExp(`^${String(follower.ObjectID)} +${String(follower.CustomerID)} +Mei Wang +oOpenId1 +subscribed$`));
    assert.match(second, new RegExp(`^${String(other.ObjectID)} +${String(other.CustomerID)} +Li +— +—$`));
    // Columns line up: each value starts where its header does.
    assert.equal(first.indexOf('oOpenId1'), header.indexOf('WechatID'));
    assert.equal(second.lastIndexOf('—'), header.indexOf('WechatStatus'));
    assert.deepEqual(cli.err, []);
  });

  it('prints a change command that works exactly as printed against this sandbox', async () => {
    const customer = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000' }, undefined, false);
    assert.equal(await cli.run(['customers', '--sandbox', sandbox.baseUrl]), 0);
    const hint = cli.out[cli.out.length - 1];
    assert.match(hint, new RegExp(`change ${String(customer.ObjectID)} .*--sandbox ${sandbox.baseUrl}$`));

    assert.equal(await cli.run(argsOf(hint)), 0, cli.err.join('\n'));
    assert.equal(sandbox.c4c.getCustomer(String(customer.ObjectID))?.FirstName, 'Anna');
  });

  it('says when there are no customers yet, without a command that would need completing', async () => {
    assert.equal(await cli.run(['customers', '--sandbox', sandbox.baseUrl]), 0);
    assert.equal(cli.out.length, 1);
    assert.match(cli.out[0], /^no customers yet: follow the account first/);
  });

  it('changes a customer named by its ObjectID, CustomerID or WechatID, as a person in C4C would', async () => {
    const customer = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000', WechatID: 'oOpenId2' }, undefined, false);
    const id = String(customer.ObjectID);
    for (const [ref, name] of [
      [id, 'Anna'],
      [String(customer.CustomerID), 'Bo'],
      ['oOpenId2', 'Chen'],
    ]) {
      assert.equal(await cli.run(['change', ref, '--set', `FirstName=${name}`, '--sandbox', sandbox.baseUrl]), 0, cli.err.join('\n'));
      assert.equal(sandbox.c4c.getCustomer(id)?.FirstName, name);
      assert.deepEqual(cli.out, [`changed customer ${String(customer.CustomerID)} (ObjectID ${id}): {"FirstName":"${name}"}; C4C now notifies its consumer`]);
    }
    assert.equal(sandbox.c4c.getCustomer(id)?.ChangedBy, DEMO_C4C.salesRepName);
  });

  it('refuses a change without fields or with a malformed one as a usage error', async () => {
    assert.equal(await cli.run(['change', 'X1', '--sandbox', sandbox.baseUrl]), 2);
    assert.match(cli.err[0], /at least one --set/);
    assert.ok(cli.err.some((l) => l.startsWith('Usage: npm run sandbox')));
    assert.equal(await cli.run(['change', 'X1', '--set', 'novalue', '--sandbox', sandbox.baseUrl]), 2);
    assert.match(cli.err[0], /--set takes Field=Value/);
  });

  it('reports an unknown customer in one line, without the usage text', async () => {
    assert.equal(await cli.run(['change', 'NOPE', '--set', 'FirstName=A', '--sandbox', sandbox.baseUrl]), 1);
    assert.deepEqual(cli.err, [`the sandbox at ${sandbox.baseUrl} has no customer with the ObjectID, CustomerID or WechatID "NOPE" (the customers command lists them)`]);
    assert.deepEqual(cli.out, []);
  });

  it("reports what the stand-in refused, in its own words, in one line", async () => {
    const customer = sandbox.c4c.createCustomer({ LastName: 'Wang', RoleCode: 'CRM000' }, undefined, false);
    assert.equal(await cli.run(['change', String(customer.ObjectID), '--set', 'Shoe=42', '--sandbox', sandbox.baseUrl]), 1);
    assert.deepEqual(cli.err, [`the sandbox at ${sandbox.baseUrl} answered 400: Property Shoe is invalid or not updatable`]);
  });
});

describe('sandbox CLI: failures and usage errors', () => {
  const cli = new Console();
  // A Node-RED HTTP root with no routes: its answers are Node-RED's own HTML error pages.
  const nodeRed = new NodeRedHarness();
  before(() => nodeRed.load([() => undefined], []));
  after(() => nodeRed.stop());

  it('reports a sandbox nobody listens on in one line naming its address', async () => {
    const address = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['customers'], ['change', 'X1', '--set', 'FirstName=A']]) {
      assert.equal(await cli.run([...args, '--sandbox', address]), 1);
      assert.equal(cli.err.length, 1, cli.err.join('\n'));
      assert.match(cli.err[0], new RegExp(`^could not reach the sandbox at ${address} \\(connect ECONNREFUSED .*\\): is npm start running\\? Give its address with --sandbox <url>$`));
    }
  });

  it('summarises an HTML error page from something that is not the sandbox', async () => {
    assert.equal(await cli.run(['customers', '--sandbox', nodeRed.baseUrl]), 1);
    assert.deepEqual(cli.err, [`${nodeRed.baseUrl} is not the sandbox: it answered 404: Cannot GET /c4c/_sandbox/customers`]);
  });

  it('summarises a webhook HTML error page in the send result and fails with 1', async () => {
    assert.equal(await cli.run(['send', '--url', `${nodeRed.baseUrl}/wechat/nothing`, '--text', 'hi']), 1);
    assert.equal(cli.out[cli.out.length - 1], '← 404 refused by the endpoint: HTTP 404: Cannot POST /wechat/nothing');
    assert.ok(cli.out.every((l) => !/<\w+/.test(l)), cli.out.join('\n'));
  });

  it('answers usage errors with the message and the usage text, exit 2', async () => {
    for (const [args, message] of [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [[], 'which command?'],
      [['send', '--text', 'opening', 'hours'], 'unexpected argument "hours" (quote a value that has spaces)'],
      [['customers', '--sandbox', 'localhost:1890'], '--sandbox must be an http or https URL, not "localhost:1890"'],
      [['send', '--url', 'not a url'], '--url must be a URL such as http://127.0.0.1:1880/wechat/official, not "not a url"'],
      [['send', '--event', 'nonsense'], '--event must be one of subscribe, unsubscribe, SCAN, LOCATION, CLICK, VIEW for official'],
      [['send', '--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      assert.equal(await cli.run([...args]), 2, args.join(' '));
      assert.ok(cli.err[0].startsWith(message), `${cli.err[0]} starts with ${message}`);
      assert.ok(cli.err.includes('Usage: npm run sandbox -- <command> [options]'));
      assert.deepEqual(cli.out, []);
    }
  });

  it('prints the usage text on --help, exit 0', async () => {
    assert.equal(await cli.run(['--help']), 0);
    assert.equal(cli.out[0], 'Usage: npm run sandbox -- <command> [options]');
    assert.deepEqual(cli.err, []);
  });
});

describe('sandbox CLI: the Micro App, pushes and chat', () => {
  let sandbox: Sandbox;
  const cli = new Console();
  const handler = new TinyMessageHandler();
  let handlerUrl: string;
  const { requester, approver } = DEMO_MICRO_APP;
  withSandbox((started) => (sandbox = started));
  before(async () => {
    handlerUrl = await handler.start();
  });
  after(() => handler.stop());
  beforeEach(() => {
    handler.clear();
    sandbox.mobileServices.setMessageHandler({ url: handlerUrl, auth: { kind: 'basic', user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword } });
  });

  /** A Micro App push through the stand-in's push API, as the TimeOff flow sends one. */
  async function push(users: string[], wechat: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${sandbox.baseUrl}/mobile-services/mobileservices/push/v2/backend/applications/${DEMO_MOBILE_SERVICES.appId}/notifications/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-API-Key': DEMO_MOBILE_SERVICES.apiKey },
      body: JSON.stringify({ users, notification: { wechat: { createtime: new Date().toISOString(), ...wechat } } }),
    });
    assert.equal(res.status, 201, await res.text());
  }
  const text = (content: string) => ({ msgtype: 'text', text: { content } });

  it('send --account microapp goes to the Message Handler URL of the --sandbox given, from the requester', async () => {
    assert.equal(await cli.run(['send', '--account', 'microapp', '--text', 'create', '--sandbox', sandbox.baseUrl]), 0, cli.err.join('\n'));
    assert.deepEqual(cli.out.slice(0, 1), [`→ POST ${microAppCallbackUrl(sandbox.baseUrl)}  (microapp, encrypted)`]);
    assert.match(cli.out[1], new RegExp(`^  text "create" from ${requester} to ${DEMO_MICRO_APP.corpId}, MsgId \\d+$`));
    assert.deepEqual(cli.out.slice(2), ['← 200 text reply (encrypted, signature and receiver id verified):', '  pong: create']);
    assert.deepEqual([handler.received[0].fields.FromUserName, handler.received[0].fields.AgentID], [requester, DEMO_MICRO_APP.agentId]);

    assert.equal(await cli.run(['send', '--account', 'microapp', '--from', approver, '--sandbox', sandbox.baseUrl]), 0);
    assert.equal(handler.received[1].fields.FromUserName, approver);
  });

  it('verify --account microapp performs WeCom URL verification against the stand-in', async () => {
    assert.equal(await cli.run(['verify', '--account', 'microapp', '--sandbox', sandbox.baseUrl]), 0);
    assert.equal(cli.out[0], `→ GET ${microAppCallbackUrl(sandbox.baseUrl)}  (microapp URL verification)`);
    assert.match(cli.out[1], /^← 200 verified: the endpoint answered "\d+"$/);
  });

  it('pushes lists the deliveries under a header row: time, target, who it reached, msgtype, title or text', async () => {
    assert.equal(await cli.run(['pushes', '--sandbox', sandbox.baseUrl]), 0);
    assert.deepEqual(cli.out, ['no pushes yet']);

    await push([approver], { msgtype: 'textcard', textcard: { title: 'Leave request', description: '<div class="gray">P000001</div> 3 days', url: 'https://x' } });
    await push([requester], text('Your leave request was approved'));
    assert.equal(await cli.run(['pushes', '--sandbox', sandbox.baseUrl]), 0);
    const [header, card, approved] = cli.out;
    assert.match(header, /^Time +Target +Reached +Msgtype +Title \/ text$/);
    assert.match(card, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} +microApp +P000002 +textcard +Leave request — P000001 3 days$/);
    assert.match(approved, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} +microApp +P000001 +text +Your leave request was approved$/);
    assert.equal(card.indexOf('textcard'), header.indexOf('Msgtype'));

    assert.equal(await cli.run(['pushes', '--user', requester, '--sandbox', sandbox.baseUrl]), 0);
    assert.equal(cli.out.length, 2);
    assert.match(cli.out[1], /Your leave request was approved$/);
    assert.equal(await cli.run(['pushes', '--user', 'P000009', '--sandbox', sandbox.baseUrl]), 0);
    assert.deepEqual(cli.out, ['no pushes have reached P000009 yet']);
    assert.equal(await cli.run(['pushes', '--json', '--sandbox', sandbox.baseUrl]), 0);
    assert.deepEqual((JSON.parse(cli.out.join('\n')) as { delivered: string[] }[]).map((p) => p.delivered), [[approver], [requester]]);
  });

  it('chat sends each line, prints the reply, then the pushes that reach the sender as they arrive; /quit ends', async () => {
    handler.respond = async (request) => {
      if (request.fields.Content === 'submit') await push([requester], text('Submitted to P000002'));
      if (request.fields.Content === 'fail') return { status: 500, body: 'Internal Server Error' };
      return { status: 200, body: textReply(request, `pong: ${String(request.fields.Content)}`) };
    };
    await push([requester], text('from before the chat'));
    const input = new PassThrough();
    const done = cli.runWith(['chat', '--interval', '20', '--sandbox', sandbox.baseUrl], input);

    input.write('create\n\n');
    input.write('submit\n');
    await waitFor('the submit reply and its push', () => cli.out.some((l) => l.includes('Submitted')));
    await push([approver], text('for someone else'));
    await push([requester], text('Approved'));
    await waitFor('the push that came later', () => cli.out.some((l) => l.includes('Approved')));
    input.write('fail\n');
    await waitFor('the note on the failed exchange', () => cli.out.some((l) => l.includes('HTTP 500')));
    input.write('/quit\n');
    assert.equal(await done, 0, cli.err.join('\n'));

    assert.deepEqual(cli.out, [
      `chatting as ${requester} (microapp) with ${microAppCallbackUrl(sandbox.baseUrl)}`,
      `type a message and press Enter; Mobile Services pushes reaching ${requester} are shown as they arrive; /quit ends`,
      '← 200 text reply (encrypted, signature and receiver id verified):',
      '  pong: create',
      '← 200 text reply (encrypted, signature and receiver id verified):',
      '  pong: submit',
      '⇐ Mobile Services push (microApp) text: Submitted to P000002',
      '⇐ Mobile Services push (microApp) text: Approved',
      '← 200 no passive reply (empty body)',
      `  (the Mobile Services stand-in got no reply from the message handler ${handlerUrl}: HTTP 500: Internal Server Error)`,
    ]);
    assert.deepEqual(
      handler.received.map((r) => r.fields.Content),
      ['create', 'submit', 'fail'],
    );
  });

  it('chat reads piped stdin to its end, then exits', async () => {
    const cliJs = require.resolve('../../sandbox/cli');
    const child = spawn(process.execPath, [cliJs, 'chat', '--sandbox', sandbox.baseUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stdin.end('create\nsubmit\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stdout);
    assert.deepEqual(
      stdout.split('\n').filter((l) => l.startsWith('  pong')),
      ['  pong: create', '  pong: submit'],
    );
  });

  it('chat --account wecom prints the WeCom app messages that reach the sender', async () => {
    const webhook = new WeComWebhook();
    const url = await webhook.start();
    try {
      const input = new PassThrough();
      const done = cli.runWith(['chat', '--account', 'wecom', '--from', 'zhangsan', '--url', url, '--interval', '20', '--sandbox', sandbox.baseUrl], input);
      input.write('hello\n');
      await waitFor('the reply', () => cli.out.includes('  echo: hello'));
      await sendWeComMessage(sandbox.baseUrl, 'zhangsan', 'Your order shipped');
      await waitFor('the app message', () => cli.out.some((l) => l.startsWith('⇐')));
      input.end();
      assert.equal(await done, 0);
      assert.equal(cli.out[1], 'type a message and press Enter; WeCom API messages reaching zhangsan are shown as they arrive; /quit ends');
      assert.equal(cli.out[cli.out.length - 1], '⇐ message/send text: Your order shipped');
    } finally {
      await webhook.stop();
    }
  });

  it('chat fails in one line when the sandbox cannot be reached, and refuses send-only options', async () => {
    const address = `http://127.0.0.1:${await closedPort()}`;
    assert.equal(await cli.runWith(['chat', '--sandbox', address], new PassThrough()), 1);
    assert.equal(cli.err.length, 1);
    assert.match(cli.err[0], new RegExp(`^could not reach the sandbox at ${address} `));
    assert.equal(await cli.runWith(['chat', '--text', 'hi'], new PassThrough()), 2);
    assert.match(cli.err[0], /^chat sends the lines you type as text messages/);
    assert.equal(await cli.runWith(['chat', '--account', 'dingtalk'], new PassThrough()), 2);
    assert.equal(cli.err[0], '--account must be official, wecom or microapp');
  });
});

/** The demo WeCom app's callback URL, answering "echo: <text>" with lib/wechat's own endpoint. */
class WeComWebhook {
  private server: Server | null = null;
  private readonly endpoint = new CallbackEndpoint({ kind: 'wecom', appId: DEMO_WECOM_APP.corpId, token: DEMO_WECOM_APP.token, encodingAESKey: DEMO_WECOM_APP.encodingAESKey }, { replayWindowSeconds: 300 });

  async start(): Promise<string> {
    const server = createHttpServer((req, res) => {
      void readBody(req, 64 * 1024).then((body) => {
        const inbound = this.endpoint.open(Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams), body.toString('utf8'));
        const reply = replyXml(normalizeReply(`echo: ${String(inbound.fields.Content)}`, 'wecom'), String(inbound.fields.FromUserName), String(inbound.fields.ToUserName));
        sendText(res, 200, this.endpoint.seal(reply, true), 'text/xml');
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat/wecom`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** An app message to `user` through the WeCom API stand-in, as wechat-send sends one. */
async function sendWeComMessage(baseUrl: string, user: string, content: string): Promise<void> {
  const token = (await (await fetch(`${baseUrl}/wecom/cgi-bin/gettoken?corpid=${DEMO_WECOM_APP.corpId}&corpsecret=${DEMO_WECOM_APP.corpSecret}`)).json()) as { access_token: string };
  const res = await fetch(`${baseUrl}/wecom/cgi-bin/message/send?access_token=${token.access_token}`, {
    method: 'POST',
    body: JSON.stringify({ touser: user, agentid: DEMO_WECOM_APP.agentId, msgtype: 'text', text: { content } }),
  });
  assert.equal(((await res.json()) as { errcode: number }).errcode, 0);
}
