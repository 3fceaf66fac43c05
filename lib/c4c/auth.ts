/**
 * Authorization for C4C calls: Basic (a business or integration user), a bearer token
 * kept in credentials or handed in per message, or OAuth 2.0 SAML bearer, where a
 * signed assertion is exchanged at the tenant's token endpoint and the access token is
 * cached until shortly before it expires. Secrets only ever go into request headers
 * and form bodies; no message built here contains them.
 */
import { basicHeader } from '../http/basic-auth';
import { C4CError } from './errors';
import type { HttpClient } from './http';

export type C4CAuthConfig =
  | { type: 'basic'; user: string; password: string }
  /** A fixed access token from the config node's credentials. */
  | { type: 'bearer'; token: string }
  /** The token arrives with each call (msg.accessToken in the nodes). */
  | { type: 'bearer-msg' }
  | {
      type: 'saml-bearer';
      /** Default: <tenant>/sap/bc/sec/oauth2/token. */
      tokenUrl: string;
      clientId: string;
      clientSecret?: string;
      scope: string;
      /** A base64 SAML 2.0 assertion; may be overridden per call. */
      assertion?: string;
    };

/** Per-call auth input, e.g. from msg. */
export interface CallAuth {
  bearerToken?: string;
  assertion?: string;
}

export const SAML_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
export const DEFAULT_SCOPE = 'UIWC:CC_HOME';

export function defaultTokenUrl(baseUrl: string): string {
  return baseUrl.trim().replace(/\/+$/, '') + '/sap/bc/sec/oauth2/token';
}

interface CachedToken {
  assertion: string;
  token: string;
  expiresAt: number;
}

export class AuthProvider {
  private cached: CachedToken | null = null;
  private pending: Promise<CachedToken> | null = null;

  constructor(
    private readonly config: C4CAuthConfig,
    private readonly http: HttpClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Authorization header value for one call. */
  async header(call: CallAuth = {}): Promise<string> {
    const config = this.config;
    switch (config.type) {
      case 'basic':
        if (!config.user) throw new C4CError('auth', 0, 'NO_CREDENTIALS', 'the C4C system has no user name');
        return basicHeader(config.user, config.password);
      case 'bearer':
        if (!config.token) throw new C4CError('auth', 0, 'NO_CREDENTIALS', 'the C4C system has no access token');
        return 'Bearer ' + config.token;
      case 'bearer-msg':
        if (!call.bearerToken) throw new C4CError('auth', 0, 'NO_TOKEN', 'no access token was supplied with the message (msg.accessToken)');
        return 'Bearer ' + call.bearerToken;
      case 'saml-bearer':
        return 'Bearer ' + (await this.samlToken(call.assertion || config.assertion || '')).token;
    }
  }

  /** True when a 401 may be cured by fetching a new token, i.e. the token was ours. */
  canRefresh(): boolean {
    return this.config.type === 'saml-bearer';
  }

  invalidate(): void {
    this.cached = null;
  }

  private samlToken(assertion: string): Promise<CachedToken> {
    if (!assertion) return Promise.reject(new C4CError('auth', 0, 'NO_ASSERTION', 'no SAML assertion was supplied for the SAML bearer grant'));
    const cached = this.cached;
    if (cached && cached.assertion === assertion && cached.expiresAt > this.now()) return Promise.resolve(cached);
    // Concurrent calls share one token request.
    if (!this.pending) {
      this.pending = this.fetchToken(assertion).finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  private async fetchToken(assertion: string): Promise<CachedToken> {
    const config = this.config as Extract<C4CAuthConfig, { type: 'saml-bearer' }>;
    const form = new URLSearchParams({ grant_type: SAML_BEARER_GRANT, client_id: config.clientId, scope: config.scope || DEFAULT_SCOPE, assertion });
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    if (config.clientSecret) headers.Authorization = basicHeader(config.clientId, config.clientSecret);
    const res = await this.http.send({ method: 'POST', url: config.tokenUrl, headers, body: form.toString() });
    let parsed: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      // handled below: no token
    }
    if (res.status !== 200 || typeof parsed.access_token !== 'string') {
      const code = typeof parsed.error === 'string' ? parsed.error : String(res.status);
      const detail = typeof parsed.error_description === 'string' ? `: ${parsed.error_description}` : '';
      throw new C4CError('auth', res.status, code, `OAuth SAML bearer token request failed with ${res.status} (${code})${detail}`);
    }
    const lifetime = Number(parsed.expires_in) > 0 ? Number(parsed.expires_in) : 3600;
    // Renew a minute early so a token never expires between our check and the server's.
    const token = { assertion, token: parsed.access_token, expiresAt: this.now() + Math.max(lifetime - 60, lifetime / 2) * 1000 };
    this.cached = token;
    return token;
  }
}
