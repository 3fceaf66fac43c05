/**
 * What can a message reach from a node? Answers it from the deployed flow configuration
 * (RED.nodes.eachNode), following wires, link nodes and subflows. It errs on the side of
 * "reachable": a node that hands messages on in ways the configuration cannot show
 * (a dynamic link, a link call by name) counts as reaching everything, so a caller that
 * waits for a reachable node waits rather than answering too early.
 */

/** The part of a deployed node's configuration the walk reads. */
export interface FlowNodeConfig {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  /** link out / link call: the ids of the link in nodes they send to. */
  links?: string[];
  /** link out: 'link' (to its links) or 'return' (back to the link call). */
  mode?: string;
  /** link call: 'static' or 'dynamic'. */
  linkType?: string;
  /** catch / status / complete: the nodes they watch; empty or absent for all in the flow. */
  scope?: string[] | string | null;
}

export type Reach = 'reachable' | 'unreachable';

/** Nodes that pass messages on without wires: they reach whatever their watched nodes' errors or completions reach. */
const WATCHERS = new Set(['catch', 'status', 'complete']);

export function reachesType(configs: Iterable<FlowNodeConfig>, fromId: string, targetType: string): Reach {
  const byId = new Map<string, FlowNodeConfig>();
  for (const config of configs) byId.set(config.id, config);
  const start = byId.get(fromId);
  if (!start) return 'reachable';
  const seen = new Set<string>();
  const queue: string[] = [];
  const visit = (id: string) => {
    if (!seen.has(id)) {
      seen.add(id);
      queue.push(id);
    }
  };
  const watchersByFlow = new Map<string | undefined, FlowNodeConfig[]>();
  for (const config of byId.values()) {
    if (!WATCHERS.has(config.type)) continue;
    const list = watchersByFlow.get(config.z) ?? [];
    list.push(config);
    watchersByFlow.set(config.z, list);
  }
  visit(fromId);
  while (queue.length > 0) {
    const node = byId.get(queue.shift()!);
    if (!node) continue;
    if (node.id !== fromId && node.type === targetType) return 'reachable';
    const next = successors(byId, node);
    if (next === 'anywhere') return 'reachable';
    next.forEach(visit);
    // Errors, status and completions of this node leave through the catch, status and complete nodes watching it.
    for (const watcher of watchersByFlow.get(node.z) ?? []) if (watches(watcher, node.id)) visit(watcher.id);
  }
  return 'unreachable';
}

function watches(watcher: FlowNodeConfig, id: string): boolean {
  const scope = watcher.scope;
  return !Array.isArray(scope) || scope.length === 0 || scope.includes(id);
}

function successors(byId: Map<string, FlowNodeConfig>, node: FlowNodeConfig): string[] | 'anywhere' {
  const wired = (node.wires ?? []).flat();
  switch (node.type) {
    case 'link out':
      // 'return' goes back to whichever link call sent the message: that call's own wires are followed from it.
      if (node.mode === 'return') return wired;
      return node.links && node.links.length > 0 ? [...wired, ...node.links] : 'anywhere';
    case 'link call':
      return node.linkType === 'dynamic' ? 'anywhere' : [...wired, ...(node.links ?? [])];
    default:
      if (node.type.startsWith('subflow:')) {
        // Everything inside the subflow, then the instance's own outputs.
        const template = node.type.slice('subflow:'.length);
        return [...wired, ...[...byId.values()].filter((n) => n.z === template).map((n) => n.id)];
      }
      return wired;
  }
}
