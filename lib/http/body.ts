/**
 * Reading request bodies with a hard size limit, for the routes our nodes own and for
 * the sandbox servers. An oversized body is refused from its Content-Length when it
 * declares one, and otherwise as soon as the limit is crossed, so a client can never
 * make us buffer more than the limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

type MaybeParsed = IncomingMessage & { body?: unknown };

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  // A body parser installed through httpNodeMiddleware may already have consumed the stream.
  const parsed = (req as MaybeParsed).body;
  if (Buffer.isBuffer(parsed)) return checkedSize(parsed, limitBytes);
  if (typeof parsed === 'string') return checkedSize(Buffer.from(parsed, 'utf8'), limitBytes);

  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) {
    req.resume();
    return Promise.reject(new BodyError(413, `body of ${declared} bytes exceeds the ${limitBytes}-byte limit`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyError(413, `body exceeds the ${limitBytes}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', (err) => reject(new BodyError(400, `request body could not be read: ${err.message}`)));
  });
}

function checkedSize(body: Buffer, limitBytes: number): Promise<Buffer> {
  return body.length > limitBytes
    ? Promise.reject(new BodyError(413, `body of ${body.length} bytes exceeds the ${limitBytes}-byte limit`))
    : Promise.resolve(body);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}
