/**
 * The one way a node finds the store selected on it: the wechat-sap-store config node
 * named by its Store field. Nothing selected means the node's own default (the embedded
 * SQLite file, or none); a selection that did not open is a problem to report, never a
 * silent fallback, or instances sharing a database would quietly stop sharing it.
 */
import type { NodeAPI } from 'node-red';
import type { Store } from '../../lib/store';
import type { WeChatSapStoreNode } from '../wechat-sap-store/wechat-sap-store';
import { configNode } from './config-node';

export type StoreSelection =
  | { kind: 'none' }
  | { kind: 'store'; store: Store }
  /** Selected, but unusable: `problem` says why (the store node logged it at deploy). */
  | { kind: 'unusable'; problem: string };

export function storeSelection(RED: NodeAPI, id: unknown, missing: string): StoreSelection {
  if (typeof id !== 'string' || id === '' || id === '_ADD_') return { kind: 'none' };
  const node = configNode<WeChatSapStoreNode>(RED, id, 'wechat-sap-store');
  if (node?.store) return { kind: 'store', store: node.store };
  return { kind: 'unusable', problem: node?.problem ?? missing };
}
