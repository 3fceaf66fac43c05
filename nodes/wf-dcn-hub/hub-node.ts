/**
 * What wf-dcn-hub does: builds the hub on its store (the one selected, or the embedded
 * SQLite file, which it then owns), migrates the cache, registry and outbox tables, runs
 * the delivery worker, serves the authenticated admin routes, and keeps the registry of
 * calls the flow answers. On close it stops the worker and the routes, fails open calls
 * and closes the store it opened. A hub whose configuration or store is unusable does not
 * start: ready() says why, and the nodes using it answer 503 rather than fall back. A
 * store that fails while the tables are migrated is tried again with the next request.
 */
import type { NodeAPI } from 'node-red';
import { DcnHub, DeliveryWorker, OutboxStats, SqlOutbox, defaultRetryDelaySeconds } from '../../lib/dcn';
import type { DcnSender, MboDefinition } from '../../lib/dcn/types';
import { Store, closeThen, createStore, embeddedStoreConfig } from '../../lib/store';
import { unsetVariable, warnUnsetEnv } from '../shared/env';
import { errorText } from '../shared/errors';
import { numericSetting } from '../shared/numeric-setting';
import { userDir } from '../shared/settings';
import { storeSelection } from '../shared/store-selection';
import { WarningThrottle } from '../shared/warning-throttle';
import { mountAdminRoutes } from './admin-routes';
import { FlowCalls } from './flow-calls';
import { HubConfigProblem, parseMbos, parseSenders } from './hub-config';
import type { WfDcnHubDef, WfDcnHubNode } from './wf-dcn-hub';

export const DEFAULT_ADMIN_URL = '/dcn/admin';
const TYPE = 'wf-dcn-hub';
/** How often the outbox counts are read while a node shows them. */
const STATS_INTERVAL_MS = 5000;
/** A refresh asked for after a request waits this long, so a burst of requests reads the counts once. */
const STATS_NUDGE_MS = 500;
const MAX_RETRY_DELAY_S = 300;
/** The worker's own first retry delay, which its default backoff starts from. */
const DEFAULT_RETRY_DELAY_S = 5;

interface Started {
  hub: DcnHub;
  worker: DeliveryWorker;
  /** The embedded store this node opened; null when a wechat-sap-store owns the store. */
  owned: Store | null;
}

/** The configuration, checked: the senders and MBOs, or the problem that keeps the hub from starting. */
function checkedConfig(RED: NodeAPI, node: WfDcnHubNode, config: WfDcnHubDef): { senders: DcnSender[]; mbos: MboDefinition[] } {
  const text = node.credentials?.senders;
  warnUnsetEnv(RED, node, 'wf-dcn-hub.warn.unsetEnv', { senders: text });
  try {
    const senders = unsetVariable(text) ? [] : parseSenders(text);
    const mbos = parseMbos(config.mbos);
    if (senders.length === 0) node.warn(RED._('wf-dcn-hub.warn.noSenders'));
    return { senders, mbos };
  } catch (err) {
    if (!(err instanceof HubConfigProblem)) throw err;
    throw new Error(RED._(`wf-dcn-hub.problem.${err.code}`, err.params), { cause: err });
  }
}

/** The worker's default backoff (5 s doubling, ±20 %) scaled to the configured first delay, still at most 5 minutes. */
export function retryDelayFor(baseSeconds: number): (attempt: number) => number {
  return (attempt) => Math.min(MAX_RETRY_DELAY_S, (defaultRetryDelaySeconds(attempt) * baseSeconds) / DEFAULT_RETRY_DELAY_S);
}

export function startHub(RED: NodeAPI, node: WfDcnHubNode, config: WfDcnHubDef): void {
  const warnings = new WarningThrottle((text) => node.warn(text));
  const calls = new FlowCalls();
  // Counts are read only once the tables are there; until then there are none to show.
  const stats = new StatsWatch(async () => {
    const current = started;
    if (!current) return null;
    const isReady = await current.hub.ready().then(() => true, () => false);
    return isReady ? current.worker.stats() : null;
  }, (err) =>
    warnings.report('stats', () => RED._('wf-dcn-hub.warn.statsFailed', { reason: errorText(RED, TYPE, err) })),
  );
  let started: Started | null = null;
  let unmountAdmin: (() => void) | null = null;
  Object.assign(node, { calls, watchStats: stats.watch.bind(stats), statsChanged: stats.nudge.bind(stats) });
  Object.defineProperties(node, {
    hub: { get: () => running().hub, configurable: true },
    worker: { get: () => running().worker, configurable: true },
  });
  // The hub's own ready() tries the migrations again after a failure: a store that was down at deploy may be back.
  node.ready = () => {
    try {
      return running().hub.ready();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };

  let closed = false;
  function running(): Started {
    if (closed) throw new Error(RED._('wf-dcn-hub.errors.closed'));
    if (!started) throw new Error(RED._('wf-dcn-hub.errors.notStarted', { problem: node.problem ?? '' }));
    return started;
  }

  try {
    started = build(RED, node, config, (err) =>
      warnings.report('delivery', () => RED._('wf-dcn-hub.warn.deliveryFailed', { reason: errorText(RED, TYPE, err) })),
    );
    const hub = started.hub;
    hub.ready().catch((err: unknown) => node.error(RED._('wf-dcn-hub.errors.notReady', { problem: errorText(RED, TYPE, err) })));
    unmountAdmin = adminRoutes(RED, node, hub, config.adminUrl);
  } catch (err) {
    node.problem = errorText(RED, TYPE, err);
    node.error(RED._('wf-dcn-hub.errors.notStarted', { problem: node.problem }));
  }

  node.on('close', (done: (err?: Error) => void) => {
    closed = true;
    stats.stop();
    calls.close(new Error(RED._('wf-dcn-hub.errors.closed')));
    unmountAdmin?.();
    unmountAdmin = null;
    const stopping = started;
    started = null;
    if (!stopping) return done();
    // The worker stops before the store closes: no lease or acknowledgement runs on a closed store.
    stopping.worker.stop().then(
      () => closeThen(stopping.owned, done),
      (err: Error) => closeThen(stopping.owned, () => done(err)),
    );
  });
}

/** The hub, its outbox and worker on the store; throws when the configuration or the selected store is unusable. */
function build(RED: NodeAPI, node: WfDcnHubNode, config: WfDcnHubDef, onDeliveryError: (err: Error) => void): Started {
  const { senders, mbos } = checkedConfig(RED, node, config);
  const selection = storeSelection(RED, config.store, RED._('wf-dcn-hub.errors.noStore'));
  // A selected store that did not open is a problem, never a reason to use another one.
  if (selection.kind === 'unusable') throw new Error(RED._('wf-dcn-hub.errors.storeUnusable', { problem: selection.problem }));
  const owned = selection.kind === 'store' ? null : createStore(embeddedStoreConfig(userDir(RED)));
  const store = selection.kind === 'store' ? selection.store : owned!;
  const outbox = new SqlOutbox(store.database());
  const hub = new DcnHub({ store, senders, mbos, outbox });
  const worker = new DeliveryWorker(outbox, {
    visibilitySeconds: numericSetting(config.visibilityTimeout, 30, 1),
    maxAttempts: Math.round(numericSetting(config.maxAttempts, 5, 1, 1000)),
    retryDelaySeconds: retryDelayFor(numericSetting(config.retryDelay, 5, 0, MAX_RETRY_DELAY_S)),
    onError: onDeliveryError,
  });
  node.log(RED._('wf-dcn-hub.log.using', { description: store.description, senders: senders.length, mbos: mbos.length }));
  return { hub, worker, owned };
}

function adminRoutes(RED: NodeAPI, node: WfDcnHubNode, hub: DcnHub, url: string | undefined): (() => void) | null {
  const base = (url ?? DEFAULT_ADMIN_URL).trim();
  if (!base) return null;
  try {
    return mountAdminRoutes(RED, node, hub, base);
  } catch (err) {
    // The hub still works for the flow; only its HTTP reads and registry changes are missing.
    node.error(RED._('wf-dcn-hub.errors.adminRoutes', { reason: errorText(RED, TYPE, err) }));
    return null;
  }
}

/**
 * The outbox counts for the status of the nodes using the hub: read every few seconds
 * while anyone watches, and soon after a request asks for it; never while nobody does.
 */
class StatsWatch {
  private readonly listeners = new Set<(stats: OutboxStats) => void>();
  private interval: NodeJS.Timeout | null = null;
  private nudged: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(
    private readonly read: () => Promise<OutboxStats | null>,
    private readonly onError: (err: Error) => void,
  ) {}

  watch(listener: (stats: OutboxStats) => void): () => void {
    this.listeners.add(listener);
    if (!this.interval) {
      this.interval = setInterval(() => this.refresh(), STATS_INTERVAL_MS);
      this.interval.unref();
    }
    this.nudge();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  nudge(): void {
    if (this.nudged || this.listeners.size === 0) return;
    this.nudged = setTimeout(() => {
      this.nudged = null;
      this.refresh();
    }, STATS_NUDGE_MS);
    this.nudged.unref();
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.nudged) clearTimeout(this.nudged);
    this.interval = null;
    this.nudged = null;
    this.listeners.clear();
  }

  private refresh(): void {
    // One read at a time: a slow store does not pile them up.
    if (this.reading || this.listeners.size === 0) return;
    this.reading = true;
    this.read().then(
      (stats) => {
        this.reading = false;
        if (stats) for (const listener of this.listeners) listener(stats);
      },
      (err: Error) => {
        this.reading = false;
        this.onError(err);
      },
    );
  }
}
