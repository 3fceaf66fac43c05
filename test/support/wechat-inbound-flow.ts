/** The inbound test flow shared by the wechat-in and wechat-reply tests. */
import registerAccount from '../../nodes/wechat-account/wechat-account';
import registerIn from '../../nodes/wechat-in/wechat-in';
import registerReply from '../../nodes/wechat-reply/wechat-reply';
import { DEMO_OFFICIAL_ACCOUNT, DEMO_WECOM_APP } from '../../sandbox/demo-accounts';
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

