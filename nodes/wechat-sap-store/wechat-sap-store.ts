/**
 * Config node choosing where the package keeps its state (tokens, de-duplication):
 * the embedded SQLite file, or PostgreSQL shared by several Node-RED instances.
 * Nodes without a store selected use the embedded SQLite file in the userDir.
 */
import { isAbsolute, join } from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { SqliteSynchronous, Store, StoreConfig, closeThen, createStore, defaultUserDir, embeddedStoreConfig } from '../../lib/store';
import { userDir } from '../shared/settings';
import { errorText } from '../shared/errors';

export interface WeChatSapStoreDef extends NodeDef {
  kind: 'sqlite' | 'postgres';
  /** SQLite file; empty means wechat-sap.sqlite in the userDir. Relative paths are below the userDir. */
  path: string;
  /** SQLite only: 'full' (default) or 'normal'; see SqliteStoreConfig.synchronous. */
  synchronous?: string;
  host: string;
  port: string;
  database: string;
  user: string;
  ssl: boolean;
  schema: string;
  tablePrefix: string;
}

export interface WeChatSapStoreCredentials {
  password?: string;
  /** postgres://…; overrides host, port, database, user and password. */
  connectionString?: string;
}

export interface WeChatSapStoreNode extends Node<WeChatSapStoreCredentials> {
  /** null when the configuration was rejected; `problem` says why. */
  store: Store | null;
  problem?: string;
}

export function storeConfigOf(config: WeChatSapStoreDef, credentials: WeChatSapStoreCredentials, userDir: string | undefined): StoreConfig {
  if (config.kind !== 'postgres') {
    const embedded = embeddedStoreConfig(userDir);
    const path = (config.path ?? '').trim();
    // Checked by the store itself: a level it does not know is the config node's error.
    const synchronous = (config.synchronous ?? '').trim() || 'full';
    return { kind: 'sqlite', path: path ? (isAbsolute(path) ? path : join(defaultUserDir(userDir), path)) : embedded.path, synchronous: synchronous as SqliteSynchronous };
  }
  return {
    kind: 'postgres',
    connectionString: credentials.connectionString || undefined,
    host: config.host?.trim() || undefined,
    port: Number(config.port) || undefined,
    database: config.database?.trim() || undefined,
    user: config.user?.trim() || undefined,
    password: credentials.password || undefined,
    ssl: config.ssl === true,
    schema: config.schema?.trim() || undefined,
    tablePrefix: config.tablePrefix?.trim() || undefined,
  };
}

export default function register(RED: NodeAPI): void {
  function WeChatSapStore(this: WeChatSapStoreNode, config: WeChatSapStoreDef) {
    RED.nodes.createNode(this, config);
    try {
      // The node owns its store: nothing is opened before the first operation, and it is closed with the node.
      this.store = createStore(storeConfigOf(config, this.credentials ?? {}, userDir(RED)));
      this.log(RED._('wechat-sap-store.log.using', { description: this.store.description }));
    } catch (err) {
      // No silent fallback to another store: instances would stop sharing state.
      this.store = null;
      this.problem = errorText(RED, 'wechat-sap-store', err);
      this.error(RED._('wechat-sap-store.error.config', { message: this.problem }));
    }
    this.on('close', (done: (err?: Error) => void) => closeThen(this.store, done));
  }

  RED.nodes.registerType<WeChatSapStoreNode, WeChatSapStoreDef, object, WeChatSapStoreCredentials>('wechat-sap-store', WeChatSapStore, {
    credentials: {
      password: { type: 'password' },
      connectionString: { type: 'password' },
    },
  });
}
