/**
 * The chat page's server over HTTP, against the sandbox and a stand-in for Node-RED that
 * answers the callbacks and the WF-DCN servlet: the page and its script are served, what
 * the page sends goes out as the platform sends it and lands in the conversation with
 * what the stand-ins record for that user (a late answer marked), C4C customers are
 * listed and changed, WF-DCN requests are posted, and bad requests get a clear 4xx.
 */
import { strict as assert } from 'node:assert';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatEntry, CustomerList, DcnResult } from '../../../sandbox/chat/api';
import { ChatPage } from '../../../sandbox/chat/server';
import { DEMO_OFFICIAL_ACCOUNT } from '../../../sandbox/demo-accounts';
import type { Sandbox } from '../../../sandbox/index';
import { withSandbox } from '../../support/sandbox';

interface Received {
  path: string;
  body: string;
}

/** Node-RED as far as the page needs it: every callback answered "success", the servlet with a result. */
async function fakeNodeRed(received: Received[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: (req.url ?? '').split('?')[0], body: Buffer.concat(chunks).toString('utf8') });
      if (req.url?.startsWith('/dcn/')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify([{ recordID: 'TRIP-APPROVAL-1001', success: true, statusMessage: 'ok' }]));
      } else res.end('success');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Delivers a customer-service message through the Official Account stand-in's API, as wechat-send would. */
async function customServiceMessage(sandbox: Sandbox, touser: string, content: string): Promise<void> {
  const query = new URLSearchParams({ grant_type: 'client_credential', appid: DEMO_OFFICIAL_ACCOUNT.appId, secret: DEMO_OFFICIAL_ACCOUNT.appSecret });
  const { access_token: token } = (await (await fetch(`${sandbox.baseUrl}/wechat/cgi-bin/token?${query}`)).json()) as { access_token: string };
  const sent = await fetch(`${sandbox.baseUrl}/wechat/cgi-bin/message/custom/send?access_token=${token}`, {
    method: 'POST',
    body: JSON.stringify({ touser, msgtype: 'text', text: { content } }),
  });
  assert.equal(((await sent.json()) as { errcode: number }).errcode, 0);
}

/** A conversation's event stream, read as far as a test needs it. */
class EventStream {
  private text = '';
  private constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly controller: AbortController,
  ) {}

  static async open(url: string): Promise<EventStream> {
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    return new EventStream((response.body as ReadableStream<Uint8Array>).getReader(), controller);
  }

  /** The entries so far, once there are at least `count`. */
  async entries(count: number): Promise<ChatEntry[]> {
    const parsed = () => [...this.text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]) as ChatEntry);
    while (parsed().length < count) {
      const { value, done } = await this.reader.read();
      if (done) break;
      this.text += Buffer.from(value).toString('utf8');
    }
    return parsed();
  }

  close(): void {
    this.controller.abort();
  }
}

/** Reads the conversation's event stream until `count` entries came. */
async function streamed(url: string, count: number): Promise<ChatEntry[]> {
  const stream = await EventStream.open(url);
  try {
    return await stream.entries(count);
  } finally {
    stream.close();
  }
}

describe('sandbox chat page server', () => {
  let sandbox: Sandbox;
  withSandbox((s) => (sandbox = s));
  let page: ChatPage;
  let nodeRed: { url: string; server: Server };
  const received: Received[] = [];
  const logged: string[] = [];
  const post = (path: string, body: unknown) => fetch(page.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    nodeRed = await fakeNodeRed(received);
    page = await ChatPage.start({ sandbox, nodeRedUrl: nodeRed.url, log: (line) => logged.push(line) });
  });
  after(async () => {
    await page.close();
    await new Promise((resolve) => nodeRed.server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    logged.length = 0;
  });

  it('serves the page and its bundled script', async () => {
    const html = await fetch(page.url + '/');
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<script src="\/app\.js"><\/script>/);
    const script = await fetch(page.url + '/app.js');
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await script.text()).length > 1000, 'the bundle holds the app and Preact');
  });

  it('sends a text as the Official Account would and marks the customer-service message after the unanswered one as late', async () => {
    const user = 'oChatPageTest0000000000000001';
    const answer = await post('/api/send', { account: 'official', user, message: { kind: 'text', text: 'report' } });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { outcome: 'no passive reply ("success")' });
    // The fake Node-RED got what WeChat sends: a signed, encrypted callback the simulator can open.
    assert.equal(received[0].path, '/wechat/official');
    assert.match(received[0].body, /<Encrypt>/);
    await customServiceMessage(sandbox, user, 'Your monthly report is ready.');
    await customServiceMessage(sandbox, user, 'Another message.');
    await customServiceMessage(sandbox, 'oSomebodyElse', 'Not in this conversation.');
    const entries = await streamed(`${page.url}/api/conversation?user=${user}`, 3);
    assert.deepEqual(
      entries.map((e) => [e.channel, e.text, e.late ?? false]),
      [
        ['sent', 'report', false],
        ['customer-service', 'Your monthly report is ready.', true],
        ['customer-service', 'Another message.', false],
      ],
    );
  });

  it('streams the history, then each new entry as it is recorded', async () => {
    const user = 'oChatPageTest0000000000000002';
    await post('/api/send', { account: 'official', user, message: { kind: 'follow' } });
    const stream = await EventStream.open(`${page.url}/api/conversation?user=${user}`);
    try {
      assert.equal((await stream.entries(1)).length, 1);
      await post('/api/send', { account: 'official', user, message: { kind: 'menu', key: 'MENU_HOURS' } });
      const entries = await stream.entries(2);
      assert.deepEqual(
        entries.map((e) => [e.channel, e.msgtype, e.text, e.account]),
        [
          ['sent', 'event', 'subscribe', 'official'],
          ['sent', 'event', 'MENU_HOURS', 'official'],
        ],
      );
    } finally {
      stream.close();
    }
    // Follow events go to the follow flow's route, the one that creates the C4C customer; the menu click to the Q&A bot.
    assert.deepEqual(
      received.map((r) => r.path),
      ['/wechat/follow', '/wechat/official'],
    );
  });

  it('lists the C4C customers in the shared columns and changes one, found by its WechatID', async () => {
    sandbox.c4c.createCustomer({ FirstName: 'Li', LastName: 'Lei', RoleCode: 'CRM000', WechatID: 'oChatPageFollower', WechatStatus: 'subscribed' });
    const list = (await (await fetch(page.url + '/api/customers')).json()) as CustomerList;
    assert.deepEqual(list.columns, ['ObjectID', 'CustomerID', 'Name', 'WechatID', 'WechatStatus']);
    assert.deepEqual([list.rows[0].Name, list.rows[0].WechatStatus], ['Li Lei', 'subscribed']);
    const changed = await post('/api/customers/oChatPageFollower', { FirstName: 'Anna' });
    assert.equal(changed.status, 200);
    assert.equal(((await changed.json()) as { row: Record<string, string> }).row.Name, 'Anna Lei');
    assert.equal(sandbox.c4c.customers()[0].FirstName, 'Anna');
    const unknown = await post('/api/customers/nobody', { FirstName: 'Anna' });
    assert.equal(unknown.status, 404);
    assert.match(logged.join('\n'), /404 POST \/api\/customers\/nobody: no customer/);
  });

  it('posts the WF-DCN template and its retraction to the hub and answers with the status and the result JSON', async () => {
    const posted = (await (await post('/api/dcn', { action: 'post', template: 'trip' })).json()) as DcnResult;
    assert.equal(posted.status, 200);
    assert.equal(posted.meaning, 'processed: the result records');
    assert.match(posted.what, /^:upsert TRIP-APPROVAL-1001 to SUPAdmin, template trip: 5 Trip rows/);
    assert.deepEqual(posted.body, [{ recordID: 'TRIP-APPROVAL-1001', success: true, statusMessage: 'ok' }]);
    const retracted = (await (await post('/api/dcn', { action: 'delete', template: 'trip' })).json()) as DcnResult;
    assert.match(retracted.what, /^:delete TRIP-APPROVAL-1001/);
    assert.deepEqual(
      received.map((r) => [r.path, (JSON.parse(r.body) as { op: string }).op]),
      [
        ['/dcn/HttpAuthDCNServlet', ':upsert'],
        ['/dcn/HttpAuthDCNServlet', ':delete'],
      ],
    );
  });

  it('refuses what the page would never send with a 4xx and a log line, and sends nothing', async () => {
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['/api/send', '{not json', 400, /the body must be JSON/],
      ['/api/send', { account: 'qq', user: 'u1', message: { kind: 'text', text: 'hi' } }, 400, /account must be official, wecom, microapp/],
      ['/api/send', { account: 'official', user: 'no spaces allowed', message: { kind: 'text', text: 'hi' } }, 400, /user must be/],
      ['/api/send', { account: 'official', user: 'u1', message: { kind: 'text', text: ' ' } }, 400, /needs its text/],
      ['/api/send', { account: 'wecom', user: 'u1', message: { kind: 'follow' } }, 400, /only the Official Account is followed/],
      ['/api/dcn', { action: 'upsert' }, 400, /action must be post or delete/],
      ['/api/nothing', {}, 404, /nothing at POST \/api\/nothing/],
    ];
    for (const [path, body, status, message] of cases) {
      const answer = await post(path, body);
      assert.equal(answer.status, status, path);
      assert.match(((await answer.json()) as { error: string }).error, message);
    }
    assert.equal(logged.length, cases.length);
    assert.deepEqual(received, []);
    const stream = await fetch(`${page.url}/api/conversation?user=${encodeURIComponent('<script>')}`);
    assert.equal(stream.status, 400);
  });
});
