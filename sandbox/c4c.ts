/**
 * A stand-in for a C4C tenant, mounted at /c4c (so the tenant base URL is
 * <sandbox>/c4c). It speaks the part of OData v2 our nodes use, with C4C's quirks:
 * JSON in {"d":…}, __count as a string, /$count as plain text, server paging with
 * __next ($skiptoken), the $filter subset (eq/ne/gt/ge/lt/le, and, or on one property
 * only, startswith/endswith, '*' wildcard with eq), keys written ('…') or (ObjectID='…'),
 * weak ETags in C4C's form and 412, CSRF tokens (fetched with GET or HEAD, "fetch" in
 * any case) tied to cookies whose names rotate, Basic auth and OAuth SAML bearer, $batch
 * with change sets and sub-requests relative to the service or absolute, SAP-style
 * error bodies, CreatedBy / ChangedBy naming who wrote an entity last, and event
 * notifications POSTed to a consumer with Basic auth.
 *
 * What a tenant serves but the stand-in does not model ($expand, $search, $metadata,
 * navigation and property paths, Atom answers) is refused with a 501 in the SAP error
 * shape, never answered as if it had worked. Error bodies are always JSON.
 *
 * Tests and the demo drive it through the methods below (change a customer as a person
 * in C4C's UI would, inject faults, read counters) or through /c4c/_sandbox/… over HTTP.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basicCredentials, basicHeader } from '../lib/http/basic-auth';
import { readBody, sendJson, sendText } from '../lib/http/body';
import { boundaryOf, parseHttpMessage, splitMultipart } from '../lib/c4c/batch';
import type { StandIn } from './server';
import { DEMO_C4C } from './demo-accounts';

type Value = string | number | boolean | null;
type Record_ = Record<string, Value>;

interface EntitySetDef {
  type: string;
  /** Properties a client may send on create; others are refused like C4C does. */
  creatable: string[];
  mandatory: string[];
  dateFields: string[];
  /** Where a change notification comes from, or undefined for none. */
  notifies?: { businessObject: string; rootOf: (e: Record_) => string };
}

const STANDARD = '/sap/c4c/odata/v1/c4codataapi/';
const CUSTOM = '/sap/c4c/odata/cust/v1/zindividualcustomer/';
const TOKEN_PATH = '/sap/bc/sec/oauth2/token';

const SETS: Record<string, EntitySetDef> = {
  IndividualCustomerCollection: {
    type: 'c4codata.IndividualCustomer',
    creatable: ['FirstName', 'LastName', 'NickName', 'RoleCode', 'LifeCycleStatusCode', 'Email', 'Phone', 'CountryCode', 'LanguageCode', 'WechatID', 'WechatStatus'],
    mandatory: ['RoleCode', 'LastName'],
    dateFields: ['CreationOn', 'EntityLastChangedOn'],
    notifies: { businessObject: 'Customer', rootOf: (e) => String(e.ObjectID) },
  },
  CorporateAccountCollection: {
    type: 'c4codata.CorporateAccount',
    creatable: ['Name', 'RoleCode', 'LifeCycleStatusCode', 'Email', 'Phone', 'CountryCode'],
    mandatory: ['RoleCode', 'Name'],
    dateFields: ['CreationOn', 'EntityLastChangedOn'],
    notifies: { businessObject: 'Customer', rootOf: (e) => String(e.ObjectID) },
  },
};

/** Which entity sets each service exposes. CustomerCommonCollection is a view on customers. */
const SERVICES: Record<string, string[]> = {
  [STANDARD]: ['IndividualCustomerCollection', 'CorporateAccountCollection'],
  [CUSTOM]: ['CustomerCommonCollection'],
};

export type NotifyEvent = 'Create' | 'Update' | 'Delete';

export interface C4CConsumer {
  url: string;
  user: string;
  password: string;
  /** Events subscribed to; default Update only, as in the scenario's subscription. */
  events?: NotifyEvent[];
}

export interface NotificationDelivery {
  payload: Record<string, unknown>;
  status: number;
  error?: string;
}

export interface C4CStandInOptions {
  pageSize?: number;
  user?: string;
  password?: string;
  /** The name C4C records for `user` in CreatedBy and ChangedBy. */
  userName?: string;
  consumer?: C4CConsumer | null;
  /** SAML assertions the token endpoint accepts; OAuth client id. */
  samlAssertions?: string[];
  oauthClientId?: string;
}

/** Who writes, and whether C4C tells its consumer. */
interface Write {
  author: string;
  notify: boolean;
}

interface Fault {
  status: number;
  /** 'reset' destroys the socket instead of answering. */
  reset?: boolean;
  method?: string;
}

interface ODataReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One OData request, from the wire or from a $batch part. */
interface ODataRequest {
  /** GET for a HEAD, which is answered like a GET without the body. */
  method: string;
  /** Below the service root, as sent (percent-encoded). */
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
  /** A HEAD writes no body, so no representation is refused for it. */
  head?: boolean;
}

/** What a path below the service root names. */
type Resource =
  | { kind: 'service' }
  | { kind: 'metadata' }
  | { kind: 'batch' }
  | { kind: 'collection'; set: string }
  | { kind: 'count'; set: string }
  | { kind: 'entity'; set: string; id: string };

class ODataFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Something a tenant serves that the stand-in does not model: a 501, never a pretended success. */
function notModelled(what: string): ODataFailure {
  return new ODataFailure(501, 'NOT_IMPLEMENTED', `${what} is not supported by the C4C stand-in`);
}

/** An OData error in SAP's JSON shape. */
function errorReply(status: number, code: string, message: string): ODataReply {
  return json(status, { error: { code, message: { lang: 'en', value: message }, innererror: { transactionid: hex(16), errordetails: [] } } });
}

/** A HEAD gets the headers of the GET, Content-Length included, and no body. */
function sendReply(res: ServerResponse, reply: ODataReply, head = false): void {
  for (const [k, v] of Object.entries(reply.headers)) res.setHeader(k, v);
  res.setHeader('Content-Length', Buffer.byteLength(reply.body));
  res.statusCode = reply.status;
  res.end(head ? undefined : reply.body);
}

/** SAP's clients send "Fetch", the dev guide "fetch": the header value is not case-sensitive. */
function asksForCsrfToken(req: IncomingMessage): boolean {
  const value = req.headers['x-csrf-token'];
  return typeof value === 'string' && value.toLowerCase() === 'fetch';
}

function hex(n: number): string {
  return randomBytes(n).toString('hex').toUpperCase();
}

export class C4CStandIn implements StandIn {
  readonly prefix = '/c4c';
  /** <sandbox>/c4c, set by startSandbox once the port is known. */
  tenantUrl = '';
  pageSize: number;
  user: string;
  password: string;
  userName: string;
  consumer: C4CConsumer | null;
  readonly deliveries: NotificationDelivery[] = [];
  /** Counters for tests and benchmarks. */
  readonly stats = { requests: 0, reads: 0, writes: 0, csrfFetches: 0, csrfRejections: 0, batches: 0, tokenRequests: 0 };

  private readonly data: Record<string, Map<string, Record_>> = { IndividualCustomerCollection: new Map(), CorporateAccountCollection: new Map() };
  private readonly commonIds = new Map<string, string>();
  private readonly csrf = new Map<string, string>();
  private readonly bearerTokens = new Set<string>();
  private readonly faults: Fault[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly samlAssertions: Set<string>;
  private readonly oauthClientId: string;
  private cookieSeq = 0;
  private nextCustomerId = 1000400;
  private clock = 0;

  constructor(options: C4CStandInOptions = {}) {
    this.pageSize = options.pageSize ?? 1000;
    this.user = options.user ?? DEMO_C4C.user;
    this.password = options.password ?? DEMO_C4C.password;
    this.userName = options.userName ?? DEMO_C4C.userName;
    this.consumer = options.consumer ?? null;
    this.samlAssertions = new Set(options.samlAssertions ?? [DEMO_C4C.samlAssertion]);
    this.oauthClientId = options.oauthClientId ?? DEMO_C4C.oauthClientId;
  }

  // ---- driving API (tests, demo) -------------------------------------------------------

  setConsumer(consumer: C4CConsumer | null): void {
    this.consumer = consumer;
  }

  /** The next `count` OData requests (optionally of one method) fail with `status`, or a reset. */
  injectFault(status: number | 'reset', count = 1, method?: string): void {
    for (let i = 0; i < count; i++) this.faults.push(status === 'reset' ? { status: 0, reset: true, method } : { status, method });
  }

  /** Forgets every CSRF token, as after a server restart or token expiry. */
  expireCsrfTokens(): void {
    this.csrf.clear();
  }

  /** Forgets OAuth access tokens, so the next bearer call gets 401. */
  expireBearerTokens(): void {
    this.bearerTokens.clear();
  }

  reset(): void {
    for (const set of Object.values(this.data)) set.clear();
    this.commonIds.clear();
    this.csrf.clear();
    this.faults.length = 0;
    this.deliveries.length = 0;
    for (const k of Object.keys(this.stats) as Array<keyof C4CStandIn['stats']>) this.stats[k] = 0;
  }

  /** Creates a customer as a person in C4C's UI would. */
  createCustomer(fields: Record_, set = 'IndividualCustomerCollection', notify = true): Record_ {
    return this.insert(set, fields, { author: DEMO_C4C.salesRepName, notify });
  }

  /** Changes a customer as a person in C4C's UI would, and notifies the consumer. */
  changeCustomer(objectId: string, changes: Record_, set = 'IndividualCustomerCollection'): Record_ {
    return this.modify(set, objectId, changes, { author: DEMO_C4C.salesRepName, notify: true });
  }

  getCustomer(objectId: string, set = 'IndividualCustomerCollection'): Record_ | undefined {
    const e = this.data[set].get(objectId);
    return e ? { ...e } : undefined;
  }

  customers(set = 'IndividualCustomerCollection'): Record_[] {
    return [...this.data[set].values()].map((e) => ({ ...e }));
  }

  /** Adds `n` customers quickly (benchmarks), without notifications. */
  seedCustomers(n: number): void {
    const write = { author: DEMO_C4C.salesRepName, notify: false };
    for (let i = 0; i < n; i++) this.insert('IndividualCustomerCollection', { FirstName: `Seed${i}`, LastName: `Customer ${i}`, RoleCode: 'CRM000' }, write);
  }

  /** Resolves when every notification sent so far has been delivered (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  // ---- HTTP -----------------------------------------------------------------------------

  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const origin = this.tenantUrl || `http://${req.headers.host ?? '127.0.0.1'}${this.prefix}`;
    if (path.startsWith('/_sandbox/')) return this.control(req, res, path);
    if (path === TOKEN_PATH) return this.token(req, res);
    const service = Object.keys(SERVICES).find((s) => path === s || path === s.slice(0, -1) || path.startsWith(s));
    if (!service) return sendReply(res, errorReply(404, 'NOT_FOUND', `no service at ${path}`));
    this.stats.requests++;
    const method = (req.method ?? 'GET').toUpperCase();
    const head = method === 'HEAD';
    const safe = method === 'GET' || head;
    const csrfFetch = safe && asksForCsrfToken(req);

    const fault = this.takeFault(method, csrfFetch);
    if (fault?.reset) {
      req.socket.destroy();
      return;
    }
    if (fault) return sendReply(res, errorReply(fault.status, String(fault.status), 'injected fault'), head);

    if (!this.authorised(req)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="SAP NetWeaver Application Server"');
      return sendReply(res, errorReply(401, '401', 'Logon failed'), head);
    }
    let body: Buffer;
    try {
      body = await readBody(req, 4 * 1024 * 1024);
    } catch {
      return sendReply(res, errorReply(413, '413', 'Request body too large'));
    }

    // The token comes with any authenticated GET or HEAD that asks for it, whatever the
    // OData answer: SAP's clients fetch it from the URL they are about to write to and
    // take it from an error answer too.
    if (csrfFetch) this.issueCsrf(res);
    else if (!safe && !this.csrfValid(req)) {
      this.stats.csrfRejections++;
      res.setHeader('x-csrf-token', 'Required');
      return sendText(res, 403, 'CSRF token validation failed', 'text/plain');
    }

    const rest = path.slice(Math.min(path.length, service.length));
    if (method === 'POST' && rest === '$batch') {
      this.stats.batches++;
      return sendReply(res, this.batch(service, origin, body.toString('utf8'), String(req.headers['content-type'] ?? '')));
    }
    const request: ODataRequest = { method: head ? 'GET' : method, path: rest, query, headers: lowerHeaders(req), body: body.toString('utf8'), head };
    sendReply(res, this.dispatch(service, origin, request), head);
  }

  private takeFault(method: string, csrfFetch: boolean): Fault | undefined {
    if (csrfFetch) return undefined;
    const i = this.faults.findIndex((f) => !f.method || f.method === method);
    return i >= 0 ? this.faults.splice(i, 1)[0] : undefined;
  }

  private authorised(req: IncomingMessage): boolean {
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Bearer ')) return this.bearerTokens.has(auth.slice(7));
    const given = basicCredentials(auth);
    return given !== null && given.user === this.user && given.password === this.password;
  }

  private issueCsrf(res: ServerResponse): void {
    this.stats.csrfFetches++;
    const token = randomBytes(18).toString('base64');
    const cookieValue = randomBytes(12).toString('hex');
    // The cookie name changes on every fetch, like sap-XSRF_<SID>_<client> across systems.
    const name = `sap-XSRF_S${(++this.cookieSeq % 7) + 1}X_${100 + (this.cookieSeq % 3)}`;
    this.csrf.set(cookieValue, token);
    res.setHeader('x-csrf-token', token);
    res.setHeader('Set-Cookie', [`${name}=${cookieValue}; path=/; secure; HttpOnly`]);
  }

  /** Valid when some cookie sent carries the value the token was issued with. */
  private csrfValid(req: IncomingMessage): boolean {
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !token) return false;
    const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=').slice(1).join('='));
    return cookies.some((v) => this.csrf.get(v) === token);
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.tokenRequests++;
    let form: URLSearchParams;
    try {
      form = new URLSearchParams((await readBody(req, 256 * 1024)).toString('utf8'));
    } catch {
      return sendJson(res, 413, { error: 'invalid_request' });
    }
    if (req.method !== 'POST' || form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:saml2-bearer') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    if (form.get('client_id') !== this.oauthClientId) return sendJson(res, 401, { error: 'invalid_client' });
    if (!this.samlAssertions.has(form.get('assertion') ?? '')) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'assertion rejected' });
    const token = randomBytes(24).toString('hex');
    this.bearerTokens.add(token);
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') ?? '' });
  }

  private async control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    // Demo controls: GET /_sandbox/customers, POST /_sandbox/customers/<ObjectID> {changes}, GET /_sandbox/notifications.
    try {
      if (req.method === 'GET' && path === '/_sandbox/customers') return sendJson(res, 200, this.customers());
      if (req.method === 'GET' && path === '/_sandbox/notifications') return sendJson(res, 200, this.deliveries);
      const m = /^\/_sandbox\/customers\/([A-Za-z0-9]+)$/.exec(path);
      if (req.method === 'POST' && m) {
        const changes = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8') || '{}') as Record_;
        return sendJson(res, 200, this.changeCustomer(m[1], changes));
      }
      sendJson(res, 404, { error: 'unknown sandbox control' });
    } catch (err) {
      sendJson(res, err instanceof ODataFailure ? err.status : 400, { error: (err as Error).message });
    }
  }

  // ---- OData ----------------------------------------------------------------------------

  private dispatch(service: string, origin: string, request: ODataRequest): ODataReply {
    try {
      if (request.method === 'GET') this.stats.reads++;
      else this.stats.writes++;
      // Method tunnelling is how some clients send MERGE through proxies; the stand-in takes the methods themselves.
      if (request.headers['x-http-method']) throw notModelled('X-HTTP-Method');
      return this.serve(service, `${origin}${service}`, parseResource(SERVICES[service], request.path), request);
    } catch (err) {
      if (err instanceof ODataFailure) return errorReply(err.status, err.code, err.message);
      throw err;
    }
  }

  private serve(service: string, base: string, resource: Resource, request: ODataRequest): ODataReply {
    const { method, query } = request;
    if (method === 'GET') checkQueryOptions(query);
    switch (resource.kind) {
      case 'service':
        allowOnly(method, ['GET'], 'the service document');
        checkJsonAnswer(request);
        return json(200, { d: { EntitySets: SERVICES[service] } });
      case 'metadata':
        allowOnly(method, ['GET'], '$metadata');
        throw notModelled('$metadata');
      case 'batch':
        throw new ODataFailure(405, 'METHOD', '$batch takes POST only');
      case 'count':
        allowOnly(method, ['GET'], '$count');
        return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: String(this.filteredRows(resource.set, query).length) };
      case 'collection':
        if (method === 'GET') {
          checkJsonAnswer(request);
          return this.queryReply(base, resource.set, query);
        }
        allowOnly(method, ['POST'], resource.set);
        return this.createReply(base, resource.set, request);
      case 'entity':
        return this.entityReply(base, resource.set, resource.id, request);
    }
  }

  private createReply(base: string, set: string, request: ODataRequest): ODataReply {
    const payload = request.headers['odata-no-response-payload'] !== 'true';
    if (payload) checkJsonAnswer(request);
    const created = this.insert(set, parseJson(request.body), this.apiWrite());
    const entity = this.present(base, set, created);
    const out = payload ? json(201, { d: entity }) : { status: 201, headers: {}, body: '' };
    out.headers.Location = String((entity.__metadata as Record_).uri);
    out.headers.etag = etagOf(created);
    return out;
  }

  private entityReply(base: string, set: string, id: string, request: ODataRequest): ODataReply {
    const { method, headers } = request;
    allowOnly(method, ['GET', 'PATCH', 'PUT', 'MERGE', 'DELETE'], `${set}('${id}')`);
    if (method === 'GET') {
      checkJsonAnswer(request);
      return this.readReply(base, set, id, request.query.get('$select'));
    }
    checkIfMatch(headers['if-match'], this.find(set, id));
    if (method === 'DELETE') {
      this.remove(set, id);
      return { status: 204, headers: {}, body: '' };
    }
    const updated = this.modify(set, id, parseJson(request.body), this.apiWrite(), method === 'PUT');
    return { status: 204, headers: { etag: etagOf(updated) }, body: '' };
  }

  private rows(set: string): Record_[] {
    if (set === 'CustomerCommonCollection') {
      return [...this.data.IndividualCustomerCollection.values()].map((c) => ({
        ObjectID: this.commonId(String(c.ObjectID)),
        ParentObjectID: c.ObjectID,
        WechatID: c.WechatID ?? '',
        WechatStatus: c.WechatStatus ?? '',
        EntityLastChangedOn: c.EntityLastChangedOn,
      }));
    }
    return [...this.data[set].values()];
  }

  private commonId(parent: string): string {
    let id = this.commonIds.get(parent);
    if (!id) {
      id = hex(16);
      this.commonIds.set(parent, id);
    }
    return id;
  }

  private find(set: string, id: string): Record_ {
    const e = set === 'CustomerCommonCollection' ? this.rows(set).find((r) => r.ObjectID === id) : this.data[set].get(id);
    if (!e) throw new ODataFailure(404, 'SY/530', `Resource not found for segment '${set}('${id}')'`);
    return e;
  }

  /** The rows of a set that pass the request's $filter. */
  private filteredRows(set: string, query: URLSearchParams): Record_[] {
    const filter = query.get('$filter');
    return filter ? this.rows(set).filter(compileFilter(filter)) : this.rows(set);
  }

  private queryReply(base: string, set: string, query: URLSearchParams): ODataReply {
    let rows = this.filteredRows(set, query);
    const orderby = query.get('$orderby');
    if (orderby) rows = sortRows(rows, orderby);
    const total = rows.length;
    const skip = intParam(query, '$skip') ?? 0;
    const top = intParam(query, '$top');
    const skiptoken = intParam(query, '$skiptoken') ?? 0;
    const pageSize = this.pageSize;
    const wanted = top === undefined ? Infinity : Math.max(0, top - skiptoken);
    const start = skip + skiptoken;
    const take = Math.min(wanted, pageSize);
    const page = rows.slice(start, start + take);
    const d: Record<string, unknown> = { results: page.map((e) => this.present(base, set, e, query.get('$select'))) };
    if (inlineCount(query)) d.__count = String(total);
    if (page.length === take && wanted > take && start + take < total) {
      const next = new URLSearchParams(query);
      next.set('$skiptoken', String(skiptoken + take));
      const qs = [...next].map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',').replace(/%27/g, "'")}`).join('&');
      d.__next = `${base}${set}?${qs}`;
    }
    return json(200, { d });
  }

  private readReply(base: string, set: string, id: string, select: string | null): ODataReply {
    const e = this.find(set, id);
    const out = json(200, { d: this.present(base, set, e, select) });
    out.headers.etag = etagOf(e);
    return out;
  }

  /** The wire form of an entity: __metadata, dates as /Date(ms)/, $select applied. */
  private present(base: string, set: string, e: Record_, select?: string | null): Record<string, unknown> {
    const dates = dateFieldsOf(set);
    const fields = select ? select.split(',').map((s) => s.trim()) : Object.keys(e);
    const out: Record<string, unknown> = {
      __metadata: { uri: `${base}${set}('${e.ObjectID}')`, type: SETS[set]?.type ?? `cust.${set.replace(/Collection$/, '')}`, etag: etagOf(e) },
    };
    for (const f of fields) if (f in e) out[f] = dates.includes(f) && typeof e[f] === 'number' ? `/Date(${e[f]})/` : e[f];
    return out;
  }

  private tick(): number {
    // Strictly increasing, so two changes within one millisecond still get different ETags.
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  /** A write through OData: every one is made as the stand-in's single API user, and notified. */
  private apiWrite(): Write {
    return { author: this.userName, notify: true };
  }

  private insert(set: string, fields: Record_, write: Write): Record_ {
    const def = SETS[set];
    if (!def) throw new ODataFailure(405, 'METHOD', `entities cannot be created in ${set}`);
    const record: Record_ = {};
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'ObjectID' || k === '__metadata') continue; // ignored, as C4C does
      if (!def.creatable.includes(k)) throw new ODataFailure(400, 'SY/530', `Property ${k} is invalid or not creatable`);
      record[k] = v;
    }
    for (const m of def.mandatory) if (record[m] === undefined || record[m] === '') throw new ODataFailure(400, 'CX_SADL_ENTITY_SRV_MANDATORY', `Mandatory field ${m} is missing`);
    const now = this.tick();
    const id = hex(16);
    const entity: Record_ = {
      ObjectID: id,
      ...(set === 'IndividualCustomerCollection' ? { CustomerID: String(this.nextCustomerId++) } : { AccountID: String(this.nextCustomerId++) }),
      LifeCycleStatusCode: '2',
      ...record,
      CreationOn: now,
      CreatedBy: write.author,
      EntityLastChangedOn: now,
      ChangedBy: write.author,
    };
    this.data[set].set(id, entity);
    if (write.notify) this.notify(set, entity, 'Create');
    return { ...entity };
  }

  private modify(set: string, id: string, changes: Record_, write: Write, replace = false): Record_ {
    let target = set;
    let key = id;
    if (set === 'CustomerCommonCollection') {
      const row = this.find(set, id);
      target = 'IndividualCustomerCollection';
      key = String(row.ParentObjectID);
      for (const k of Object.keys(changes)) {
        if (!['WechatID', 'WechatStatus', 'ObjectID', 'ParentObjectID', '__metadata'].includes(k)) throw new ODataFailure(400, 'SY/530', `Property ${k} is invalid`);
      }
    }
    const current = this.data[target].get(key);
    if (!current) throw new ODataFailure(404, 'SY/530', `Resource not found for segment '${set}('${id}')'`);
    const def = SETS[target];
    const next: Record_ = replace
      ? { ObjectID: current.ObjectID, CustomerID: current.CustomerID, CreationOn: current.CreationOn, CreatedBy: current.CreatedBy }
      : { ...current };
    for (const [k, v] of Object.entries(changes)) {
      // Keys, ETag and *Text values in a PATCH are ignored, like C4C.
      if (k === 'ObjectID' || k === 'ParentObjectID' || k === 'ETag' || k === '__metadata' || k.endsWith('Text')) continue;
      if (!def.creatable.includes(k)) throw new ODataFailure(400, 'SY/530', `Property ${k} is invalid or not updatable`);
      next[k] = v;
    }
    if (next.LifeCycleStatusCode === undefined) next.LifeCycleStatusCode = '2';
    // C4C stamps the customer's root at every save, whichever of its nodes was written.
    next.EntityLastChangedOn = this.tick();
    next.ChangedBy = write.author;
    this.data[target].set(key, next);
    if (write.notify) this.notify(target, next, 'Update');
    return { ...next };
  }

  private remove(set: string, id: string): void {
    const current = this.data[set]?.get(id);
    if (!current) throw new ODataFailure(404, 'SY/530', `Resource not found for segment '${set}('${id}')'`);
    this.data[set].delete(id);
    this.notify(set, current, 'Delete');
  }

  // ---- $batch ---------------------------------------------------------------------------

  private batch(service: string, origin: string, body: string, contentType: string): ODataReply {
    const boundary = boundaryOf(contentType);
    if (!boundary) return errorReply(400, 'BATCH', 'missing multipart boundary');
    const out = `batchresponse_${hex(6)}`;
    let text = '';
    for (const part of splitMultipart(body, boundary)) {
      text += `--${out}\r\n`;
      const inner = boundaryOf(part.headers['content-type']);
      text += inner ? this.changeset(service, origin, part.body, inner) : httpPart(this.batchOperation(service, origin, part.body));
    }
    text += `--${out}--\r\n`;
    return { status: 202, headers: { 'Content-Type': `multipart/mixed; boundary=${out}` }, body: text };
  }

  /** All or nothing: on the first failure the store is rolled back and only that error is answered. */
  private changeset(service: string, origin: string, body: string, boundary: string): string {
    const snapshot = Object.fromEntries(Object.entries(this.data).map(([k, m]) => [k, new Map([...m].map(([id, e]) => [id, { ...e }]))]));
    const replies: ODataReply[] = [];
    for (const op of splitMultipart(body, boundary)) {
      const reply = this.batchOperation(service, origin, op.body);
      if (reply.status >= 400) {
        for (const [k, m] of Object.entries(snapshot)) this.data[k] = m;
        return httpPart(reply);
      }
      replies.push(reply);
    }
    const cs = `changesetresponse_${hex(6)}`;
    return `Content-Type: multipart/mixed; boundary=${cs}\r\n\r\n${replies.map((r) => `--${cs}\r\n${httpPart(r)}`).join('')}--${cs}--\r\n`;
  }

  private batchOperation(service: string, origin: string, http: string): ODataReply {
    const { startLine, headers, body } = parseHttpMessage(http);
    const m = /^(GET|POST|PUT|PATCH|MERGE|DELETE) (\S+) HTTP\/1\.1$/.exec(startLine);
    if (!m) return errorReply(400, 'BATCH', 'malformed request line in $batch part');
    // Relative to the service root, or absolute: the tenant's own service path, or the path on this host (below /c4c).
    const url = new URL(m[2], `http://tenant${service}`);
    const path = [this.prefix + service, service].find((root) => url.pathname.startsWith(root));
    if (path === undefined) return errorReply(400, 'BATCH', `$batch part ${url.pathname} is not in the service ${service}`);
    if (url.searchParams.has('$search')) return errorReply(400, 'BATCH', '$search is not allowed in $batch');
    return this.dispatch(service, origin, { method: m[1], path: url.pathname.slice(path.length), query: url.searchParams, headers, body });
  }

  // ---- notifications --------------------------------------------------------------------

  private notify(set: string, entity: Record_, event: NotifyEvent): void {
    const def = SETS[set];
    const consumer = this.consumer;
    if (!def?.notifies || !consumer || !(consumer.events ?? ['Update']).includes(event)) return;
    const origin = this.tenantUrl || 'http://127.0.0.1';
    const payload = {
      businessObject: def.notifies.businessObject,
      businessObjectNode: 'Root',
      businessObjectId: def.notifies.rootOf(entity),
      event,
      odataServiceEndpoint: `${origin}${STANDARD}${set}('${entity.ObjectID}')`,
      eventTime: new Date().toISOString(),
      notificationId: randomUUID(),
    };
    const delivery = this.deliver(consumer, payload).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  private async deliver(consumer: C4CConsumer, payload: Record<string, unknown>): Promise<void> {
    const record: NotificationDelivery = { payload, status: 0 };
    this.deliveries.push(record);
    try {
      const res = await fetch(consumer.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: basicHeader(consumer.user, consumer.password) },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(10_000),
      });
      record.status = res.status;
      await res.arrayBuffer();
    } catch (err) {
      record.error = (err as Error).message;
    }
  }
}

// ---- helpers ------------------------------------------------------------------------------

function json(status: number, value: unknown): ODataReply {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 404: 'Not Found', 412: 'Precondition Failed' };

function httpPart(reply: ODataReply): string {
  const headers = Object.entries(reply.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${reply.status} ${STATUS_TEXT[reply.status] ?? 'Status'}\r\n${headers}Content-Length: ${Buffer.byteLength(reply.body)}\r\n\r\n${reply.body}\r\n`;
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

function parseJson(body: string): Record_ {
  try {
    const v = JSON.parse(body) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record_;
  } catch {
    // answered below
  }
  throw new ODataFailure(400, 'SY/530', 'The request body is not a JSON object');
}

/**
 * C4C's weak ETag: the last change as a datetimeoffset literal with seven fraction digits
 * and its colons percent-encoded, e.g. W/"datetimeoffset'2015-07-06T08%3A45%3A26.6721490Z'".
 */
function etagOf(e: Record_): string {
  const stamp = new Date(Number(e.EntityLastChangedOn)).toISOString().replace('Z', '0000Z').replace(/:/g, '%3A');
  return `W/"datetimeoffset'${stamp}'"`;
}

function checkIfMatch(ifMatch: string | undefined, current: Record_): void {
  if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(current)) throw new ODataFailure(412, 'SY/530', 'The entity was changed by another user; reload and try again');
}

// ---- resource paths, query options, representations ----------------------------------------

const KEY_SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)(?:\(((?:'(?:[^']|'')*'|[^)'])*)\))?(\/.*)?$/;

/** The resource a path below the service root names; keys written ('…') or (ObjectID='…'). */
function parseResource(sets: string[], rawPath: string): Resource {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new ODataFailure(400, 'SY/530', 'The request URI is not correctly encoded');
  }
  if (path === '' || path === '/') return { kind: 'service' };
  if (path === '$metadata') return { kind: 'metadata' };
  if (path === '$batch') return { kind: 'batch' };
  const m = KEY_SEGMENT.exec(path);
  if (!m || !sets.includes(m[1])) throw new ODataFailure(404, 'SY/530', `Resource not found for segment '${path.split('/')[0]}'`);
  const [, set, key, tail = ''] = m;
  // A trailing '/' names the same resource (C4C's own next links end collections with one).
  if (key === undefined) {
    if (tail === '' || tail === '/') return { kind: 'collection', set };
    if (tail === '/$count') return { kind: 'count', set };
  } else if (tail === '' || tail === '/') {
    return { kind: 'entity', set, id: keyValue(set, key) };
  }
  throw notModelled(`The path segment '${tail.slice(1)}' (navigation, property or $value)`);
}

/** The ObjectID in a key predicate: the only key of every C4C entity, an Edm.String. */
function keyValue(set: string, key: string): string {
  const m = /^(?:ObjectID=)?'((?:[^']|'')*)'$/.exec(key.trim());
  if (!m) throw new ODataFailure(400, 'SY/530', `Invalid key predicate (${key}) for ${set}: the key is ObjectID, a string`);
  return m[1].replace(/''/g, "'");
}

function allowOnly(method: string, allowed: string[], what: string): void {
  if (!allowed.includes(method)) throw new ODataFailure(405, 'METHOD', `${method} is not allowed on ${what}`);
}

/** System query options the stand-in evaluates; custom options (no '$', e.g. sap-language) pass as in OData. */
const EVALUATED_OPTIONS = new Set(['$filter', '$select', '$orderby', '$top', '$skip', '$skiptoken', '$inlinecount', '$format']);
/** C4C evaluates these, the stand-in does not model them. */
const TENANT_OPTIONS = new Set(['$expand', '$search']);

function checkQueryOptions(query: URLSearchParams): void {
  for (const name of query.keys()) {
    if (!name.startsWith('$') || EVALUATED_OPTIONS.has(name)) continue;
    if (TENANT_OPTIONS.has(name)) throw notModelled(name);
    throw new ODataFailure(400, 'SY/530', `System query option ${name} is not supported`);
  }
}

function inlineCount(query: URLSearchParams): boolean {
  const value = query.get('$inlinecount');
  if (value === null || value === 'none') return false;
  if (value === 'allpages') return true;
  throw new ODataFailure(400, 'SY/530', `Invalid value ${value} for $inlinecount`);
}

/**
 * C4C answers Atom unless JSON is asked for with $format=json or an Accept that names
 * application/json. The stand-in writes JSON only, so an Atom answer is refused.
 */
function checkJsonAnswer(request: ODataRequest): void {
  if (request.head) return;
  const format = request.query.get('$format');
  if (format === 'json') return;
  if (format !== null && format !== 'atom' && format !== 'xml') throw new ODataFailure(400, 'SY/530', `Invalid value ${format} for $format`);
  if (format === null && (request.headers.accept ?? '').toLowerCase().includes('application/json')) return;
  throw notModelled('An Atom answer (C4C answers Atom unless $format=json or Accept: application/json asks for JSON)');
}

function dateFieldsOf(set: string): string[] {
  return SETS[set]?.dateFields ?? ['EntityLastChangedOn'];
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw new ODataFailure(400, 'SY/530', `Invalid value for ${name}`);
  return Number(v);
}

function sortRows(rows: Record_[], orderby: string): Record_[] {
  const keys = orderby.split(',').map((s) => {
    const [prop, dir] = s.trim().split(/\s+/);
    return { prop, desc: dir?.toLowerCase() === 'desc' };
  });
  return [...rows].sort((a, b) => {
    for (const { prop, desc } of keys) {
      const x = a[prop] ?? '';
      const y = b[prop] ?? '';
      if (x < y) return desc ? 1 : -1;
      if (x > y) return desc ? -1 : 1;
    }
    return 0;
  });
}

// ---- $filter: the subset C4C supports ----------------------------------------------------------

type Predicate = (row: Record_) => boolean;
interface Cmp {
  kind: 'cmp';
  prop: string;
  test: Predicate;
}
interface Logic {
  kind: 'and' | 'or';
  parts: Node[];
}
type Node = Cmp | Logic;

const TOKEN = /\s*(\(|\)|,|'(?:[^']|'')*'|datetimeoffset'[^']*'|datetime'[^']*'|[A-Za-z_][A-Za-z0-9_/.]*|-?\d+(?:\.\d+)?)/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) throw new ODataFailure(400, 'SY/530', `Invalid $filter near "${text.slice(pos, pos + 20)}"`);
    tokens.push(m[1]);
    pos = TOKEN.lastIndex;
  }
  return tokens;
}

function parseLiteral(token: string | undefined): Value {
  if (token === undefined) throw new ODataFailure(400, 'SY/530', 'Invalid $filter: value missing');
  if (token.startsWith("'")) return token.slice(1, -1).replace(/''/g, "'");
  const dt = /^datetime(?:offset)?'([^']*)'$/.exec(token);
  if (dt) {
    const ms = Date.parse(dt[1]);
    if (Number.isNaN(ms)) throw new ODataFailure(400, 'SY/530', `Invalid date literal ${token}`);
    return ms;
  }
  if (token === 'true' || token === 'false') return token === 'true';
  if (token === 'null') return null;
  if (/^-?\d/.test(token)) return Number(token);
  throw new ODataFailure(400, 'SY/530', `Invalid $filter value ${token}`);
}

function compare(op: string, a: Value | undefined, b: Value): boolean {
  if (a === undefined) a = null;
  switch (op) {
    case 'eq':
      if (typeof b === 'string' && b.includes('*') && typeof a === 'string') {
        const re = new RegExp('^' + b.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
        return re.test(a);
      }
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a !== null && b !== null && a > b;
    case 'ge':
      return a !== null && b !== null && a >= b;
    case 'lt':
      return a !== null && b !== null && a < b;
    case 'le':
      return a !== null && b !== null && a <= b;
  }
  throw new ODataFailure(400, 'SY/530', `Operator ${op} is not supported`);
}

class FilterParser {
  private i = 0;
  constructor(private readonly tokens: string[]) {}

  parse(): Node {
    const node = this.or();
    if (this.i < this.tokens.length) throw new ODataFailure(400, 'SY/530', `Invalid $filter near "${this.tokens[this.i]}"`);
    return node;
  }

  private or(): Node {
    return this.chain('or', () => this.and());
  }

  private and(): Node {
    return this.chain('and', () => this.term());
  }

  /** `operand (kind operand)*`, as one node. */
  private chain(kind: Logic['kind'], operand: () => Node): Node {
    const parts = [operand()];
    while (this.tokens[this.i] === kind) {
      this.i++;
      parts.push(operand());
    }
    return parts.length === 1 ? parts[0] : { kind, parts };
  }

  private expect(token: string): void {
    if (this.tokens[this.i++] !== token) throw new ODataFailure(400, 'SY/530', `Invalid $filter: "${token}" expected`);
  }

  private term(): Node {
    const t = this.tokens[this.i++];
    if (t === '(') {
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (t === 'startswith' || t === 'endswith') {
      this.expect('(');
      const prop = this.tokens[this.i++];
      this.expect(',');
      const value = parseLiteral(this.tokens[this.i++]);
      this.expect(')');
      if (typeof value !== 'string') throw new ODataFailure(400, 'SY/530', `${t} needs a string`);
      const test = (row: Record_) => typeof row[prop] === 'string' && (t === 'startswith' ? (row[prop] as string).startsWith(value) : (row[prop] as string).endsWith(value));
      // "startswith(...) eq true" is accepted too.
      if (this.tokens[this.i] === 'eq' && (this.tokens[this.i + 1] === 'true' || this.tokens[this.i + 1] === 'false')) {
        const want = this.tokens[this.i + 1] === 'true';
        this.i += 2;
        return { kind: 'cmp', prop, test: (row) => test(row) === want };
      }
      return { kind: 'cmp', prop, test };
    }
    if (t === undefined || !/^[A-Za-z_]/.test(t) || ['substringof', 'tolower', 'toupper', 'length', 'indexof', 'not'].includes(t)) {
      throw new ODataFailure(400, 'SY/530', `Invalid $filter: "${t ?? ''}" is not supported`);
    }
    const op = this.tokens[this.i++];
    const value = parseLiteral(this.tokens[this.i++]);
    return { kind: 'cmp', prop: t, test: (row) => compare(op, row[t], value) };
  }
}

function props(node: Node): Set<string> {
  return node.kind === 'cmp' ? new Set([node.prop]) : new Set(node.parts.flatMap((p) => [...props(p)]));
}

function toPredicate(node: Node): Predicate {
  if (node.kind === 'cmp') return node.test;
  if (node.kind === 'or' && props(node).size > 1) throw new ODataFailure(400, 'SY/530', "'or' is only supported on the same property");
  const parts = node.parts.map(toPredicate);
  return node.kind === 'and' ? (row) => parts.every((p) => p(row)) : (row) => parts.some((p) => p(row));
}

export function compileFilter(filter: string): Predicate {
  return toPredicate(new FilterParser(tokenize(filter)).parse());
}
