/**
 * The message contract between the nodes: what wechat-in puts on `msg.wechat`, and what
 * wechat-reply (and any flow) reads back from it to answer the delivery.
 */
import type { AccountKind, SecurityMode } from './callback';
import type { XmlObject } from './xml';

export interface WeChatContext {
  /** Id of the wechat-account config node the message came in for. */
  accountId: string;
  kind: AccountKind;
  appId: string;
  agentId?: string;
  /** Sender: OpenID (Official Account) or UserID (WeCom). */
  from: string;
  /** Receiver: the account's gh_ id or the CorpID. */
  to: string;
  msgType: string;
  event?: string;
  encrypted: boolean;
  mode: SecurityMode;
  /** The open delivery a passive reply answers, in the account's delivery registry. */
  replyId: string;
  /** Identifies the message and its retries: a hash of all its fields. */
  dedupKey: string;
}

export interface WeChatInboundMessage {
  _msgid: string;
  payload: XmlObject;
  wechat: WeChatContext;
}
