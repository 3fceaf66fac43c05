/**
 * wechat-sap-records: registration. Keeps JSON records of a collection in the
 * package's store, so flow state survives a restart and is shared by the instances
 * sharing a PostgreSQL store; what the node does with each message is in ./record-operation.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { RecordOperation } from '../../lib/store';
import { startRecordOperation } from './record-operation';

export interface WeChatSapRecordsDef extends NodeDef {
  /** A wechat-sap-store config node; empty means the embedded SQLite file in the userDir. */
  store?: string;
  /** One operation for every message, or `msg` to take it from msg.operation. */
  operation: RecordOperation | 'msg';
  collection: string;
}

export default function register(RED: NodeAPI): void {
  function WeChatSapRecords(this: Node, config: WeChatSapRecordsDef) {
    RED.nodes.createNode(this, config);
    startRecordOperation(RED, this, config);
  }

  RED.nodes.registerType<Node, WeChatSapRecordsDef, object, object>('wechat-sap-records', WeChatSapRecords);
}
