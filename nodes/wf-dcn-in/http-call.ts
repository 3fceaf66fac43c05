/**
 * An HTTP request to a DCN servlet as the hub takes it (a DcnHttpCall): the parameters of
 * the query and of a form-encoded body (the body's win, as a servlet's would), the raw body
 * when it is not a form, the Authorization header, and the other headers for a pre-process
 * filter. A body is read up to the limit, whichever parser ran before the route: with the
 * editor at / (Node-RED's default) its JSON and form parsers read every body first, and
 * what they made of it is taken as it is.
 */
import type { IncomingMessage } from 'node:http';
import type { DcnHttpCall, DcnServlet } from '../../lib/dcn/types';
import { BodyError, readBody } from '../../lib/http/body';

/** Headers a filter never sees: they carry credentials. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

/** A request as Express hands it over after body parsers (body-parser sets `_body` when it parsed). */
type MaybeParsed = IncomingMessage & { body?: unknown; _body?: boolean };

export async function readDcnCall(req: IncomingMessage, servlet: DcnServlet, limitBytes: number): Promise<DcnHttpCall> {
  const method = req.method === 'POST' ? 'POST' : 'GET';
  const parameters = queryParameters(req.url ?? '');
  let rawBody = '';
  if (method === 'POST') {
    const body = await bodyOf(req as MaybeParsed, limitBytes);
    if (body.kind === 'form') Object.assign(parameters, body.parameters);
    else rawBody = body.text;
  } else {
    // A GET carries everything in its query; a body, if any, is not read.
    req.resume();
  }
  const authorization = req.headers.authorization;
  return { servlet, method, parameters, rawBody, ...(authorization !== undefined ? { authorization } : {}), headers: filterHeaders(req) };
}

/** The query's parameters; a name given twice keeps its first value, as a servlet's getParameter does. */
function queryParameters(url: string): Record<string, string> {
  const at = url.indexOf('?');
  return at < 0 ? {} : firstValues(new URLSearchParams(url.slice(at + 1)));
}

function firstValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of params) if (!Object.hasOwn(out, name)) out[name] = value;
  return out;
}

type Body = { kind: 'form'; parameters: Record<string, string> } | { kind: 'raw'; text: string };

async function bodyOf(req: MaybeParsed, limitBytes: number): Promise<Body> {
  const isForm = FORM_TYPE.test(req.headers['content-type'] ?? '');
  const parsed = req.body;
  if (parsedUpstream(req, parsed)) {
    const size = Number(req.headers['content-length']);
    if (size > limitBytes) throw new BodyError(413, `body of ${size} bytes exceeds the ${limitBytes}-byte limit`, 'too_large', { size, limit: limitBytes });
    const text = isForm ? '' : JSON.stringify(parsed);
    // Without a Content-Length (chunked), the size of what the parser made of it stands in.
    if (Buffer.byteLength(text) > limitBytes) throw new BodyError(413, `body exceeds the ${limitBytes}-byte limit`, 'too_large', { size: Buffer.byteLength(text), limit: limitBytes });
    return isForm ? { kind: 'form', parameters: formFields(parsed) } : { kind: 'raw', text };
  }
  const text = (await readBody(req, limitBytes)).toString('utf8');
  return isForm ? { kind: 'form', parameters: firstValues(new URLSearchParams(text)) } : { kind: 'raw', text };
}

/** An object a parser upstream made of the body, whose bytes are gone. */
function parsedUpstream(req: MaybeParsed, parsed: unknown): parsed is Record<string, unknown> {
  return (req._body === true || req.readableEnded) && typeof parsed === 'object' && parsed !== null && !Buffer.isBuffer(parsed);
}

/** A form an upstream parser decoded: its text fields (a name given twice: the first value). */
function formFields(parsed: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[name] = first;
  }
  return out;
}

/** Request headers with lower-case names, one text each, without the ones carrying credentials. */
function filterHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || CREDENTIAL_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
