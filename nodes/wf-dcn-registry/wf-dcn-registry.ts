/**
 * wf-dcn-registry: registration. The hub's device registry, data cache and inbox from a
 * flow: register and unregister devices, list them, read cached rows and inbox messages;
 * what the node does with each message is in ./registry-operation.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startRegistryOperation } from './registry-operation';
import type { RegistryOperation } from './registry-operation';

export interface WfDcnRegistryDef extends NodeDef {
  /** The wf-dcn-hub config node. */
  hub: string;
  /** One operation for every message, or `msg` to take it from msg.operation. */
  operation: RegistryOperation | 'msg';
}

export default function register(RED: NodeAPI): void {
  function WfDcnRegistry(this: Node, config: WfDcnRegistryDef) {
    RED.nodes.createNode(this, config);
    startRegistryOperation(RED, this, config);
  }

  RED.nodes.registerType<Node, WfDcnRegistryDef, object, object>('wf-dcn-registry', WfDcnRegistry);
}
