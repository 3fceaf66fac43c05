/**
 * OData v2 $batch as multipart/mixed: building the request (GET parts and change sets)
 * and reading the answer back into one result per part. Written out by hand because
 * the format is small and SAP is strict about its line breaks: one CRLF before each
 * request line, an empty line after the headers, query strings URL-encoded.
 */
import { randomBytes } from 'node:crypto';
import { C4CError } from './errors';
import { encodeQueryValue } from './odata';

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface BatchRead {
  method: 'GET';
  /** Relative to the service root, e.g. "IndividualCustomerCollection?$top=1". */
  path: string;
  headers?: Record<string, string>;
}

export interface BatchWrite {
  method: WriteMethod;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Content-ID, so later parts of the change set can refer to this one as $<id>. */
  contentId?: string;
}

export type BatchPart = BatchRead | { changeset: BatchWrite[] };

export interface RawPartResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Per request part: one response for a GET, a list (one per operation, or one error) for a change set. */
export type RawBatchResult = RawPartResponse | RawPartResponse[];

const CRLF = '\r\n';

function newBoundary(prefix: 'batch' | 'changeset'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function validateParts(parts: unknown): BatchPart[] {
  if (!Array.isArray(parts) || parts.length === 0) throw new C4CError('input', 0, 'BAD_BATCH', '$batch needs a non-empty array of parts');
  return parts.map((p, i) => {
    if (!p || typeof p !== 'object') throw new C4CError('input', 0, 'BAD_BATCH', `$batch part ${i} is not an object`);
    const part = p as Partial<BatchRead> & { changeset?: unknown };
    if (Array.isArray(part.changeset)) {
      if (!part.changeset.length) throw new C4CError('input', 0, 'BAD_BATCH', `$batch part ${i}: empty change set`);
      part.changeset.forEach((op: Partial<BatchWrite>, j: number) => {
        if (!op || !WRITE_METHODS.has(String(op.method).toUpperCase()) || typeof op.path !== 'string' || !op.path) {
          throw new C4CError('input', 0, 'BAD_BATCH', `$batch part ${i}, operation ${j}: needs method POST/PUT/PATCH/DELETE and a path`);
        }
        op.method = String(op.method).toUpperCase() as WriteMethod;
      });
      return { changeset: part.changeset as BatchWrite[] };
    }
    if (String(part.method ?? 'GET').toUpperCase() !== 'GET' || typeof part.path !== 'string' || !part.path) {
      throw new C4CError('input', 0, 'BAD_BATCH', `$batch part ${i}: reads outside a change set must be GET with a path; writes belong in a change set`);
    }
    return { method: 'GET', path: part.path, headers: part.headers };
  });
}

/** Query strings inside a batch part must be URL-encoded; already-encoded ones are left alone. */
function encodePath(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const query = path
    .slice(q + 1)
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 0) return kv;
      const value = kv.slice(eq + 1);
      return `${kv.slice(0, eq)}=${/%[0-9A-Fa-f]{2}/.test(value) ? value : encodeQueryValue(value)}`;
    })
    .join('&');
  return `${path.slice(0, q)}?${query}`;
}

function headerLines(headers: Record<string, string> | undefined): string {
  return Object.entries(headers ?? {})
    .map(([k, v]) => `${k}: ${v}${CRLF}`)
    .join('');
}

function readPart(op: BatchRead): string {
  return (
    `Content-Type: application/http${CRLF}Content-Transfer-Encoding: binary${CRLF}${CRLF}` +
    `GET ${encodePath(op.path)} HTTP/1.1${CRLF}Accept: application/json${CRLF}${headerLines(op.headers)}${CRLF}${CRLF}`
  );
}

function writePart(op: BatchWrite): string {
  const body = op.body === undefined ? '' : typeof op.body === 'string' ? op.body : JSON.stringify(op.body);
  const contentId = op.contentId ? `Content-ID: ${op.contentId}${CRLF}` : '';
  const type = body ? `Content-Type: application/json${CRLF}Content-Length: ${Buffer.byteLength(body)}${CRLF}` : '';
  return (
    `Content-Type: application/http${CRLF}Content-Transfer-Encoding: binary${CRLF}${contentId}${CRLF}` +
    `${op.method} ${encodePath(op.path)} HTTP/1.1${CRLF}Accept: application/json${CRLF}${type}${headerLines(op.headers)}${CRLF}${body}${CRLF}`
  );
}

/** The body of POST …/$batch and its Content-Type header. */
export function buildBatch(parts: BatchPart[], boundary = newBoundary('batch')): { body: string; contentType: string } {
  let body = '';
  for (const part of parts) {
    body += `--${boundary}${CRLF}`;
    if ('changeset' in part) {
      const cs = newBoundary('changeset');
      body += `Content-Type: multipart/mixed; boundary=${cs}${CRLF}${CRLF}`;
      for (const op of part.changeset) body += `--${cs}${CRLF}${writePart(op)}`;
      body += `--${cs}--${CRLF}`;
    } else {
      body += readPart(part);
    }
  }
  body += `--${boundary}--${CRLF}`;
  return { body, contentType: `multipart/mixed; boundary=${boundary}` };
}

export function boundaryOf(contentType: string | undefined): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : null;
}

/** Splits a multipart body into its parts (headers + body), ignoring preamble and epilogue. */
export function splitMultipart(body: string, boundary: string): Array<{ headers: Record<string, string>; body: string }> {
  const delimiter = `--${boundary}`;
  const pieces = body.split(delimiter);
  const parts: Array<{ headers: Record<string, string>; body: string }> = [];
  // pieces[0] is the preamble; a piece starting with '--' follows the closing delimiter.
  for (const piece of pieces.slice(1)) {
    if (piece.startsWith('--')) break;
    const content = piece.replace(/^\r?\n/, '').replace(/\r?\n$/, '');
    const split = splitHead(content);
    parts.push({ headers: parseHeaders(split.head), body: split.rest });
  }
  return parts;
}

function splitHead(text: string): { head: string; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text, rest: '' };
  return { head: text.slice(0, m.index), rest: text.slice(m.index + m[0].length) };
}

function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** One HTTP message inside a batch part: its first line (request or status line), headers (lower-case names) and body. */
export function parseHttpMessage(text: string): { startLine: string; headers: Record<string, string>; body: string } {
  const { head, rest } = splitHead(text.replace(/^\r?\n/, ''));
  const lineEnd = /\r?\n/.exec(head);
  const startLine = lineEnd ? head.slice(0, lineEnd.index) : head;
  return { startLine, headers: parseHeaders(lineEnd ? head.slice(lineEnd.index + lineEnd[0].length) : ''), body: rest.replace(/\r?\n$/, '') };
}

function parseHttpResponse(text: string): RawPartResponse {
  const { startLine, headers, body } = parseHttpMessage(text);
  const m = /^HTTP\/\d\.\d\s+(\d{3})/.exec(startLine);
  if (!m) throw new C4CError('protocol', 0, 'BAD_BATCH_RESPONSE', 'a $batch response part has no HTTP status line');
  return { status: Number(m[1]), headers, body };
}

/** Reads a $batch answer: one entry per request part, change sets as lists. */
export function parseBatchResponse(body: string, contentType: string | undefined): RawBatchResult[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new C4CError('protocol', 0, 'BAD_BATCH_RESPONSE', 'the $batch answer is not multipart/mixed');
  return splitMultipart(body, boundary).map((part) => {
    const inner = boundaryOf(part.headers['content-type']);
    if (inner && /multipart\/mixed/i.test(part.headers['content-type'] ?? '')) {
      return splitMultipart(part.body, inner).map((p) => parseHttpResponse(p.body));
    }
    return parseHttpResponse(part.body);
  });
}
