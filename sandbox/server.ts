/**
 * One HTTP server for every stand-in: each platform is mounted under its own path
 * prefix (e.g. /wechat for the Official Account API, /wecom for WeCom, /c4c for the
 * C4C tenant), so the demo needs one port and tests start one server on port 0.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../lib/http/body';
import { connectUrl } from './demo-addresses';

export interface StandIn {
  /** Mount point, e.g. '/wechat'; requests below it reach `handle` with the rest of the path. */
  readonly prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> | void;
}

export class SandboxServer {
  private server: Server | null = null;
  private readonly standIns: StandIn[];

  constructor(standIns: StandIn[]) {
    // Longest prefix first, so '/wecom' never falls into a shorter overlapping mount.
    this.standIns = [...standIns].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Starts listening and returns the base URL, e.g. http://127.0.0.1:1890. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => this.route(req, res));
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return connectUrl(host, address.port);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const standIn = this.standIns.find((s) => url.pathname === s.prefix || url.pathname.startsWith(s.prefix + '/'));
    if (!standIn) {
      sendJson(res, 404, { error: `no sandbox service at ${url.pathname}` });
      return;
    }
    try {
      await standIn.handle(req, res, url.pathname.slice(standIn.prefix.length) || '/', url.searchParams);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.destroy();
    }
  }
}
