/**
 * Every shipped flow running together as under npm start, with the stand-ins pointed at
 * them as npm start points them, for the tests that try the scenarios as a newcomer does
 * (the printed commands, the chat page).
 */
import registerNotificationIn from '../../nodes/c4c-notification-in/c4c-notification-in';
import registerOdata from '../../nodes/c4c-odata/c4c-odata';
import registerSystem from '../../nodes/c4c-system/c4c-system';
import registerApp from '../../nodes/mobile-services-app/mobile-services-app';
import registerPush from '../../nodes/mobile-services-push/mobile-services-push';
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import registerRecords from '../../nodes/wechat-sap-records/wechat-sap-records';
import registerSend from '../../nodes/wechat-send/wechat-send';
import registerDcnAck from '../../nodes/wf-dcn-ack/wf-dcn-ack';
import registerDcnDeliver from '../../nodes/wf-dcn-deliver/wf-dcn-deliver';
import registerDcnHub from '../../nodes/wf-dcn-hub/wf-dcn-hub';
import registerDcnIn from '../../nodes/wf-dcn-in/wf-dcn-in';
import registerDcnRegistry from '../../nodes/wf-dcn-registry/wf-dcn-registry';
import registerDcnResponse from '../../nodes/wf-dcn-response/wf-dcn-response';
import { connectToNodeRed } from '../../sandbox/demo-wiring';
import { ShippedFlowRun, runShippedFlow } from './flow-watch';

export const SHIPPED_FLOWS = ['qa-bot.json', 'customer-changed-notifies-wechat.json', 'follow-creates-customer.json', 'timeoff.json', 'wf-dcn-fan-out.json'];

const ALL_NODES = [
  registerAccount,
  registerIn,
  registerReply,
  registerSend,
  registerNotificationIn,
  registerSystem,
  registerOdata,
  registerApp,
  registerPush,
  registerRecords,
  registerDcnHub,
  registerDcnIn,
  registerDcnResponse,
  registerDcnDeliver,
  registerDcnAck,
  registerDcnRegistry,
];

/** Hooks in the calling describe block: a sandbox (on a port of its own) and every shipped flow, wired as npm start wires them. */
export function runDemo(): ShippedFlowRun {
  const run = runShippedFlow(SHIPPED_FLOWS, ALL_NODES);
  before(() => connectToNodeRed(run.sandbox, run.harness.baseUrl));
  return run;
}
