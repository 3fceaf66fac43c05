/**
 * wf-dcn-response: registration. Answers what a wf-dcn-in node asked the flow (a named
 * MBO operation, a pre- or post-process filter); what the node does with each message is
 * in ./answering.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startAnswering } from './answering';

export default function register(RED: NodeAPI): void {
  function WfDcnResponse(this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    startAnswering(RED, this);
  }

  RED.nodes.registerType('wf-dcn-response', WfDcnResponse);
}
