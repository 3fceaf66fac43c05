/**
 * wechat-reply: registration. Answers the callback a wechat-in node is holding; what the
 * node does with each message is in ./replying.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startReplying } from './replying';

export default function register(RED: NodeAPI): void {
  function WeChatReply(this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    startReplying(RED, this);
  }

  RED.nodes.registerType('wechat-reply', WeChatReply);
}
