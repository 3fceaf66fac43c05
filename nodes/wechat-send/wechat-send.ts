/**
 * wechat-send: registration. Active messages through an Official Account or a WeCom
 * app; what the node does with each message is in ./sender.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startSender } from './sender';

export interface WeChatSendDef extends NodeDef {
  account: string;
  store: string;
  to: string;
  toType: string;
  toParty: string;
  toTag: string;
  mediaType: string;
  safe: boolean;
  enableIdTrans: boolean;
  enableDuplicateCheck: boolean;
  duplicateCheckInterval: string;
}

export default function register(RED: NodeAPI): void {
  function WeChatSend(this: Node, config: WeChatSendDef) {
    RED.nodes.createNode(this, config);
    startSender(RED, this, config);
  }

  RED.nodes.registerType<Node, WeChatSendDef, object, object>('wechat-send', WeChatSend);
}
