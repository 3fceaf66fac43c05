/**
 * How the demo points the stand-ins at Node-RED, as a tenant and a Mobile Services
 * destination would be set up: C4C's event notifications go to the customer-changed
 * flow's route, and the Micro App's messages are forwarded to the TimeOff flow's
 * handler. npm start and the tests that run every shipped flow do it here.
 */
import { DEMO_C4C, DEMO_MICRO_APP } from './demo-accounts';
import type { Sandbox } from './index';

export function connectToNodeRed(sandbox: Sandbox, nodeRedUrl: string): void {
  const base = nodeRedUrl.replace(/\/+$/, '');
  sandbox.c4c.setConsumer({ url: `${base}/c4c/notify`, user: DEMO_C4C.notifyUser, password: DEMO_C4C.notifyPassword });
  sandbox.mobileServices.setMessageHandler({
    url: base + DEMO_MICRO_APP.handlerPath,
    auth: { kind: 'basic', user: DEMO_MICRO_APP.forwardUser, password: DEMO_MICRO_APP.forwardPassword },
  });
}
