/**
 * Where each demo account's callbacks go under npm start: the Q&A bot's routes on
 * Node-RED for the Official Account and the WeCom app, the Mobile Services stand-in's
 * Message Handler URL for the Micro App (TimeOff), and the follow flow's route for the
 * follow events that create C4C customers. The CLI and the chat page both send there.
 */
import { DEFAULT_NODE_RED_URL, DEFAULT_SANDBOX_URL } from './demo-addresses';
import { microAppCallbackUrl } from './mobile-services/index';
import type { DemoAccount } from './wechat-client';

const ROUTES: Record<DemoAccount, (nodeRed: string, sandbox: string) => string> = {
  official: (nodeRed) => `${nodeRed}/wechat/official`,
  wecom: (nodeRed) => `${nodeRed}/wechat/wecom`,
  microapp: (_nodeRed, sandbox) => microAppCallbackUrl(sandbox),
};

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The account's callback URL for a Node-RED and a sandbox (npm start's default ones unless given). */
export function demoWebhookUrl(account: DemoAccount, nodeRedUrl: string = DEFAULT_NODE_RED_URL, sandboxUrl: string = DEFAULT_SANDBOX_URL): string {
  return ROUTES[account](base(nodeRedUrl), base(sandboxUrl));
}

/** The follow flow's callback URL: the Official Account's subscribe / unsubscribe events that keep C4C customers. */
export function followWebhookUrl(nodeRedUrl: string = DEFAULT_NODE_RED_URL): string {
  return `${base(nodeRedUrl)}/wechat/follow`;
}
