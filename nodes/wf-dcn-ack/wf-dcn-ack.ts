/**
 * wf-dcn-ack: registration. Settles a message wf-dcn-deliver emitted: delivered when it
 * comes from a send node, a failed attempt when it comes from a Catch node; what the
 * node does with each message is in ./acknowledging.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startAcknowledging } from './acknowledging';

export interface WfDcnAckDef extends NodeDef {
  /** The wf-dcn-hub config node the messages came from. */
  hub: string;
}

export default function register(RED: NodeAPI): void {
  function WfDcnAck(this: Node, config: WfDcnAckDef) {
    RED.nodes.createNode(this, config);
    startAcknowledging(RED, this, config);
  }

  RED.nodes.registerType<Node, WfDcnAckDef, object, object>('wf-dcn-ack', WfDcnAck);
}
