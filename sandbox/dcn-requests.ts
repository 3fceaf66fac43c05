/**
 * The back end of the WF-DCN scenario: the requests it posts to the hub, as a system
 * that spoke to SAP Mobile Platform would (Basic to /dcn/HttpAuthDCNServlet, the JSON
 * request as the POST body), and the one MBO they write. The CLI's dcn command, the
 * scenario's tests and the benchmark all build their requests here.
 */
import { basicHeader } from '../lib/http/basic-auth';
import type { MboDefinition } from '../lib/dcn/types';
import { DEMO_DCN } from './demo-accounts';
import { DEFAULT_NODE_RED_URL } from './demo-addresses';

export const DCN_TEMPLATES = ['trip', 'trip-failing'] as const;
export type DcnTemplate = (typeof DCN_TEMPLATES)[number];

/** The MBO the scenario's requests write: package travel (any version), key tripId. */
export const TRIP_MBO: MboDefinition = {
  package: 'travel',
  name: 'Trip',
  keys: ['tripId'],
  attributes: ['traveler', 'destination', 'departure', 'returnDate', 'amount', 'currency', 'status'],
};

export const TRIP_SUBJECT = 'Trip request approval required';

/** A WF-DCN request as a back end writes it (field names of the SMP contract). */
export interface WfDcnRequestJson {
  op: ':upsert' | ':delete';
  id: string;
  to: string | string[];
  subject?: string;
  from?: string;
  body?: string;
  received?: string;
  read?: boolean;
  priority?: boolean;
  data?: Array<{ id: string; pkg: string; messages: Array<{ id: string; mbo: string; op: string; cols: Record<string, unknown> }> }>;
}

interface TemplateSpec {
  id: string;
  /** The trips of the data rows; null: a row without its key, which the hub refuses. */
  trips: Array<string | null>;
}

const TEMPLATES: Record<DcnTemplate, TemplateSpec> = {
  trip: { id: 'TRIP-APPROVAL-1001', trips: ['T-1001', 'T-1002', 'T-1003', 'T-1004', 'T-1005'] },
  // The third data message has no tripId: the hub rolls back the first two and skips the rest.
  'trip-failing': { id: 'TRIP-APPROVAL-2001', trips: ['T-2001', 'T-2002', null, 'T-2004', 'T-2005'] },
};

const DESTINATIONS = ['Shanghai', 'Walldorf', 'Singapore', 'Shenzhen', 'Palo Alto'];

/** The WF-DCN id a template posts under unless --id names another. */
export function templateId(template: DcnTemplate): string {
  return TEMPLATES[template].id;
}

/** The trip ids a template's data rows carry (the one without its key left out). */
export function templateTrips(template: DcnTemplate): string[] {
  return TEMPLATES[template].trips.filter((t): t is string => t !== null);
}

/** One Trip row: its key (unless `tripId` is null) and the attributes of TRIP_MBO. */
export function tripRow(tripId: string | null, n: number): Record<string, unknown> {
  return {
    ...(tripId === null ? {} : { tripId }),
    traveler: 'SUPAdmin',
    destination: DESTINATIONS[n % DESTINATIONS.length],
    departure: `2024-06-${String(3 + n).padStart(2, '0')}T08:00:00+08:00`,
    returnDate: `2024-06-${String(5 + n).padStart(2, '0')}T18:00:00+08:00`,
    amount: 1200 + 150 * n,
    currency: 'CNY',
    status: 'PENDING',
  };
}

/** The :upsert a template posts: the trips as one DCN request of :upsert messages, then the message to the receivers. */
export function tripRequest(template: DcnTemplate, options: { id?: string; to?: string | string[] } = {}): WfDcnRequestJson {
  const spec = TEMPLATES[template];
  return {
    op: ':upsert',
    id: options.id ?? spec.id,
    to: options.to ?? DEMO_DCN.receiver,
    subject: TRIP_SUBJECT,
    from: 'travel-backend',
    body: `${spec.trips.length} trip requests wait for your approval: ${spec.trips.map((t, n) => `${t ?? '(no id)'} ${DESTINATIONS[n % DESTINATIONS.length]}`).join(', ')}`,
    received: '2024-05-30T09:30:00+08:00',
    read: false,
    priority: true,
    data: [
      {
        id: '1',
        pkg: DEMO_DCN.package,
        messages: spec.trips.map((tripId, n) => ({ id: String(n + 1), mbo: TRIP_MBO.name, op: ':upsert', cols: tripRow(tripId, n) })),
      },
    ],
  };
}

/** The :delete that withdraws an earlier :upsert with the same id. */
export function retractionRequest(id: string, to: string | string[] = DEMO_DCN.receiver): WfDcnRequestJson {
  return { op: ':delete', id, to };
}

export type DcnAction = 'post' | 'delete';

export interface DcnRequestOptions {
  /** The WF-DCN id; the template's by default. */
  id?: string;
  to?: string | string[];
}

/**
 * What a back end posts for `action`: the template's :upsert, or the :delete that withdraws
 * it (the same id); with `what`, the request in a few words.
 */
export function dcnRequest(action: DcnAction, template: DcnTemplate, options: DcnRequestOptions = {}): { request: WfDcnRequestJson; what: string } {
  if (action === 'delete') {
    const request = retractionRequest(options.id ?? templateId(template), options.to);
    return { request, what: `:delete ${request.id} to ${String(request.to)}` };
  }
  const request = tripRequest(template, options);
  const rows = request.data?.[0]?.messages.length ?? 0;
  return { request, what: `:upsert ${request.id} to ${String(request.to)}, template ${template}: ${rows} Trip rows` };
}

/** What each status of the WF-DCN servlet means to the back end (the SMP contract). */
export const DCN_STATUS: Record<number, string> = {
  200: 'processed: the result records',
  400: 'refused: a parameter or field of the request',
  401: "refused: the sender's credentials",
  403: 'refused: the sender may not address that security configuration',
  413: 'refused: the request is too large',
  500: 'processing failed, nothing was committed: the log records',
};

/** Where the demo's hub takes WF-DCN requests: the Basic servlet, cmd=wf, the receivers' security configuration. */
export function defaultDcnUrl(nodeRedUrl: string = DEFAULT_NODE_RED_URL, security: string = DEMO_DCN.security): string {
  const query = new URLSearchParams({ cmd: 'wf', security, domain: 'default' });
  return `${nodeRedUrl.replace(/\/+$/, '')}/dcn/HttpAuthDCNServlet?${query}`;
}

/** The hub's admin routes next to a servlet URL: same origin, /dcn/admin (the hub's default). */
export function adminBaseFor(servletUrl: string): string {
  return `${new URL(servletUrl).origin}/dcn/admin`;
}

/**
 * Resolves once the hub lists `count` devices for the demo's receiver (the fan-out flow
 * registers SUPAdmin's two at deploy, a moment after its routes answer); a request
 * posted before that has no device to create messages for.
 */
export async function devicesRegistered(nodeRedUrl: string, count = 2, timeoutMs = 10_000): Promise<void> {
  const url = `${nodeRedUrl.replace(/\/+$/, '')}/dcn/admin/registry/${encodeURIComponent(DEMO_DCN.security)}/${encodeURIComponent(DEMO_DCN.receiver)}`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url, { headers: { authorization: basicHeader(DEMO_DCN.sender, DEMO_DCN.password) } });
    if (res.ok && ((await res.json()) as unknown[]).length >= count) return;
    if (Date.now() > until) throw new Error(`${DEMO_DCN.receiver}'s ${count} devices were not registered (${url} answered ${res.status})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface DcnLogin {
  user: string;
  password: string;
}

export const DEMO_DCN_LOGIN: DcnLogin = { user: DEMO_DCN.sender, password: DEMO_DCN.password };

export interface DcnAnswer {
  status: number;
  /** The body as sent back. */
  text: string;
  /** The body parsed, when it is JSON. */
  json?: unknown;
}

/** POSTs a WF-DCN request as the raw JSON body with Basic credentials; network failures reject. */
export async function postDcn(url: string, request: WfDcnRequestJson | string, login: DcnLogin = DEMO_DCN_LOGIN, timeoutMs = 10_000): Promise<DcnAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: basicHeader(login.user, login.password), 'content-type': 'application/json' },
    body: typeof request === 'string' ? request : JSON.stringify(request),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return { status: response.status, text, json: parsedJson(text) };
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
