/**
 * A tiny message handler on node:http, standing where the TimeOff flow's wechat-in
 * ("via SAP Mobile Services") stands: it records what the forwarder POSTs and answers
 * as told — reply XML built by the same code wechat-reply uses, a status, or nothing.
 */
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../../lib/http/body';
import { normalizeReply, replyXml } from '../../../lib/wechat/replies';
import { XmlObject, parseXml } from '../../../lib/wechat/xml';

export interface HandledRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  fields: XmlObject;
  /** What the handler answered; unset while it holds the connection. */
  answer?: HandlerAnswer;
}

/** What to answer: a status and body, or null to hold the connection open (a handler that never answers). */
export type HandlerAnswer = { status: number; body: string } | null;

export class TinyMessageHandler {
  readonly received: HandledRequest[] = [];
  respond: (request: HandledRequest) => HandlerAnswer | Promise<HandlerAnswer> = echo;
  private server: Server | null = null;

  /** Starts on a free loopback port; resolves with the handler URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void readBody(req, 64 * 1024).then(async (raw) => {
        const body = raw.toString('utf8');
        const request: HandledRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, fields: parseOrEmpty(body) };
        this.received.push(request);
        const answer = await this.respond(request);
        if (!answer) return;
        request.answer = answer;
        res.statusCode = answer.status;
        if (answer.body) res.setHeader('Content-Type', 'text/xml; charset=utf-8');
        res.end(answer.body);
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/timeoff/OnMessage`;
  }

  /** Forgets what it received and answers with the default echo again. */
  clear(): void {
    this.received.length = 0;
    this.respond = echo;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The default answer: "pong: <the text>". */
function echo(request: HandledRequest): HandlerAnswer {
  return { status: 200, body: textReply(request, `pong: ${String(request.fields.Content)}`) };
}

/** A text reply addressed back to the sender, from the CorpID, as wechat-reply writes it. */
export function textReply(request: HandledRequest, content: string): string {
  return replyXml(normalizeReply(content, 'wecom'), String(request.fields.FromUserName), String(request.fields.ToUserName));
}

function parseOrEmpty(body: string): XmlObject {
  try {
    return parseXml(body);
  } catch {
    return {};
  }
}
