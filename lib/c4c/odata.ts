/**
 * OData v2 details of C4C with no I/O: service URLs, entity keys, query strings,
 * and turning JSON answers into plain objects (d.results / d unwrapped, /Date(…)/
 * as ISO strings, __count as a number, __metadata and deferred links dropped, ETag
 * kept aside).
 */
import { odataDateToIso } from './dates';
import { C4CError } from './errors';

export const STANDARD_SERVICE_PATH = '/sap/c4c/odata/v1/c4codataapi/';

/** '/sap/c4c/odata/cust/v1/<service>/' for a custom service built in the OData Service Explorer. */
export function customServicePath(service: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(service)) throw new C4CError('input', 0, 'BAD_SERVICE', `custom service name "${service}" is not valid`);
  return `/sap/c4c/odata/cust/v1/${service}/`;
}

/** Joins tenant base URL and service path into the service root, always with the trailing '/'. */
export function serviceRoot(baseUrl: string, servicePath: string): string {
  const base = baseUrl.trim().replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new C4CError('input', 0, 'BAD_BASE_URL', 'the tenant base URL is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new C4CError('input', 0, 'BAD_BASE_URL', 'the tenant base URL must be http(s)');
  if (parsed.username || parsed.password) throw new C4CError('input', 0, 'BAD_BASE_URL', 'put credentials in the credentials fields, not in the base URL');
  return base + normalServicePath(servicePath);
}

/** A service path with one leading and one trailing '/', e.g. '/sap/c4c/odata/v1/c4codataapi/'. */
export function normalServicePath(servicePath: string): string {
  return '/' + servicePath.trim().replace(/^\/+/, '').replace(/\/*$/, '/');
}

export type EntityKey = string | number | Record<string, string | number | boolean>;

/** Formats a key predicate: 'abc' → ('abc'), {A:'x',B:1} → (A='x',B=1); '(...)' is taken as given. */
export function formatKey(key: EntityKey): string {
  if (typeof key === 'number') return `(${key})`;
  if (typeof key === 'string') {
    const k = key.trim();
    if (!k) throw new C4CError('input', 0, 'NO_KEY', 'the entity key is empty');
    if (k.startsWith('(') && k.endsWith(')')) return k;
    return `(${literal(k)})`;
  }
  const parts = Object.entries(key).map(([name, value]) => `${name}=${typeof value === 'string' ? literal(value) : String(value)}`);
  if (!parts.length) throw new C4CError('input', 0, 'NO_KEY', 'the entity key is empty');
  return `(${parts.join(',')})`;
}

/** A string literal for keys and filters: single quotes doubled. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function checkEntitySet(entitySet: unknown): string {
  if (typeof entitySet !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(entitySet.trim())) {
    throw new C4CError('input', 0, 'BAD_ENTITY_SET', `entity set ${JSON.stringify(entitySet)} is not a valid name`);
  }
  return entitySet.trim();
}

export interface QueryOptions {
  filter?: string;
  select?: string | string[];
  expand?: string | string[];
  orderby?: string | string[];
  top?: number;
  skip?: number;
  /** true → $inlinecount=allpages. */
  inlinecount?: boolean;
  /** Non-standard C4C free-text search. */
  search?: string;
}

/** Encodes like encodeURIComponent but leaves characters OData reads literally ($ , ' ( ) :). */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%24/g, '$').replace(/%2C/g, ',').replace(/%27/g, "'").replace(/%3A/g, ':');
}

function list(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.map((x) => x.trim()).filter(Boolean).join(',') : v.trim();
  return s || undefined;
}

function count(name: string, v: number | undefined): number | undefined {
  if (v === undefined || v === null || (v as unknown) === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new C4CError('input', 0, 'BAD_QUERY', `${name} must be a whole number ≥ 0`);
  return n;
}

/** The query string (without '?') for a GET; $format=json is always asked for. */
export function buildQuery(options: QueryOptions = {}, format = true): string {
  const params: Array<[string, string]> = [];
  const filter = options.filter?.trim();
  if (filter) params.push(['$filter', filter]);
  const select = list(options.select);
  if (select) params.push(['$select', select]);
  const expand = list(options.expand);
  if (expand) params.push(['$expand', expand]);
  const orderby = list(options.orderby);
  if (orderby) params.push(['$orderby', orderby]);
  const top = count('$top', options.top);
  if (top !== undefined) params.push(['$top', String(top)]);
  const skip = count('$skip', options.skip);
  if (skip !== undefined) params.push(['$skip', String(skip)]);
  if (options.inlinecount) params.push(['$inlinecount', 'allpages']);
  if (options.search?.trim()) params.push(['$search', options.search.trim()]);
  if (format) params.push(['$format', 'json']);
  return params.map(([k, v]) => `${k}=${encodeQueryValue(v)}`).join('&');
}

export type Entity = Record<string, unknown>;

export interface Unwrapped {
  /** A list for collections, an object for a single entity, null when there was no body. */
  value: Entity[] | Entity | null;
  /** $inlinecount=allpages total, as a number. */
  count?: number;
  /** The next-page URL (d.__next), when the server paged. */
  next?: string;
  /** ETag of a single entity (header first, then __metadata.etag). */
  etag?: string;
  /** ETags of collection entries, in order (undefined where none). */
  etags?: Array<string | undefined>;
}

/** '/Date(1700000000000)/' → '2023-11-14T22:13:20.000Z'; anything else (or a date out of range) is returned as is. */
export function convertDate(value: string): string {
  return odataDateToIso(value) ?? value;
}

const SLASH = 47;

/**
 * Turns one OData JSON entity into a plain object, recursing into expanded navigations.
 * On the hot path (every entity of every page): one pass building a fresh object, which
 * measured cheaper than converting the parsed object in place (deleting __metadata and
 * deferred links turns it into a slow dictionary) and than a rest copy plus a fix-up pass.
 */
export function plainEntity(raw: Entity): Entity {
  const out: Entity = {};
  for (const name in raw) {
    if (name === '__metadata') continue;
    const value = raw[name];
    // First-character check: most strings are not dates, so the date regex rarely runs.
    if (typeof value === 'string') out[name] = value.charCodeAt(0) === SLASH ? convertDate(value) : value;
    else if (value === null || typeof value !== 'object') out[name] = value;
    else if (!isDeferredLink(value)) out[name] = plainValue(value);
  }
  return out;
}

/**
 * {"__deferred":{"uri":…}}: a navigation that was not expanded is only a link and carries
 * no data. C4C sends one per navigation property of every entity, so this avoids
 * Object.keys' array allocation.
 */
function isDeferredLink(value: object): boolean {
  if ((value as { __deferred?: unknown }).__deferred === undefined) return false;
  let keys = 0;
  for (const _name in value) if (++keys > 1) return false;
  return true;
}

/** A nested value: an expanded navigation (entity or {results}) or an array. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === SLASH ? convertDate(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(plainValue);
  const obj = value as Entity;
  if (Array.isArray(obj.results)) return (obj.results as unknown[]).map(plainEntry);
  return plainEntity(obj);
}

/** A collection entry: entities are made plain, anything else (never sent by C4C) passes as is. */
function plainEntry(entry: unknown): unknown {
  return entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? plainEntity(entry as Entity) : entry;
}

function metadataEtag(raw: unknown): string | undefined {
  const md = raw !== null && typeof raw === 'object' ? (raw as { __metadata?: { etag?: unknown } }).__metadata : undefined;
  return typeof md?.etag === 'string' ? md.etag : undefined;
}

/** Entities and their ETags in one pass over the page. */
function plainCollection(raw: unknown[]): { value: Entity[]; etags: Array<string | undefined> } {
  const value = new Array<Entity>(raw.length);
  const etags = new Array<string | undefined>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const entry = raw[i];
    etags[i] = metadataEtag(entry);
    value[i] = plainEntry(entry) as Entity;
  }
  return { value, etags };
}

/** Unwraps {"d":{"results":[…]}} and {"d":{…}}; SAP samples put single entities in d.results too, so both are accepted. */
export function unwrap(body: string, etagHeader?: string): Unwrapped {
  if (!body.trim()) return { value: null, etag: etagHeader };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new C4CError('protocol', 0, 'NOT_JSON', 'the C4C answer is not JSON');
  }
  const d = parsed && typeof parsed === 'object' ? (parsed as { d?: unknown }).d : undefined;
  if (!d || typeof d !== 'object') throw new C4CError('protocol', 0, 'NO_D', 'the C4C answer has no "d" member');
  const data = d as { results?: unknown; __count?: unknown; __next?: unknown };
  if (Array.isArray(data.results)) {
    const out: Unwrapped = plainCollection(data.results);
    if (data.__count !== undefined) out.count = Number(data.__count);
    if (typeof data.__next === 'string') out.next = data.__next;
    return out;
  }
  const single = data.results && typeof data.results === 'object' ? (data.results as Entity) : (data as Entity);
  return { value: plainEntity(single), etag: etagHeader || metadataEtag(single) };
}
