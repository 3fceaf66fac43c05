/**
 * Config node for one C4C system: tenant base URL, service path (standard c4codataapi
 * or a custom service) and how to authenticate. It owns the system's one C4CClient,
 * so every node using it shares the keep-alive sockets, the concurrency limit, the
 * cookie jar and the CSRF token. Passwords, tokens, client secret and SAML assertion
 * live only in credentials.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { C4CAuthConfig, C4CClient, CallAuth, customServicePath, DEFAULT_SCOPE, defaultTokenUrl, STANDARD_SERVICE_PATH } from '../../lib/c4c';
import { numericSetting } from '../shared/numeric-setting';
import { errorText } from '../shared/errors';
import { unsetVariable } from '../shared/env';

export interface C4CSystemDef extends NodeDef {
  baseUrl: string;
  service: 'standard' | 'custom';
  customService: string;
  authType: C4CAuthConfig['type'];
  tokenUrl: string;
  clientId: string;
  scope: string;
  timeout: string | number;
  maxConcurrent: string | number;
  retries: string | number;
  language: string;
}

export interface C4CSystemCredentials {
  user?: string;
  password?: string;
  token?: string;
  clientSecret?: string;
  assertion?: string;
}

export interface C4CSystemNode extends Node<C4CSystemCredentials> {
  /** The shared client, or null when the configuration is unusable (the reason is logged at deploy). */
  client: C4CClient | null;
  /** Per-message auth input: msg.accessToken (bearer from msg), msg.samlAssertion (SAML bearer). */
  callAuth(msg: NodeMessage): CallAuth;
}

/** Unknown auth types fall back to Basic. */
function authConfig(config: C4CSystemDef, creds: C4CSystemCredentials): C4CAuthConfig {
  switch (config.authType) {
    case 'bearer':
      return { type: 'bearer', token: creds.token ?? '' };
    case 'bearer-msg':
      return { type: 'bearer-msg' };
    case 'saml-bearer':
      return {
        type: 'saml-bearer',
        tokenUrl: (config.tokenUrl ?? '').trim() || defaultTokenUrl(config.baseUrl ?? ''),
        clientId: (config.clientId ?? '').trim(),
        clientSecret: creds.clientSecret || undefined,
        scope: (config.scope ?? '').trim() || DEFAULT_SCOPE,
        assertion: creds.assertion || undefined,
      };
    default:
      return { type: 'basic', user: creds.user ?? '', password: creds.password ?? '' };
  }
}

function callAuth(msg: NodeMessage): CallAuth {
  const m = msg as NodeMessage & { accessToken?: unknown; samlAssertion?: unknown };
  return {
    bearerToken: typeof m.accessToken === 'string' ? m.accessToken : undefined,
    assertion: typeof m.samlAssertion === 'string' ? m.samlAssertion : undefined,
  };
}

export default function register(RED: NodeAPI): void {
  function C4CSystem(this: C4CSystemNode, config: C4CSystemDef) {
    RED.nodes.createNode(this, config);
    this.client = null;
    try {
      const variable = unsetVariable(config.baseUrl);
      if (variable) throw new Error(RED._('c4c-system.errors.unsetEnv', { variable }));
      const servicePath = config.service === 'custom' ? customServicePath((config.customService ?? '').trim()) : STANDARD_SERVICE_PATH;
      this.client = new C4CClient({
        baseUrl: config.baseUrl ?? '',
        servicePath,
        auth: authConfig(config, this.credentials ?? {}),
        timeoutMs: numericSetting(config.timeout, 30, 1, 600) * 1000,
        maxConcurrent: numericSetting(config.maxConcurrent, 8, 1, 64),
        retries: numericSetting(config.retries, 3, 0, 10),
        language: (config.language ?? '').trim() || undefined,
      });
    } catch (err) {
      // Messages from the client never contain credentials.
      this.error(RED._('c4c-system.errors.config', { reason: errorText(RED, 'c4c-system', err) }));
    }

    this.callAuth = callAuth;

    this.on('close', (done: () => void) => {
      this.client?.close();
      done();
    });
  }

  RED.nodes.registerType<C4CSystemNode, C4CSystemDef, object, C4CSystemCredentials>('c4c-system', C4CSystem, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
      token: { type: 'password' },
      clientSecret: { type: 'password' },
      assertion: { type: 'password' },
    },
  });
}
