/**
 * The two ways messages reach wechat-in, as the route sees them: WeChat's own signed
 * (and mostly encrypted) callbacks, or messages SAP Mobile Services forwards in plaintext
 * after checking and decrypting them. Each gives the route an endpoint that opens the
 * body, whether GET (URL verification) is served, and the check of the caller that runs
 * before the body is read.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { NodeAPI } from 'node-red';
import { CallbackEndpoint, CallbackQuery, InboundEndpoint } from '../../lib/wechat/callback';
import { DEFAULT_FORWARD_HEADER, ForwardedEndpoint, ForwarderAuth, checkForwarder, isHeaderName } from '../../lib/wechat/forwarded';
import { unsetVariable, warnUnsetEnv } from '../shared/env';
import type { WeChatAccountNode } from '../wechat-account/wechat-account';
import type { WeChatInDef, WeChatInNode } from './wechat-in';

export interface InboundMode {
  endpoint: InboundEndpoint;
  /** Answers WeChat's URL verification (GET); null where GET is not served. */
  verifyUrl: ((query: CallbackQuery) => string) | null;
  /** Checks the caller from the request headers before the body is read; throws a CallbackError. */
  admit: (headers: IncomingHttpHeaders) => void;
}

/** The mode the node is set to; a node saved before modes existed receives WeChat's callbacks. */
export function inboundMode(RED: NodeAPI, node: WeChatInNode, config: WeChatInDef, account: WeChatAccountNode, replayWindowSeconds: number): InboundMode {
  if (config.mode === 'mobile-services') return forwardedMode(RED, node, config, account);
  const endpoint = new CallbackEndpoint(account.callbackAccount(), { replayWindowSeconds });
  return { endpoint, verifyUrl: (query) => endpoint.verifyUrl(query), admit: () => undefined };
}

/**
 * Via SAP Mobile Services: Mobile Services holds the Token and EncodingAESKey, so the
 * account needs none; the signature no longer protects this hop, so the forwarder must
 * authenticate. WeCom verifies the callback URL at Mobile Services: GET is not served.
 */
function forwardedMode(RED: NodeAPI, node: WeChatInNode, config: WeChatInDef, account: WeChatAccountNode): InboundMode {
  if (account.kind !== 'wecom') throw new Error(RED._('wechat-in.errors.needsWecom'));
  const auth = forwarderAuth(RED, node, config);
  if (auth.kind === 'none') node.warn(RED._('wechat-in.warn.noForwardAuth'));
  else if (!(auth.kind === 'basic' ? auth.user : auth.secret)) node.warn(RED._('wechat-in.warn.noForwardCredentials'));
  const endpoint = new ForwardedEndpoint({ corpId: account.appId, agentId: account.agentId });
  return { endpoint, verifyUrl: null, admit: (headers) => checkForwarder(auth, headers) };
}

/** A credential as it was entered (passwords may end in spaces), or '' when it is an unset ${NAME}. */
function credential(value: string | undefined): string {
  return unsetVariable(value) ? '' : (value ?? '');
}

function forwarderAuth(RED: NodeAPI, node: WeChatInNode, config: WeChatInDef): ForwarderAuth {
  const credentials = node.credentials ?? {};
  warnUnsetEnv(RED, node, 'wechat-in.warn.unsetEnv', { ...credentials });
  if (config.forwardAuth === 'none') return { kind: 'none' };
  if (config.forwardAuth === 'header') {
    const name = (config.forwardHeader ?? '').trim() || DEFAULT_FORWARD_HEADER;
    if (!isHeaderName(name)) throw new Error(RED._('wechat-in.errors.badHeaderName', { name: name.slice(0, 60) }));
    return { kind: 'header', name, secret: credential(credentials.forwardSecret) };
  }
  return { kind: 'basic', user: credential(credentials.forwardUser), password: credential(credentials.forwardPassword) };
}
