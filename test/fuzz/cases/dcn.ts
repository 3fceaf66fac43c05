/**
 * Fuzz cases for the WF-DCN servlets: WF-DCN and general DCN requests (raw JSON to
 * HttpAuthDCNServlet, form or query parameters to DCNServlet) broken in their JSON or
 * parameters; marked requests that would reach the flow (a named operation, a filter)
 * under a broken login, or from a sender addressing a security configuration not its own.
 */
import { basicHeader } from '../../../lib/http/basic-auth';
import type { DcnSender } from '../../../lib/dcn/types';
import { DEMO_DCN } from '../../../sandbox/demo-accounts';
import { JSON_DICTIONARY, Json, mutateJson } from '../engine/json';
import { mutateText, randomBytes, randomFragments } from '../engine/bytes';
import { Random } from '../engine/random';
import { HttpCase } from './http-case';
import { UNAUTHENTICATED_MARK } from './marker';

export const DCN_ADMIN: DcnSender = { user: DEMO_DCN.sender, password: DEMO_DCN.password, security: 'admin', admin: true };
export const DCN_TRAVEL_APP: DcnSender = { user: 'travel-app', password: 'travel-app-password', security: 'travel', admin: false };
export const DCN_SENDERS = [DCN_ADMIN, DCN_TRAVEL_APP];
export const DCN_MBOS = [
  { package: 'travel', name: 'Trip', keys: ['tripId'], attributes: [] },
  { package: 'travel', name: 'TripLeg', keys: ['tripId', 'leg'], attributes: ['city'] },
];
/** The servlet a case is for: its path is the route's. */
export type DcnServletName = 'http-auth' | 'parameters';

const PARAMETER_DICTIONARY = ['wf', 'dcn', 'admin', 'travel', 'travel:1.0', 'default', 'f1', '', ' ', '\u0000', 'a'.repeat(300), '%', '&', '='];

function tripMessages(rng: Random, marked: boolean): Json[] {
  const tripId = marked ? `${UNAUTHENTICATED_MARK}${rng.uint32()}` : `T-${rng.int(50)}`;
  return [
    { id: '1', mbo: 'Trip', op: rng.pick([':upsert', ':delete', ':upsert']), cols: { tripId, status: rng.pick(['PENDING', 'APPROVED']) } },
    { id: '2', mbo: 'TripLeg', op: ':upsert', cols: { tripId, leg: String(rng.int(5)), city: 'Shanghai' } },
    // A named operation: the only part of a request that reaches the flow.
    { id: '3', mbo: 'Trip', op: marked ? 'approve' : rng.pick(['approve', 'reject', ':upsert']), cols: { tripId, note: marked ? UNAUTHENTICATED_MARK : 'ok' } },
  ];
}

export function wfRequest(rng: Random, marked: boolean): Json {
  return {
    op: rng.pick([':upsert', ':upsert', ':delete']),
    id: `WID${rng.int(1000)}`,
    to: rng.pick(['SUPAdmin', 'SUPAdmin,jdoe', ['jdoe', 'SUPAdmin'], 'nobody']),
    subject: marked ? UNAUTHENTICATED_MARK : 'Trip request approval required',
    from: 'user321',
    body: 'This is a message just used to do a test',
    received: '2009-03-29T10:07:45+05:00',
    read: false,
    priority: rng.chance(0.5),
    data: [{ id: '1', pkg: 'travel:1.0', messages: tripMessages(rng, marked) }],
  };
}

export function generalRequest(rng: Random, marked: boolean): Json {
  return { id: `R${rng.int(1000)}`, pkg: 'travel:1.0', messages: tripMessages(rng, marked) };
}

/** The parameters and request text of one call, before they are put on the wire. */
interface DcnCallParts {
  parameters: Record<string, string>;
  text: string;
}

function callParts(rng: Random, sender: DcnSender, marked: boolean): DcnCallParts {
  const cmd = rng.chance(0.7) ? 'wf' : 'dcn';
  const parameters: Record<string, string> = cmd === 'wf' ? { cmd, security: sender.admin ? rng.pick(['default', 'admin', 'travel']) : sender.security } : { cmd, package: 'travel:1.0' };
  if (rng.chance(marked ? 0.5 : 0.2)) parameters.dcn_filter = 'fuzz-filter';
  if (rng.chance(0.2)) parameters.domain = rng.pick(['default', 'other']);
  const text = JSON.stringify(cmd === 'wf' ? wfRequest(rng, marked) : generalRequest(rng, marked));
  return { parameters, text };
}

/** A case for `servlet`; its query, headers and body as the wire carries them. */
export function dcnCase(rng: Random, servlet: DcnServletName): HttpCase {
  const kind = rng.weighted<HttpCase['kind']>([
    [65, 'content'],
    [10, 'random'],
    [25, 'auth'],
  ]);
  const sender = rng.chance(0.8) ? DCN_ADMIN : DCN_TRAVEL_APP;
  const parts = callParts(rng, sender, kind === 'auth');
  if (kind === 'auth') return brokenAuth(rng, servlet, parts);
  if (kind === 'random') {
    const body = rng.chance(0.5) ? randomBytes(rng, 4096) : Buffer.from(randomFragments(rng, JSON_DICTIONARY));
    return { method: 'POST', query: parts.parameters, headers: { authorization: basicHeader(sender.user, sender.password), 'content-type': 'application/json' }, body, kind };
  }
  // The request text broken, or (a fifth of the time) a parameter.
  if (rng.chance(0.8)) parts.text = mutateJson(rng, JSON.parse(parts.text) as Json);
  else mutateParameter(rng, parts.parameters);
  return onTheWire(rng, servlet, parts, sender, { kind: 'content' });
}

function mutateParameter(rng: Random, parameters: Record<string, string>): void {
  const names = ['cmd', 'security', 'package', 'domain', 'dcn_filter', 'dcn_request', 'username'];
  const name = rng.pick([...Object.keys(parameters), ...names]);
  if (rng.chance(0.2)) delete parameters[name];
  else parameters[name] = rng.chance(0.5) ? rng.pick(PARAMETER_DICTIONARY) : mutateText(rng, parameters[name] ?? 'x', PARAMETER_DICTIONARY);
}

/**
 * HttpAuthDCNServlet: Basic login, parameters in the query, the text as the raw body.
 * DCNServlet: the same, or the parameters (login included) in a form body or in the query of a GET.
 */
function onTheWire(rng: Random, servlet: DcnServletName, parts: DcnCallParts, sender: DcnSender | null, extra: Pick<HttpCase, 'kind' | 'broken'>, authorization = sender ? basicHeader(sender.user, sender.password) : null): HttpCase {
  const basic: Record<string, string> = authorization === null ? {} : { authorization };
  if (servlet === 'http-auth' || rng.chance(0.3)) {
    return { method: 'POST', query: parts.parameters, headers: { ...basic, 'content-type': 'application/json' }, body: Buffer.from(parts.text), ...extra };
  }
  const login: Record<string, string> = sender && authorization !== null && rng.chance(0.6) ? { username: sender.user, password: sender.password } : {};
  const parameters = { ...parts.parameters, ...login, dcn_request: parts.text };
  const headers = Object.keys(login).length ? {} : basic;
  if (rng.chance(0.3) && parts.text.length < 4000) return { method: 'GET', query: parameters, headers, body: Buffer.alloc(0), ...extra };
  return { method: 'POST', query: {}, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(new URLSearchParams(parameters).toString()), ...extra };
}

function brokenAuth(rng: Random, servlet: DcnServletName, parts: DcnCallParts): HttpCase {
  const broken = rng.pick(['missing', 'wrong-password', 'wrong-user', 'garbage', 'forbidden', ...(servlet === 'parameters' ? ['wrong-parameter-password'] : [])]);
  const extra = { kind: 'auth' as const, broken };
  switch (broken) {
    case 'missing':
      return onTheWire(rng, servlet, parts, null, extra);
    case 'wrong-password':
      return onTheWire(rng, servlet, parts, null, extra, basicHeader(DCN_ADMIN.user, DCN_ADMIN.password + rng.pick(['x', '1', ' '])));
    case 'wrong-user':
      return onTheWire(rng, servlet, parts, null, extra, basicHeader(rng.pick(['SUPAdmin', DCN_ADMIN.user + 'x', `${DCN_TRAVEL_APP.user}@admin`]), DCN_ADMIN.password));
    case 'garbage':
      return onTheWire(rng, servlet, parts, null, extra, `Basic ${rng.bytes(rng.range(0, 40)).toString('base64')}`);
    case 'forbidden': {
      // The travel app, properly logged in, addressing a security configuration not its own.
      parts.parameters = { cmd: 'wf', security: rng.pick(['admin', 'default']), dcn_filter: 'fuzz-filter' };
      parts.text = JSON.stringify(wfRequest(rng, true));
      return onTheWire(rng, servlet, parts, DCN_TRAVEL_APP, extra);
    }
    default: {
      const parameters = { ...parts.parameters, username: DCN_ADMIN.user, password: DCN_ADMIN.password + 'x', dcn_request: parts.text };
      return { method: 'POST', query: {}, headers: { authorization: basicHeader(DCN_ADMIN.user, DCN_ADMIN.password), 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(new URLSearchParams(parameters).toString()), ...extra };
    }
  }
}
