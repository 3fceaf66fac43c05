/**
 * The front of the WF-DCN contract (../../README.md "WF-DCN hub"): who is calling
 * (a sender configured on the hub, by HTTP Basic or by `username`/`password`
 * parameters), what the call's parameters say, and the request text read field by
 * field into a WfDcnRequest or a DcnRequest. Every refusal is a DcnError naming the
 * parameter or field (`cmd`, `to`, `data[2].messages[0].cols`), so a back end can see
 * what to fix; nothing here touches the store.
 *
 * Input comes from outside, so sizes are bounded before anything is built from it:
 * the text's length and nesting depth are checked before JSON.parse, and every array
 * and string afterwards (DCN_LIMITS).
 *
 * Where the SMP documentation is silent [U], these are our rules:
 * - `to` is one name, a comma-separated list or an array; a :delete may leave it out
 *   (the withdrawal reaches whoever got the earlier :upsert);
 * - subject, from, body and received are optional ('' when absent); `received`, when
 *   given, is ISO-8601 with an offset; `read` / `priority` also take "true"/"false"/"";
 * - ids may be whole numbers; `data` may be absent, null or `{}` (SMP's form without
 *   payload); fields the contract does not name are ignored;
 * - a user name `user@config` is the user of that security configuration.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { basicCredentials } from '../http/basic-auth';
import { NAME_CHARS, checkChars, checkName, empty, expected, isPlainObject, shortened, tooLong } from './checks';
import { DcnCall, DcnCommand, DcnError, DcnHttpCall, DcnMessage, DcnRequest, DcnSender, WfDcnRequest } from './types';

/** The bounds a request must keep; each is a 400 (the whole text's length a 413) naming the field. */
export const DCN_LIMITS = {
  /** The request text, in characters (after a pre-process filter too). */
  requestChars: 16 * 1024 * 1024,
  /** Nesting of objects and arrays; the request's own structure uses 6 levels. */
  depth: 32,
  /** DCN requests in a WF-DCN request's `data`. */
  dcnRequests: 1000,
  /** Messages in all DCN requests of one call together. */
  messages: 10_000,
  /** Receivers in `to`. */
  receivers: 1000,
  /** Attributes in one message's `cols`. */
  attributes: 1000,
  /** Ids, user names, MBO and operation names, packages, security configurations. */
  nameChars: NAME_CHARS,
  subjectChars: 1000,
  fromChars: 1000,
  bodyChars: 65_536,
  /** Any one string inside `cols`. */
  valueChars: 100_000,
} as const;

// ── Authentication ────────────────────────────────────────────────────────────────

interface Credentials {
  user: string;
  password: string;
}

/**
 * The sender a call authenticates as. The `http-auth` servlet takes HTTP Basic only;
 * the `parameters` servlet takes `username`/`password` parameters, or Basic when they
 * are absent. A user name `user@config` matches a sender named exactly that first,
 * and otherwise the sender `user` whose security configuration is `config`. Every
 * sender is compared, in constant time, whatever matched, so timing tells nothing.
 */
export function authenticate(call: DcnHttpCall, senders: readonly DcnSender[]): DcnSender {
  const given = credentialsOf(call);
  const sender = given ? matchingSender(given, senders) : undefined;
  if (!sender) throw new DcnError(401, 'dcn_unauthorized', 'the user name or password is missing or wrong', {});
  return sender;
}

function credentialsOf(call: DcnHttpCall): Credentials | null {
  if (call.servlet === 'parameters') {
    const user = call.parameters.username;
    if (user) return { user, password: call.parameters.password ?? '' };
  }
  return basicCredentials(call.authorization);
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
const same = (a: Buffer, b: Buffer): boolean => timingSafeEqual(a, b);

function matchingSender(given: Credentials, senders: readonly DcnSender[]): DcnSender | undefined {
  const at = given.user.lastIndexOf('@');
  const base = digest(at > 0 ? given.user.slice(0, at) : given.user);
  const config = digest(at > 0 ? given.user.slice(at + 1) : '');
  const whole = digest(given.user);
  const password = digest(given.password);
  let exact: DcnSender | undefined;
  let qualified: DcnSender | undefined;
  for (const sender of senders) {
    // All four comparisons run for every sender before anything is decided.
    const userDigest = digest(sender.user);
    const passwordOk = same(digest(sender.password), password);
    const wholeOk = same(userDigest, whole);
    const baseOk = same(userDigest, base);
    const configOk = same(digest(sender.security), config);
    if (!sender.user || !sender.password || !passwordOk) continue;
    if (wholeOk) exact ??= sender;
    if (at > 0 && baseOk && configOk) qualified ??= sender;
  }
  return exact ?? qualified;
}

// ── Parameters ────────────────────────────────────────────────────────────────────

/**
 * The call's parameters, checked: `cmd` (wf or dcn), `security` for wf, `package`
 * for dcn, `domain` (default `default`), `dcn_filter`, and the request text from
 * `dcn_request` or the raw body. A sender that is not admin may address its own
 * security configuration only (403).
 */
export function checkedCall(call: DcnHttpCall, sender: DcnSender): DcnCall {
  const parameters = call.parameters;
  const cmd = command(parameters.cmd);
  const security = parameter(parameters, 'security');
  const pkg = parameter(parameters, 'package');
  if (cmd === 'wf' && !security) throw notSupplied('security');
  if (cmd === 'dcn' && !pkg) throw notSupplied('package');
  if (pkg) packageName(pkg, 'package');
  if (security && !sender.admin && security !== sender.security) {
    throw new DcnError(403, 'dcn_forbidden', `the sender ${sender.user} may address the security configuration ${sender.security} only, not ${security}`, {
      user: sender.user,
      own: sender.security,
      security,
    });
  }
  const request = parameters.dcn_request ? parameters.dcn_request : call.rawBody;
  if (!request.trim()) throw notSupplied('dcn_request');
  return {
    cmd,
    sender: sender.user,
    security,
    package: pkg,
    domain: parameter(parameters, 'domain') || 'default',
    filter: parameter(parameters, 'dcn_filter'),
    request,
    headers: { ...call.headers },
  };
}

function command(value: string | undefined): DcnCommand {
  if (value === undefined || value.trim() === '') throw notSupplied('cmd');
  const cmd = value.trim();
  if (cmd !== 'wf' && cmd !== 'dcn') throw new DcnError(400, 'dcn_bad_cmd', `cmd must be wf or dcn (got "${shortened(cmd)}")`, { field: 'cmd', value: shortened(cmd) });
  return cmd;
}

/** A parameter trimmed, '' when absent; bounded and free of NULs like every name. */
function parameter(parameters: Record<string, string>, name: string): string {
  const value = (parameters[name] ?? '').trim();
  if (value) checkName(value, name);
  return value;
}

function notSupplied(field: string): DcnError {
  return new DcnError(400, 'dcn_not_supplied', `${field} not supplied in the DCN request`, { field });
}

// ── The request text ──────────────────────────────────────────────────────────────

/** A WF-DCN request (cmd=wf): op, id, to, subject, from, body, received, read, priority, data. */
export function parseWfRequest(text: string): WfDcnRequest {
  const root = object(parsedJson(text), 'dcn_request');
  const op = wfOperation(root.op);
  const id = identifier(root.id, 'id');
  const data = dcnRequests(root.data);
  return {
    op,
    id,
    to: receivers(root.to, op === ':upsert'),
    subject: optionalText(root.subject, 'subject', DCN_LIMITS.subjectChars),
    from: optionalText(root.from, 'from', DCN_LIMITS.fromChars),
    body: optionalText(root.body, 'body', DCN_LIMITS.bodyChars),
    received: receivedTime(root.received),
    read: flag(root.read, 'read'),
    priority: flag(root.priority, 'priority'),
    data,
  };
}

/**
 * A general DCN request (cmd=dcn): `pkg` (optional; when given, the same package as
 * the `package` parameter, versions aside), `id` (optional) and `messages`.
 */
export function parseDcnRequest(text: string, packageParam: string): DcnRequest {
  const root = object(parsedJson(text), 'dcn_request');
  let pkg = packageParam;
  if (root.pkg !== undefined && root.pkg !== null) {
    pkg = packageName(root.pkg, 'pkg');
    if (withoutVersion(pkg) !== withoutVersion(packageParam)) {
      throw new DcnError(400, 'dcn_package_mismatch', `pkg ${pkg} is not the package ${packageParam} of the package parameter`, { field: 'pkg', pkg, package: packageParam });
    }
  }
  const id = root.id === undefined || root.id === null ? '' : identifier(root.id, 'id');
  const messages = messageList(root.messages, 'messages');
  if (messages.length > DCN_LIMITS.messages) throw tooManyMessages(messages.length);
  return { id, pkg, messages: messages.map((m, i) => message(m, `messages[${i}]`)) };
}

/** A package name as SMP writes it, `<package>:<version>`, compared without its version. */
export function withoutVersion(pkg: string): string {
  const colon = pkg.indexOf(':');
  return colon < 0 ? pkg : pkg.slice(0, colon);
}

/** An op as sent; a GET-encoded request may carry `~` where `:` is meant. */
export function normalisedOperation(op: string): string {
  return op.replaceAll('~', ':');
}

/** Parses after bounding the text: its length first, then its nesting (a scan, nothing recursive). */
function parsedJson(text: string): unknown {
  if (text.length > DCN_LIMITS.requestChars) {
    throw new DcnError(413, 'dcn_too_large', `the DCN request of ${text.length} characters exceeds the ${DCN_LIMITS.requestChars}-character limit`, {
      field: 'dcn_request',
      size: text.length,
      limit: DCN_LIMITS.requestChars,
    });
  }
  if (nestingDepth(text) > DCN_LIMITS.depth) {
    throw new DcnError(400, 'dcn_too_deep', `the DCN request is nested more than ${DCN_LIMITS.depth} levels deep`, { field: 'dcn_request', max: DCN_LIMITS.depth });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = (err as Error).message;
    throw new DcnError(400, 'dcn_unparsable', `the DCN request could not be parsed as JSON (${detail})`, { field: 'dcn_request', detail });
  }
}

/** The deepest nesting of brackets outside strings; malformed text is left to JSON.parse. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

function wfOperation(value: unknown): WfDcnRequest['op'] {
  if (value === undefined || value === null || value === '') throw notSupplied('op');
  const op = normalisedOperation(string(value, 'op'));
  if (op !== ':upsert' && op !== ':delete') throw new DcnError(400, 'dcn_bad_op', `op must be :upsert or :delete (got "${shortened(op)}")`, { field: 'op', value: shortened(op) });
  return op;
}

/**
 * `to`: one user name, a comma-separated list, or an array of names; trimmed, empty
 * entries dropped, each name once. Required for :upsert; a :delete withdraws from
 * whoever had the message, so it may leave `to` out.
 */
function receivers(value: unknown, required: boolean): string[] {
  if (value === undefined || value === null) {
    if (required) throw notSupplied('to');
    return [];
  }
  const names: string[] = [];
  if (Array.isArray(value)) {
    if (value.length > DCN_LIMITS.receivers) throw tooMany('to', value.length, DCN_LIMITS.receivers);
    value.forEach((entry, i) => names.push(checkName(string(entry, `to[${i}]`).trim(), `to[${i}]`)));
  } else {
    names.push(...string(value, 'to').split(','));
  }
  const unique = [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))];
  if (required && unique.length === 0) throw empty('to');
  if (unique.length > DCN_LIMITS.receivers) throw tooMany('to', unique.length, DCN_LIMITS.receivers);
  unique.forEach((name) => checkName(name, 'to'));
  return unique;
}

/** `received`: '' when absent, otherwise an ISO-8601 date and time with an offset (or Z). */
function receivedTime(value: unknown): string {
  const text = optionalText(value, 'received', DCN_LIMITS.nameChars).trim();
  if (text === '') return '';
  if (!ISO_WITH_OFFSET.test(text) || Number.isNaN(Date.parse(text))) {
    throw new DcnError(400, 'dcn_bad_time', `received must be an ISO-8601 time with an offset, like 2009-03-29T10:07:45+05:00 (got "${shortened(text)}")`, {
      field: 'received',
      value: shortened(text),
    });
  }
  return text;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** `read`, `priority`: booleans; the strings "true" / "false" / "" that some senders write are taken too. */
function flag(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false' || text === '') return false;
  }
  throw expected('boolean', field, value);
}

/** `data`: absent, null or `{}` (SMP's form without payload) for none; otherwise an array of DCN requests. */
function dcnRequests(value: unknown): DcnRequest[] {
  if (value === undefined || value === null) return [];
  if (isPlainObject(value) && Object.keys(value).length === 0) return [];
  if (!Array.isArray(value)) throw expected('array', 'data', value);
  if (value.length > DCN_LIMITS.dcnRequests) throw tooMany('data', value.length, DCN_LIMITS.dcnRequests);
  let total = 0;
  return value.map((entry, i) => {
    const field = `data[${i}]`;
    const request = object(entry, field);
    const id = identifier(request.id, `${field}.id`);
    if (request.pkg === undefined || request.pkg === null) throw notSupplied(`${field}.pkg`);
    const pkg = packageName(request.pkg, `${field}.pkg`);
    const messages = messageList(request.messages, `${field}.messages`);
    total += messages.length;
    if (total > DCN_LIMITS.messages) throw tooManyMessages(total);
    return { id, pkg, messages: messages.map((m, j) => message(m, `${field}.messages[${j}]`)) };
  });
}

function messageList(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) throw notSupplied(field);
  if (!Array.isArray(value)) throw expected('array', field, value);
  if (value.length === 0) throw empty(field);
  return value;
}

function message(value: unknown, field: string): DcnMessage {
  const m = object(value, field);
  const id = identifier(m.id, `${field}.id`);
  if (m.mbo === undefined || m.mbo === null) throw notSupplied(`${field}.mbo`);
  const mbo = checkName(nonEmpty(string(m.mbo, `${field}.mbo`), `${field}.mbo`), `${field}.mbo`);
  if (m.op === undefined || m.op === null) throw notSupplied(`${field}.op`);
  const op = normalisedOperation(checkName(nonEmpty(string(m.op, `${field}.op`).trim(), `${field}.op`), `${field}.op`));
  if (m.cols === undefined || m.cols === null) throw notSupplied(`${field}.cols`);
  return { id, mbo, op, cols: columns(m.cols, `${field}.cols`) };
}

/** `cols`: attribute names to JSON values; names bounded, every string inside bounded. */
function columns(value: unknown, field: string): Record<string, unknown> {
  const cols = object(value, field);
  const names = Object.keys(cols);
  if (names.length > DCN_LIMITS.attributes) throw tooMany(field, names.length, DCN_LIMITS.attributes);
  for (const name of names) {
    if (name === '') throw empty(`${field} attribute name`);
    checkName(name, `${field}.${shortened(name)}`);
    checkStrings(cols[name], `${field}.${name}`);
  }
  return cols;
}

/** Every string in a value (depth is bounded already) within valueChars. */
function checkStrings(value: unknown, field: string): void {
  if (typeof value === 'string') {
    if (value.length > DCN_LIMITS.valueChars) throw tooLong(field, value.length, DCN_LIMITS.valueChars);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkStrings(item, `${field}[${i}]`));
  } else if (isPlainObject(value)) {
    for (const [name, item] of Object.entries(value)) checkStrings(item, `${field}.${shortened(name)}`);
  }
}

/** An id: a non-empty string, or a whole number taken as its decimal text. */
function identifier(value: unknown, field: string): string {
  if (value === undefined || value === null) throw notSupplied(field);
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : string(value, field).trim();
  return checkName(nonEmpty(text, field), field);
}

function packageName(value: unknown, field: string): string {
  const pkg = checkName(nonEmpty(string(value, field).trim(), field), field);
  if (withoutVersion(pkg) === '') throw empty(field);
  return pkg;
}

function optionalText(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) return '';
  const text = string(value, field);
  if (text.length > max) throw tooLong(field, text.length, max);
  return checkChars(text, field);
}

// ── Small checks, each naming its field ──────────────────────────────────────────

function object(value: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw expected('object', field, value);
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string') throw expected('string', field, value);
  return value;
}

function nonEmpty(text: string, field: string): string {
  if (text === '') throw empty(field);
  return text;
}

function tooMany(field: string, count: number, max: number): DcnError {
  return new DcnError(400, 'dcn_too_many', `${field} holds ${count} entries, more than the ${max} allowed`, { field, count, max });
}

function tooManyMessages(count: number): DcnError {
  return new DcnError(400, 'dcn_too_many_messages', `the request holds at least ${count} messages, more than the ${DCN_LIMITS.messages} allowed in all`, {
    field: 'data',
    count,
    max: DCN_LIMITS.messages,
  });
}
