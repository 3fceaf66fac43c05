/**
 * Target (c) of the inbound benchmark: a bare node:http server doing exactly the
 * protocol work of wechat-in + wechat-reply with our lib/ (signature, replay window,
 * decryption, XML parse, reply XML, encryption), without Node-RED. It runs as its own
 * process so its RSS and CPU are measured apart from the load generator; it prints
 * `{"port": <n>}` on stdout once listening.
 */
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { readBody, sendText } from '../lib/http/body';
import { CallbackAccount, CallbackEndpoint, CallbackError } from '../lib/wechat/callback';
import { normalizeReply, replyXml } from '../lib/wechat/replies';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../sandbox/demo-accounts';

/** The text every target answers; the bench checks replies against it. */
export const BENCH_REPLY_TEXT = 'Thanks, your message has been received.';
const MAX_BODY = 256 * 1024;

const accounts: Record<string, CallbackAccount> = {
  // Plain mode: an account with an EncodingAESKey would refuse plaintext callbacks.
  '/official': { kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, token: DEMO_OFFICIAL_ACCOUNT.token },
  '/wecom': { kind: 'wecom', appId: DEMO_WECOM_APP.corpId, token: DEMO_WECOM_APP.token, encodingAESKey: DEMO_WECOM_APP.encodingAESKey },
};

const endpoints = new Map<string, CallbackEndpoint>(
  Object.entries(accounts).map(([path, account]) => [path, new CallbackEndpoint(account, { replayWindowSeconds: 300 })]),
);

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://bench');
  const endpoint = endpoints.get(url.pathname);
  if (!endpoint || req.method !== 'POST') return sendText(res, 404, 'not_found');
  try {
    const body = await readBody(req, MAX_BODY);
    const inbound = endpoint.open(Object.fromEntries(url.searchParams), body.toString('utf8'));
    const from = typeof inbound.fields.FromUserName === 'string' ? inbound.fields.FromUserName : '';
    const to = typeof inbound.fields.ToUserName === 'string' ? inbound.fields.ToUserName : '';
    const reply = normalizeReply(BENCH_REPLY_TEXT, endpoint.account.kind);
    const answer = endpoint.seal(replyXml(reply, from, to), inbound.encrypted);
    sendText(res, 200, answer, 'text/xml; charset=utf-8');
  } catch (err) {
    if (err instanceof CallbackError) return sendText(res, err.status, err.reason);
    sendText(res, 500, (err as Error).message);
  }
}

function main(): void {
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(JSON.stringify({ port }) + '\n');
  });
  process.on('SIGINT', () => server.close(() => process.exit(0)));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (require.main === module) main();
