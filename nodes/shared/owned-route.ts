/**
 * Routes that a node owns on Node-RED's HTTP server (RED.httpNode), the way the core
 * `http in` node does it: settings.httpNodeMiddleware runs first, and the route is
 * spliced out of Express's router when the node closes, because the runtime never
 * removes routes by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import { httpNodeMiddleware, httpNodeRoot } from './settings';

export type RouteMethod = 'get' | 'post' | 'delete';
/** A request as Express hands it over: the query string already parsed. */
export type RoutedRequest = IncomingMessage & { query: Record<string, unknown> };
export type RouteHandler = (req: RoutedRequest, res: ServerResponse) => void;

/** A route's path: a plain path, or a pattern (which Express matches without parameters when it captures nothing). */
export type RoutePattern = string | RegExp;

interface RouterLayer {
  route?: { path: RoutePattern; methods: Record<string, boolean> };
}
interface ExpressLike {
  get(path: RoutePattern, ...handlers: unknown[]): void;
  post(path: RoutePattern, ...handlers: unknown[]): void;
  delete(path: RoutePattern, ...handlers: unknown[]): void;
  _router?: { stack: RouterLayer[] };
  router?: { stack: RouterLayer[] };
}

export class RouteError extends Error {}

/** Normalises a configured URL to a route path: leading slash, no trailing slash. */
export function routePath(url: string): string {
  const trimmed = (url ?? '').trim();
  if (!trimmed) throw new RouteError('the node has no URL');
  if (/[?#\s]/.test(trimmed)) throw new RouteError(`URL "${trimmed}" must be a plain path`);
  const withSlash = trimmed.startsWith('/') ? trimmed : '/' + trimmed;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : withSlash;
}

/**
 * Mounts the handlers on RED.httpNode and returns the function that removes them.
 * Throws RouteError when HTTP nodes are disabled or the path is already taken;
 * `label` names a pattern in that error (e.g. `/dcn/admin/cache/<package>/<mbo>`).
 */
export function mountRoute(RED: NodeAPI, path: RoutePattern, handlers: Partial<Record<RouteMethod, RouteHandler>>, label = String(path)): () => void {
  if (httpNodeRoot(RED) === false) throw new RouteError('HTTP nodes are disabled (httpNodeRoot is false)');
  const app = RED.httpNode as unknown as ExpressLike;
  const methods = Object.keys(handlers) as RouteMethod[];
  // The router itself says which paths are taken, by our nodes or by core http in nodes alike.
  if (routeLayers(app, path, methods).length > 0) throw new RouteError(`another node already owns ${label}`);
  const middleware = httpNodeMiddleware(RED);
  for (const method of methods) app[method](path, ...middleware, handlers[method]);
  const mounted = routeLayers(app, path, methods);

  return () => {
    const stack = routerStack(app);
    for (const layer of mounted) {
      const at = stack.indexOf(layer);
      if (at >= 0) stack.splice(at, 1);
    }
  };
}

function routerStack(app: ExpressLike): RouterLayer[] {
  if (app._router) return app._router.stack;
  try {
    return app.router?.stack ?? [];
  } catch {
    // Express 4 makes its router on the first route and throws on app.router: no route yet.
    return [];
  }
}

/** Two patterns are the same route when they match the same paths: equal text, or equal source and flags. */
function samePattern(a: RoutePattern | undefined, b: RoutePattern): boolean {
  if (a instanceof RegExp && b instanceof RegExp) return a.source === b.source && a.flags === b.flags;
  return a === b;
}

function routeLayers(app: ExpressLike, path: RoutePattern, methods: RouteMethod[]): RouterLayer[] {
  return routerStack(app).filter((layer) => samePattern(layer.route?.path, path) && methods.some((m) => layer.route!.methods[m]));
}
