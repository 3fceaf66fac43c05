/**
 * wechat-in: registration. The node owns the callback URL of one WeChat Official
 * Account or WeCom app; what it does with each request is in ./callback-route.
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
}

export default function register(RED: NodeAPI): void {
  function WeChatIn(this: Node, config: WeChatInDef) {
    RED.nodes.createNode(this, config);
    startCallbackRoute(RED, this, config);
  }

  RED.nodes.registerType('wechat-in', WeChatIn, {
    settings: { wechatInMaxBody: { value: DEFAULT_MAX_BODY, exportable: false } },
  });
}
