/**
 * Credentials for the demo's flows: ${NAME} references to the environment variables of
 * demoEnvironment(), so no secret value is ever written into a flow or a file.
 * Each rule recognises a node of the shipped flows by its type and an identity property.
 */
type FlowNode = { id: string; type: string; [property: string]: unknown };

interface CredentialRule {
  type: string;
  property: string;
  value: string;
  credentials: Record<string, string>;
}

const RULES: CredentialRule[] = [
  {
    type: 'wechat-account',
    property: 'appId',
    value: '${WECHAT_OA_APPID}',
    credentials: { appSecret: '${WECHAT_OA_SECRET}', token: '${WECHAT_OA_TOKEN}', encodingAESKey: '${WECHAT_OA_AESKEY}' },
  },
  {
    type: 'wechat-account',
    property: 'appId',
    value: '${WECOM_CORPID}',
    credentials: { appSecret: '${WECOM_SECRET}', token: '${WECOM_TOKEN}', encodingAESKey: '${WECOM_AESKEY}' },
  },
  {
    // Both C4C systems of the shipped flows (standard and custom service) log on as the same business user.
    type: 'c4c-system',
    property: 'baseUrl',
    value: '${C4C_BASE_URL}',
    credentials: { user: '${C4C_USER}', password: '${C4C_PASSWORD}' },
  },
  {
    // The login C4C's event-notification consumer uses towards our route.
    type: 'c4c-notification-in',
    property: 'url',
    value: '/c4c/notify',
    credentials: { user: '${C4C_NOTIFY_USER}', password: '${C4C_NOTIFY_PASSWORD}' },
  },
  {
    type: 'mobile-services-app',
    property: 'serverUrl',
    value: '${MS_SERVER_URL}',
    credentials: { apiKey: '${MS_API_KEY}' },
  },
  {
    type: 'wechat-account',
    property: 'appId',
    value: '${MICROAPP_CORPID}',
    // Mobile Services holds the Micro App's Token and EncodingAESKey; Node-RED needs none.
    credentials: {},
  },
  {
    // The login the Mobile Services forwarder presents to the TimeOff message handler.
    type: 'wechat-in',
    property: 'url',
    value: '/timeoff/OnMessage',
    credentials: { forwardUser: '${MS_FORWARD_USER}', forwardPassword: '${MS_FORWARD_PASSWORD}' },
  },
  {
    // The WF-DCN fan-out's hub (its admin routes at the default path): the back ends it accepts, one credential holding the list.
    type: 'wf-dcn-hub',
    property: 'adminUrl',
    value: '/dcn/admin',
    credentials: { senders: '${DCN_SENDERS}' },
  },
];

/** The credentials file content (node id → credentials) for the given flows. */
export function demoCredentials(flows: FlowNode[]): Record<string, Record<string, string>> {
  const result: Record<string, Record<string, string>> = {};
  for (const node of flows) {
    const rule = RULES.find((r) => r.type === node.type && node[r.property] === r.value);
    if (rule) result[node.id] = { ...rule.credentials };
  }
  return result;
}
