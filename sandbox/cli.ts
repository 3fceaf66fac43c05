/**
 * npm run sandbox -- <command>: plays WeChat / WeCom towards a webhook from the shell,
 * and a person in C4C towards the sandbox's C4C stand-in.
 *
 *   send       builds, signs and encrypts a message, posts it and prints the checked reply
 *   verify     performs the URL verification GET
 *   chat       sends each line typed as a text message, prints the replies and what else reaches the user
 *   pushes     lists the Mobile Services stand-in's push deliveries
 *   customers  lists the C4C stand-in's customers
 *   change     changes one of them, which C4C notifies to its consumer
 *   dcn        posts WF-DCN requests to the hub as a back end does, and shows what they did
 *
 * Defaults are the sandbox demo accounts and npm start's default addresses, so against
 * `npm start` no option is needed beyond what to send. Exit codes: 0 done, 1 the command
 * ran but failed (an endpoint refused, the sandbox could not be reached), 2 a usage error.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { basicHeader } from '../lib/http/basic-auth';
import { summariseBody } from './body-summary';
import { DEMO_DCN, DEMO_FOLLOWER_OPENID, DEMO_MICRO_APP } from './demo-accounts';
import { DEFAULT_NODE_RED_URL, DEFAULT_SANDBOX_URL, sandboxArgument } from './demo-addresses';
import {
  DCN_STATUS,
  DCN_TEMPLATES,
  DEMO_DCN_LOGIN,
  DcnAnswer,
  DcnLogin,
  DcnTemplate,
  TRIP_MBO,
  TRIP_SUBJECT,
  WfDcnRequestJson,
  adminBaseFor,
  dcnRequest,
  defaultDcnUrl,
  postDcn,
  templateTrips,
} from './dcn-requests';
import { Customer, CUSTOMER_COLUMNS, cellText, findCustomer } from './c4c-customers';
import { DeliveryText, messageText, pushText } from './delivery-text';
import { demoWebhookUrl, followWebhookUrl } from './demo-webhooks';
import { replySummary } from './reply-text';
import type { MicroAppExchange, PushDelivery, SandboxDeliveries } from './mobile-services/index';
import { RecordedMessage, isObject } from './platform-api';
import {
  DEMO_ACCOUNTS,
  DemoAccount,
  DeliveryResult,
  MessageSpec,
  OFFICIAL_EVENTS,
  OFFICIAL_MESSAGE_TYPES,
  OfficialEvent,
  OfficialMessageType,
  OfficialMode,
  PreparedDelivery,
  WECOM_EVENTS,
  WECOM_MESSAGE_TYPES,
  WeChatClientSimulator,
  WeComEvent,
  WeComMessageType,
} from './wechat-client';

type Kind = 'official' | 'wecom';
type Print = (line: string) => void;

/** Where each account's callbacks go by default: Node-RED for the two, the Mobile Services stand-in for the Micro App. */
const DEFAULT_URLS: Record<DemoAccount, (sandbox: string) => string> = {
  official: (sandbox) => demoWebhookUrl('official', DEFAULT_NODE_RED_URL, sandbox),
  wecom: (sandbox) => demoWebhookUrl('wecom', DEFAULT_NODE_RED_URL, sandbox),
  microapp: (sandbox) => demoWebhookUrl('microapp', DEFAULT_NODE_RED_URL, sandbox),
};

const DEFAULT_POLL_MS = 1000;

const USAGE = `Usage: npm run sandbox -- <command> [options]

Commands:
  send      send a message or event to a webhook and print the reply
  verify    perform the URL verification (GET) WeChat does when the URL is saved
  chat, pushes        the Mobile Services stand-in and chatting, below
  customers, change   the C4C stand-in, below
  dcn       the WF-DCN hub, below

Options:
  --account official|wecom|microapp   which demo account plays the sender (default official); microapp is the
                             WeCom app behind the Mobile Services Micro App (TimeOff): WeCom calls the stand-in's
                             Message Handler URL, which forwards to the message handler on Node-RED
  --url <url>                webhook URL (default ${DEFAULT_URLS.official(DEFAULT_SANDBOX_URL)},
                             ${DEFAULT_URLS.wecom(DEFAULT_SANDBOX_URL)}
                             or ${DEFAULT_URLS.microapp(DEFAULT_SANDBOX_URL)})
  --mode plain|compatible|safe   Official Account security mode (default safe; WeCom is always encrypted; an
                                 account with an EncodingAESKey, like the demo's, refuses plain)
  --text <text>              a text message (the default, with "hello")
  --type <type>              message type: ${OFFICIAL_MESSAGE_TYPES.join(', ')}
  --event <event>            Official Account: ${OFFICIAL_EVENTS.join(', ')}
                             WeCom: ${WECOM_EVENTS.join(', ')}
  --key <EventKey>           menu key, URL or button key for the event
  --scene <scene>            QR scene for subscribe / SCAN
  --from <user>              sender OpenID / UserID (default: a generated one; microapp: ${DEMO_MICRO_APP.requester}, the requester)
  --token, --aes-key, --appid, --original-id, --agent-id   use another account than the demo one
  --retries                  behave like WeChat when no answer comes: resend up to 3 times in total
  --attempts <n>             attempts in total with --retries (default 3)
  --timeout <ms>             deadline per attempt (default 5000, as WeChat)
  --replay                   send the identical request a second time (a retry WeChat would make)
  --show-request             print the signed request before sending it
  --json                     print the full result as JSON
  --sandbox <url>            where the sandbox is, for microapp and the commands below (default
                             ${DEFAULT_SANDBOX_URL}; npm start prints its own)
  -h, --help                 this text

Mobile Services stand-in and chatting (in the sandbox npm start runs):
  pushes [--user <UserID>]   list the push deliveries: time, target, who it reached, msgtype, title or text
  chat [--account microapp|wecom|official] [--from <user>]
                             chat from the terminal (default account microapp): each line is sent as a text message
                             and the reply printed; pushes (microapp) or active messages (wecom, official) that reach
                             the sender are printed as they arrive; /quit or the end of the input ends
  --interval <ms>            how often chat looks for pushes and messages (default ${DEFAULT_POLL_MS})

C4C stand-in (in the sandbox npm start runs):
  customers                  list the individual customers and their WeChat follower (WechatID, WechatStatus)
  change <customer> --set Field=Value [--set …]
                             change a customer (its ObjectID, CustomerID or WechatID) as a person in C4C
                             would; C4C then notifies its consumer (the customer-changed flow)

WF-DCN hub (the fan-out flow npm start runs), as a back end that spoke to SAP Mobile Platform:
  dcn post [--template trip|trip-failing] [--id <id>] [--to <user>[,<user>…]]
                             post a WF-DCN :upsert (default template trip: "${TRIP_SUBJECT}" for ${DEMO_DCN.receiver}
                             with 5 Trip rows; trip-failing: its third data message has no key) and print the
                             HTTP status and the result JSON (or the log records of a 500)
  dcn delete [--id <id>] [--to <user>]   withdraw an earlier :upsert with that id (default the template's id)
  dcn status [--template …] [--to <user>]
                             the receiver's devices and the template's Trip rows (the hub's admin routes), and the
                             WeCom messages and Mobile Services pushes that reached the receiver (the sandbox)
  --url <url>                the servlet (default ${defaultDcnUrl()})
  --user <user> --password <password>   the sender's login (default the demo's, ${DEMO_DCN.sender})

Examples:
  npm run sandbox -- send --text "opening hours"
  npm run sandbox -- send --account wecom --event enter_agent
  npm run sandbox -- send --mode compatible --event subscribe --scene store_42
  npm run sandbox -- verify --account wecom
  npm run sandbox -- chat
  npm run sandbox -- pushes --user ${DEMO_MICRO_APP.approver}
  npm run sandbox -- send --url ${followWebhookUrl()} --event subscribe --from ${DEMO_FOLLOWER_OPENID}
  npm run sandbox -- change ${DEMO_FOLLOWER_OPENID} --set FirstName=Anna
  npm run sandbox -- dcn post
  npm run sandbox -- dcn delete`;

const OPTIONS = {
  account: { type: 'string' },
  url: { type: 'string' },
  mode: { type: 'string' },
  text: { type: 'string' },
  type: { type: 'string' },
  event: { type: 'string' },
  key: { type: 'string' },
  scene: { type: 'string' },
  from: { type: 'string' },
  token: { type: 'string' },
  'aes-key': { type: 'string' },
  appid: { type: 'string' },
  'original-id': { type: 'string' },
  'agent-id': { type: 'string' },
  retries: { type: 'boolean' },
  attempts: { type: 'string' },
  timeout: { type: 'string' },
  replay: { type: 'boolean' },
  'show-request': { type: 'boolean' },
  json: { type: 'boolean' },
  sandbox: { type: 'string' },
  set: { type: 'string', multiple: true },
  user: { type: 'string' },
  password: { type: 'string' },
  template: { type: 'string' },
  id: { type: 'string' },
  to: { type: 'string' },
  interval: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** The command line asks for something the CLI does not do: the message, then the usage text; exit 2. */
class UsageError extends Error {}

/** The command ran and could not do its work: one line saying what failed; exit 1. */
class CommandFailure extends Error {}

/** How many words each command takes after its name. */
const ARGUMENTS: Record<string, number> = { send: 0, verify: 0, chat: 0, pushes: 0, customers: 0, change: 1, dcn: 1 };

/**
 * Runs the command; returns the process exit code. Results go to `print`, failures and
 * usage errors to `report`; chat reads its lines from `input`.
 */
export async function main(argv: string[], print: Print = console.log, report: Print = console.error, input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    report(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    print(USAGE);
    return 0;
  }
  try {
    return await run(values, positionals, print, input);
  } catch (err) {
    if (err instanceof UsageError) {
      report(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof CommandFailure) {
      report(err.message);
      return 1;
    }
    throw err;
  }
}

async function run(values: Values, positionals: string[], print: Print, input: NodeJS.ReadableStream): Promise<number> {
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError('which command?');
  const takes = ARGUMENTS[command];
  if (takes === undefined) throw new UsageError(`unknown command "${command}"`);
  // A stray word is usually an unquoted value with a space in it.
  if (rest.length > takes) throw new UsageError(`unexpected argument "${rest[takes]}" (quote a value that has spaces)`);
  if (command === 'send') return send(values, print);
  if (command === 'verify') return verify(values, print);
  if (command === 'chat') return chat(values, print, input);
  if (command === 'pushes') return listPushes(values, print);
  if (command === 'customers') return listCustomers(values, print);
  if (command === 'dcn') return dcn(values, rest[0], print);
  return changeCustomer(values, rest[0], print);
}

/** The simulator refuses what it cannot build with a TypeError: from the command line, that is a usage error. */
function asUsage<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
}

/** `value` as an http(s) URL without a trailing slash, or a usage error naming `option` with an `example`. */
function httpUrl(value: string, option: string, example: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option} must be a URL such as ${example}, not "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${option} must be an http or https URL, not "${value}"`);
  return value.replace(/\/+$/, '');
}

function accountOf(values: Values, fallback: DemoAccount = 'official'): DemoAccount {
  const account = values.account ?? fallback;
  if (!(DEMO_ACCOUNTS as readonly string[]).includes(account)) throw new UsageError(`--account must be ${DEMO_ACCOUNTS.join(', ').replace(/, (\w+)$/, ' or $1')}`);
  return account as DemoAccount;
}

/** The platform an account's messages follow: the Micro App is a WeCom app. */
function kindOf(account: DemoAccount): Kind {
  return account === 'official' ? 'official' : 'wecom';
}

/** --url, else the account's default callback URL (the Micro App's on the --sandbox given). */
function webhookUrl(values: Values, account: DemoAccount): string {
  const fallback = DEFAULT_URLS[account](sandboxBase(values));
  return httpUrl(values.url ?? fallback, '--url', fallback);
}

function simulatorFor(values: Values, account: DemoAccount): WeChatClientSimulator {
  const mode = values.mode;
  if (mode !== undefined && !['plain', 'compatible', 'safe'].includes(mode)) throw new UsageError('--mode must be plain, compatible or safe');
  if (mode !== undefined && kindOf(account) === 'wecom') throw new UsageError('--mode applies to Official Accounts; WeCom is always encrypted');
  const timeoutMs = values.timeout ? positiveInteger(values.timeout, '--timeout') : undefined;
  return asUsage(() =>
    WeChatClientSimulator.demo(account, {
      ...(mode ? { mode: mode as OfficialMode } : {}),
      ...(values.token ? { token: values.token } : {}),
      ...(values['aes-key'] ? { encodingAESKey: values['aes-key'] } : {}),
      ...(values.appid ? { appId: values.appid } : {}),
      ...(values['original-id'] ? { originalId: values['original-id'] } : {}),
      ...(values['agent-id'] ? { agentId: values['agent-id'] } : {}),
      ...(values.from ? { user: values.from } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
    }),
  );
}

function specFrom(values: Values, kind: Kind): MessageSpec {
  const spec: MessageSpec = {};
  if (values.event) {
    const events: readonly string[] = kind === 'official' ? OFFICIAL_EVENTS : WECOM_EVENTS;
    if (!events.includes(values.event)) throw new UsageError(`--event must be one of ${events.join(', ')} for ${kind}`);
    spec.event = values.event as OfficialEvent | WeComEvent;
  } else {
    const type = values.type ?? 'text';
    const types: readonly string[] = kind === 'official' ? OFFICIAL_MESSAGE_TYPES : WECOM_MESSAGE_TYPES;
    if (!types.includes(type)) throw new UsageError(`--type must be one of ${types.join(', ')} for ${kind}`);
    spec.type = type as OfficialMessageType | WeComMessageType;
  }
  if (values.text !== undefined) {
    if (spec.type !== 'text') throw new UsageError('--text sends a text message; it cannot be combined with --type or --event');
    spec.content = values.text;
  }
  if (values.key !== undefined) spec.eventKey = values.key;
  if (values.scene !== undefined) spec.scene = values.scene;
  return spec;
}

async function send(values: Values, print: Print): Promise<number> {
  const account = accountOf(values);
  const sim = simulatorFor(values, account);
  const url = webhookUrl(values, account);
  const spec = specFrom(values, kindOf(account));
  const delivery = asUsage(() => sim.prepare(url, spec));
  print(`→ POST ${delivery.url.split('?')[0]}  (${account}, ${delivery.mode === 'wecom' ? 'encrypted' : `${delivery.mode} mode`})`);
  print(`  ${describeMessage(delivery)}`);
  if (values['show-request']) printRequest(delivery, print);

  const attempts = values.attempts ? positiveInteger(values.attempts, '--attempts') : 3;
  const results: DeliveryResult[] = values.retries ? (await sim.sendWithRetries(delivery, { attempts })).attempts : [await sim.send(delivery)];
  if (values.replay) results.push(await sim.replay(delivery));

  if (values.json) {
    print(JSON.stringify(results.map(({ delivery: _d, ...rest }) => rest), null, 2));
  } else {
    results.forEach((result, i) => printResult(result, results.length > 1 ? i + 1 : 0, print));
  }
  return results.every((r) => r.reply.kind === 'reply' || r.reply.kind === 'no-reply') ? 0 : 1;
}

async function verify(values: Values, print: Print): Promise<number> {
  const account = accountOf(values);
  const sim = simulatorFor(values, account);
  const url = webhookUrl(values, account);
  print(`→ GET ${url}  (${account} URL verification)`);
  const result = await sim.verifyUrl(url);
  if (values.json) print(JSON.stringify(result, null, 2));
  if (result.ok) print(`← ${result.status} verified: the endpoint answered ${JSON.stringify(result.body)}`);
  else print(`← ${result.status || '—'} NOT verified: ${result.reason ?? 'unknown reason'}`);
  return result.ok ? 0 : 1;
}

/** What the Mobile Services stand-in recorded, from its sandbox route; CommandFailure when it cannot be had. */
async function recordedDeliveries(base: string, user: string | undefined, since: number): Promise<SandboxDeliveries> {
  const query = new URLSearchParams({ since: String(since), ...(user ? { user } : {}) });
  const answer = await sandboxCall(base, `/mobile-services/_sandbox/deliveries?${query}`);
  if (!isObject(answer) || !Array.isArray(answer.pushes) || !Array.isArray(answer.exchanges)) {
    throw new CommandFailure(`the sandbox at ${base} did not answer with its Mobile Services deliveries`);
  }
  return answer as unknown as SandboxDeliveries;
}

const PUSH_COLUMNS = ['Time', 'Target', 'Reached', 'Msgtype', 'Title / text'];

async function listPushes(values: Values, print: Print): Promise<number> {
  const base = sandboxBase(values);
  const { pushes } = await recordedDeliveries(base, values.user, 0);
  if (values.json) {
    print(JSON.stringify(pushes, null, 2));
    return 0;
  }
  if (pushes.length === 0) {
    print(values.user ? `no pushes have reached ${values.user} yet` : 'no pushes yet');
    return 0;
  }
  const rows = pushes.map((p) => {
    const { msgtype, text } = pushText(p.body);
    return [clockTime(p.at), p.target, cellText(p.delivered.join(', ')), msgtype, cellText(text)];
  });
  for (const line of table(PUSH_COLUMNS, rows)) print(line);
  return 0;
}

/** A moment as the terminal shows it: local date and time to the second. */
function clockTime(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/**
 * chat: each line of `input` goes out as a text message from the account's user and
 * its reply is printed; what else reaches that user (Mobile Services pushes for the
 * Micro App, API messages for the WeCom app and the Official Account) is printed as the
 * sandbox records it. Ends at /quit or the end of the input.
 */
async function chat(values: Values, print: Print, input: NodeJS.ReadableStream): Promise<number> {
  const account = accountOf(values, 'microapp');
  if (values.event !== undefined || values.type !== undefined || values.text !== undefined) {
    throw new UsageError('chat sends the lines you type as text messages; --text, --type and --event belong to send');
  }
  const sim = simulatorFor(values, account);
  const url = webhookUrl(values, account);
  const intervalMs = values.interval ? positiveInteger(values.interval, '--interval') : DEFAULT_POLL_MS;
  const arrivals = new Arrivals(account, sandboxBase(values), sim.user, print);
  await arrivals.start();
  print(`chatting as ${sim.user} (${account}) with ${url}`);
  print(`type a message and press Enter; ${arrivals.what} reaching ${sim.user} are shown as they arrive; /quit ends`);
  const timer = setInterval(() => arrivals.tick(), intervalMs);
  const lines = createInterface({ input, terminal: false });
  try {
    for await (const line of lines) {
      const content = line.trim();
      if (content === '/quit') break;
      if (content === '') continue;
      await arrivals.whileSending(async () => printResult(await sim.send(sim.prepare(url, { type: 'text', content })), 0, print));
    }
  } finally {
    clearInterval(timer);
    lines.close();
  }
  await arrivals.check();
  return 0;
}

/**
 * What reaches one user while chatting, followed through the sandbox's own routes from
 * the moment the chat starts: each check prints what is new since the last one. Checks
 * run one at a time, and none while a message is on its way, so a note on a message
 * always follows its reply.
 */
class Arrivals {
  private since = 0;
  private sending = false;
  private warned = false;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly account: DemoAccount,
    private readonly base: string,
    private readonly user: string,
    private readonly print: Print,
  ) {}

  get what(): string {
    return this.account === 'microapp' ? 'Mobile Services pushes' : `${this.account === 'wecom' ? 'WeCom' : 'Official Account'} API messages`;
  }

  /** Where the chat begins: older records are not shown. The sandbox must answer, or the chat does not start. */
  async start(): Promise<void> {
    this.since = (await this.fetch()).last;
  }

  /** The timer's check, skipped while a message is on its way or a check is still running. */
  tick(): void {
    if (!this.sending && this.queued === 0) void this.check();
  }

  async whileSending(send: () => Promise<void>): Promise<void> {
    this.sending = true;
    try {
      await this.queue;
      await send();
    } finally {
      this.sending = false;
    }
    await this.check();
  }

  /** Prints what arrived since the last check; a sandbox gone away is said once, and the chat goes on. */
  check(): Promise<void> {
    this.queued++;
    this.queue = this.queue.then(async () => {
      try {
        const { last, lines } = await this.fetch();
        lines.forEach((line) => this.print(line));
        this.since = last;
        this.warned = false;
      } catch (err) {
        if (!this.warned) this.print(`  (${(err as Error).message})`);
        this.warned = true;
      } finally {
        this.queued--;
      }
    });
    return this.queue;
  }

  /** What is new since the last check, in order, and the cursor to check from next. */
  private async fetch(): Promise<{ last: number; lines: string[] }> {
    if (this.account === 'microapp') {
      const recorded = await recordedDeliveries(this.base, this.user, this.since);
      const lines = [...recorded.exchanges.map(exchangeNote), ...recorded.pushes.map(pushLine)].filter((l): l is [number, string] => l !== null);
      return { last: recorded.last, lines: lines.sort((a, b) => a[0] - b[0]).map(([, line]) => line) };
    }
    const prefix = this.account === 'wecom' ? '/wecom' : '/wechat';
    const query = new URLSearchParams({ since: String(this.since), user: this.user });
    const answer = await sandboxCall(this.base, `${prefix}/_sandbox/messages?${query}`);
    if (!isObject(answer) || typeof answer.last !== 'number' || !Array.isArray(answer.messages)) {
      throw new CommandFailure(`the sandbox at ${this.base} did not answer with its ${prefix.slice(1)} messages`);
    }
    return { last: answer.last, lines: (answer.messages as RecordedMessage[]).map((m) => arrivalLine(m.api, messageText(m.body))) };
  }
}

/** A forwarded message that got no reply, said after the reply line; null for one that got its reply. */
function exchangeNote(exchange: MicroAppExchange): [number, string] | null {
  if (!exchange.failure) return null;
  return [exchange.seq, `  (the Mobile Services stand-in got no reply from the message handler ${exchange.handler.url}: ${exchange.failure.detail})`];
}

function pushLine(push: PushDelivery): [number, string] {
  return [push.seq, arrivalLine(`Mobile Services push (${push.target})`, pushText(push.body))];
}

function arrivalLine(source: string, { msgtype, text }: DeliveryText): string {
  return `⇐ ${source} ${msgtype}: ${text || '—'}`;
}

function sandboxBase(values: Values): string {
  return values.sandbox === undefined ? DEFAULT_SANDBOX_URL : httpUrl(values.sandbox, '--sandbox', DEFAULT_SANDBOX_URL);
}

/**
 * A call to a stand-in's sandbox controls, e.g. '/c4c/_sandbox/customers'; anything but
 * a JSON answer with a 2xx status is a CommandFailure.
 */
async function sandboxCall(base: string, path: string, init: RequestInit = {}): Promise<unknown> {
  let status: number;
  let text: string;
  try {
    const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    status = response.status;
    text = await response.text();
  } catch (err) {
    const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw new CommandFailure(`could not reach the sandbox at ${base} (${reason}): is npm start running? Give its address with --sandbox <url>`);
  }
  const body = parseJson(text);
  // The sandbox answers JSON to every control request, errors included.
  if (body === undefined) throw new CommandFailure(`${base} is not the sandbox: it answered ${status}: ${summariseBody(text) || 'an empty body'}`);
  if (status < 200 || status > 299) throw new CommandFailure(`the sandbox at ${base} answered ${status}: ${errorOf(body)}`);
  return body;
}

/** What the stand-in's error body says; its shape is { error: text }. */
function errorOf(body: unknown): string {
  const error = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  return typeof error === 'string' ? error : JSON.stringify(body);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function customersAt(base: string): Promise<Customer[]> {
  const customers = await sandboxCall(base, '/c4c/_sandbox/customers');
  if (!Array.isArray(customers)) throw new CommandFailure(`the sandbox at ${base} did not answer with a list of customers`);
  return customers as Customer[];
}

async function listCustomers(values: Values, print: Print): Promise<number> {
  const base = sandboxBase(values);
  const customers = await customersAt(base);
  if (values.json) {
    print(JSON.stringify(customers, null, 2));
    return 0;
  }
  if (customers.length === 0) {
    print('no customers yet: follow the account first (the send … /wechat/follow --event subscribe command npm start printed)');
    return 0;
  }
  const rows = customers.map((c) => CUSTOMER_COLUMNS.map(([, cell]) => cellText(cell(c))));
  for (const line of table(CUSTOMER_COLUMNS.map(([name]) => name), rows)) print(line);
  const newest = customers[customers.length - 1];
  print(`change one as a person in C4C would: npm run sandbox -- change ${String(newest.ObjectID)} --set FirstName=Anna${sandboxArgument(base)}`);
  return 0;
}

async function changeCustomer(values: Values, ref: string | undefined, print: Print): Promise<number> {
  if (!ref) throw new UsageError('change needs the customer: its ObjectID, CustomerID or WechatID (the customers command lists them)');
  const changes: Record<string, string> = {};
  for (const pair of values.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--set takes Field=Value, not "${pair}"`);
    changes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (Object.keys(changes).length === 0) throw new UsageError('change needs at least one --set Field=Value');
  const base = sandboxBase(values);
  const customer = findCustomer(await customersAt(base), ref);
  if (!customer) throw new CommandFailure(`the sandbox at ${base} has no customer with the ObjectID, CustomerID or WechatID "${ref}" (the customers command lists them)`);
  await sandboxCall(base, `/c4c/_sandbox/customers/${encodeURIComponent(String(customer.ObjectID))}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(changes),
  });
  print(`changed customer ${String(customer.CustomerID)} (ObjectID ${String(customer.ObjectID)}): ${JSON.stringify(changes)}; C4C now notifies its consumer`);
  return 0;
}

// ── WF-DCN ─────────────────────────────────────────────────────────────────────────

async function dcn(values: Values, action: string | undefined, print: Print): Promise<number> {
  if (action === 'post') return dcnPost(values, print);
  if (action === 'delete') return dcnDelete(values, print);
  if (action === 'status') return dcnStatus(values, print);
  throw new UsageError(action ? `dcn takes post, delete or status, not "${action}"` : 'dcn needs what to do: post, delete or status');
}

function dcnTemplate(values: Values): DcnTemplate {
  const template = values.template ?? 'trip';
  if (!(DCN_TEMPLATES as readonly string[]).includes(template)) throw new UsageError(`--template must be ${DCN_TEMPLATES.join(' or ')}`);
  return template as DcnTemplate;
}

/** --user and --password, both or neither; the demo sender's login by default. */
function dcnLogin(values: Values): DcnLogin {
  if ((values.user === undefined) !== (values.password === undefined)) throw new UsageError('--user and --password go together');
  return values.user !== undefined && values.password !== undefined ? { user: values.user, password: values.password } : DEMO_DCN_LOGIN;
}

/** --to as the hub reads it: one name or a comma-separated list (sent as given). */
function dcnReceivers(values: Values): string {
  const to = values.to ?? DEMO_DCN.receiver;
  if (!to.split(',').some((name) => name.trim() !== '')) throw new UsageError('--to needs a user name');
  return to;
}

function dcnUrl(values: Values): string {
  return httpUrl(values.url ?? defaultDcnUrl(), '--url', defaultDcnUrl());
}

async function dcnPost(values: Values, print: Print): Promise<number> {
  const { request, what } = dcnRequest('post', dcnTemplate(values), { ...(values.id ? { id: values.id } : {}), to: dcnReceivers(values) });
  return sendDcn(values, request, what, print);
}

async function dcnDelete(values: Values, print: Print): Promise<number> {
  const { request, what } = dcnRequest('delete', dcnTemplate(values), { ...(values.id ? { id: values.id } : {}), to: dcnReceivers(values) });
  return sendDcn(values, request, what, print);
}

async function sendDcn(values: Values, request: WfDcnRequestJson, what: string, print: Print): Promise<number> {
  const url = dcnUrl(values);
  const login = dcnLogin(values);
  print(`→ POST ${url.split('?')[0]}  (WF-DCN ${what}; as ${login.user})`);
  let answer: DcnAnswer;
  try {
    answer = await postDcn(url, request, login);
  } catch (err) {
    throw new CommandFailure(`could not reach the hub at ${url} (${reasonOf(err)}): is npm start running? Give its servlet URL with --url <url>`);
  }
  if (values.json) {
    print(JSON.stringify({ status: answer.status, body: answer.json ?? answer.text }, null, 2));
  } else {
    print(`← ${answer.status} ${DCN_STATUS[answer.status] ?? ''}`.trimEnd());
    print(indent(answer.json === undefined ? summariseBody(answer.text) || '(empty body)' : JSON.stringify(answer.json, null, 2)));
  }
  return answer.status === 200 ? 0 : 1;
}

interface DeviceRow {
  deviceId: string;
  channel: string;
  address: string;
  msDevice: string;
}

interface CacheRow {
  key: Record<string, unknown>;
  row: Record<string, unknown>;
  updatedAt: string;
}

/** The receiver's devices and the template's rows (the hub's admin routes), and what reached the receiver (the sandbox). */
async function dcnStatus(values: Values, print: Print): Promise<number> {
  const url = dcnUrl(values);
  const admin = adminBaseFor(url);
  const login = dcnLogin(values);
  const security = new URL(url).searchParams.get('security') || DEMO_DCN.security;
  const trips = templateTrips(dcnTemplate(values));
  const base = sandboxBase(values);
  const cached = (await adminCall(admin, `/cache/${encodeURIComponent(TRIP_MBO.package)}/${encodeURIComponent(TRIP_MBO.name)}`, login)) as CacheRow[];
  const rows = cached.filter((r) => trips.includes(String(r.key.tripId)));
  print(`Trip rows of the template in the hub's cache (${rows.length} of ${trips.length}):`);
  for (const line of table(['tripId', 'destination', 'status', 'updated'], rows.map((r) => [String(r.key.tripId), cellText(r.row.destination), cellText(r.row.status), r.updatedAt]))) print(`  ${line}`);
  for (const user of dcnReceivers(values).split(',').map((u) => u.trim()).filter(Boolean)) {
    const devices = (await adminCall(admin, `/registry/${encodeURIComponent(security)}/${encodeURIComponent(user)}`, login)) as DeviceRow[];
    print(`${user}'s devices (${security}): ${devices.length}`);
    for (const line of table(['deviceId', 'channel', 'address', 'msDevice'], devices.map((d) => [d.deviceId, d.channel, d.address, cellText(d.msDevice)]))) print(`  ${line}`);
    const reached = await reachedUser(base, user);
    print(`What reached ${user} through the stand-ins: ${reached.length}`);
    for (const line of table(['Time', 'Through', 'Msgtype', 'Text'], reached.map((r) => [clockTime(r.at), r.through, r.msgtype, cellText(r.text)]))) print(`  ${line}`);
  }
  return 0;
}

/** WeCom messages and Mobile Services pushes to `user`, oldest first. */
async function reachedUser(base: string, user: string): Promise<Array<{ at: number; through: string } & DeliveryText>> {
  const answer = await sandboxCall(base, `/wecom/_sandbox/messages?${new URLSearchParams({ user })}`);
  if (!isObject(answer) || !Array.isArray(answer.messages)) throw new CommandFailure(`the sandbox at ${base} did not answer with its WeCom messages`);
  const messages = (answer.messages as RecordedMessage[]).map((m) => ({ at: m.at, through: `WeCom ${m.api}`, ...messageText(m.body) }));
  const { pushes } = await recordedDeliveries(base, user, 0);
  return [...messages, ...pushes.map((p) => ({ at: p.at, through: `Mobile Services ${p.target} push`, ...pushText(p.body) }))].sort((a, b) => a.at - b.at);
}

/** A GET of the hub's admin routes with the sender's login; anything but a 2xx JSON answer is a CommandFailure. */
async function adminCall(base: string, path: string, login: DcnLogin): Promise<unknown> {
  let status: number;
  let text: string;
  try {
    const response = await fetch(base + path, { headers: { authorization: basicHeader(login.user, login.password) }, signal: AbortSignal.timeout(10_000) });
    status = response.status;
    text = await response.text();
  } catch (err) {
    throw new CommandFailure(`could not reach the hub's admin routes at ${base} (${reasonOf(err)}): is npm start running? Give the servlet URL with --url <url>`);
  }
  const body = parseJson(text);
  if (status < 200 || status > 299 || body === undefined) {
    const message = isObject(body) && typeof body.message === 'string' ? body.message : summariseBody(text) || 'an empty body';
    throw new CommandFailure(`the hub's admin route ${base}${path} answered ${status}: ${message}`);
  }
  return body;
}

function reasonOf(err: unknown): string {
  return ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
}

/** Rows under a header, each column as wide as its widest cell. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((cells) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

function describeMessage(delivery: PreparedDelivery): string {
  const f = delivery.message.fields;
  const what =
    f.MsgType === 'event'
      ? `event ${String(f.Event)}${typeof f.EventKey === 'string' && f.EventKey ? ` (EventKey ${f.EventKey})` : ''}`
      : f.MsgType === 'text'
        ? `text ${JSON.stringify(f.Content)}`
        : `${String(f.MsgType)} message`;
  const id = delivery.message.msgId ? `, MsgId ${delivery.message.msgId}` : '';
  return `${what} from ${delivery.message.from} to ${String(f.ToUserName)}${id}`;
}

function printRequest(delivery: PreparedDelivery, print: Print): void {
  print(`  ${delivery.method} ${delivery.path}`);
  for (const [name, value] of Object.entries(delivery.headers)) print(`  ${name}: ${value}`);
  print('');
  print(`  ${delivery.body}`);
  print('');
}

function printResult(result: DeliveryResult, attempt: number, print: Print): void {
  const prefix = attempt ? `← [attempt ${attempt}] ` : '← ';
  print(`${prefix}${result.status || '—'} ${replySummary(result.reply)}`);
  const reply = result.reply;
  if (reply.kind !== 'reply') return;
  print(indent(reply.text ?? JSON.stringify(reply.fields, null, 2)));
  for (const warning of reply.warnings) print(`  warning: ${warning}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function positiveInteger(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive whole number`);
  return n;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
