/**
 * wf-dcn-deliver: registration. Emits the hub's committed messages, one per device,
 * shaped for wechat-send and mobile-services-push, and the dead letters on a second
 * output; what the node does is in ./delivering.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startDelivering } from './delivering';

export interface WfDcnDeliverDef extends NodeDef {
  /** The wf-dcn-hub config node whose messages this node emits. */
  hub: string;
  /** The channels this node delivers: some of wecom, wechat, mobile-services. */
  channels?: unknown;
  /** msg.payload of a message, `{{field}}` filled in. */
  text?: string;
  /** msg.payload of a retraction. */
  retractionText?: string;
}

export default function register(RED: NodeAPI): void {
  function WfDcnDeliver(this: Node, config: WfDcnDeliverDef) {
    RED.nodes.createNode(this, config);
    startDelivering(RED, this, config);
  }

  RED.nodes.registerType<Node, WfDcnDeliverDef, object, object>('wf-dcn-deliver', WfDcnDeliver);
}
