/** The inbound test flows shared by the wechat-in and wechat-reply tests: WeChat's own callbacks, and the Micro App handler behind SAP Mobile Services. */
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import registerMobileServicesApp from '../../nodes/mobile-services-app/mobile-services-app';
import { DEMO_MICRO_APP, DEMO_MOBILE_SERVICES, DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
import { FlowNode } from './node-red-harness';

export const NODES = [registerAccount, registerIn, registerReply];

const OFFICIAL_CREDENTIALS = {
  appSecret: DEMO_OFFICIAL_ACCOUNT.appSecret,
  token: DEMO_OFFICIAL_ACCOUNT.token,
  encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey,
};
/** The same Official Account in plain mode: no EncodingAESKey, so plaintext is its only mode. */
const PLAIN_CREDENTIALS = { appSecret: DEMO_OFFICIAL_ACCOUNT.appSecret, token: DEMO_OFFICIAL_ACCOUNT.token };
const WECOM_CREDENTIALS = {
  appSecret: DEMO_WECOM_APP.corpSecret,
  token: DEMO_WECOM_APP.token,
  encodingAESKey: DEMO_WECOM_APP.encodingAESKey,
};

export interface FlowOptions {
  replyNode?: boolean;
  replyTimeout?: number;
  replayWindow?: number;
  /** API base of the accounts, e.g. a sandbox's; needed where replies fall back to active messages. */
  sandboxUrl?: string;
  /** Id of a wechat-sap-store node to select on every account. */
  store?: string;
  /** The encrypted Official Account also accepts plaintext callbacks (switch-over). */
  acceptPlain?: boolean;
}

/**
 * Three inbound nodes into a helper sink, and optionally a wechat-reply: an encrypted
 * Official Account (/wx/oa), the same account in plain mode (/wx/plain) and WeCom (/wx/wecom).
 */
export function flow(options: FlowOptions = {}): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: 'tab', type: 'tab' },
    { id: 'acc-oa', type: 'wechat-account', kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, agentId: '', apiBase: apiBase(options, '/wechat'), store: options.store ?? '', acceptPlain: options.acceptPlain ?? false },
    { id: 'acc-plain', type: 'wechat-account', kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, agentId: '', apiBase: apiBase(options, '/wechat'), store: options.store ?? '' },
    { id: 'acc-wecom', type: 'wechat-account', kind: 'wecom', appId: DEMO_WECOM_APP.corpId, agentId: DEMO_WECOM_APP.agentId, apiBase: apiBase(options, '/wecom'), store: options.store ?? '' },
    inNode('in-oa', 'acc-oa', '/wx/oa', options),
    inNode('in-plain', 'acc-plain', '/wx/plain', options),
    inNode('in-wecom', 'acc-wecom', '/wx/wecom', options),
    // The sink stands for the flow's logic; tests answer through the reply node it is wired to.
    { id: 'sink', type: 'helper', z: 'tab', wires: [options.replyNode === false ? [] : ['reply']] },
    { id: 'catch-all', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', wires: [] },
  ];
  if (options.replyNode !== false) nodes.push({ id: 'reply', type: 'wechat-reply', z: 'tab', wires: [] });
  return nodes;
}

function apiBase(options: FlowOptions, prefix: string): string {
  // Without a sandbox the accounts point at a closed local port: nothing may leave the machine.
  return (options.sandboxUrl ?? 'http://127.0.0.1:9') + prefix;
}

export function inNode(id: string, account: string, url: string, options: FlowOptions): FlowNode {
  return {
    id,
    type: 'wechat-in',
    z: 'tab',
    account,
    url,
    replayWindow: options.replayWindow ?? 300,
    replyTimeout: options.replyTimeout ?? 2,
    wires: [['sink']],
  };
}

// Config node ids must not equal a property value such as kind 'wecom': Node-RED would read it as a reference.
export const CREDENTIALS = { 'acc-oa': OFFICIAL_CREDENTIALS, 'acc-plain': PLAIN_CREDENTIALS, 'acc-wecom': WECOM_CREDENTIALS };


export interface HandlerFlowOptions {
  forwardAuth?: 'basic' | 'header' | 'none';
  forwardHeader?: string;
  replyNode?: boolean;
  replyTimeout?: number;
  /** The sandbox whose Mobile Services stand-in takes late replies; without one the account names no mobile-services-app. */
  sandboxUrl?: string;
  /** Id of a wechat-sap-store node to select on the account. */
  store?: string;
}

/**
 * The TimeOff Micro App's message handler: a WeCom account with no Token, key or secret
 * (Mobile Services holds them), optionally naming a mobile-services-app at a sandbox, and
 * a wechat-in at /timeoff/OnMessage in mode "via SAP Mobile Services", into a helper sink.
 */
export function handlerFlow(options: HandlerFlowOptions = {}): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: 'tab', type: 'tab' },
    {
      id: 'acc-microapp',
      type: 'wechat-account',
      kind: 'wecom',
      appId: DEMO_MICRO_APP.corpId,
      agentId: DEMO_MICRO_APP.agentId,
      // WeCom's API is never to be called for these messages: the sandbox's records show any call.
      apiBase: apiBase(options, '/wecom'),
      store: options.store ?? '',
      mobileServices: options.sandboxUrl ? 'ms-app' : '',
    },
    handlerNode('in-ms', 'acc-microapp', DEMO_MICRO_APP.handlerPath, options),
    { id: 'sink', type: 'helper', z: 'tab', wires: [options.replyNode === false ? [] : ['reply']] },
    { id: 'catch-all', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', wires: [] },
  ];
  if (options.sandboxUrl) {
    nodes.push({ id: 'ms-app', type: 'mobile-services-app', serverUrl: `${options.sandboxUrl}/mobile-services`, appId: DEMO_MOBILE_SERVICES.appId, authType: 'apiKey', usersPlacement: 'top' });
  }
  if (options.replyNode !== false) nodes.push({ id: 'reply', type: 'wechat-reply', z: 'tab', wires: [] });
  return nodes;
}

export function handlerNode(id: string, account: string, url: string, options: HandlerFlowOptions): FlowNode {
  return {
    id,
    type: 'wechat-in',
    z: 'tab',
    account,
    url,
    mode: 'mobile-services',
    forwardAuth: options.forwardAuth ?? 'basic',
    forwardHeader: options.forwardHeader ?? 'X-Forward-Secret',
    replayWindow: 300,
    replyTimeout: options.replyTimeout ?? 2,
    wires: [['sink']],
  };
}

/** The secret of the header login in the handler tests. */
export const FORWARD_SECRET = 'sandbox-forward-secret-0008';

export const HANDLER_NODES = [...NODES, registerMobileServicesApp];

export const HANDLER_CREDENTIALS = {
  'in-ms': { forwardUser: DEMO_MICRO_APP.forwardUser, forwardPassword: DEMO_MICRO_APP.forwardPassword, forwardSecret: FORWARD_SECRET },
  'ms-app': { apiKey: DEMO_MOBILE_SERVICES.apiKey },
};
