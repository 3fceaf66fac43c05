/**
 * Fuzz targets over lib/'s parsers, without HTTP or Node-RED: the WeChat XML parser, the
 * callback envelopes of every mode (signature, decryption, receiver, XML) and the
 * Mobile Services forwarder's, C4C $batch answers read by the client, C4C
 * notifications, and WF-DCN requests (authentication, parameters, request text).
 * A parser may accept its input or refuse it with its own typed error; anything else
 * it throws is a crash.
 */
import { C4CClient, C4CError, NotificationError, STANDARD_SERVICE_PATH, parseNotification } from '../../../lib/c4c';
import type { HttpRequest, HttpResponse } from '../../../lib/c4c/http';
import { authenticate, checkedCall, parseDcnRequest, parseWfRequest } from '../../../lib/dcn/request';
import { DcnError, DcnHttpCall } from '../../../lib/dcn/types';
import { CallbackEndpoint, CallbackError, InboundEndpoint } from '../../../lib/wechat/callback';
import { ForwardedEndpoint, checkForwarder } from '../../../lib/wechat/forwarded';
import { XmlFormatError, XmlValue, parseXml } from '../../../lib/wechat/xml';
import { DEMO_MICRO_APP, DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../../sandbox/demo-accounts';
import { c4cCase } from '../cases/c4c';
import { DCN_SENDERS, dcnCase } from '../cases/dcn';
import { HttpCase, describeCase, refusalsFor } from '../cases/http-case';
import { carriesMark } from '../cases/marker';
import { WECHAT_FUZZ_MODES, WeChatCases, WeChatFuzzMode } from '../cases/wechat';
import { mutateText, randomBytes, randomFragments } from '../engine/bytes';
import { Random } from '../engine/random';
import { CaseOutcome, FuzzTarget } from '../engine/runner';
import { XML_DICTIONARY, XmlFields, mutateXml } from '../engine/xml';

/** Whether a parsed value is made only of strings, plain objects and arrays, as parseXml promises. */
function wellFormedValue(value: XmlValue, depth = 0): boolean {
  if (typeof value === 'string') return true;
  if (depth > 20) return false;
  if (Array.isArray(value)) return value.every((v) => wellFormedValue(v, depth + 1));
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every((v) => wellFormedValue(v, depth + 1));
}

/** A prototype polluted by a parser shows on every new object. */
function prototypePolluted(): boolean {
  return Object.keys(Object.prototype).length > 0 || ({} as Record<string, unknown>).polluted !== undefined;
}

function thrown(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message).slice(0, 500) : String(err);
}

export function xmlTarget(): FuzzTarget {
  const sources = WECHAT_FUZZ_MODES.map((mode) => new WeChatCases(mode));
  return {
    name: 'parser:wechat-xml',
    async run(rng: Random): Promise<CaseOutcome> {
      const message = rng.pick(sources).message(rng, false);
      const input = rng.weighted<() => string>([
        [70, () => mutateXml(rng, message.fields as XmlFields)],
        [15, () => mutateText(rng, message.xml, XML_DICTIONARY, 6)],
        [10, () => randomFragments(rng, XML_DICTIONARY, 40)],
        [5, () => randomBytes(rng, 4096).toString('utf8')],
      ])();
      try {
        const fields = parseXml(input);
        if (!wellFormedValue(fields)) return { status: 'ok', problem: 'parsed into something other than strings, objects and arrays', input };
        if (prototypePolluted()) return { status: 'ok', problem: 'Object.prototype was polluted', input };
        return { status: 'ok' };
      } catch (err) {
        if (err instanceof XmlFormatError) return { status: 'refused' };
        return { status: 'threw', problem: thrown(err), input };
      }
    },
  };
}

const FORWARDER = { kind: 'basic' as const, user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword };

function endpointFor(mode: WeChatFuzzMode): InboundEndpoint {
  const options = { replayWindowSeconds: 300 };
  if (mode === 'mobile-services') return new ForwardedEndpoint({ corpId: DEMO_MICRO_APP.corpId, agentId: DEMO_MICRO_APP.agentId });
  if (mode === 'wecom') return new CallbackEndpoint({ kind: 'wecom', appId: DEMO_WECOM_APP.corpId, token: DEMO_WECOM_APP.token, encodingAESKey: DEMO_WECOM_APP.encodingAESKey }, options);
  if (mode === 'plain') return new CallbackEndpoint({ kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, token: DEMO_OFFICIAL_ACCOUNT.token }, options);
  return new CallbackEndpoint({ kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, token: DEMO_OFFICIAL_ACCOUNT.token, encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey }, options);
}

/** Judges what an endpoint made of a case: the same rules as the routes, without HTTP. */
export function judgeOpened(c: HttpCase, open: () => { fields: unknown }): CaseOutcome {
  const input = describeCase(c);
  try {
    const opened = open();
    if (c.kind === 'auth') return { status: 'ok', problem: `accepted a request whose authentication was broken (${c.broken})`, input };
    if (carriesMark(opened.fields)) return { status: 'ok', problem: 'content no signature covers came out as the message', input };
    return { status: 'ok' };
  } catch (err) {
    if (!(err instanceof CallbackError)) return { status: 'threw', problem: thrown(err), input };
    if (err.status >= 500) return { status: `refused:${err.reason}`, problem: `a ${err.status} for bad input: ${err.message}`, input };
    if (c.kind === 'auth' && !refusalsFor(c.broken).includes(err.status)) {
      return { status: `refused:${err.reason}`, problem: `broken authentication (${c.broken}) answered ${err.status}, not ${refusalsFor(c.broken).join('/')}`, input };
    }
    return { status: `refused:${err.reason}` };
  }
}

export function envelopeTarget(): FuzzTarget {
  const modes = WECHAT_FUZZ_MODES.map((mode) => ({ mode, cases: new WeChatCases(mode), endpoint: endpointFor(mode) }));
  return {
    name: 'parser:envelopes',
    async run(rng: Random): Promise<CaseOutcome> {
      const { mode, cases, endpoint } = rng.pick(modes);
      const c = cases.next(rng);
      return judgeOpened(c, () => {
        if (mode === 'mobile-services') checkForwarder(FORWARDER, c.headers);
        return endpoint.open(c.query, c.body.toString('utf8'));
      });
    },
  };
}

const BATCH_DICTIONARY = ['--', '\r\n', '\r\n\r\n', 'HTTP/1.1 ', '200 OK', '500 Internal Server Error', 'Content-Type: ', 'multipart/mixed; boundary=', 'application/http', '--batchresponse_1', '--changesetresponse_2', '--changesetresponse_2--', '--batchresponse_1--', '{"d":', '{"error":{"code":"X","message":{"value":"v"}}}', '<error/>', 'ETag: W/"1"'];

/** A $batch answer to a GET and a change set with one POST, as C4C writes it. */
function batchAnswer(rng: Random): string {
  const crlf = '\r\n';
  const failed = rng.chance(0.3);
  const changeset = failed
    ? `Content-Type: application/http${crlf}Content-Transfer-Encoding: binary${crlf}${crlf}HTTP/1.1 400 Bad Request${crlf}Content-Type: application/json${crlf}${crlf}{"error":{"code":"CX","message":{"lang":"en","value":"LastName is missing"}}}${crlf}`
    : `Content-Type: multipart/mixed; boundary=changesetresponse_2${crlf}${crlf}--changesetresponse_2${crlf}Content-Type: application/http${crlf}Content-Transfer-Encoding: binary${crlf}${crlf}HTTP/1.1 201 Created${crlf}Content-Type: application/json${crlf}ETag: W/"datetimeoffset'2024'"${crlf}${crlf}{"d":{"ObjectID":"${rng.uint32()}","LastName":"x"}}${crlf}--changesetresponse_2--${crlf}`;
  return (
    `--batchresponse_1${crlf}Content-Type: application/http${crlf}Content-Transfer-Encoding: binary${crlf}${crlf}` +
    `HTTP/1.1 200 OK${crlf}Content-Type: application/json${crlf}${crlf}{"d":{"results":[{"ObjectID":"1"}],"__count":"1"}}${crlf}` +
    `--batchresponse_1${crlf}${changeset}--batchresponse_1--${crlf}`
  );
}

const BATCH_PARTS = [{ method: 'GET', path: 'IndividualCustomerCollection?$top=1' }, { changeset: [{ method: 'POST', path: 'IndividualCustomerCollection', body: { LastName: 'x' } }] }];

export function c4cBatchTarget(): FuzzTarget {
  const client = new C4CClient({ baseUrl: 'http://c4c.invalid', servicePath: STANDARD_SERVICE_PATH, auth: { type: 'basic', user: 'u', password: 'p' }, retries: 0, retryBaseMs: 0 });
  client.sleep = () => Promise.resolve();
  let answer: HttpResponse = { status: 202, headers: {}, body: Buffer.alloc(0) };
  // The transport is replaced: the CSRF fetch gets a token, the $batch POST the case's answer.
  (client.http as unknown as { send: (r: HttpRequest) => Promise<HttpResponse> }).send = async (request) =>
    request.headers?.['x-csrf-token'] === 'fetch' ? { status: 200, headers: { 'x-csrf-token': 'token' }, body: Buffer.alloc(0) } : answer;
  return {
    name: 'parser:c4c-batch',
    async run(rng: Random): Promise<CaseOutcome> {
      const text = rng.chance(0.9) ? mutateText(rng, batchAnswer(rng), BATCH_DICTIONARY, 5) : randomFragments(rng, BATCH_DICTIONARY, 30);
      const contentType = rng.weighted<string>([
        [8, 'multipart/mixed; boundary=batchresponse_1'],
        [1, 'multipart/mixed; boundary="batchresponse_1"'],
        [1, mutateText(rng, 'multipart/mixed; boundary=batchresponse_1', ['=', ';', '"'])],
      ]);
      answer = { status: rng.chance(0.9) ? 202 : rng.pick([200, 400, 403, 500]), headers: { 'content-type': contentType }, body: Buffer.from(text) };
      try {
        const results = await client.batch(BATCH_PARTS);
        if (!Array.isArray(results)) return { status: 'ok', problem: 'batch() answered no array', input: text };
        return { status: 'ok' };
      } catch (err) {
        if (err instanceof C4CError) return { status: `refused:${err.kind}` };
        return { status: 'threw', problem: thrown(err), input: text };
      }
    },
  };
}

export function c4cNotificationTarget(): FuzzTarget {
  return {
    name: 'parser:c4c-notification',
    async run(rng: Random): Promise<CaseOutcome> {
      const c = c4cCase(rng);
      const text = c.body.toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return { status: 'not-json' };
      }
      try {
        const n = parseNotification(value);
        if (typeof n.dedupeKey !== 'string' || !n.dedupeKey) return { status: 'ok', problem: 'no de-duplication key', input: text };
        return { status: 'ok' };
      } catch (err) {
        if (err instanceof NotificationError) return { status: 'refused' };
        return { status: 'threw', problem: thrown(err), input: text };
      }
    },
  };
}

/** The call a servlet would make of a case (as wf-dcn-in's reading does: query, then a form body's fields). */
export function dcnCallOf(c: HttpCase, servlet: DcnHttpCall['servlet']): DcnHttpCall {
  const parameters: Record<string, string> = {};
  const add = (params: URLSearchParams) => {
    for (const [name, value] of params) if (!Object.hasOwn(parameters, name)) parameters[name] = value;
  };
  const isForm = /^application\/x-www-form-urlencoded/i.test(c.headers['content-type'] ?? '');
  add(new URLSearchParams(c.query));
  const text = c.body.toString('utf8');
  if (c.method === 'POST' && isForm) {
    // The body's fields win over the query's.
    const form: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(text)) if (!Object.hasOwn(form, name)) form[name] = value;
    Object.assign(parameters, form);
  }
  const { authorization, ...headers } = c.headers;
  return { servlet, method: c.method === 'POST' ? 'POST' : 'GET', parameters, rawBody: c.method === 'POST' && !isForm ? text : '', ...(authorization !== undefined ? { authorization } : {}), headers };
}

export function dcnRequestTarget(): FuzzTarget {
  return {
    name: 'parser:wf-dcn-request',
    async run(rng: Random): Promise<CaseOutcome> {
      const servlet = rng.chance(0.5) ? 'http-auth' : 'parameters';
      const c = dcnCase(rng, servlet);
      const input = describeCase(c);
      try {
        const call = checkedCall(dcnCallOf(c, servlet), authenticate(dcnCallOf(c, servlet), DCN_SENDERS));
        if (c.kind === 'auth') return { status: 'ok', problem: `accepted a call whose authentication was broken (${c.broken})`, input };
        if (call.cmd === 'wf') parseWfRequest(call.request);
        else parseDcnRequest(call.request, call.package);
        return { status: 'ok' };
      } catch (err) {
        if (!(err instanceof DcnError)) return { status: 'threw', problem: thrown(err), input };
        if (err.status >= 500) return { status: `refused:${err.code}`, problem: `a ${err.status} for bad input: ${err.message}`, input };
        if (c.kind === 'auth' && !refusalsFor(c.broken).includes(err.status)) return { status: `refused:${err.code}`, problem: `broken authentication (${c.broken}) answered ${err.status}`, input };
        return { status: `refused:${err.code}` };
      }
    },
  };
}

export const PARSER_TARGETS: ReadonlyArray<() => FuzzTarget> = [xmlTarget, envelopeTarget, c4cBatchTarget, c4cNotificationTarget, dcnRequestTarget];
