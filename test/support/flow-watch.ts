/**
 * Watching a running flow from a test: its effects land after the HTTP answer (C4C
 * writes after WeChat was answered, sends after C4C was acknowledged), so tests wait
 * for the effect itself rather than for a fixed time.
 */
import type { Node } from 'node-red';

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
  const seen: string[] = [];
  const original = node.warn.bind(node);
  node.warn = (message: unknown) => {
    seen.push(typeof message === 'string' ? message : JSON.stringify(message));
    original(message);
  };
  return seen;
}
