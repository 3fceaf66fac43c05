/**
 * Routes that a node owns on Node-RED's HTTP server (RED.httpNode), the way the core
 * `http in` node does it: settings.httpNodeMiddleware runs first, and the route is
 * spliced out of Express's router when the node closes, because the runtime never
 * removes routes by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';

export type RouteMethod = 'get' | 'post';
/** A request as Express hands it over: the query string already parsed. */
export type RoutedRequest = IncomingMessage & { query: Record<string, unknown> };
export type RouteHandler = (req: RoutedRequest, res: ServerResponse) => void;

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}
interface ExpressLike {
  get(path: string, ...handlers: unknown[]): void;
  post(path: string, ...handlers: unknown[]): void;
  _router?: { stack: RouterLayer[] };
  router?: { stack: RouterLayer[] };
}

/** Paths in use, so that two nodes never claim the same URL silently. */
const claimed = new Set<string>();

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
 * Throws RouteError when HTTP nodes are disabled or the path is already taken.
 */
export function mountRoute(RED: NodeAPI, path: string, handlers: Partial<Record<RouteMethod, RouteHandler>>): () => void {
  const settings = RED.settings as unknown as { httpNodeRoot?: string | false; httpNodeMiddleware?: Middleware | Middleware[] };
  if (settings.httpNodeRoot === false) throw new RouteError('HTTP nodes are disabled (httpNodeRoot is false)');
  if (claimed.has(path)) throw new RouteError(`another node already owns ${path}`);
  const app = RED.httpNode as unknown as ExpressLike;
  const configured = settings.httpNodeMiddleware;
  const middleware = Array.isArray(configured) ? configured : typeof configured === 'function' ? [configured] : [];
  const methods = Object.keys(handlers) as RouteMethod[];
  for (const method of methods) app[method](path, ...middleware, handlers[method]);
  claimed.add(path);

  return () => {
    claimed.delete(path);
    const stack = (app._router ?? app.router)?.stack ?? [];
    for (let i = stack.length - 1; i >= 0; i--) {
      const route = stack[i].route;
      if (route && route.path === path && methods.some((m) => route.methods[m])) stack.splice(i, 1);
    }
  };
}
