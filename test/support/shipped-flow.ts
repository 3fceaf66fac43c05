/**
 * Loads a flow from flows/ exactly as shipped, with the demo's environment (pointing
 * the accounts at a sandbox) and the demo's ${NAME} credentials, plus the core nodes
 * it uses, so end-to-end tests run what users import.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoCredentials } from '../../sandbox/demo-credentials';
import { demoEnvironment } from '../../sandbox/demo-accounts';
import type { FlowNode, NodeRedHarness, RegisterFn } from './node-red-harness';

const CORE = join(require.resolve('@node-red/nodes/package.json'), '..', 'core');
const CORE_NODES: Record<string, string> = {
  function: 'function/10-function.js',
  change: 'function/15-change.js',
  switch: 'function/10-switch.js',
  delay: 'function/89-delay.js',
  debug: 'common/21-debug.js',
  catch: 'common/25-catch.js',
  comment: 'common/90-comment.js',
  inject: 'common/20-inject.js',
  'link in': 'common/60-link.js',
  'link out': 'common/60-link.js',
  template: 'function/80-template.js',
  'http in': 'network/21-httpin.js',
  'http response': 'network/21-httpin.js',
};

/** A flow file from `dir` (relative to the package root): flows/ as shipped, or a saved fixture. */
export function readShippedFlow(file: string, dir = 'flows'): FlowNode[] {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', '..', dir, file), 'utf8')) as FlowNode[];
}

/** Sets the demo environment for `sandboxBaseUrl`; returns a function restoring the previous one. */
export function useDemoEnvironment(sandboxBaseUrl: string): () => void {
  const env = demoEnvironment(sandboxBaseUrl);
  const previous = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Loads the shipped flow with our nodes and the core nodes it references; `credentials`
 * are those of nodes added beside the shipped ones (the demo's cover only the shipped nodes).
 */
export async function loadShippedFlow(harness: NodeRedHarness, ours: RegisterFn[], flow: FlowNode[], credentials: Record<string, object> = {}): Promise<void> {
  const types = new Set(flow.map((n) => n.type));
  // One file registers several types (link in and link out; http in and http response): each file once.
  const files = new Set(Object.entries(CORE_NODES).filter(([type]) => types.has(type)).map(([, file]) => file));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = [...files].map((file) => require(join(CORE, file)) as RegisterFn);
  await harness.load([...ours, ...core], flow, { ...demoCredentials(flow), ...credentials });
}
