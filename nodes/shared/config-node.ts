/**
 * Config-node look-up, checked: the id must name a deployed node of the expected type,
 * so a flow whose property points at the wrong kind of node fails clearly at deploy
 * instead of at the first message.
 */
import type { Node, NodeAPI } from 'node-red';

export function configNode<T extends Node>(RED: NodeAPI, id: unknown, type: string): T | null {
  if (typeof id !== 'string' || id === '' || id === '_ADD_') return null;
  const found = RED.nodes.getNode(id) as (Node & { type?: string }) | null;
  return found && found.type === type ? (found as T) : null;
}
