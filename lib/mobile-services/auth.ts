/**
 * The three ways a back end authenticates towards Mobile Services push: the push service
 * key as X-API-Key, Basic with the key's alias and the key, or an OAuth client-credentials
 * bearer token, fetched from the token URL and cached until shortly before it expires.
 */
import type { AxiosInstance } from 'axios';
import { basicHeader } from '../http/basic-auth';
import { MobileServicesError, serverMessage } from './errors';

export type MobileServicesAuth =
  | { kind: 'apiKey'; apiKey: string }
  | { kind: 'basic'; alias: string; key: string }
  | { kind: 'oauth'; tokenUrl: string; clientId: string; clientSecret: string };

/** A token is renewed this long before its expiry, or at half its lifetime when that is shorter. */
const RENEW_MARGIN_MS = 60_000;

export class AuthHeaders {
  /** Token endpoint requests made (tests and diagnostics). */
  tokenRequests = 0;
  private token: { value: string; renewAt: number } | null = null;
  private fetching: Promise<string> | null = null;

  constructor(
    private readonly auth: MobileServicesAuth,
    private readonly http: AxiosInstance,
    private readonly now: () => number = Date.now,
  ) {}

  get usesToken(): boolean {
    return this.auth.kind === 'oauth';
  }

  async headers(): Promise<Record<string, string>> {
    const auth = this.auth;
    if (auth.kind === 'apiKey') return { 'X-API-Key': auth.apiKey };
    if (auth.kind === 'basic') return { Authorization: basicHeader(auth.alias, auth.key) };
    return { Authorization: `Bearer ${await this.bearer()}` };
  }

  /** Forgets the cached token, e.g. after the server refused it. */
  invalidate(): void {
    this.token = null;
  }

  private bearer(): Promise<string> {
    if (this.token && this.now() < this.token.renewAt) return Promise.resolve(this.token.value);
    // Concurrent pushes share one token request.
    this.fetching ??= this.fetchToken().finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  private async fetchToken(): Promise<string> {
    if (this.auth.kind !== 'oauth') throw new Error('not an OAuth configuration');
    const { tokenUrl, clientId, clientSecret } = this.auth;
    this.tokenRequests++;
    let answer;
    try {
      answer = await this.http.post(tokenUrl, 'grant_type=client_credentials', {
        headers: { Authorization: basicHeader(clientId, clientSecret), 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        validateStatus: () => true,
      });
    } catch (err) {
      throw new MobileServicesError('network', 'ms_token_network', `token request failed: ${(err as NodeJS.ErrnoException).code ?? 'no answer'}`, {
        reason: (err as NodeJS.ErrnoException).code ?? 'no answer',
      });
    }
    const body = answer.data as { access_token?: unknown; expires_in?: unknown } | string;
    if (answer.status !== 200 || typeof body !== 'object' || typeof body.access_token !== 'string') {
      const detail = serverMessage(body) || `HTTP ${answer.status}`;
      throw new MobileServicesError('auth', 'ms_token', `the token endpoint refused the client (${answer.status}): ${detail}`, { server: detail }, answer.status);
    }
    const lifetimeMs = (Number(body.expires_in) || 0) * 1000;
    this.token = { value: body.access_token, renewAt: this.now() + Math.max(0, lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 2)) };
    return body.access_token;
  }
}
