/**
 * What wf-dcn-in does: serves GET and POST on the hub's two servlet URLs, reads each
 * request into a DcnHttpCall (body limit, form or raw JSON), lets the hub authenticate,
 * process and answer it, and writes the hub's answer as it is. While the hub processes
 * it, the flow is asked what only the flow can do, each through one output and answered
 * by a wf-dcn-response: named MBO operations (output 1), the pre-process filter (2) and
 * the post-process filter (3). An output without wires is a hook the flow does not
 * supply; the hub answers as the reference says for a missing one.
 */
import type { ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { DcnHooks, NamedOperation } from '../../lib/dcn';
import type { DcnCommand, DcnResponse, DcnServlet, OutboxStats } from '../../lib/dcn/types';
import { BodyError, sendJson } from '../../lib/http/body';
import { configNode } from '../shared/config-node';
import { errorText } from '../shared/errors';
import { numericSetting } from '../shared/numeric-setting';
import { RoutedRequest, mountRoute, routePath } from '../shared/owned-route';
import { numberSetting } from '../shared/settings';
import { NodeStatus } from '../shared/status';
import { WarningThrottle } from '../shared/warning-throttle';
import type { FlowCall, FlowStage } from '../wf-dcn-hub/flow-calls';
import type { WfDcnHubNode } from '../wf-dcn-hub/wf-dcn-hub';
import { readDcnCall } from './http-call';
import type { WfDcnInDef } from './wf-dcn-in';

export const DEFAULT_MAX_BODY = 1024 * 1024;
export const DEFAULT_URL = '/dcn/HttpAuthDCNServlet';
export const DEFAULT_PARAM_URL = '/dcn/DCNServlet';
const DEFAULT_OPERATION_TIMEOUT_S = 10;
const TYPE = 'wf-dcn-in';

/** What every message wf-dcn-in sends carries in msg.dcn; wf-dcn-response answers by it. */
export interface DcnFlowContext {
  /** The wf-dcn-hub whose calls registry holds the call. */
  hub: string;
  callId: string;
  stage: FlowStage;
}

export interface OperationContext extends DcnFlowContext {
  stage: 'operation';
  cmd: DcnCommand;
  package: string;
  mbo: string;
  op: string;
  requestId: string;
  messageId: string;
}

export interface FilterContext extends DcnFlowContext {
  stage: 'preprocess' | 'postprocess';
  filter: string;
}

export type DcnFlowMessage = NodeMessage & { dcn: OperationContext | FilterContext; req?: { headers: Record<string, string> }; headers?: Record<string, string> };

/** The outputs, in order: what a message on each is for. */
const OUTPUT: Record<FlowStage, number> = { operation: 0, preprocess: 1, postprocess: 2 };

export function startDcnRoutes(RED: NodeAPI, node: Node, config: WfDcnInDef): void {
  const status = new NodeStatus(node);
  const hubNode = configNode<WfDcnHubNode>(RED, config.hub, 'wf-dcn-hub');
  const timeoutS = numericSetting(config.operationTimeout, DEFAULT_OPERATION_TIMEOUT_S, 0.1, 3600);
  const maxBody = numberSetting(RED, 'wfDcnInMaxBody', DEFAULT_MAX_BODY, 1);
  const warnings = new WarningThrottle((text) => node.warn(text));
  if (!hubNode) return notStarted(new Error(RED._('wf-dcn-in.errors.noHub')));
  const hub: WfDcnHubNode = hubNode;

  let paths: { url: string; paramUrl: string | null };
  try {
    paths = routePaths(RED, config);
  } catch (err) {
    return notStarted(err);
  }
  const counts = new RouteCounts(RED, status, paths.url);
  /** Requests still being answered; closing waits for them. */
  const running = new Set<Promise<void>>();
  let hubReady = false;
  let readying: Promise<void> | null = null;
  /** True once the hub took its tables up; until then each request asks again (a store down at deploy may be back) and is answered 503. */
  function isHubReady(): boolean {
    if (hubReady) return true;
    readying ??= hub
      .ready()
      .then(
        () => {
          hubReady = true;
          counts.hold(null);
        },
        () => counts.hold('wf-dcn-in.status.hubNotStarted'),
      )
      .finally(() => (readying = null));
    return false;
  }
  isHubReady();
  const unwatch = hub.watchStats((stats) => counts.showStats(stats));
  const hooks = flowHooks();

  const unmounts: Array<() => void> = [];
  try {
    unmounts.push(mountServlet(paths.url, 'http-auth'));
    if (paths.paramUrl) unmounts.push(mountServlet(paths.paramUrl, 'parameters'));
  } catch (err) {
    unmounts.forEach((unmount) => unmount());
    unwatch();
    return notStarted(err);
  }
  status.idle('wf-dcn-in.status.starting');

  function notStarted(err: unknown): void {
    node.error(RED._('wf-dcn-in.errors.notStarted', { reason: errorText(RED, TYPE, err) }));
    status.error('wf-dcn-in.status.notStarted');
  }

  function mountServlet(path: string, servlet: DcnServlet): () => void {
    const handler = (req: RoutedRequest, res: ServerResponse) => {
      const work = answer(req, res, servlet).catch((err: unknown) => internalError(res, err));
      running.add(work);
      void work.finally(() => running.delete(work));
    };
    return mountRoute(RED, path, { get: handler, post: handler });
  }

  async function answer(req: RoutedRequest, res: ServerResponse, servlet: DcnServlet): Promise<void> {
    if (!isHubReady()) {
      req.resume();
      counts.add('failed');
      sendJson(res, 503, { error: 'dcn_unavailable', message: 'the DCN hub is not available; try again later' });
      return;
    }
    let response: DcnResponse;
    try {
      const call = await readDcnCall(req, servlet, maxBody);
      response = await hub.hub.handle(call, hooks);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      counts.add('refused');
      sendJson(res, err.status, { error: err.status === 413 ? 'dcn_too_large' : 'dcn_unreadable', message: err.message });
      return;
    }
    write(res, servlet, response);
    counts.add(response.status === 200 ? 'received' : response.status >= 500 ? 'failed' : 'refused');
    if (response.status === 200) {
      // Messages were committed: deliver them now rather than at the worker's next poll.
      hub.worker.kick();
      hub.statsChanged();
    }
  }

  function internalError(res: ServerResponse, err: unknown): void {
    counts.add('failed');
    warnings.report('internal', (more) => RED._('wf-dcn-in.warn.internal', { reason: errorText(RED, TYPE, err) }) + (more ? RED._('wf-dcn-in.warn.more', { count: more }) : ''));
    if (!res.headersSent) sendJson(res, 500, { error: 'dcn_internal', message: 'internal error' });
    else res.destroy();
  }

  /**
   * The hooks this flow supplies: one per output that has wires. A filter is the pair of
   * outputs 2 and 3, as SMP's DCNFilter has both methods: with only one of them wired,
   * the other passes its text on unchanged; with neither, a request naming a filter is
   * answered 500 (not available).
   */
  function flowHooks(): DcnHooks {
    const wired = (stage: FlowStage) => (config.wires?.[OUTPUT[stage]]?.length ?? 0) > 0;
    const hooks: DcnHooks = {};
    if (wired('operation')) hooks.namedOperation = namedOperation;
    if (wired('preprocess') || wired('postprocess')) {
      hooks.preprocess = wired('preprocess') ? preprocess : async (_filter, raw) => raw;
      hooks.postprocess = wired('postprocess') ? postprocess : async (_filter, resultJson) => resultJson;
    }
    return hooks;
  }

  function namedOperation(op: NamedOperation): Promise<void> {
    const call = open('operation');
    const { cmd, mbo, requestId, messageId } = op;
    const context: OperationContext = { hub: hub.id, callId: call.id, stage: 'operation', cmd, package: op.package, mbo, op: op.op, requestId, messageId };
    emit('operation', { _msgid: RED.util.generateId(), payload: op.cols, dcn: context });
    return call.promise;
  }

  function preprocess(filter: string, raw: string, headers: Record<string, string>): Promise<string> {
    const call = open('preprocess');
    emit('preprocess', { _msgid: RED.util.generateId(), payload: raw, req: { headers: { ...headers } }, dcn: { hub: hub.id, callId: call.id, stage: 'preprocess', filter } });
    return call.promise;
  }

  async function postprocess(filter: string, resultJson: string, headers: Record<string, string>): Promise<string> {
    const call = open('postprocess');
    emit('postprocess', { _msgid: RED.util.generateId(), payload: resultJson, headers: {}, dcn: { hub: hub.id, callId: call.id, stage: 'postprocess', filter } });
    const answered = await call.promise;
    // The filter's headers join the response's, as a DCNFilter writes into the response header map.
    for (const [name, value] of Object.entries(answered.headers)) headers[name.toLowerCase()] = value;
    return answered.body;
  }

  function open<S extends FlowStage>(stage: S): FlowCall<S> {
    // The text reaches the back end (a status message or a log record): English, as the protocol's own texts.
    return hub.calls.open(stage, node.id, timeoutS * 1000, () => new Error(`no wf-dcn-response answered the ${stage} within ${timeoutS} s`));
  }

  function emit(stage: FlowStage, msg: DcnFlowMessage): void {
    const outputs: Array<DcnFlowMessage | null> = [null, null, null];
    outputs[OUTPUT[stage]] = msg;
    node.send(outputs);
  }

  node.on('close', (done: () => void) => {
    unmounts.forEach((unmount) => unmount());
    unwatch();
    hub.calls.closeOwner(node.id, new Error('the wf-dcn-in node was stopped'));
    void Promise.allSettled([...running]).then(() => {
      status.stop();
      done();
    });
  });
}

/** The two servlet paths; the parameter servlet's may be '' (not served). */
function routePaths(RED: NodeAPI, config: WfDcnInDef): { url: string; paramUrl: string | null } {
  const url = routePath(config.url ?? DEFAULT_URL);
  const paramText = (config.paramUrl ?? DEFAULT_PARAM_URL).trim();
  const paramUrl = paramText ? routePath(paramText) : null;
  if (paramUrl === url) throw new Error(RED._('wf-dcn-in.errors.samePaths', { path: url }));
  return { url, paramUrl };
}

/** Writes the hub's answer as it is; only the framing headers are ours. */
function write(res: ServerResponse, servlet: DcnServlet, response: DcnResponse): void {
  const body = Buffer.from(response.body, 'utf8');
  res.statusCode = response.status;
  let typed = false;
  for (const [name, value] of Object.entries(response.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') continue;
    if (lower === 'content-type') typed = true;
    res.setHeader(name, value);
  }
  if (!typed) res.setHeader('Content-Type', 'application/json; charset=utf-8');
  if (response.status === 401 && servlet === 'http-auth' && !res.hasHeader('www-authenticate')) res.setHeader('WWW-Authenticate', 'Basic realm="DCN"');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

type Counter = 'received' | 'refused' | 'failed';

/** The route's counts on the node's status: ↓ answered 200, ✕ refused (4xx), ⚠ failed (5xx); and the hub's outbox. */
class RouteCounts {
  private readonly counts: Record<Counter, number> = { received: 0, refused: 0, failed: 0 };
  private stats: OutboxStats | null = null;
  /** A problem that outranks the counts (the hub did not start): shown instead of them while set. */
  private problem: string | null = null;

  constructor(
    private readonly RED: NodeAPI,
    private readonly status: NodeStatus,
    private readonly path: string,
  ) {}

  add(counter: Counter): void {
    this.counts[counter]++;
    this.show();
  }

  showStats(stats: OutboxStats): void {
    this.stats = stats;
    this.show();
  }

  hold(problem: string | null): void {
    this.problem = problem;
    this.show();
  }

  show(): void {
    if (this.problem) return this.status.error(this.problem);
    const { received, refused, failed } = this.counts;
    const mark = (symbol: string, n: number) => (n ? ` ${symbol}${n}` : '');
    const outbox = this.stats ? ` · ${this.RED._('wf-dcn-in.status.outbox', { pending: this.stats.pending, dead: this.stats.dead })}` : '';
    const line = `${this.path} ↓${received}${mark('✕', refused)}${mark('⚠', failed)}${outbox}`;
    if (failed > 0 || (this.stats?.dead ?? 0) > 0) this.status.warning(line);
    else this.status.ok(line);
  }
}
