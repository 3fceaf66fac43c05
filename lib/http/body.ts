/**
 * Reading request bodies with a hard size limit, for the routes our nodes own and for
 * the sandbox servers. An oversized body is refused from its Content-Length when it
 * declares one, and otherwise as soon as the limit is crossed, so a client can never
 * make us buffer more than the limit.
 *
 * Something upstream may have read the body first: a parser in httpNodeMiddleware, or,
 * with the editor at / (Node-RED's default), the editor's own JSON and form parsers,
 * which run on every request. Their text or Buffer results are used as they are; an
 * object means the stream is drained and the bytes are gone, which is said at once
 * instead of waiting on a stream that will never end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ContentKeyError, contentKey } from '../common/content-key';

export type BodyErrorCode = 'too_large' | 'unreadable' | 'parsed_body' | 'form_body' | 'bad_json' | 'too_deep';

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: BodyErrorCode = status === 413 ? 'too_large' : 'unreadable',
    /** What the translated text of `code` needs (see nodes/shared/locales/…/lib.json). */
    readonly params: Record<string, string | number> = { detail: message },
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** A request as Express hands it over after body parsers (body-parser sets `_body` when it parsed). */
type MaybeParsed = IncomingMessage & { body?: unknown; _body?: boolean };

/** True when a parser upstream consumed the stream and left something other than the raw bytes. */
function drainedUpstream(req: MaybeParsed): boolean {
  return req._body === true || req.readableEnded;
}

function tooLarge(size: number, limitBytes: number): BodyError {
  return new BodyError(413, `body of ${size} bytes exceeds the ${limitBytes}-byte limit`, 'too_large', { size, limit: limitBytes });
}

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const parsed = (req as MaybeParsed).body;
  if (Buffer.isBuffer(parsed)) return checkedSize(parsed, limitBytes);
  if (typeof parsed === 'string') return checkedSize(Buffer.from(parsed, 'utf8'), limitBytes);
  if (drainedUpstream(req as MaybeParsed)) {
    const type = req.headers['content-type'] ?? 'no Content-Type';
    return Promise.reject(
      new BodyError(
        415,
        `the body (${type}) was already parsed by another body parser before this route; ` +
          'with the editor at / its JSON and form parsers do that (move it with httpAdminRoot)',
        'parsed_body',
        { type },
      ),
    );
  }

  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge(declared, limitBytes));
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
  return body.length > limitBytes ? Promise.reject(tooLarge(body.length, limitBytes)) : Promise.resolve(body);
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

export interface JsonBody {
  value: unknown;
  /** A hash of the whole content (see contentKey): the same for the same JSON however it was written. */
  key: string;
}

/**
 * A JSON body, whatever its Content-Type says and whichever parser ran first: the limit
 * holds for a body parsed upstream too (from Content-Length, else from the size of what
 * was parsed), and nesting deeper than `maxDepth` is refused before anything recurses on it.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number, maxDepth: number): Promise<JsonBody> {
  const upstream = req as MaybeParsed;
  let value: unknown;
  if (drainedUpstream(upstream) && upstream.body !== null && typeof upstream.body === 'object' && !Buffer.isBuffer(upstream.body)) {
    if (FORM_TYPE.test(req.headers['content-type'] ?? '')) {
      throw new BodyError(415, 'the body was sent as a form (application/x-www-form-urlencoded) and decoded as one; send it as JSON', 'form_body', {});
    }
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes) throw tooLarge(declared, limitBytes);
    value = upstream.body;
  } else {
    const raw = await readBody(req, limitBytes);
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      const type = req.headers['content-type'] ?? 'no Content-Type';
      throw new BodyError(400, `the body (${type}) is not valid JSON`, 'bad_json', { type });
    }
  }
  try {
    const { key, size } = contentKey(value, maxDepth);
    // Only a body parsed upstream without a Content-Length can get here above the limit.
    if (size > limitBytes) throw tooLarge(size, limitBytes);
    return { value, key };
  } catch (err) {
    if (err instanceof ContentKeyError) throw new BodyError(400, err.message, 'too_deep', { maxDepth: err.maxDepth });
    throw err;
  }
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
