/**
 * wf-dcn-in: registration. The node owns the hub's two servlet URLs (Basic credentials,
 * and credentials as parameters) and hands the flow what the hub asks of it: named MBO
 * operations and the pre- and post-process filters; what it does with each request is in
 * ./dcn-route.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_MAX_BODY, startDcnRoutes } from './dcn-route';

export interface WfDcnInDef extends NodeDef {
  hub: string;
  /** HttpAuthDCNServlet: credentials by HTTP Basic. */
  url: string;
  /** DCNServlet: credentials as parameters; '' is not served. */
  paramUrl?: string;
  /** Seconds the flow has to answer a named operation or a filter through wf-dcn-response. */
  operationTimeout?: string | number;
  /** The node's outputs' wires, as deployed: an output without wires is a hook the flow does not supply. */
  wires?: string[][];
}

export default function register(RED: NodeAPI): void {
  function WfDcnIn(this: Node, config: WfDcnInDef) {
    RED.nodes.createNode(this, config);
    startDcnRoutes(RED, this, config);
  }

  RED.nodes.registerType<Node, WfDcnInDef, object, object>('wf-dcn-in', WfDcnIn, {
    settings: { wfDcnInMaxBody: { value: DEFAULT_MAX_BODY, exportable: false } },
  });
}
