/**
 * A round-robin HTTP proxy on loopback, a test tool standing for the load balancer in
 * front of several Node-RED instances: each request goes to the next instance in turn,
 * whatever it is (no sticky sessions, no health checks), with its method, path, headers
 * and body; the answer is streamed back. An instance that cannot be reached, or dies
 * before it answers, is a 502, as nginx answers it; one that dies mid-answer cuts the
 * connection. One instance can be made slow: requests to it wait a while before they
 * reach it, as they would at a busy or distant instance.
 */
import { Agent, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One proxied request: where it went and what came of it (0: no answer at all). */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** Index of the instance in the proxy's list. */
  target: number;
  status: number;
}

/** Headers of one hop only, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class RoundRobinProxy {
  /** Every request in the order it arrived. */
  readonly log: ProxiedRequest[] = [];
  private next = 0;
  private readonly delays = new Map<number, number>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  private constructor(
    private readonly server: Server,
    private readonly targets: URL[],
    readonly baseUrl: string,
  ) {}

  /** Listens on an ephemeral loopback port in front of `targets` (base URLs). */
  static async start(targets: string[]): Promise<RoundRobinProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new RoundRobinProxy(server, targets.map((t) => new URL(t)), `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void proxy.forward(req, res));
    return proxy;
  }

  url(path: string): string {
    return this.baseUrl + path;
  }

  /** Requests to instance `target` wait `ms` before they are sent to it (0: none). */
  slowDown(target: number, ms: number): void {
    this.delays.set(target, ms);
  }

  /** How many requests went to each instance. */
  spread(): number[] {
    return this.targets.map((_, i) => this.log.filter((r) => r.target === i).length);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = this.next;
    this.next = (this.next + 1) % this.targets.length;
    const entry: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', target, status: 0 };
    this.log.push(entry);
    // Read whole (our bodies are small), so a slow instance does not hold the caller's upload.
    const body = await bodyOf(req);
    const delay = this.delays.get(target) ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const base = this.targets[target];
    const headers = { ...endToEnd(req.headers), 'content-length': String(body.length) };
    // The caller may have given up meanwhile (WeChat's deadline): the request still reaches
    // the instance, as one already on its way does.
    const upstream = request({ host: base.hostname, port: base.port, method: entry.method, path: entry.path, headers, agent: this.agent }, (answer) => {
      entry.status = answer.statusCode ?? 0;
      if (res.destroyed) return void answer.resume();
      res.writeHead(entry.status, endToEnd(answer.headers));
      answer.pipe(res);
      // An instance dying mid-answer: the caller sees the cut, never a truncated 200.
      answer.on('close', () => {
        if (!answer.complete) res.destroy();
      });
    });
    upstream.on('error', () => {
      if (res.headersSent) return void res.destroy();
      entry.status = 502;
      if (!res.destroyed) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
    });
    upstream.end(body);
  }
}
