/**
 * wf-dcn-hub: registration. One SAP Mobile Platform-like DCN server: the senders that may
 * post to it, the MBOs its data cache knows, and the store its cache, device registry and
 * outbox live in. What the node does is in ./hub-node.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { DcnHub, DeliveryWorker, OutboxStats } from '../../lib/dcn';
import type { FlowCalls } from './flow-calls';
import { startHub } from './hub-node';

export interface WfDcnHubDef extends NodeDef {
  /** A wechat-sap-store config node; '' is the embedded SQLite file in the userDir. */
  store?: string;
  /** JSON text: the MBO definitions, an array of { package, name, keys, attributes }. */
  mbos?: string;
  /** Seconds the flow has to acknowledge a delivery before it is handed out again. */
  visibilityTimeout?: string | number;
  /** Hand-outs of a message before it is dead. */
  maxAttempts?: string | number;
  /** Seconds before the first retry after a failed delivery; doubles with each attempt. */
  retryDelay?: string | number;
  /** Base path of the authenticated cache / registry / inbox routes; '' serves none. */
  adminUrl?: string;
}

export interface WfDcnHubCredentials {
  /** JSON text: the senders, an array of { user, password, security, admin }; or ${NAME} holding it. */
  senders?: string;
}

export interface WfDcnHubNode extends Node<WfDcnHubCredentials> {
  /**
   * The processor with its cache, registry and outbox. Wait for ready() before using it:
   * when the hub could not start (its configuration or store is unusable), ready()
   * rejects saying why, and reading `hub` or `worker` throws the same.
   */
  readonly hub: DcnHub;
  /** Hands committed messages to the wf-dcn-deliver nodes of this hub and takes their acknowledgements. */
  readonly worker: DeliveryWorker;
  /** Resolves once the store's tables are migrated and the hub takes requests. */
  ready(): Promise<void>;
  /** Why the hub did not start; undefined while it is fine. */
  problem?: string;
  /** The calls into the flow (named operations, filters) waiting for a wf-dcn-response. */
  readonly calls: FlowCalls;
  /**
   * Outbox counts for a node's status, refreshed every few seconds while anyone watches;
   * returns the function that stops watching.
   */
  watchStats(listener: (stats: OutboxStats) => void): () => void;
  /** Asks for a refresh of the counts soon (after a request committed messages). */
  statsChanged(): void;
}

export default function register(RED: NodeAPI): void {
  function WfDcnHub(this: WfDcnHubNode, config: WfDcnHubDef) {
    RED.nodes.createNode(this, config);
    startHub(RED, this, config);
  }

  RED.nodes.registerType<WfDcnHubNode, WfDcnHubDef, object, WfDcnHubCredentials>('wf-dcn-hub', WfDcnHub, {
    credentials: { senders: { type: 'password' } },
  });
}
