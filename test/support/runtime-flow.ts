/**
 * One flow for the tests that run a whole Node-RED (test/support/node-red-process.ts):
 * an encrypted Official Account callback that answers "answer from <INSTANCE>" (and holds
 * messages whose text is "hold", so their delivery stays open), and a C4C notification
 * endpoint; both report what reaches them.
 */
import { DEMO_OFFICIAL_ACCOUNT } from '../../sandbox/demo-accounts';
import type { FlowNode } from '../../scripts/node-red-userdir';
import { reportingFunction } from './node-red-process';

export const NOTIFY_USER = 'notify';
export const NOTIFY_PASSWORD = 'notify-secret';

export interface RuntimeFlowOptions {
  /** A wechat-sap-store node (without id) selected on the account and the notification endpoint. */
  store?: Record<string, unknown>;
  storeCredentials?: Record<string, string>;
  /** When set, notifications read their entity through a c4c-system at this base URL. */
  c4cBaseUrl?: string;
}

export function runtimeFlow(options: RuntimeFlowOptions = {}): { flows: FlowNode[]; credentials: Record<string, Record<string, string>> } {
  const store = options.store ? 'rt-store' : '';
  const flows: FlowNode[] = [
    { id: 'rt-tab', type: 'tab', label: 'runtime test' },
    { id: 'rt-account', type: 'wechat-account', kind: 'official', appId: DEMO_OFFICIAL_ACCOUNT.appId, agentId: '', apiBase: 'http://127.0.0.1:9', emptyReceiverId: false, tokenMode: 'stable', store },
    { id: 'rt-in', type: 'wechat-in', z: 'rt-tab', account: 'rt-account', url: '/wx/oa', replayWindow: 300, replyTimeout: 4.5, x: 100, y: 100, wires: [['rt-report-wx']] },
    { id: 'rt-report-wx', type: 'function', z: 'rt-tab', func: reportingFunction("{ kind: 'wechat', instance: env.get('INSTANCE'), content: msg.payload.Content }"), outputs: 1, x: 300, y: 100, wires: [['rt-answer']] },
    { id: 'rt-answer', type: 'function', z: 'rt-tab', func: "if (msg.payload.Content === 'hold') return null;\nmsg.payload = 'answer from ' + env.get('INSTANCE');\nreturn msg;", outputs: 1, x: 500, y: 100, wires: [['rt-reply']] },
    { id: 'rt-reply', type: 'wechat-reply', z: 'rt-tab', x: 700, y: 100, wires: [] },
    {
      id: 'rt-notify',
      type: 'c4c-notification-in',
      z: 'rt-tab',
      url: '/c4c/notify',
      auth: 'basic',
      dedupeSeconds: 300,
      readEntity: !!options.c4cBaseUrl,
      system: options.c4cBaseUrl ? 'rt-c4c' : '',
      store,
      x: 100,
      y: 200,
      wires: [['rt-report-c4c']],
    },
    { id: 'rt-report-c4c', type: 'function', z: 'rt-tab', func: reportingFunction("{ kind: 'c4c', instance: env.get('INSTANCE'), rootId: msg.payload.rootId }"), outputs: 1, x: 300, y: 200, wires: [[]] },
  ];
  const credentials: Record<string, Record<string, string>> = {
    'rt-account': { appSecret: DEMO_OFFICIAL_ACCOUNT.appSecret, token: DEMO_OFFICIAL_ACCOUNT.token, encodingAESKey: DEMO_OFFICIAL_ACCOUNT.encodingAESKey },
    'rt-notify': { user: NOTIFY_USER, password: NOTIFY_PASSWORD },
  };
  if (options.store) {
    flows.push({ id: 'rt-store', type: 'wechat-sap-store', ...options.store });
    if (options.storeCredentials) credentials['rt-store'] = options.storeCredentials;
  }
  if (options.c4cBaseUrl) {
    flows.push({ id: 'rt-c4c', type: 'c4c-system', baseUrl: options.c4cBaseUrl, service: 'standard', customService: '', authType: 'basic', timeout: 60, maxConcurrent: 8, retries: 0, language: '' });
    credentials['rt-c4c'] = { user: 'c4c-user', password: 'c4c-password' };
  }
  return { flows, credentials };
}

export const notifyAuth = 'Basic ' + Buffer.from(`${NOTIFY_USER}:${NOTIFY_PASSWORD}`).toString('base64');
