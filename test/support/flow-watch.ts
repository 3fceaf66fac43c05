/**
 * Running a shipped flow from a test and watching it: the flow runs against its own
 * sandbox with the demo's environment, and its effects land after the HTTP answer (C4C
 * writes after WeChat was answered, sends after C4C was acknowledged), so tests wait
 * for the effect itself rather than for a fixed time.
 */
import type { Node } from 'node-red';
import { startSandbox, Sandbox } from '../../sandbox/index';
import { NodeRedHarness, RegisterFn } from './node-red-harness';
import { mergeFlows } from '../../scripts/node-red-userdir';
import { loadShippedFlow, readShippedFlow, useDemoEnvironment } from './shipped-flow';

export interface ShippedFlowRun {
  readonly harness: NodeRedHarness;
  /** Available from the enclosing describe block's first hook on. */
  readonly sandbox: Sandbox;
}

/**
 * Registers before/after hooks in the calling describe block that start a sandbox, point
 * the demo environment at it and load flows/<file> (several files run together, as under
 * npm start) with `nodes` (the core nodes they use come with them), then stop all of it again.
 */
export function runShippedFlow(file: string | string[], nodes: RegisterFn[], dir = 'flows'): ShippedFlowRun {
  const harness = new NodeRedHarness();
  let sandbox: Sandbox | undefined;
  let restoreEnv = () => {};
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    restoreEnv = useDemoEnvironment(sandbox.baseUrl);
    await loadShippedFlow(harness, nodes, mergeFlows((Array.isArray(file) ? file : [file]).map((f) => readShippedFlow(f, dir))));
  });
  after(async () => {
    await harness.stop();
    restoreEnv();
    await sandbox?.close();
  });
  return {
    harness,
    get sandbox(): Sandbox {
      if (!sandbox) throw new Error('the sandbox starts in the before hook');
      return sandbox;
    },
  };
}

/** Polls `done` until it holds; fails naming `what` if it never does within `limitMs`. */
export async function waitFor(what: string, done: () => boolean, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Records what `node` warns from now on (still passing it on). A function node's
 * node.warn() calls the node's own warn at call time, so wrapping it sees those too.
 */
export function warnings(node: Node): string[] {
  return recorded(node, 'warn');
}

/** Records what `node` logs (node.log, level info) from now on, as warnings() does for warnings. */
export function logs(node: Node): string[] {
  return recorded(node, 'log');
}

function recorded(node: Node, level: 'warn' | 'log'): string[] {
  const seen: string[] = [];
  const original = node[level].bind(node);
  node[level] = (message: unknown) => {
    seen.push(typeof message === 'string' ? message : JSON.stringify(message));
    original(message);
  };
  return seen;
}

/**
 * Waits until the node's latest status is `expected`. Status updates are throttled
 * (nodes/shared/status.ts), so the last one of a burst shows up to a second later.
 */
export async function waitForStatus(node: Node, expected: object, limitMs = 3000): Promise<void> {
  // The test helper spies on the Node prototype, so the spy holds every node's calls: this node's last one is wanted.
  const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  const latest = () => JSON.stringify(spy.getCalls().filter((call) => call.thisValue === node).at(-1)?.args[0] ?? null);
  await waitFor(`status ${JSON.stringify(expected)} (last: ${latest()})`, () => latest() === JSON.stringify(expected), limitMs);
}
