/**
 * The HTTP transport of one C4C system: keep-alive agents (so steady-state calls
 * reuse sockets), a per-request timeout, a limit on requests in flight, and a counter
 * of round trips (the benchmark's unit). Plain node:http, so nothing sits between us
 * and the wire.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { C4CError, safeUrl } from './errors';

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpClientOptions {
  /** Milliseconds to wait for a complete response. */
  timeoutMs: number;
  /** Requests in flight at once; further requests wait in line. */
  maxConcurrent: number;
  /** Largest response body accepted, in bytes. */
  maxResponseBytes?: number;
}

export const DEFAULT_HTTP_OPTIONS: HttpClientOptions = { timeoutMs: 30_000, maxConcurrent: 8, maxResponseBytes: 64 * 1024 * 1024 };

export class HttpClient {
  /** Every request that went on the wire, including CSRF fetches, token requests and retries. */
  roundTrips = 0;
  private readonly options: HttpClientOptions;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(options: Partial<HttpClientOptions> = {}) {
    this.options = { ...DEFAULT_HTTP_OPTIONS, ...options };
    this.options.maxConcurrent = Math.max(1, Math.floor(this.options.maxConcurrent));
    const agentOptions = { keepAlive: true, maxSockets: this.options.maxConcurrent, keepAliveMsecs: 15_000 };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    await this.acquire();
    try {
      this.roundTrips++;
      return await this.once(request);
    } finally {
      this.release();
    }
  }

  /** Frees the sockets; later requests open new ones. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next) next();
    else this.active--;
  }

  private once(request: HttpRequest): Promise<HttpResponse> {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const transport = secure ? https : http;
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body);
    const limit = this.options.maxResponseBytes ?? Infinity;
    const where = `${request.method} ${safeUrl(url.origin + url.pathname)}`;

    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        { method: request.method, headers, agent: secure ? this.httpsAgent : this.httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limit) {
              req.destroy(new C4CError('protocol', 0, 'RESPONSE_TOO_LARGE', `${where}: response exceeds ${limit} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) }));
          res.on('error', (err) => reject(transportError(err, where)));
        },
      );
      req.setTimeout(this.options.timeoutMs, () => {
        req.destroy(new C4CError('timeout', 0, 'ETIMEDOUT', `${where}: no response within ${this.options.timeoutMs} ms`));
      });
      req.on('error', (err) => reject(transportError(err, where)));
      req.end(request.body);
    });
  }
}

function transportError(err: Error, where: string): C4CError {
  if (err instanceof C4CError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'ENETWORK';
  return new C4CError('network', 0, code, `${where}: ${code === 'ENETWORK' ? err.message : code}`);
}
