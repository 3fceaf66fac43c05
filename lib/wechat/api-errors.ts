/**
 * Errors of the OA / WeCom APIs, each with a hint that says what the code means and
 * what to do. Messages never contain tokens or secrets: request URLs (which carry
 * them) are never part of an error.
 */

export interface ErrorHint {
  meaning: string;
  action: string;
}

/** Codes we explain; keep the errcode table in README.md in step with these. */
export const ERROR_HINTS: Readonly<Record<number, ErrorHint>> = {
  [-1]: { meaning: 'the platform is busy', action: 'retried once after a pause; try again later' },
  40001: {
    meaning: 'invalid credential: wrong AppSecret, or the access token is not the latest',
    action: 'check the AppSecret; make sure no other system fetches tokens for this account with the classic /cgi-bin/token API',
  },
  40013: { meaning: 'invalid AppID / CorpID', action: 'check the AppID or CorpID of the wechat-account node' },
  40014: { meaning: 'invalid access token', action: 'the token was refetched and the call retried once; check that nothing else rotates this account\'s token' },
  40056: { meaning: 'invalid AgentID', action: 'check the AgentID of the wechat-account node' },
  40125: { meaning: 'invalid AppSecret', action: 'check the AppSecret of the wechat-account node' },
  40164: { meaning: 'caller IP is not on the account\'s IP whitelist', action: 'add this server\'s egress IP to the Official Account\'s IP whitelist' },
  40003: { meaning: 'invalid OpenID / UserID', action: 'check the recipient: an OpenID of a user of this account' },
  40037: { meaning: 'invalid template_id', action: 'check the template id in the account\'s template library' },
  41001: { meaning: 'access token missing', action: 'report this: the request carried no token' },
  42001: { meaning: 'access token expired', action: 'the token was refetched and the call retried once; check the server clock' },
  43004: { meaning: 'the recipient does not follow the account', action: 'only followers can receive messages' },
  44002: { meaning: 'empty POST body', action: 'the message body was empty' },
  45009: { meaning: 'daily API quota reached', action: 'not retried; wait until tomorrow or clear the quota (OA: /cgi-bin/clear_quota)' },
  45011: { meaning: 'API called too frequently (per-minute quota)', action: 'not retried; wait for the next minute and slow the flow down' },
  45015: {
    meaning: 'outside the 48-hour customer-service window: the user has not interacted recently',
    action: 'not retried; send a template message instead, or wait until the user writes again',
  },
  45047: { meaning: 'customer-service send count exceeded for this user', action: 'not retried; wait until the user interacts again' },
  47001: { meaning: 'malformed message body', action: 'check msg.payload against the message format' },
  48001: { meaning: 'API not authorised for this account or app', action: 'configuration: enable the permission on the platform (account type, verification or app scope)' },
  60020: {
    meaning: 'caller IP is not trusted by the WeCom app',
    action: 'add this server\'s egress IP to the app\'s trusted IPs (WeCom admin > app > Trusted IP; needs a verified domain or callback URL)',
  },
  81013: { meaning: 'every recipient is invalid or outside the app\'s visible range', action: 'fix touser/toparty/totag or widen the app\'s visible range' },
};

/** Codes answered by invalidating the token, refetching it and retrying the call once. */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

/** Codes never retried: retrying would burn quota or cannot succeed. */
export const NO_RETRY_ERRCODES: ReadonlySet<number> = new Set([45009, 45011, 45015, 45047, 48001, 60020]);

/** The platform answered with an errcode other than 0. */
export class WeChatApiError extends Error {
  readonly hint: string;
  /** The errcode again, under the name Node-RED copies to msg.error.code for Catch nodes. */
  readonly code: number;
  constructor(
    /** Which API: e.g. 'message/custom/send', 'stable_token'. */
    readonly api: string,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    const hint: ErrorHint | undefined = ERROR_HINTS[errcode];
    const hintText = hint ? `${hint.meaning}. ${hint.action}` : 'see the platform\'s global error code list';
    super(`${api} failed: errcode ${errcode} (${errmsg || 'no errmsg'}). ${hintText}`);
    this.name = 'WeChatApiError';
    this.hint = hintText;
    this.code = errcode;
    this.textCode = hint ? `wechat_api_${errcode}` : 'wechat_api';
    this.params = { api, errcode, errmsg: errmsg || 'no errmsg' };
  }

  /** Which text of nodes/shared/locales/…/lib.json says this in the runtime's language (code is the errcode). */
  readonly textCode: string;
  readonly params: Record<string, string | number>;
}

/** The call never got a platform answer: network, timeout, HTTP status, unreadable body. */
export class WeChatHttpError extends Error {
  constructor(
    readonly api: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${api} failed: ${message}`);
    this.name = 'WeChatHttpError';
  }
}

/** A message body that cannot be sent as it is; raised before any request. */
export class MessageFormatError extends Error {
  constructor(
    message: string,
    /** Names the text of nodes/shared/locales/…/lib.json that says this in the runtime's language. */
    readonly code = 'format',
    readonly params: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'MessageFormatError';
  }
}
