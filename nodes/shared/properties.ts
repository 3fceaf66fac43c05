/**
 * Typed-input properties (msg, flow, global, env, JSONata, …), evaluated with the
 * callback form of evaluateNodeProperty, so JSONata and asynchronous context stores work.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';

export function evaluateProperty(RED: NodeAPI, node: Node, value: string | undefined, type: string | undefined, msg: NodeMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value ?? '', type || 'str', node, msg, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
  });
}
