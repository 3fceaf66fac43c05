/**
 * c4c-odata: registration. One OData operation on a C4C system per message; what the
 * node does with each message is in ./operation.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startOperation } from './operation';

export type { C4CResultInfo } from './operation';

export type C4COperation = 'query' | 'read' | 'create' | 'update' | 'delete' | 'batch';

export interface C4COdataDef extends NodeDef {
  system: string;
  operation: C4COperation;
  entitySet: string;
  entitySetType: string;
  key: string;
  keyType: string;
  filter: string;
  filterType: string;
  body: string;
  bodyType: string;
  etag: string;
  etagType: string;
  select: string;
  expand: string;
  orderby: string;
  top: string;
  skip: string;
  inlinecount: boolean;
  allPages: boolean;
  maxPages: string | number;
}

export type C4COdataNode = Node;

export default function register(RED: NodeAPI): void {
  function C4COdata(this: C4COdataNode, config: C4COdataDef) {
    RED.nodes.createNode(this, config);
    startOperation(RED, this, config);
  }

  RED.nodes.registerType('c4c-odata', C4COdata);
}
