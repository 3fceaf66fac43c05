/**
 * c4c-notification-in: registration. The node owns the route a C4C event-notification
 * consumer posts to; what it does with each notification is in ./notification-route.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { startNotificationRoute } from './notification-route';

export interface C4CNotificationInDef extends NodeDef {
  url: string;
  auth: 'basic' | 'none';
  dedupeSeconds: string | number;
  readEntity: boolean;
  system: string;
  /** Optional wechat-sap-store: notifications are committed there before the 202 and shared by instances. */
  store?: string;
}

export interface C4CNotificationInCredentials {
  user?: string;
  password?: string;
}

export type NotificationNode = Node<C4CNotificationInCredentials>;

export default function register(RED: NodeAPI): void {
  function C4CNotificationIn(this: NotificationNode, config: C4CNotificationInDef) {
    RED.nodes.createNode(this, config);
    startNotificationRoute(RED, this, config);
  }

  RED.nodes.registerType<NotificationNode, C4CNotificationInDef, object, C4CNotificationInCredentials>('c4c-notification-in', C4CNotificationIn, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

