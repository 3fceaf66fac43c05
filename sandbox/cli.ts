/**
 * npm run sandbox -- <command>: plays WeChat / WeCom towards a webhook from the shell.
 *
 *   send    builds, signs and encrypts a message, posts it and prints the checked reply
 *   verify  performs the URL verification GET
 *
 * Defaults are the sandbox demo accounts, so against `npm start` no option is needed
 * beyond what to send.
 */
import { parseArgs } from 'node:util';
import {
  DeliveryResult,
  MessageSpec,
  OFFICIAL_EVENTS,
  OFFICIAL_MESSAGE_TYPES,
  OfficialEvent,
  OfficialMessageType,
  OfficialMode,
  PreparedDelivery,
  ReplyOutcome,
  WECOM_EVENTS,
  WECOM_MESSAGE_TYPES,
  WeChatClientSimulator,
  WeComEvent,
  WeComMessageType,
} from './wechat-client';

type Kind = 'official' | 'wecom';
type Print = (line: string) => void;

const DEFAULT_URLS: Record<Kind, string> = {
  official: 'http://127.0.0.1:1880/wechat/official',
  wecom: 'http://127.0.0.1:1880/wechat/wecom',
};

const USAGE = `Usage: npm run sandbox -- <command> [options]

Commands:
  send      send a message or event to a webhook and print the reply
  verify    perform the URL verification (GET) WeChat does when the URL is saved

Options:
  --account official|wecom   which demo account plays the sender (default official)
  --url <url>                webhook URL (default ${DEFAULT_URLS.official}
                             or ${DEFAULT_URLS.wecom})
  --mode plain|compatible|safe   Official Account security mode (default safe; WeCom is always encrypted; an
                                 account with an EncodingAESKey, like the demo's, refuses plain)
  --text <text>              a text message (the default, with "hello")
  --type <type>              message type: ${OFFICIAL_MESSAGE_TYPES.join(', ')}
  --event <event>            Official Account: ${OFFICIAL_EVENTS.join(', ')}
                             WeCom: ${WECOM_EVENTS.join(', ')}
  --key <EventKey>           menu key, URL or button key for the event
  --scene <scene>            QR scene for subscribe / SCAN
  --from <user>              sender OpenID / UserID (default: a generated one)
  --token, --aes-key, --appid, --original-id, --agent-id   use another account than the demo one
  --retries                  behave like WeChat when no answer comes: resend up to 3 times in total
  --attempts <n>             attempts in total with --retries (default 3)
  --timeout <ms>             deadline per attempt (default 5000, as WeChat)
  --replay                   send the identical request a second time (a retry WeChat would make)
  --show-request             print the signed request before sending it
  --json                     print the full result as JSON
  -h, --help                 this text

C4C stand-in (the demo's sandbox, default http://127.0.0.1:1890; --sandbox <url> for another):
  customers                  list the individual customers
  change <ObjectID> --set Field=Value [--set …]
                             change a customer; C4C then notifies its consumer (the customer-changed flow)

Examples:
  npm run sandbox -- send --text "opening hours"
  npm run sandbox -- send --account wecom --event enter_agent
  npm run sandbox -- send --mode compatible --event subscribe --scene store_42
  npm run sandbox -- verify --account wecom
  npm run sandbox -- change 00163E0000000001 --set FirstName=Anna`;

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
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

/** Runs the command; returns the process exit code (0 when the endpoint behaved). */
export async function main(argv: string[], print: Print = console.log): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    print(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const command = positionals[0];
  if (values.help || !command) {
    print(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    if (command === 'send') return await send(values, print);
    if (command === 'verify') return await verify(values, print);
    if (command === 'customers') return await listCustomers(values, print);
    if (command === 'change') return await changeCustomer(values, positionals[1], print);
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TypeError) {
      print(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

function kindOf(values: Values): Kind {
  const account = values.account ?? 'official';
  if (account !== 'official' && account !== 'wecom') throw new UsageError('--account must be official or wecom');
  return account;
}

function simulatorFor(values: Values, kind: Kind): WeChatClientSimulator {
  const mode = values.mode;
  if (mode !== undefined && !['plain', 'compatible', 'safe'].includes(mode)) throw new UsageError('--mode must be plain, compatible or safe');
  if (mode !== undefined && kind === 'wecom') throw new UsageError('--mode applies to Official Accounts; WeCom is always encrypted');
  return WeChatClientSimulator.demo(kind, {
    ...(mode ? { mode: mode as OfficialMode } : {}),
    ...(values.token ? { token: values.token } : {}),
    ...(values['aes-key'] ? { encodingAESKey: values['aes-key'] } : {}),
    ...(values.appid ? { appId: values.appid } : {}),
    ...(values['original-id'] ? { originalId: values['original-id'] } : {}),
    ...(values['agent-id'] ? { agentId: values['agent-id'] } : {}),
    ...(values.from ? { user: values.from } : {}),
    ...(values.timeout ? { timeoutMs: positiveInteger(values.timeout, '--timeout') } : {}),
  });
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
  const kind = kindOf(values);
  const sim = simulatorFor(values, kind);
  const delivery = sim.prepare(values.url ?? DEFAULT_URLS[kind], specFrom(values, kind));
  print(`→ POST ${delivery.url.split('?')[0]}  (${kind}, ${delivery.mode === 'wecom' ? 'encrypted' : `${delivery.mode} mode`})`);
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
  const kind = kindOf(values);
  const sim = simulatorFor(values, kind);
  const url = values.url ?? DEFAULT_URLS[kind];
  print(`→ GET ${url}  (${kind} URL verification)`);
  const result = await sim.verifyUrl(url);
  if (values.json) print(JSON.stringify(result, null, 2));
  if (result.ok) print(`← ${result.status} verified: the endpoint answered ${JSON.stringify(result.body)}`);
  else print(`← ${result.status || '—'} NOT verified: ${result.reason ?? 'unknown reason'}`);
  return result.ok ? 0 : 1;
}

const DEFAULT_SANDBOX = 'http://127.0.0.1:1890';

async function sandboxCall(values: Values, path: string, init?: RequestInit): Promise<unknown> {
  const base = (values.sandbox ?? DEFAULT_SANDBOX).replace(/\/+$/, '');
  const response = await fetch(`${base}/c4c/_sandbox${path}`, init);
  const body: unknown = await response.json();
  if (!response.ok) throw new UsageError(`the sandbox answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

async function listCustomers(values: Values, print: Print): Promise<number> {
  const customers = (await sandboxCall(values, '/customers')) as Record<string, unknown>[];
  if (values.json) print(JSON.stringify(customers, null, 2));
  else if (customers.length === 0) print('no customers yet: follow the account first (send --url …/wechat/follow --event subscribe)');
  for (const c of values.json ? [] : customers) {
    print(`${c.ObjectID}  ${c.CustomerID ?? ''}  ${[c.FirstName, c.LastName].filter(Boolean).join(' ')}  WechatID=${c.WechatID ?? '—'}`);
  }
  return 0;
}

async function changeCustomer(values: Values, objectId: string | undefined, print: Print): Promise<number> {
  if (!objectId) throw new UsageError('change needs the customer ObjectID (see the customers command)');
  const changes: Record<string, string> = {};
  for (const pair of values.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--set takes Field=Value, not "${pair}"`);
    changes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (Object.keys(changes).length === 0) throw new UsageError('change needs at least one --set Field=Value');
  await sandboxCall(values, `/customers/${encodeURIComponent(objectId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(changes),
  });
  print(`changed ${objectId}: ${JSON.stringify(changes)}; C4C now notifies its consumer`);
  return 0;
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
  print(`${prefix}${result.status || '—'} ${summarize(result.reply)}`);
  const reply = result.reply;
  if (reply.kind !== 'reply') return;
  print(indent(reply.text ?? JSON.stringify(reply.fields, null, 2)));
  for (const warning of reply.warnings) print(`  warning: ${warning}`);
}

function summarize(reply: ReplyOutcome): string {
  switch (reply.kind) {
    case 'reply':
      return `${reply.msgType} reply${reply.encrypted ? ' (encrypted, signature and receiver id verified)' : ''}:`;
    case 'no-reply':
      return `no passive reply (${reply.marker === '' ? 'empty body' : '"success"'})`;
    case 'rejected':
      return `refused by the endpoint: ${reply.reason}`;
    case 'invalid':
      return `answer WeChat would not accept: ${reply.reason}`;
    case 'timeout':
      return 'no answer before the deadline (WeChat would retry)';
    case 'network-error':
      return `could not reach the webhook: ${reply.reason}`;
  }
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
