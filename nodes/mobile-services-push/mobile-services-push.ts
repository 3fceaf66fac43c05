/**
 * mobile-services-push: registration. Pushes through SAP Mobile Services, as Micro App
 * (WeCom/WeChat) messages or generic v2 notifications; what the node does with each
 * message is in ./pusher.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startPusher } from './pusher';

export type PushMode = 'microApp' | 'generic';
export type TargetKind = 'users' | 'device' | 'group' | 'topic' | 'all';

export interface MobileServicesPushDef extends NodeDef {
  app: string;
  mode: PushMode;
  target: TargetKind;
  recipients: string;
  recipientsType: string;
  targetName: string;
  targetNameType: string;
  mediaType: string;
  fileName: string;
}

export default function register(RED: NodeAPI): void {
  function MobileServicesPush(this: Node, config: MobileServicesPushDef) {
    RED.nodes.createNode(this, config);
    startPusher(RED, this, config);
  }

  RED.nodes.registerType<Node, MobileServicesPushDef, object, object>('mobile-services-push', MobileServicesPush);
}
