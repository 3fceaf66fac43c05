/**
 * wechat-in: registration. The node owns the callback URL of one WeChat Official
 * Account or WeCom app, or the message handler URL SAP Mobile Services forwards a Micro
 * App's messages to; what it does with each request is in ./callback-route.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startCallbackRoute, DEFAULT_MAX_BODY } from './callback-route';

export type { WeChatMessage } from './callback-route';

export interface WeChatInDef extends NodeDef {
  account: string;
  url: string;
  /** Seconds a timestamp may differ from our clock; 0 disables the check. */
  replayWindow: number | string;
  /** Seconds to wait for wechat-reply before answering "no reply". */
  replyTimeout: number | string;
  /** Where messages come from; absent (a node saved before modes existed) is 'callback'. */
  mode?: 'callback' | 'mobile-services';
  /** Via SAP Mobile Services: how the forwarder authenticates (default Basic). */
  forwardAuth?: 'basic' | 'header' | 'none';
  /** Via SAP Mobile Services with forwardAuth 'header': the header carrying the secret. */
  forwardHeader?: string;
}

export interface WeChatInCredentials {
  forwardUser?: string;
  forwardPassword?: string;
  forwardSecret?: string;
}

export type WeChatInNode = Node<WeChatInCredentials>;

export default function register(RED: NodeAPI): void {
  function WeChatIn(this: WeChatInNode, config: WeChatInDef) {
    RED.nodes.createNode(this, config);
    startCallbackRoute(RED, this, config);
  }

  RED.nodes.registerType<WeChatInNode, WeChatInDef, object, WeChatInCredentials>('wechat-in', WeChatIn, {
    credentials: {
      forwardUser: { type: 'text' },
      forwardPassword: { type: 'password' },
      forwardSecret: { type: 'password' },
    },
    settings: { wechatInMaxBody: { value: DEFAULT_MAX_BODY, exportable: false } },
  });
}
