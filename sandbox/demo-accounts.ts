/**
 * The accounts the sandbox knows. They are test values, valid only against the local
 * stand-ins; the demo hands them to Node-RED through environment variables, which the
 * shipped flows reference as ${NAME}, exactly as one would for real accounts.
 */
export const DEMO_OFFICIAL_ACCOUNT = {
  appId: 'wx5a1db0c0de000001',
  /** The account's original id: the ToUserName of every message it receives. */
  originalId: 'gh_5a1db0c0de01',
  appSecret: 'sandbox-official-secret-0001',
  token: 'SandboxOfficialToken',
  encodingAESKey: 'gs9z7II2LXYHy5Hin0JUPrWlg8XEa3Hqjg6fe894k5J',
};

export const DEMO_WECOM_APP = {
  corpId: 'ww5a1db0c0de000002',
  agentId: '1000002',
  corpSecret: 'sandbox-wecom-secret-0002',
  token: 'SandboxWeComToken',
  encodingAESKey: 'AUu89XkdjYsp1qxSvyPMXHFqkh8Bhl5RzFz5YvQom3b',
};

/** Environment variables the shipped flows read, pointing every account at the sandbox. */
export function demoEnvironment(sandboxBaseUrl: string): Record<string, string> {
  return {
    WECHAT_OA_APPID: DEMO_OFFICIAL_ACCOUNT.appId,
    WECHAT_OA_SECRET: DEMO_OFFICIAL_ACCOUNT.appSecret,
    WECHAT_OA_TOKEN: DEMO_OFFICIAL_ACCOUNT.token,
    WECHAT_OA_AESKEY: DEMO_OFFICIAL_ACCOUNT.encodingAESKey,
    WECHAT_OA_API_BASE: `${sandboxBaseUrl}/wechat`,
    WECOM_CORPID: DEMO_WECOM_APP.corpId,
    WECOM_AGENTID: DEMO_WECOM_APP.agentId,
    WECOM_SECRET: DEMO_WECOM_APP.corpSecret,
    WECOM_TOKEN: DEMO_WECOM_APP.token,
    WECOM_AESKEY: DEMO_WECOM_APP.encodingAESKey,
    WECOM_API_BASE: `${sandboxBaseUrl}/wecom`,
  };
}
