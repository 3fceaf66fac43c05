/**
 * What c4c-notification-in does: the endpoint a C4C event-notification consumer points at. It
 * owns a POST route on RED.httpNode, checks Basic auth (unless "none" was chosen
 * explicitly), answers 202 so C4C never waits on the flow, drops repeats within a
 * window, and emits one normalised message per change, optionally with the changed
 * entity read through a c4c-system.
 *
 * With a store selected, a notification is committed to a durable queue in it before
 * the 202 and emitted from there: an instance killed before its flow got it leaves it
 * to another instance (or to itself, restarted). Without one, it is at-most-once.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI, NodeMessage } from 'node-red';
import { basicMatches } from '../../lib/http/basic-auth';
import { BodyError, readJsonBody, sendJson } from '../../lib/http/body';
import { C4CError, C4CNotification, DedupeWindow, MAX_NOTIFICATION_DEPTH, NotificationError, parseNotification } from '../../lib/c4c';
import { QueueWorker, Store } from '../../lib/store';
import { mountRoute, routePath, RouteError } from '../shared/owned-route';
import { WarningThrottle } from '../shared/warning-throttle';
import type { C4CSystemNode } from '../c4c-system/c4c-system';
import { storeSelection } from '../shared/store-selection';
import { numericSetting } from '../shared/numeric-setting';
import { configNode } from '../shared/config-node';
import { errorText, flowError } from '../shared/errors';
import { NodeStatus } from '../shared/status';
import type { C4CNotificationInDef, NotificationNode } from './c4c-notification-in';

interface DurableQueue {
  store: Store;
  name: string;
  worker: QueueWorker;
}

const BODY_LIMIT = 1024 * 1024;

/** The part of a notification that is emitted, and kept in the store until then. */
type NotificationPayload = Omit<C4CNotification, 'dedupeKey'>;
export function startNotificationRoute(RED: NodeAPI, node: NotificationNode, config: C4CNotificationInDef): void {
  const requireAuth = config.auth !== 'none';
  const user = node.credentials?.user ?? '';
  const password = node.credentials?.password ?? '';
  const dedupeSeconds = numericSetting(config.dedupeSeconds, 300);
  const dedupe = new DedupeWindow(dedupeSeconds * 1000);
  const status = new NodeStatus(node);
  const system = config.readEntity ? configNode<C4CSystemNode>(RED, config.system, 'c4c-system') : null;
  const selection = storeSelection(RED, config.store, RED._('c4c-notification-in.errors.noStore'));
  let unmount: (() => void) | null = null;
  let queue: DurableQueue | null = null;
  // A selected store that did not open: accepting without it would quietly drop the guarantee.
  const storeMissing = selection.kind === 'unusable';
  if (storeMissing) node.error(RED._('c4c-notification-in.errors.noStore'));

  if (requireAuth && !user) node.warn(RED._('c4c-notification-in.warn.noCredentials'));
  if (!requireAuth) node.warn(RED._('c4c-notification-in.warn.noAuth'));
  if (config.readEntity && !system?.client) node.warn(RED._('c4c-notification-in.warn.noSystem'));

  const warnings = new WarningThrottle((text) => node.warn(text));

  /**
   * `reason` is what C4C gets in the body, in English as the protocol's own texts are;
   * `logged` is the same in the runtime's language. Neither names what was sent as credentials.
   */
  function reject(res: ServerResponse, code: number, reason: string, req: IncomingMessage, logged = reason): void {
    const from = req.socket.remoteAddress ?? '?';
    warnings.report(`${code} ${reason}`, (more) =>
      RED._('c4c-notification-in.warn.rejected', { status: code, reason: logged, from }) + (more ? RED._('c4c-notification-in.warn.more', { count: more }) : ''),
    );
    status.error(`${code}`);
    if (code === 401) res.setHeader('WWW-Authenticate', 'Basic realm="c4c-notification"');
    sendJson(res, code, { error: reason });
  }

  async function emit(payload: NotificationPayload): Promise<void> {
    const msg: NodeMessage & Record<string, unknown> = {
      _msgid: RED.util.generateId(),
      topic: `${payload.businessObject}/${payload.event}`,
      payload,
    };
    const client = system?.client;
    if (client) {
      // Without an endpoint there is nothing to read: msg.entity stays null.
      msg.entity = null;
      try {
        if (payload.odataEndpoint) {
          const res = await client.readUrl(payload.odataEndpoint, system.callAuth(msg));
          msg.entity = res.entity;
          if (res.etag) msg.etag = res.etag;
        }
      } catch (err) {
        const e = err instanceof C4CError ? err : new C4CError('network', 0, 'READ', (err as Error).message);
        status.warning('c4c-notification-in.status.readFailed');
        node.error(flowError(RED, 'c4c-notification-in', e), Object.assign(msg, { c4cError: e.toJSON() }));
        return;
      }
    }
    status.ok(msg.topic as string);
    node.send(msg);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (requireAuth && !basicMatches(req.headers.authorization, user, password)) {
      req.resume();
      return req.headers.authorization
        ? reject(res, 401, 'wrong credentials', req, RED._('c4c-notification-in.reason.wrongCredentials'))
        : reject(res, 401, 'authentication required', req, RED._('c4c-notification-in.reason.authRequired'));
    }
    if (storeMissing) {
      req.resume();
      return reject(res, 503, 'the selected store is not available; try again', req, RED._('c4c-notification-in.reason.storeUnavailable'));
    }
    let notification: C4CNotification;
    try {
      const body = await readJsonBody(req, BODY_LIMIT, MAX_NOTIFICATION_DEPTH);
      notification = parseNotification(body.value, body.key);
    } catch (err) {
      if (err instanceof BodyError) return reject(res, err.status, err.message, req, errorText(RED, 'c4c-notification-in', err));
      if (err instanceof NotificationError) return reject(res, 400, err.message, req, errorText(RED, 'c4c-notification-in', err));
      throw err;
    }
    const { dedupeKey, ...payload } = notification;
    if (queue) return accept(res, req, dedupeKey, payload, queue);
    // Acknowledge first: C4C must not wait for the entity read or the flow.
    res.statusCode = 202;
    res.end();
    if (!dedupe.firstSeen(dedupeKey)) return duplicate();
    await emit(payload);
  }

  /** Commits the notification to the store, then acknowledges; the queue's worker emits it. */
  async function accept(res: ServerResponse, req: IncomingMessage, dedupeKey: string, payload: NotificationPayload, durable: DurableQueue) {
    let fresh: boolean;
    try {
      // With no de-duplication window every notification is new, so it gets an id of its own.
      const id = dedupeSeconds > 0 ? dedupeKey : randomUUID();
      fresh = await durable.store.enqueue(durable.name, id, JSON.stringify(payload), dedupeSeconds);
    } catch (err) {
      // Not accepted: C4C is told to try again rather than told it arrived.
      node.error(RED._('c4c-notification-in.errors.storeFailed', { reason: errorText(RED, 'c4c-notification-in', err) }));
      return reject(res, 503, 'the notification could not be stored; try again', req, RED._('c4c-notification-in.reason.storeFailed'));
    }
    res.statusCode = 202;
    res.end();
    if (fresh) durable.worker.kick();
    else duplicate();
  }

  function duplicate(): void {
    status.warning('c4c-notification-in.status.duplicate');
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
    if (selection.kind === 'store') queue = durableQueue(selection.store, path);
    status.idle(requireAuth ? 'c4c-notification-in.status.listening' : 'c4c-notification-in.status.noAuth');
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    node.error(RED._('c4c-notification-in.errors.route', { reason: err.message }));
    status.error('c4c-notification-in.status.noRoute');
  }

  /** One queue per route: every instance running this flow shares it through the store. */
  function durableQueue(store: Store, path: string): DurableQueue {
    const name = `c4c-notification-in:${path}`;
    const worker = new QueueWorker(
      store,
      name,
      async (item) => {
        const payload = JSON.parse(item.payload) as NotificationPayload;
        await emit(payload);
      },
      { onError: (err) => node.warn(RED._('c4c-notification-in.warn.storeFailed', { reason: errorText(RED, 'c4c-notification-in', err) })) },
    );
    return { store, name, worker };
  }

  node.on('close', (done: () => void) => {
    unmount?.();
    unmount = null;
    const stopping = queue?.worker.stop();
    queue = null;
    status.stop();
    void Promise.resolve(stopping).then(() => done());
  });
}
