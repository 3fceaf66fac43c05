/**
 * The sandbox chat page, on a port of its own: a phone-sized chat in which one picks a
 * simulated user and an account, sends what a user sends, and sees every reply and
 * active message reach that user as it happens; beside it the C4C stand-in's customers,
 * the TimeOff approver's phone and a WF-DCN back end. Its only back end is the sandbox:
 * messages go out through the WeChat client simulator to the same callback URLs the CLI
 * uses, customers are changed in the C4C stand-in, WF-DCN requests are the CLI's.
 *
 *   GET  /                      the page (index.html, app.js, app.css from the build)
 *   GET  /api/setup             accounts, simulated users, templates, links
 *   POST /api/send              { account, user, message } → { outcome }
 *   GET  /api/conversation?user=<id>   the user's conversation: an event stream, history first
 *   GET  /api/customers         the C4C stand-in's customers
 *   POST /api/customers/<ref>   { Field: value } → changed as a person in C4C would (C4C notifies)
 *   POST /api/dcn               { action: post|delete, template } → the hub's status and result JSON
 */
import { readFile } from 'node:fs/promises';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { readBody, sendJson } from '../../lib/http/body';
import { CUSTOMER_COLUMNS, customerRow, findCustomer } from '../c4c-customers';
import { DCN_STATUS, DCN_TEMPLATES, DcnTemplate, dcnRequest, defaultDcnUrl, postDcn } from '../dcn-requests';
import { DEMO_DCN, DEMO_FOLLOWER_OPENID, DEMO_MICRO_APP } from '../demo-accounts';
import { connectUrl } from '../demo-addresses';
import { demoWebhookUrl, followWebhookUrl } from '../demo-webhooks';
import type { Sandbox } from '../index';
import { isObject } from '../platform-api';
import { replySummary } from '../reply-text';
import { DemoAccount, DEMO_ACCOUNTS, MessageSpec, ReplyOutcome, WeChatClientSimulator } from '../wechat-client';
import type { AccountSetup, ChatEntry, CustomerList, DcnResult, PageMessage, SendAnswer, Setup } from './api';
import { PAGE_MESSAGE_KINDS } from './api';
import { Conversations } from './conversations';

export interface ChatPageOptions {
  sandbox: Sandbox;
  /** Where Node-RED runs the shipped flows, e.g. http://127.0.0.1:1880. */
  nodeRedUrl: string;
  port?: number;
  host?: string;
  /** The built page: index.html, app.js, app.css (dist/sandbox/chat/page by default). */
  pageDir?: string;
  /** Where refused requests are said, one line each. */
  log?: (line: string) => void;
}

/** A request the page should not have sent: answered with `status` and the message. */
class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ACCOUNTS: AccountSetup[] = [
  { id: 'official', users: [{ id: DEMO_FOLLOWER_OPENID, role: 'follower' }], menu: ['MENU_HOURS'], follow: true },
  { id: 'wecom', users: [{ id: DEMO_DCN.wecomUser, role: 'receiver' }, { id: 'zhangsan', role: 'employee' }], menu: ['MENU_HOURS'], follow: false },
  {
    id: 'microapp',
    users: [
      { id: DEMO_MICRO_APP.requester, role: 'requester' },
      { id: DEMO_MICRO_APP.approver, role: 'approver' },
    ],
    menu: [],
    follow: false,
  },
];

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const PAGE_FILES = new Set(['/index.html', '/app.js', '/app.css']);
/** A comment line on each open stream now and then, so proxies and browsers keep it open. */
const HEARTBEAT_MS = 15_000;
/** Where a location message says the user is. */
const LOCATION_LABEL = 'No. 1 Example Road, Shanghai';
/** A simulated user id as WeChat and WeCom write them. */
const USER_ID = /^[A-Za-z0-9_@.-]{1,64}$/;

export class ChatPage {
  readonly conversations: Conversations;
  private readonly streams = new Set<ServerResponse>();
  private readonly pageDir: string;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly options: ChatPageOptions,
    private readonly server: Server,
    /** Where a browser opens the page. */
    readonly url: string,
  ) {
    this.conversations = new Conversations(options.sandbox);
    this.pageDir = options.pageDir ?? join(__dirname, 'page');
    this.log = options.log ?? ((line) => console.log(line));
  }

  /** Starts the page's server; `url` is where a browser opens it. */
  static async start(options: ChatPageOptions): Promise<ChatPage> {
    const server = createServer();
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    // Nobody knows the address before this returns, so no request comes before the page answers them.
    const page = new ChatPage(options, server, connectUrl(host, (server.address() as AddressInfo).port));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void page.route(req, res));
    return page;
  }

  async close(): Promise<void> {
    this.conversations.close();
    for (const stream of this.streams) stream.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://chat');
    try {
      await this.answer(req, res, url);
    } catch (err) {
      const status = err instanceof BadRequest ? err.status : 500;
      this.log(`[chat page] ${status} ${req.method ?? ''} ${url.pathname}: ${(err as Error).message}`);
      if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
      else res.destroy();
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const route = `${req.method ?? ''} ${path}`;
    if (req.method === 'GET' && (path === '/' || PAGE_FILES.has(path))) return this.pageFile(res, path === '/' ? '/index.html' : path);
    if (route === 'GET /api/setup') return sendJson(res, 200, this.setup());
    if (route === 'GET /api/conversation') return this.stream(req, res, userParameter(url.searchParams.get('user')));
    if (route === 'POST /api/send') return sendJson(res, 200, await this.send(await readJsonObject(req)));
    if (route === 'GET /api/customers') return sendJson(res, 200, this.customers());
    const customer = /^\/api\/customers\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && customer) return sendJson(res, 200, this.changeCustomer(decodeURIComponent(customer[1]), await readJsonObject(req)));
    if (route === 'POST /api/dcn') return sendJson(res, 200, await this.dcn(await readJsonObject(req)));
    req.resume();
    throw new BadRequest(404, `nothing at ${route}`);
  }

  private async pageFile(res: ServerResponse, file: string): Promise<void> {
    let content: Buffer;
    try {
      content = await readFile(join(this.pageDir, file));
    } catch {
      throw new BadRequest(404, `the page is not built (no ${join(this.pageDir, file)}): run npm run build`);
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)], 'cache-control': 'no-cache' });
    res.end(content);
  }

  private setup(): Setup {
    return {
      accounts: ACCOUNTS,
      templates: DCN_TEMPLATES,
      approver: DEMO_MICRO_APP.approver,
      dcnReceiver: DEMO_DCN.receiver,
      links: { editor: this.options.nodeRedUrl, timeOff: `${this.options.nodeRedUrl}/timeoff/?user=${DEMO_MICRO_APP.approver}` },
    };
  }

  /** The user's conversation as Server-Sent Events: what it holds, then each new entry. */
  private stream(req: IncomingMessage, res: ServerResponse, user: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const write = (entry: ChatEntry) => res.write(`id: ${entry.id}\ndata: ${JSON.stringify(entry)}\n\n`);
    this.conversations.of(user).forEach(write);
    const stop = this.conversations.follow(user, write);
    const heartbeat = setInterval(() => res.write(': still here\n\n'), HEARTBEAT_MS);
    this.streams.add(res);
    res.on('close', () => {
      stop();
      clearInterval(heartbeat);
      this.streams.delete(res);
    });
  }

  /** Sends what the user did as the platform would, to the account's callback URL, and adds it and its answer to their conversation. */
  private async send(body: Record<string, unknown>): Promise<SendAnswer> {
    const account = accountParameter(body.account);
    const user = userParameter(body.user);
    const message = pageMessage(body.message, account);
    const webhook = message.kind === 'follow' || message.kind === 'unfollow' ? followWebhookUrl(this.options.nodeRedUrl) : demoWebhookUrl(account, this.options.nodeRedUrl, this.options.sandbox.baseUrl);
    const simulator = WeChatClientSimulator.demo(account, { user });
    const spec = messageSpec(message, account);
    this.conversations.add({ user, account, channel: 'sent', msgtype: spec.event ? 'event' : (spec.type ?? 'text'), text: sentText(message) });
    const result = await simulator.send(simulator.prepare(webhook, spec));
    this.noteOutcome(account, user, result.reply, message);
    return { outcome: replySummary(result.reply) };
  }

  private noteOutcome(account: DemoAccount, user: string, reply: ReplyOutcome, message: PageMessage): void {
    if (reply.kind === 'reply') {
      this.conversations.answered(account, user);
      this.conversations.add({ user, account, channel: 'reply', msgtype: reply.msgType, text: reply.text ?? replyFieldsText(reply.fields) });
      return;
    }
    // An unanswered message may be answered late by an active message; a follow event is not a question.
    if (reply.kind === 'no-reply' && message.kind !== 'unfollow' && message.kind !== 'menu') this.conversations.awaitLateAnswer(account, user);
    if (reply.kind !== 'no-reply') this.conversations.add({ user, account, channel: 'note', msgtype: reply.kind, text: replySummary(reply) });
  }

  private customers(): CustomerList {
    return { columns: CUSTOMER_COLUMNS.map(([name]) => name), rows: this.options.sandbox.c4c.customers().map(customerRow) };
  }

  private changeCustomer(ref: string, changes: Record<string, unknown>): { row: Record<string, string> } {
    const customer = findCustomer(this.options.sandbox.c4c.customers(), ref);
    if (!customer) throw new BadRequest(404, `no customer with the ObjectID, CustomerID or WechatID "${ref}"`);
    const fields = Object.entries(changes);
    if (fields.length === 0 || !fields.every(([, value]) => typeof value === 'string')) throw new BadRequest(400, 'the changes must be { Field: "text" }, at least one');
    try {
      return { row: customerRow(this.options.sandbox.c4c.changeCustomer(String(customer.ObjectID), changes as Record<string, string>)) };
    } catch (err) {
      throw new BadRequest(400, (err as Error).message);
    }
  }

  private async dcn(body: Record<string, unknown>): Promise<DcnResult> {
    if (body.action !== 'post' && body.action !== 'delete') throw new BadRequest(400, 'action must be post or delete');
    const template = body.template ?? 'trip';
    if (!(DCN_TEMPLATES as readonly unknown[]).includes(template)) throw new BadRequest(400, `template must be ${DCN_TEMPLATES.join(' or ')}`);
    const { request, what } = dcnRequest(body.action, template as DcnTemplate);
    let answer;
    try {
      answer = await postDcn(defaultDcnUrl(this.options.nodeRedUrl), request);
    } catch (err) {
      throw new BadRequest(502, `could not reach the hub at ${this.options.nodeRedUrl}: ${(err as Error).message}`);
    }
    return { what, status: answer.status, meaning: DCN_STATUS[answer.status] ?? '', body: answer.json ?? answer.text };
  }
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req, 64 * 1024)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest(400, 'the body must be JSON');
  }
  if (!isObject(value)) throw new BadRequest(400, 'the body must be a JSON object');
  return value;
}

function accountParameter(value: unknown): DemoAccount {
  if (!(DEMO_ACCOUNTS as readonly unknown[]).includes(value)) throw new BadRequest(400, `account must be ${DEMO_ACCOUNTS.join(', ')}`);
  return value as DemoAccount;
}

function userParameter(value: unknown): string {
  if (typeof value !== 'string' || !USER_ID.test(value)) throw new BadRequest(400, 'user must be an OpenID or UserID (letters, digits, _ @ . -)');
  return value;
}

function pageMessage(value: unknown, account: DemoAccount): PageMessage {
  if (!isObject(value) || !(PAGE_MESSAGE_KINDS as readonly unknown[]).includes(value.kind)) throw new BadRequest(400, `message.kind must be one of ${PAGE_MESSAGE_KINDS.join(', ')}`);
  const kind = value.kind as PageMessage['kind'];
  if (kind === 'text') {
    if (typeof value.text !== 'string' || value.text.trim() === '') throw new BadRequest(400, 'a text message needs its text');
    return { kind, text: value.text };
  }
  if (kind === 'menu') {
    if (typeof value.key !== 'string' || value.key === '') throw new BadRequest(400, 'a menu click needs its key');
    return { kind, key: value.key };
  }
  if ((kind === 'follow' || kind === 'unfollow') && account !== 'official') throw new BadRequest(400, 'only the Official Account is followed');
  return { kind } as PageMessage;
}

/** The simulator's spec for what the user did. */
function messageSpec(message: PageMessage, account: DemoAccount): MessageSpec {
  switch (message.kind) {
    case 'text':
      return { type: 'text', content: message.text };
    case 'image':
      return { type: 'image' };
    case 'location':
      return { type: 'location', latitude: 31.2304, longitude: 121.4737, scale: 15, label: LOCATION_LABEL };
    case 'menu':
      return { event: account === 'official' ? 'CLICK' : 'click', eventKey: message.key };
    case 'follow':
      return { event: 'subscribe' };
    case 'unfollow':
      return { event: 'unsubscribe' };
  }
}

/** The sent bubble's text: the message, the place, the menu key or the event. */
function sentText(message: PageMessage): string {
  if (message.kind === 'text') return message.text;
  if (message.kind === 'menu') return message.key;
  if (message.kind === 'location') return LOCATION_LABEL;
  if (message.kind === 'follow') return 'subscribe';
  if (message.kind === 'unfollow') return 'unsubscribe';
  return '';
}

/** A passive reply other than text (news, image…): its fields in a few words. */
function replyFieldsText(fields: Record<string, unknown>): string {
  const { ToUserName: _to, FromUserName: _from, CreateTime: _time, MsgType: _type, ...rest } = fields;
  return JSON.stringify(rest);
}
