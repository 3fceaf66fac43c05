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
