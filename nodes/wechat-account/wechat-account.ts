/**
 * Config node for one WeChat Official Account or one WeCom self-built app.
 * Identity (kind, AppID/CorpID, AgentID, API base) lives in properties; the AppSecret,
 * Token and EncodingAESKey only ever live in Node-RED credentials.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { AccountKind, CallbackAccount } from '../../lib/wechat/callback';

export interface WeChatAccountDef extends NodeDef {
  kind: AccountKind;
  appId: string;
  agentId: string;
  apiBase: string;
  emptyReceiverId: boolean;
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
    this.apiBase = (config.apiBase ?? '').trim().replace(/\/+$/, '') || DEFAULT_API_BASE[this.kind];
    const emptyReceiverId = config.emptyReceiverId === true;
    this.callbackAccount = () => ({
      kind: this.kind,
      appId: this.appId,
      token: this.credentials.token ?? '',
      encodingAESKey: this.credentials.encodingAESKey || undefined,
      receiverId: emptyReceiverId ? '' : undefined,
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

