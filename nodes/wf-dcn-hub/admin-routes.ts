/**
 * The hub's admin routes on RED.httpNode: the data cache, the device registry and the
 * inbox over HTTP, so apps retrieve data from the cache as SMP's did, and devices are
 * registered without a flow. Every call authenticates with HTTP Basic as one of the
 * hub's senders (the same check as the HttpAuthDCNServlet route); a sender that is not
 * admin may only address its own security configuration. The cache has no security
 * configuration of its own: any authenticated sender may read it, as any may write it.
 *
 *   GET    <base>/cache/<package>/<mbo>[?<keyAttr>=<value>…]   rows of an MBO (by key)
 *   GET    <base>/registry/<security>/<user>                    a user's devices
 *   POST   <base>/registry/<security>/<user>                    registers a device (JSON body)
 *   DELETE <base>/registry/<security>/<user>/<deviceId>         removes one
 *   GET    <base>/inbox/<security>/<user>[?limit=<n>]           the user's inbox, newest first
 *
 * Answers are JSON; refusals are `{ "error": code, "message": text }`, in English like
 * the WF-DCN endpoint's own texts, since they go to programs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI } from 'node-red';
import { BodyError, readJsonBody, sendJson } from '../../lib/http/body';
import type { CachedRow, DcnHttpCall, DcnSender, Device, Outbox } from '../../lib/dcn/types';
import { DcnError } from '../../lib/dcn/types';
import { checkDeviceRegistration } from '../../lib/dcn/registry';
import { RegistryInputError, inboxLimit, inputObject } from '../wf-dcn-registry/registry-input';
import { errorText } from '../shared/errors';
import { RouteHandler, RoutedRequest, mountRoute, routePath } from '../shared/owned-route';

/** The part of DcnHub these routes use. */
export interface AdminHub {
  authenticate(call: DcnHttpCall): DcnSender;
  readonly cache: { read(pkg: string, mbo: string, key?: Record<string, unknown>): Promise<CachedRow[]> };
  readonly registry: {
    register(device: Omit<Device, 'registeredAt'>): Promise<Device>;
    unregister(security: string, user: string, deviceId?: string): Promise<number>;
    list(filter: { security?: string; user?: string }): Promise<Device[]>;
  };
  readonly outbox: Pick<Outbox, 'inbox'>;
}

/** A registration is a few short fields; anything bigger is not one. */
const BODY_LIMIT = 16 * 1024;
const BODY_DEPTH = 4;
const REALM = 'Basic realm="wf-dcn admin", charset="UTF-8"';

type AdminRequest = RoutedRequest & { path?: string; segments?: Record<string, string> };

/**
 * A route of named segments, `<root>/<kind>/<a>/<b>…`, matched by a pattern without
 * Express parameters: Express decodes parameters before any handler runs, and answers
 * a malformed %-escape there with its own HTML 400 page and a stack trace in the log,
 * for anyone who sends one. The segments are decoded here instead, and a malformed one
 * is refused as every other bad input is.
 */
interface AdminPath {
  pattern: RegExp;
  names: string[];
  /** The route as the docs write it, for errors. */
  label: string;
}

function adminPath(root: string, kind: string, names: string[]): AdminPath {
  const escaped = root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  // Non-capturing groups only: a capturing one would be an Express parameter again.
  const pattern = new RegExp(`^${escaped}\\/${kind}${'\\/(?:[^/]+)'.repeat(names.length)}\\/?$`, 'i');
  return { pattern, names, label: `${root}/${kind}/${names.map((n) => `<${n}>`).join('/')}` };
}

/** The path's segments after `<root>/<kind>`, by name, %-decoded. */
function segmentsOf(req: AdminRequest, root: string, path: AdminPath): Record<string, string> {
  const pathname = req.path ?? new URL(req.url ?? '/', 'http://admin').pathname;
  const raw = pathname.slice(root.length).split('/').filter(Boolean).slice(1);
  const segments: Record<string, string> = {};
  path.names.forEach((name, i) => {
    try {
      segments[name] = decodeURIComponent(raw[i] ?? '');
    } catch {
      throw new AdminError(400, 'dcn_bad_request', `${name} in the path is not valid %-encoding`);
    }
  });
  return segments;
}

/** A refusal with its HTTP status, answered as `{ error, message }`. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/**
 * Mounts the routes under `base` and returns the function that removes them all.
 * Throws RouteError (from mountRoute) when HTTP nodes are disabled, the base is no plain
 * path, or another node owns one of the paths; then nothing stays mounted.
 */
export function mountAdminRoutes(RED: NodeAPI, node: Node, hub: AdminHub, base: string): () => void {
  const root = routePath(base).replace(/^\/$/, '');
  /** `names`: the route's segments after `<root>/<kind>`, read from the path by the handler itself (see AdminPath). */
  const guarded = (path: AdminPath, handle: (req: AdminRequest, res: ServerResponse) => Promise<void>): RouteHandler => {
    return (req, res) => {
      const routed = req as AdminRequest;
      Promise.resolve()
        .then(() => {
          routed.segments = segmentsOf(routed, root, path);
          return handle(routed, res);
        })
        .catch((err: unknown) => {
          // Refusals are the caller's business; anything else (a store that failed) is the hub's too.
          if (!isRefusal(err)) node.error(errorText(RED, 'wf-dcn-hub', err));
          // A body refused unread (401, 403) is drained, so the connection can carry the next request.
          req.resume();
          answerError(res, err);
        });
    };
  };

  const cache = adminPath(root, 'cache', ['package', 'mbo']);
  const registry = adminPath(root, 'registry', ['security', 'user']);
  const device = adminPath(root, 'registry', ['security', 'user', 'deviceId']);
  const inbox = adminPath(root, 'inbox', ['security', 'user']);
  const routes: Array<[AdminPath, Parameters<typeof mountRoute>[2]]> = [
    [cache, { get: guarded(cache, (req, res) => readCache(hub, req, res)) }],
    [registry, { get: guarded(registry, (req, res) => listDevices(hub, req, res)), post: guarded(registry, (req, res) => registerDevice(hub, req, res)) }],
    [device, { delete: guarded(device, (req, res) => removeDevice(hub, req, res)) }],
    [inbox, { get: guarded(inbox, (req, res) => readInbox(hub, req, res)) }],
  ];

  const unmounts: Array<() => void> = [];
  const unmountAll = () => {
    for (const unmount of unmounts.splice(0)) unmount();
  };
  try {
    for (const [path, handlers] of routes) unmounts.push(mountRoute(RED, path.pattern, handlers, path.label));
  } catch (err) {
    unmountAll();
    throw err;
  }
  return unmountAll;
}

// ── The routes ────────────────────────────────────────────────────────────────────

async function readCache(hub: AdminHub, req: AdminRequest, res: ServerResponse): Promise<void> {
  authenticated(hub, req);
  const key = keyFromQuery(req.query);
  const rows = await hub.cache.read(param(req, 'package'), param(req, 'mbo'), Object.keys(key).length ? key : undefined);
  sendJson(res, 200, rows);
}

async function listDevices(hub: AdminHub, req: AdminRequest, res: ServerResponse): Promise<void> {
  const { security, user } = addressed(hub, req);
  sendJson(res, 200, await hub.registry.list({ security, user }));
}

async function registerDevice(hub: AdminHub, req: AdminRequest, res: ServerResponse): Promise<void> {
  const { security, user } = addressed(hub, req);
  const body = (await readJsonBody(req, BODY_LIMIT, BODY_DEPTH)).value;
  const device = await hub.registry.register(deviceFromBody(body, security, user));
  sendJson(res, 201, device);
}

async function removeDevice(hub: AdminHub, req: AdminRequest, res: ServerResponse): Promise<void> {
  const { security, user } = addressed(hub, req);
  const deviceId = param(req, 'deviceId');
  const removed = await hub.registry.unregister(security, user, deviceId);
  if (removed === 0) throw new AdminError(404, 'not_found', `user ${user} of ${security} has no device ${deviceId}`);
  sendJson(res, 200, { removed });
}

async function readInbox(hub: AdminHub, req: AdminRequest, res: ServerResponse): Promise<void> {
  const { security, user } = addressed(hub, req);
  const limit = inboxLimit(req.query.limit);
  sendJson(res, 200, await hub.outbox.inbox(security, user, limit));
}

// ── Authentication and input ──────────────────────────────────────────────────────

/** The sender the Basic header names; DcnError 401 when it names none of the hub's. */
function authenticated(hub: AdminHub, req: IncomingMessage): DcnSender {
  const call: DcnHttpCall = {
    servlet: 'http-auth',
    // The sender check does not depend on the method; reads and writes alike are authenticated.
    method: req.method === 'GET' ? 'GET' : 'POST',
    parameters: {},
    rawBody: '',
    authorization: req.headers.authorization,
    headers: lowerCaseHeaders(req),
  };
  return hub.authenticate(call);
}

/** The security configuration and user of the path, once the sender may address them. */
function addressed(hub: AdminHub, req: AdminRequest): { sender: DcnSender; security: string; user: string } {
  const sender = authenticated(hub, req);
  const security = param(req, 'security');
  const user = param(req, 'user');
  if (!sender.admin && sender.security !== security) {
    throw new AdminError(403, 'dcn_forbidden', `sender ${sender.user} may only address the security configuration ${sender.security}, not ${security}`);
  }
  return { sender, security, user };
}

function param(req: AdminRequest, name: string): string {
  const value = req.segments?.[name];
  if (typeof value !== 'string' || value.trim() === '') throw new AdminError(400, 'dcn_bad_request', `${name} not supplied`);
  return value;
}

/** Key attributes from the query: one plain value each (`?tripId=T-77`). */
function keyFromQuery(query: Record<string, unknown>): Record<string, string> {
  const key: Record<string, string> = {};
  for (const [name, value] of Object.entries(query ?? {})) {
    if (typeof value !== 'string') throw new AdminError(400, 'dcn_bad_request', `the key attribute ${name} must be given once, as a plain value`);
    key[name] = value;
  }
  return key;
}

/**
 * The device a POST body describes, for the user of the path. The body may repeat the
 * path's security and user; naming others is refused rather than silently overridden.
 */
function deviceFromBody(body: unknown, security: string, user: string): Omit<Device, 'registeredAt'> {
  const fields = inputObject(body);
  for (const [name, expected] of [
    ['security', security],
    ['user', user],
  ] as const) {
    if (fields[name] !== undefined && fields[name] !== expected) throw new AdminError(400, 'dcn_bad_request', `${name} in the body must be the path's (${expected})`);
  }
  return checkDeviceRegistration({ ...fields, security, user });
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization' || value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

// ── Answers ───────────────────────────────────────────────────────────────────────

function answerError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.end();
  const { status, code, message } = refusal(err);
  if (status === 401) res.setHeader('WWW-Authenticate', REALM);
  sendJson(res, status, { error: code, message });
}

function isRefusal(err: unknown): err is AdminError | DcnError | BodyError | RegistryInputError {
  return err instanceof AdminError || err instanceof DcnError || err instanceof BodyError || err instanceof RegistryInputError;
}

function refusal(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof RegistryInputError) return { status: 400, code: 'dcn_bad_request', message: err.message };
  // An MBO the hub does not know is a resource that is not there.
  if (err instanceof DcnError && err.code === 'dcn_unknown_mbo') return { status: 404, code: err.code, message: err.message };
  if (err instanceof AdminError || err instanceof DcnError || err instanceof BodyError) return { status: err.status, code: String(err.code), message: err.message };
  // A store that failed: the caller may try again; the detail is the store's, never a secret.
  return { status: 500, code: 'internal', message: err instanceof Error ? err.message : String(err) };
}
