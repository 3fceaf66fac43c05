/**
 * Access tokens for one account (OA AppID, or WeCom CorpID + app secret), shared by
 * every sender in every instance that uses the same store.
 *
 * - Cached in memory and in the store under a key made of the account identity and a
 *   keyed hash of the secret (never the secret), encrypted with a key derived from the
 *   secret, so a database dump alone does not yield a usable token.
 * - Refreshed ahead of expiry. One fetch at a time: a promise shared inside the process
 *   (single flight) and the store's lock across instances, re-reading the store once
 *   the lock is held, so N instances with a burst of sends cause one token request.
 * - `invalidate` is compare-and-delete: a thousand sends rejected with the same stale
 *   token drop it once and trigger one refetch.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Store } from '../store/types';

export interface FetchedToken {
  accessToken: string;
  /** Lifetime in seconds as the platform reported it. */
  expiresIn: number;
}

export interface TokenManagerOptions {
  store: Store;
  /** Stable identity of the account: platform, AppID/CorpID, AgentID, token family. */
  identity: string;
  /** The AppSecret / app secret; only hashed and used to derive the cache encryption key. */
  secret: string;
  /** Asks the platform for a token; errors propagate to the caller of getToken. */
  fetchToken: () => Promise<FetchedToken>;
  /** Refresh this many seconds before expiry; default 300. */
  refreshMarginSeconds?: number;
  now?: () => number;
}

interface CachedToken {
  token: string;
  expiresAt: number;
  refreshAt: number;
  /** The exact stored string, for compare-and-delete. */
  stored: string;
}

interface SealedToken {
  v: 1;
  iv: string;
  tag: string;
  data: string;
  expiresAt: number;
  refreshAt: number;
}

/** Below this remaining lifetime a token is never handed out, even as a fallback. */
const LAST_USE_MARGIN_MS = 30_000;

function secretFingerprint(secret: string): string {
  return createHmac('sha256', 'wxbridge:token-cache-key').update(secret).digest('hex').slice(0, 24);
}

/** The store key for an account's token: identity plus a hash of the secret. */
export function tokenCacheKey(identity: string, secret: string): string {
  return `token:${identity}:${secretFingerprint(secret)}`;
}

export class TokenManager {
  readonly cacheKey: string;
  private readonly store: Store;
  private readonly key: Buffer;
  private readonly fetchToken: () => Promise<FetchedToken>;
  private readonly marginMs: number;
  private readonly now: () => number;
  private memory: CachedToken | null = null;
  private inflight: Promise<string> | null = null;
  /** Token requests this manager made; for tests and benchmarks. */
  fetchCount = 0;

  constructor(options: TokenManagerOptions) {
    this.store = options.store;
    this.cacheKey = tokenCacheKey(options.identity, options.secret);
    this.key = createHmac('sha256', 'wxbridge:token-cache-encryption').update(options.secret).digest();
    this.fetchToken = options.fetchToken;
    this.marginMs = (options.refreshMarginSeconds ?? 300) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** A token that is not due for refresh; fetched at most once at a time. */
  getToken(): Promise<string> {
    const cached = this.memory;
    if (cached && this.now() < cached.refreshAt) return Promise.resolve(cached.token);
    this.inflight ??= this.load(cached).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Drops `token` if it is still the current one (the platform rejected it). */
  async invalidate(token: string): Promise<void> {
    const cached = this.memory;
    if (cached?.token === token) {
      this.memory = null;
      await this.store.delete(this.cacheKey, cached.stored);
      return;
    }
    const stored = await this.readStore();
    if (stored?.token === token) await this.store.delete(this.cacheKey, stored.stored);
  }

  private async load(previous: CachedToken | null): Promise<string> {
    try {
      let current = await this.readStore();
      if (!this.fresh(current)) {
        current = await this.store.withLock(this.cacheKey, async () => {
          // Another instance may have fetched while we waited for the lock.
          const again = await this.readStore();
          return this.fresh(again) ? again : this.fetchAndSave();
        });
      }
      this.memory = current;
      return current.token;
    } catch (err) {
      // An early refresh that fails is no reason to stop using a still-valid token.
      if (previous && this.now() < previous.expiresAt - LAST_USE_MARGIN_MS) return previous.token;
      throw err;
    }
  }

  private fresh(token: CachedToken | null): token is CachedToken {
    return token !== null && this.now() < token.refreshAt;
  }

  private async fetchAndSave(): Promise<CachedToken> {
    this.fetchCount++;
    const fetched = await this.fetchToken();
    const fetchedAt = this.now();
    const lifetimeMs = fetched.expiresIn * 1000;
    // A token with less left than the margin (stable_token near its end) is still used,
    // for half of what is left, rather than refetched on every call.
    const refreshAt = fetchedAt + Math.max(lifetimeMs - this.marginMs, lifetimeMs / 2);
    const expiresAt = fetchedAt + lifetimeMs;
    const stored = JSON.stringify(this.seal(fetched.accessToken, expiresAt, refreshAt));
    await this.store.put(this.cacheKey, stored, Math.max(1, Math.ceil(lifetimeMs / 1000)));
    return { token: fetched.accessToken, expiresAt, refreshAt, stored };
  }

  private async readStore(): Promise<CachedToken | null> {
    const stored = await this.store.get(this.cacheKey);
    if (!stored) return null;
    try {
      const sealed = JSON.parse(stored) as SealedToken;
      return { token: this.open(sealed), expiresAt: sealed.expiresAt, refreshAt: sealed.refreshAt, stored };
    } catch {
      // Unreadable (another format or a corrupted row): treated as absent and replaced.
      return null;
    }
  }

  private seal(token: string, expiresAt: number, refreshAt: number): SealedToken {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64'), expiresAt, refreshAt };
  }

  private open(sealed: SealedToken): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  }
}
