/**
 * npm run smoke:nr5 (also the second half of npm run test:nr5): the packed package in a
 * real Node-RED 5 on Node.js 22, running every shipped flow against the sandbox.
 *
 * 1. `npm pack`, and the tarball installed into a fresh Node-RED 5 user directory
 *    (.out/nr5/userdir) by npm on Node.js 22, as a user installs it: npm resolves the
 *    dependencies afresh and builds the native SQLite driver for Node.js 22.
 * 2. Every flow in flows/ merged into one flow file, as npm start deploys them, with the
 *    demo's ${NAME} credentials and environment pointing at a sandbox started here.
 * 3. Node-RED 5 (scripts/node-red-5-toolchain.ts) started on Node.js 22 over that user
 *    directory; each flow's route must answer, then each flow's checks run through the
 *    sandbox, as WeChat, WeCom, C4C and Mobile Services would call and be called.
 *
 * The checks are keyed by flow file name (FLOW_CHECKS): a flow in flows/ without checks
 * fails the run, so a new shipped flow comes with its check. Exits 0 when every check passed.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEMO_C4C, DEMO_DCN, DEMO_MICRO_APP, demoEnvironment } from '../sandbox/demo-accounts';
import { TRIP_SUBJECT, defaultDcnUrl, devicesRegistered, postDcn, tripRequest } from '../sandbox/dcn-requests';
import { Sandbox, startSandbox } from '../sandbox/index';
import { microAppCallbackUrl } from '../sandbox/mobile-services/index';
import { DeliveryResult, MessageSpec, randomOpenId, WeChatClientSimulator } from '../sandbox/wechat-client';
import { demoUserDirSpec, FlowNode, mergeFlows, packageRoot, prepareUserDir, spawnNodeRed, stopChild, waitForHttp } from './node-red-userdir';
import { ensureToolchain, node22, npmOnNode22, packageVersion, redPackage, scratch } from './node-red-5-toolchain';
import { packPackage } from './packed-package';

const host = '127.0.0.1';
const userDir = join(scratch, 'userdir');
const installedPackage = join(userDir, 'node_modules', '@wxbridge', 'node-red-wechat-sap');
const STARTUP_TIMEOUT_MS = 60_000;
/** How long a check waits for something the flows do after answering (a push, a message). */
const AFTERWARDS_TIMEOUT_MS = 10_000;
/** How many lines of Node-RED's log are shown when a check fails. */
const LOG_TAIL = 60;

interface CheckContext {
  /** Node-RED's address. */
  base: string;
  sandbox: Sandbox;
}

interface Check {
  name: string;
  /** Resolves with what was seen, for the PASS line; throws (an assertion) when the flow misbehaves. */
  run(context: CheckContext): Promise<string>;
}

interface FlowChecks {
  /** A route of the flow that answers other than 404 once the flow runs; `method` for a route without GET. */
  route: { path: string; method?: string };
  /** Points the sandbox at the flow, as the platform would be set up for it. */
  setup?(context: CheckContext): void;
  checks: Check[];
}

// ---- what the checks share ------------------------------------------------------------

function outcome(result: DeliveryResult): string {
  const { reply } = result;
  if (reply.kind === 'reply') return `HTTP ${result.status}, ${reply.encrypted ? 'encrypted ' : ''}${reply.msgType} ${JSON.stringify(reply.text)}`;
  return `HTTP ${result.status}, ${reply.kind}${'reason' in reply ? `: ${reply.reason}` : ''}`;
}

/** The text of a passive reply that passed WeChat's checks, encrypted when the message was. */
function replyText(result: DeliveryResult): string {
  const { reply } = result;
  assert.ok(reply.kind === 'reply' && reply.text !== undefined, `expected a text reply, got ${outcome(result)}`);
  assert.equal(reply.encrypted, result.delivery.encrypted, `the reply must be ${result.delivery.encrypted ? '' : 'un'}encrypted like the message`);
  return reply.text;
}

async function eventually<T>(what: string, find: () => T | undefined): Promise<T> {
  const deadline = Date.now() + AFTERWARDS_TIMEOUT_MS;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${AFTERWARDS_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function qaCheck(name: string, client: WeChatClientSimulator, path: string, message: MessageSpec, expected: string): Check {
  return {
    name,
    run: async ({ base }) => {
      const result = await client.deliver(base + path, message);
      assert.equal(replyText(result), expected, outcome(result));
      return outcome(result);
    },
  };
}

/** What a WeCom user of the Micro App sees in the chat: WeCom → Mobile Services stand-in → the flow, and the sealed reply back. */
async function microAppChat({ sandbox }: CheckContext, user: string, text: string): Promise<string> {
  const result = await WeChatClientSimulator.demo('microapp', { user }).deliver(microAppCallbackUrl(sandbox.baseUrl), { content: text });
  return replyText(result);
}

interface TextCard {
  title: string;
  description: string;
}

function textCardTo(sandbox: Sandbox, user: string, title: string): TextCard | undefined {
  return sandbox.mobileServices.deliveries
    .filter((d) => d.target === 'microApp' && (d.body.users as string[]).includes(user))
    .map((d) => (d.body.notification as { wechat: { textcard: TextCard } }).wechat.textcard)
    .find((card) => card.title === title);
}

// ---- the checks, by shipped flow ------------------------------------------------------

const FLOW_CHECKS: Record<string, FlowChecks> = {
  'qa-bot.json': {
    route: { path: '/wechat/official' },
    checks: [
      // The shipped account has an EncodingAESKey, so it takes only encrypted callbacks.
      qaCheck(
        'Q&A bot: Official Account, compatible-mode text "hours"',
        WeChatClientSimulator.demo('official', { mode: 'compatible' }),
        '/wechat/official',
        { type: 'text', content: 'hours' },
        'We are open Monday to Friday, 9:00-18:00. 营业时间：周一至周五 9:00-18:00。',
      ),
      qaCheck('Q&A bot: WeCom, encrypted text "地址"', WeChatClientSimulator.demo('wecom'), '/wechat/wecom', { type: 'text', content: '地址' }, 'No. 1 Example Road, Shanghai. 地址：上海市示例路 1 号。'),
    ],
  },

  'follow-creates-customer.json': {
    route: { path: '/wechat/follow' },
    checks: [
      {
        name: 'follow → C4C customer: a new follower becomes a customer and is welcomed with its number',
        run: async ({ base, sandbox }) => {
          const openId = randomOpenId();
          const result = await WeChatClientSimulator.demo('official', { user: openId }).deliver(`${base}/wechat/follow`, { event: 'subscribe' });
          const number = /^Welcome! Your customer number is (\d+)\.$/.exec(replyText(result))?.[1];
          assert.ok(number, `expected the welcome with a customer number, got ${outcome(result)}`);
          const created = sandbox.c4c.customers().filter((c) => c.WechatID === openId);
          assert.equal(created.length, 1, 'one C4C customer carries the OpenID');
          assert.equal(created[0].CustomerID, number, "the welcome names the customer's number");
          assert.equal(created[0].WechatStatus, 'subscribed');
          return `${outcome(result)}; C4C customer ${number} has WechatID ${openId}`;
        },
      },
    ],
  },

  'customer-changed-notifies-wechat.json': {
    // POST only, and the unauthenticated probe is refused (401) once the route is there.
    route: { path: '/c4c/notify', method: 'POST' },
    setup: ({ base, sandbox }) => sandbox.c4c.setConsumer({ url: `${base}/c4c/notify`, user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword }),
    checks: [
      {
        name: "customer changed → WeChat: a person's change in C4C reaches the follower as a customer-service text",
        run: async ({ sandbox }) => {
          const openId = randomOpenId();
          const { ObjectID } = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Chen', RoleCode: 'CRM000', WechatID: openId, WechatStatus: 'subscribed' });
          sandbox.c4c.changeCustomer(String(ObjectID), { Phone: '+86 21 5555 0101' });
          await sandbox.c4c.flush();
          const delivery = sandbox.c4c.deliveries[sandbox.c4c.deliveries.length - 1];
          assert.equal(delivery?.status, 202, `C4C's notification was answered ${JSON.stringify(delivery)}`);
          const message = await eventually('the WeChat message to the follower', () => sandbox.wechat.messages.find((m) => m.body.touser === openId));
          assert.equal(message.api, 'message/custom/send');
          assert.deepEqual(message.body, { touser: openId, msgtype: 'text', text: { content: 'Your account details were updated.' } });
          return `notification answered 202; ${message.api} → ${openId}: "Your account details were updated."`;
        },
      },
    ],
  },

  'timeoff.json': {
    route: { path: '/timeoff/welcome' },
    // Mobile Services forwards the Micro App's messages to the flow's handler (its destination "chat").
    setup: ({ base, sandbox }) =>
      sandbox.mobileServices.setMessageHandler({
        url: base + DEMO_MICRO_APP.handlerPath,
        auth: { kind: 'basic', user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword },
      }),
    checks: [
      {
        name: 'TimeOff through the Mobile Services forwarder: a request chatted, submitted, approved, stored',
        run: async (context) => {
          const { requester, approver } = DEMO_MICRO_APP;
          const created = await microAppChat(context, requester, 'create');
          const id = Number(/^Draft (\d+) created\./.exec(created)?.[1]);
          assert.ok(id > 0, `expected a new draft, got ${JSON.stringify(created)}`);
          await microAppChat(context, requester, 'start 2024-05-06');
          await microAppChat(context, requester, 'end 2024-05-08');
          assert.match(await microAppChat(context, requester, 'reason Family visit'), /Working days: 3\nReason: Family visit/);
          assert.equal(await microAppChat(context, requester, 'submit'), `Request ${id} submitted: ${approver} is asked to approve it.`);
          await eventually(`the text card to ${approver}`, () => textCardTo(context.sandbox, approver, `Leave request ${id} from ${requester}`));

          assert.equal(await microAppChat(context, approver, `approve ${id}`), `You approved request ${id} of ${requester}; they are told.`);
          await eventually(`the result card to ${requester}`, () => textCardTo(context.sandbox, requester, `Leave request ${id} approved`));
          const stored = (await (await fetch(`${context.base}/timeoff/leaverequest?id=${id}`)).json()) as { status: string; days: number; decidedBy: string };
          assert.deepEqual({ status: stored.status, days: stored.days, decidedBy: stored.decidedBy }, { status: 'approved', days: 3, decidedBy: approver });
          return `draft ${id} → submitted (card to ${approver}) → approved (card to ${requester}); stored as approved, 3 working days`;
        },
      },
    ],
  },
  'wf-dcn-fan-out.json': {
    route: { path: '/dcn/HttpAuthDCNServlet' },
    checks: [
      {
        name: 'WF-DCN fan-out: a trip request for SUPAdmin reaches the WeCom and the Mobile Services device',
        run: async ({ base, sandbox }) => {
          const id = `NR5-${Date.now()}`;
          const url = defaultDcnUrl(base);
          const receiver = DEMO_DCN.receiver;
          await devicesRegistered(base, 2, AFTERWARDS_TIMEOUT_MS);
          const answer = await postDcn(url, tripRequest('trip', { id }));
          assert.equal(answer.status, 200, answer.text);
          await eventually(`the WeCom message to ${receiver}`, () =>
            sandbox.wecom.messages.find((m) => m.body.touser === DEMO_DCN.wecomUser && JSON.stringify(m.body).includes(TRIP_SUBJECT)),
          );
          await eventually(`the Mobile Services push to ${receiver}`, () =>
            sandbox.mobileServices.deliveries.find((d) => d.delivered.includes(DEMO_DCN.mobileServicesUser) && JSON.stringify(d.body).includes(TRIP_SUBJECT)),
          );
          return `${id}: 200 ${answer.text.slice(0, 80)}…; delivered to WeCom and Mobile Services`;
        },
      },
    ],
  },
};

// ---- the run --------------------------------------------------------------------------

function shippedFlowFiles(): string[] {
  return readdirSync(join(packageRoot, 'flows'))
    .filter((file) => file.endsWith('.json'))
    .sort();
}

/** Every shipped flow must have checks, and every check a shipped flow: the names of what is missing. */
function unmatched(files: string[]): string[] {
  const missing = files.filter((file) => !(file in FLOW_CHECKS)).map((file) => `flows/${file} has no check: add one to FLOW_CHECKS in scripts/node-red-5-smoke.ts`);
  const stale = Object.keys(FLOW_CHECKS)
    .filter((file) => !files.includes(file))
    .map((file) => `FLOW_CHECKS has checks for flows/${file}, which is not shipped`);
  return [...missing, ...stale];
}

/** A fresh user directory with the packed package installed by npm on Node.js 22. */
function installPackedPackage(): void {
  rmSync(userDir, { recursive: true, force: true });
  const tarball = packPackage(join(scratch, 'pack'));
  mkdirSync(userDir, { recursive: true });
  writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }, null, 2) + '\n');
  console.log(`Installing ${tarball} into ${userDir} with npm on Node.js 22…`);
  npmOnNode22(['install', tarball], userDir);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface NodeRedLog {
  /** The last lines, to show when a check fails. */
  tail: string[];
  /** Every line logged at level error: a node that fails to start or a flow that fails logs one. */
  errors: string[];
}

function captureLog(child: ChildProcess): NodeRedLog {
  const log: NodeRedLog = { tail: [], errors: [] };
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      log.tail.push(line);
      if (log.tail.length > LOG_TAIL) log.tail.shift();
      if (line.includes('[error]')) log.errors.push(line);
    });
  }
  return log;
}

function startNodeRed(flows: FlowNode[], port: number, sandbox: Sandbox): ChildProcess {
  const settingsFile = prepareUserDir({ ...demoUserDirSpec(userDir, flows, host, port), packageSource: 'installed' });
  return spawnNodeRed({
    nodeBinary: node22,
    redJs: join(redPackage, 'red.js'),
    userDir,
    settingsFile,
    env: { ...process.env, ...demoEnvironment(sandbox.baseUrl) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The version of better-sqlite3 that npm installed with the package (and built for Node.js 22). */
function installedDriverVersion(): string {
  const driver = join(userDir, 'node_modules', 'better-sqlite3');
  return packageVersion(driver);
}

async function runChecks(files: string[], context: CheckContext): Promise<boolean> {
  let passed = true;
  for (const file of files) {
    for (const check of FLOW_CHECKS[file].checks) {
      try {
        const seen = await check.run(context);
        console.log(`PASS  ${file}: ${check.name}\n      ${seen}`);
      } catch (err) {
        passed = false;
        console.log(`FAIL  ${file}: ${check.name}\n      ${(err as Error).message}`);
      }
    }
  }
  return passed;
}

async function main(): Promise<number> {
  const files = shippedFlowFiles();
  const problems = unmatched(files);
  if (problems.length) {
    for (const problem of problems) console.log(`FAIL  ${problem}`);
    return 1;
  }
  ensureToolchain();
  installPackedPackage();
  const nodeVersion = execFileSync(node22, ['--version'], { encoding: 'utf8' }).trim();
  console.log(
    `Node-RED ${packageVersion(redPackage)} on Node.js ${nodeVersion}; @wxbridge/node-red-wechat-sap ${packageVersion(installedPackage)} installed from the packed package, with better-sqlite3 ${installedDriverVersion()}; flows: ${files.join(', ')}`,
  );

  const sandbox = await startSandbox({ host });
  const port = await freePort();
  const flows = mergeFlows(files.map((file) => JSON.parse(readFileSync(join(packageRoot, 'flows', file), 'utf8')) as FlowNode[]));
  const child = startNodeRed(flows, port, sandbox);
  const log = captureLog(child);
  const context: CheckContext = { base: `http://${host}:${port}`, sandbox };
  let passed = false;
  try {
    for (const file of files) {
      const { route } = FLOW_CHECKS[file];
      await waitForHttp(context.base + route.path, STARTUP_TIMEOUT_MS, child, route.method);
    }
    console.log(`Every flow's route answers (${files.map((file) => FLOW_CHECKS[file].route.path).join(', ')})`);
    for (const file of files) FLOW_CHECKS[file].setup?.(context);
    passed = await runChecks(files, context);
    if (log.errors.length) {
      passed = false;
      console.log(`FAIL  Node-RED logged ${log.errors.length} error(s):\n${log.errors.map((line) => `      ${line}`).join('\n')}`);
    }
  } catch (err) {
    console.log(`FAIL  ${(err as Error).message}`);
  } finally {
    await stopChild(child);
    await sandbox.close();
  }
  if (!passed) console.log(`\nNode-RED's last log lines:\n${log.tail.join('\n')}`);
  console.log(passed ? '\nNode-RED 5 smoke check passed: every shipped flow answered.' : '\nNode-RED 5 smoke check FAILED.');
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
