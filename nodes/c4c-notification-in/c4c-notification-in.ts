/**
 * c4c-notification-in: the endpoint a C4C event-notification consumer points at. It
 * owns a POST route on RED.httpNode, checks Basic auth (unless "none" was chosen
 * explicitly), answers 202 at once so C4C never waits on the flow, drops repeats
 * within a window, and emits one normalised message per change, optionally with the
 * changed entity read through a c4c-system.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { BodyError, readBody, sendJson } from '../../lib/http/body';
import { C4CError, C4CNotification, DedupeWindow, NotificationError, parseNotification } from '../../lib/c4c';
import { mountRoute, routePath, RouteError } from '../shared/owned-route';
import { WarningThrottle } from '../shared/warning-throttle';
import type { C4CSystemNode } from '../c4c-system/c4c-system';
import { numericSetting } from '../shared/numeric-setting';

export interface C4CNotificationInDef extends NodeDef {
  url: string;
  auth: 'basic' | 'none';
  dedupeSeconds: string | number;
  readEntity: boolean;
  system: string;
}

export interface C4CNotificationInCredentials {
  user?: string;
  password?: string;
}

type NotificationNode = Node<C4CNotificationInCredentials>;

const BODY_LIMIT = 1024 * 1024;

/** Constant-time comparison of the whole Authorization header against the expected one. */
function basicMatches(header: string | undefined, user: string, password: string): boolean {
  if (!header || !user) return false;
  const expected = createHash('sha256').update('Basic ' + Buffer.from(`${user}:${password}`).toString('base64')).digest();
  const actual = createHash('sha256').update(header.trim()).digest();
  return timingSafeEqual(expected, actual);
}

export default function register(RED: NodeAPI): void {
  function C4CNotificationIn(this: NotificationNode, config: C4CNotificationInDef) {
    RED.nodes.createNode(this, config);
    // Inner callbacks need the node; the constructor is a plain function, so alias it.
    const node = this;
    const requireAuth = config.auth !== 'none';
    const user = node.credentials?.user ?? '';
    const password = node.credentials?.password ?? '';
    const dedupe = new DedupeWindow(numericSetting(config.dedupeSeconds, 300) * 1000);
    const system = config.readEntity ? (RED.nodes.getNode(config.system) as C4CSystemNode | null) : null;
    let unmount: (() => void) | null = null;

    if (requireAuth && !user) node.warn(RED._('c4c-notification-in.warn.noCredentials'));
    if (!requireAuth) node.warn(RED._('c4c-notification-in.warn.noAuth'));
    if (config.readEntity && !system?.client) node.warn(RED._('c4c-notification-in.warn.noSystem'));

    const warnings = new WarningThrottle((text) => node.warn(text));

    function reject(res: ServerResponse, status: number, reason: string, req: IncomingMessage): void {
      // The reason names what was wrong, never what was sent as credentials.
      const from = req.socket.remoteAddress ?? '?';
      warnings.report(`${status} ${reason}`, (more) =>
        RED._('c4c-notification-in.warn.rejected', { status, reason, from }) + (more ? RED._('c4c-notification-in.warn.more', { count: more }) : ''),
      );
      node.status({ fill: 'red', shape: 'ring', text: `${status}` });
      if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="c4c-notification"');
      sendJson(res, status, { error: reason });
    }

    async function parseBody(req: IncomingMessage): Promise<unknown> {
      const parsed = (req as IncomingMessage & { body?: unknown }).body;
      // A JSON body parser from httpNodeMiddleware may already have run.
      if (parsed && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) return parsed;
      const raw = await readBody(req, BODY_LIMIT);
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch {
        throw new BodyError(400, 'the body is not valid JSON');
      }
    }

    async function emit(notification: C4CNotification): Promise<void> {
      const { dedupeKey: _key, ...payload } = notification;
      const msg: NodeMessage & Record<string, unknown> = {
        _msgid: RED.util.generateId(),
        topic: `${notification.businessObject}/${notification.event}`,
        payload,
      };
      const client = system?.client;
      if (client) {
        // Without an endpoint there is nothing to read: msg.entity stays null.
        msg.entity = null;
        try {
          if (notification.odataEndpoint) {
            const res = await client.readUrl(notification.odataEndpoint, system.callAuth(msg));
            msg.entity = res.entity;
            if (res.etag) msg.etag = res.etag;
          }
        } catch (err) {
          const e = err instanceof C4CError ? err : new C4CError('network', 0, 'READ', (err as Error).message);
          node.status({ fill: 'yellow', shape: 'ring', text: 'c4c-notification-in.status.readFailed' });
          node.error(e, Object.assign(msg, { c4cError: e.toJSON() }));
          return;
        }
      }
      node.status({ fill: 'green', shape: 'dot', text: msg.topic as string });
      node.send(msg);
    }

    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (requireAuth && !basicMatches(req.headers.authorization, user, password)) {
        req.resume();
        return reject(res, 401, req.headers.authorization ? 'wrong credentials' : 'authentication required', req);
      }
      let notification: C4CNotification;
      try {
        notification = parseNotification(await parseBody(req));
      } catch (err) {
        if (err instanceof BodyError) return reject(res, err.status, err.message, req);
        if (err instanceof NotificationError) return reject(res, 400, err.message, req);
        throw err;
      }
      // Acknowledge first: C4C must not wait for the entity read or the flow.
      res.statusCode = 202;
      res.end();
      if (!dedupe.firstSeen(notification.dedupeKey)) {
        node.status({ fill: 'yellow', shape: 'dot', text: 'c4c-notification-in.status.duplicate' });
        return;
      }
      await emit(notification);
    }

    try {
      const path = routePath(config.url);
      unmount = mountRoute(RED, path, {
        post: (req, res) => {
          handle(req, res).catch((err: Error) => {
            node.error(RED._('c4c-notification-in.errors.internal', { reason: err.message }));
            if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
          });
        },
      });
      node.status({ fill: 'grey', shape: 'ring', text: requireAuth ? 'c4c-notification-in.status.listening' : 'c4c-notification-in.status.noAuth' });
    } catch (err) {
      if (!(err instanceof RouteError)) throw err;
      node.error(RED._('c4c-notification-in.errors.route', { reason: err.message }));
      node.status({ fill: 'red', shape: 'ring', text: 'c4c-notification-in.status.noRoute' });
    }

    node.on('close', (done: () => void) => {
      unmount?.();
      unmount = null;
      done();
    });
  }

  RED.nodes.registerType<NotificationNode, C4CNotificationInDef, object, C4CNotificationInCredentials>('c4c-notification-in', C4CNotificationIn, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}
