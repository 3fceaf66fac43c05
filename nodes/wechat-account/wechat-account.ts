/**
 * Config node for one WeChat Official Account or one WeCom self-built app.
 * Identity (kind, AppID/CorpID, AgentID, API base) lives in properties; the AppSecret,
 * Token and EncodingAESKey only ever live in Node-RED credentials. A WeCom app behind
 * SAP Mobile Services (a Micro App) needs none of them: Mobile Services holds them, and
 * the account names the mobile-services-app its late replies are pushed through.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { AccountKind, CallbackAccount } from '../../lib/wechat/callback';
import { Store, closeThen, createStore, embeddedStoreConfig } from '../../lib/store';
import { DeliveryRegistry } from '../../lib/wechat/deliveries';
import { storeSelection } from '../shared/store-selection';
import { userDir } from '../shared/settings';
import { TokenMode, WeChatApiClient } from '../../lib/wechat/api-client';
import { setOrEmpty, warnUnsetEnv } from '../shared/env';
import { configNode } from '../shared/config-node';
import type { MobileServicesAppNode } from '../mobile-services-app/mobile-services-app';

export interface WeChatAccountDef extends NodeDef {
  kind: AccountKind;
  appId: string;
  agentId: string;
  apiBase: string;
  emptyReceiverId: boolean;
  /** Official Account with an EncodingAESKey: also accept plaintext callbacks (switch-over only). */
  acceptPlain?: boolean;
  /** Official Account token API: 'stable' (default) or 'classic'. */
  tokenMode?: TokenMode;
  /** Optional wechat-sap-store: tokens and de-duplication shared by several Node-RED instances. */
  store?: string;
  /** Optional mobile-services-app: late replies to messages that came through SAP Mobile Services are pushed through it. */
  mobileServices?: string;
}

export interface WeChatAccountCredentials {
  appSecret?: string;
  token?: string;
  encodingAESKey?: string;
}

export interface WeChatAccountNode extends Node<WeChatAccountCredentials> {
  kind: AccountKind;
  appId: string;
  agentId: string;
  /** Base URL of the platform API: api.weixin.qq.com / qyapi.weixin.qq.com unless overridden. */
  apiBase: string;
  /** What a callback endpoint needs to know of this account. */
  callbackAccount(): CallbackAccount;
  /**
   * The account's API client for `store` (the embedded SQLite store when omitted). Every
   * node asking for the same account and store gets the same client, so they share one
   * token cache and one token fetch.
   */
  api(store?: Store): WeChatApiClient;
  /** The store selected on the account, or null when it uses the embedded default. */
  selectedStore(): Store | null;
  /** Deliveries of this account's callbacks still open for a passive reply (wechat-in adds, wechat-reply answers). */
  deliveries: DeliveryRegistry;
  /** The mobile-services-app selected for late replies to forwarded messages, or null when none is. */
  mobileServicesApp(): MobileServicesAppNode | null;
}

export const DEFAULT_API_BASE: Record<AccountKind, string> = {
  official: 'https://api.weixin.qq.com',
  wecom: 'https://qyapi.weixin.qq.com',
};

export default function register(RED: NodeAPI): void {
  function WeChatAccount(this: WeChatAccountNode, config: WeChatAccountDef) {
    RED.nodes.createNode(this, config);
    this.kind = config.kind === 'wecom' ? 'wecom' : 'official';
    this.appId = (config.appId ?? '').trim();
    this.agentId = String(config.agentId ?? '').trim();
    // Node-RED leaves "${NAME}" as it is when the variable is not set: an unset API base means the default.
    this.apiBase = setOrEmpty(config.apiBase).replace(/\/+$/, '') || DEFAULT_API_BASE[this.kind];
    warnUnsetEnv(RED, this, 'wechat-account.warn.unsetEnv', { appId: this.appId, agentId: this.agentId, ...this.credentials });
    const emptyReceiverId = config.emptyReceiverId === true;
    const acceptPlain = this.kind === 'official' && config.acceptPlain === true;
    this.callbackAccount = () => ({
      kind: this.kind,
      appId: this.appId,
      token: this.credentials.token ?? '',
      encodingAESKey: this.credentials.encodingAESKey || undefined,
      receiverId: emptyReceiverId ? '' : undefined,
      acceptPlain,
    });

    const tokenMode: TokenMode = config.tokenMode === 'classic' ? 'classic' : 'stable';
    this.deliveries = new DeliveryRegistry();
    const clients = new Map<Store, WeChatApiClient>();
    let embedded: Store | null = null;
    const selection = storeSelection(RED, config.store, '');
    this.selectedStore = () => (selection.kind === 'store' ? selection.store : null);
    // Looked up when needed, not at start: config nodes start in no particular order.
    this.mobileServicesApp = () => configNode<MobileServicesAppNode>(RED, config.mobileServices, 'mobile-services-app');
    this.api = (store?: Store) => {
      store ??= this.selectedStore() ?? undefined;
      if (!store) {
        // The embedded file, opened by this account when it first needs it and closed with it.
        embedded ??= createStore(embeddedStoreConfig(userDir(RED)));
        store = embedded;
      }
      let client = clients.get(store);
      if (!client) {
        const account = { kind: this.kind, appId: this.appId, agentId: this.agentId, secret: this.credentials.appSecret ?? '', apiBase: this.apiBase, tokenMode };
        client = new WeChatApiClient(account, { store });
        clients.set(store, client);
      }
      return client;
    };
    this.on('close', (done: (err?: Error) => void) => {
      clients.clear();
      const owned = embedded;
      embedded = null;
      closeThen(owned, done);
    });
  }

  RED.nodes.registerType<WeChatAccountNode, WeChatAccountDef, object, WeChatAccountCredentials>('wechat-account', WeChatAccount, {
    credentials: {
      appSecret: { type: 'password' },
      token: { type: 'password' },
      encodingAESKey: { type: 'password' },
    },
  });
}

