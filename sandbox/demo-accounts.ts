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

/**
 * The C4C tenant stand-in: its business user (and the name C4C records for it in CreatedBy
 * and ChangedBy), the person whose edits the sandbox plays, the event-notification
 * consumer's login, OAuth values.
 */
export const DEMO_C4C = {
  user: 'SANDBOX_C4C_USER',
  password: 'sandbox-c4c-password-0003',
  userName: 'WeChat Integration',
  salesRepName: 'Sandbox Sales Rep',
  notifyUser: 'c4c-notify',
  notifyPassword: 'sandbox-notify-password-0004',
  oauthClientId: 'SANDBOX_OAUTH_CLIENT',
  samlAssertion: 'PHNhbWw6QXNzZXJ0aW9uPnNhbmRib3g8L3NhbWw6QXNzZXJ0aW9uPg==',
};

/** The OpenID the demo's printed commands follow the account with, so each of them names the same follower. */
export const DEMO_FOLLOWER_OPENID = 'oSandboxDemoFollower00000001';

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
    C4C_BASE_URL: `${sandboxBaseUrl}/c4c`,
    C4C_USER: DEMO_C4C.user,
    C4C_PASSWORD: DEMO_C4C.password,
    C4C_FLOWS_CHANGED_BY: DEMO_C4C.userName,
    C4C_NOTIFY_USER: DEMO_C4C.notifyUser,
    C4C_NOTIFY_PASSWORD: DEMO_C4C.notifyPassword,
    MS_SERVER_URL: `${sandboxBaseUrl}/mobile-services`,
    MS_APP_ID: DEMO_MOBILE_SERVICES.appId,
    MS_API_KEY: DEMO_MOBILE_SERVICES.apiKey,
    MICROAPP_CORPID: DEMO_MICRO_APP.corpId,
    MICROAPP_AGENTID: DEMO_MICRO_APP.agentId,
    MS_FORWARD_USER: DEMO_MICRO_APP.forwardUser,
    MS_FORWARD_PASSWORD: DEMO_MICRO_APP.forwardPassword,
    // The WF-DCN hub's senders: one credential holding the list, as the hub's Senders field keeps it.
    DCN_SENDERS: JSON.stringify([{ user: DEMO_DCN.sender, password: DEMO_DCN.password, security: DEMO_DCN.senderSecurity, admin: true }]),
  };
}

/**
 * The Mobile Services application the sandbox serves: its push service key (with the
 * key's alias for Basic), an OAuth client, and the users with registrations.
 */
export const DEMO_MOBILE_SERVICES = {
  appId: 'com.sandbox.timeoff',
  apiKey: 'sandbox-ms-push-key-0005',
  keyAlias: 'sandbox-push-key',
  clientId: 'sb-sandbox-mobile-services!t5',
  clientSecret: 'sandbox-ms-client-secret-0006',
  /** WeCom UserIDs registered for the Micro App. */
  microAppUsers: ['P000001', 'P000002'],
};

/**
 * The WeCom app behind the Mobile Services Micro App (TimeOff): WeCom calls the Mobile
 * Services stand-in with its Token and EncodingAESKey, and the stand-in forwards each
 * decrypted message to the message handler, authenticated with the forward login.
 */
export const DEMO_MICRO_APP = {
  corpId: DEMO_WECOM_APP.corpId,
  agentId: '1000003',
  token: 'SandboxMicroAppToken',
  encodingAESKey: 'MpnqeKfoZnE59dilcWjSc0YimUmYGB7sI02gEOkNWoo',
  /** The message handler endpoint (the destination "chat"), on Node-RED. */
  handlerPath: '/timeoff/OnMessage',
  forwardUser: 'ms-forwarder',
  forwardPassword: 'sandbox-forward-password-0007',
  /** The requester and the approver of the TimeOff scenario. */
  requester: 'P000001',
  approver: 'P000002',
};

/**
 * The WF-DCN scenario: the back end's login at the hub, the security configuration its
 * receivers are in, and the receiver with a WeCom and a Mobile Services device.
 */
export const DEMO_DCN = {
  sender: 'dcn-backend',
  password: 'sandbox-dcn-password-0008',
  /** The sender's own security configuration; an admin sender may address every one. */
  senderSecurity: 'admin',
  security: 'default',
  receiver: 'SUPAdmin',
  /** The receiver's WeCom UserID and Mobile Services user. */
  wecomUser: 'SUPAdmin',
  mobileServicesUser: 'SUPAdmin',
  package: 'travel:1.0',
};
