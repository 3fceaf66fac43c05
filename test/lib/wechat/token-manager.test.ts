import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store, createStore } from '../../../lib/store';
import { FetchedToken, TokenManager, tokenCacheKey } from '../../../lib/wechat/token-manager';
import { pgConfig, usePostgresSchema } from '../store/pg-support';

const SECRET = 'app-secret-never-stored';

class FakePlatform {
  fetches = 0;
  lifetime = 7200;
  failNext: Error | null = null;
  /** Resolves fetches only when released, to hold concurrent callers in flight. */
  private gate: Promise<void> = Promise.resolve();

  /** Holds every fetch until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((r) => (release = r));
    return release;
  }

  fetch = async (): Promise<FetchedToken> => {
    this.fetches++;
    await this.gate;
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    return { accessToken: `TOKEN-${this.fetches}-${'x'.repeat(40)}`, expiresIn: this.lifetime };
  };
}

describe('lib/wechat/token-manager', () => {
  let dir: string;
  let store: Store;
  let platform: FakePlatform;
  let t: number;
  const now = () => t;
  const manager = (s: Store = store, secret = SECRET) =>
    new TokenManager({ store: s, identity: 'oa:wx123:stable', secret, fetchToken: platform.fetch, now });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wxb-tm-'));
    store = createStore({ kind: 'sqlite', path: join(dir, 'tokens.sqlite') }, { now });
    platform = new FakePlatform();
    t = 1_700_000_000_000;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches once for a burst of concurrent callers (single flight)', async () => {
    const release = platform.hold();
    const m = manager();
    const pending = Array.from({ length: 1000 }, () => m.getToken());
    release();
    const tokens = await Promise.all(pending);
    assert.equal(platform.fetches, 1);
    assert.equal(new Set(tokens).size, 1);
  });

  it('keeps the token in the store: a new manager (a restart) reuses it without fetching', async () => {
    const first = await manager().getToken();
    await store.close();
    store = createStore({ kind: 'sqlite', path: join(dir, 'tokens.sqlite') }, { now });
    assert.equal(await manager().getToken(), first);
    assert.equal(platform.fetches, 1);
  });

  it('stores neither the token nor the secret in readable form', async () => {
    const token = await manager().getToken();
    const db = new Database(join(dir, 'tokens.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT key, value FROM wxbridge_kv').all() as { key: string; value: string }[];
    db.close();
    assert.equal(rows.length, 1);
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(token));
    assert.ok(!dump.includes(SECRET));
    assert.equal(rows[0].key, tokenCacheKey('oa:wx123:stable', SECRET));
  });

  it('keys tokens by the secret: a rotated secret does not reuse the old token', async () => {
    const a = await manager().getToken();
    const b = await manager(store, 'rotated-secret').getToken();
    assert.notEqual(a, b);
    assert.equal(platform.fetches, 2);
  });

  it('refreshes ahead of expiry, by the margin', async () => {
    const m = manager();
    const first = await m.getToken();
    t += (7200 - 300) * 1000 - 1;
    assert.equal(await m.getToken(), first);
    assert.equal(platform.fetches, 1);
    t += 1;
    assert.notEqual(await m.getToken(), first);
    assert.equal(platform.fetches, 2);
  });

  it('keeps using a still-valid token when an early refresh fails, and fails once it has expired', async () => {
    const m = manager();
    const first = await m.getToken();
    t += 7000 * 1000;
    platform.failNext = new Error('network down');
    assert.equal(await m.getToken(), first);
    t += 200 * 1000;
    platform.failNext = new Error('network down');
    await assert.rejects(m.getToken(), /network down/);
  });

  it('does not refetch on every call when the platform hands out a token shorter-lived than the margin', async () => {
    platform.lifetime = 200;
    const m = manager();
    const first = await m.getToken();
    t += 99_000;
    assert.equal(await m.getToken(), first);
    assert.equal(platform.fetches, 1);
  });

  it('invalidates a rejected token once, however many callers report it', async () => {
    const m = manager();
    const stale = await m.getToken();
    await Promise.all(Array.from({ length: 50 }, () => m.invalidate(stale).then(() => m.getToken())));
    assert.equal(platform.fetches, 2);
    const fresh = await m.getToken();
    assert.notEqual(fresh, stale);
    // A late report about the old token must not drop the new one.
    await m.invalidate(stale);
    assert.equal(await m.getToken(), fresh);
    assert.equal(platform.fetches, 2);
  });

  it('drops a rejected token from the store too, so other instances do not reuse it', async () => {
    const a = manager();
    const stale = await a.getToken();
    const b = manager();
    assert.equal(await b.getToken(), stale);
    await b.invalidate(stale);
    const fresh = await b.getToken();
    assert.notEqual(fresh, stale);
    // a still holds stale in memory until it is rejected; then it picks up b's token.
    await a.invalidate(stale);
    assert.equal(await a.getToken(), fresh);
    assert.equal(platform.fetches, 2);
  });

  it('lets two instances on one SQLite file (two processes) fetch once between them', async () => {
    const release = platform.hold();
    const other = createStore({ kind: 'sqlite', path: join(dir, 'tokens.sqlite') }, { now });
    const a = manager(store);
    const b = manager(other);
    const pending = [...Array.from({ length: 20 }, () => a.getToken()), ...Array.from({ length: 20 }, () => b.getToken())];
    setTimeout(release, 30);
    const tokens = await Promise.all(pending);
    assert.equal(platform.fetches, 1);
    assert.equal(new Set(tokens).size, 1);
    await other.close();
  });

  it('propagates a failed first fetch to every waiting caller, then fetches again on the next call', async () => {
    platform.failNext = new Error('40125 invalid appsecret');
    const m = manager();
    const results = await Promise.allSettled([m.getToken(), m.getToken()]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(platform.fetches, 1);
    assert.match(await m.getToken(), /^TOKEN-2/);
  });

  describe('on PostgreSQL', () => {
    const schema = usePostgresSchema();

    it('lets three instances with separate pools fetch once between them', async () => {
      const release = platform.hold();
      const stores = [0, 1, 2].map(() => createStore(pgConfig(schema), { now }));
      const managers = stores.map((s) => manager(s));
      const pending = managers.flatMap((m) => Array.from({ length: 30 }, () => m.getToken()));
      setTimeout(release, 50);
      const tokens = await Promise.all(pending);
      assert.equal(platform.fetches, 1);
      assert.equal(new Set(tokens).size, 1);
      await Promise.all(stores.map((s) => s.close()));
    });
  });
});
