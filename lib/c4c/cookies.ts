/**
 * A minimal cookie jar for one C4C system. SAP ties the CSRF token to cookies whose
 * names vary (sap-XSRF_<SID>_<client>, SAP_SESSIONID_…), so every cookie received is
 * sent back, by whatever name (KBA 3048103). One system talks to one tenant host,
 * so cookies are kept per host and paths are not tracked.
 */
import type { IncomingHttpHeaders } from 'node:http';

interface StoredCookie {
  value: string;
  /** Epoch ms, or Infinity for a session cookie. */
  expires: number;
}

export class CookieJar {
  private readonly hosts = new Map<string, Map<string, StoredCookie>>();

  /** Stores every Set-Cookie of a response from `url`; Max-Age=0 or a past Expires deletes. */
  store(url: string, headers: IncomingHttpHeaders, now = Date.now()): void {
    const setCookie = headers['set-cookie'];
    if (!setCookie) return;
    const host = new URL(url).host;
    let jar = this.hosts.get(host);
    if (!jar) {
      jar = new Map();
      this.hosts.set(host, jar);
    }
    for (const line of setCookie) {
      const parsed = parseSetCookie(line, now);
      if (!parsed) continue;
      if (parsed.expires <= now) jar.delete(parsed.name);
      else jar.set(parsed.name, { value: parsed.value, expires: parsed.expires });
    }
  }

  /** The Cookie header for a request to `url`, or undefined when there is nothing to send. */
  header(url: string, now = Date.now()): string | undefined {
    const jar = this.hosts.get(new URL(url).host);
    if (!jar) return undefined;
    const pairs: string[] = [];
    for (const [name, cookie] of jar) {
      if (cookie.expires <= now) jar.delete(name);
      else pairs.push(`${name}=${cookie.value}`);
    }
    return pairs.length ? pairs.join('; ') : undefined;
  }

  clear(): void {
    this.hosts.clear();
  }

  get size(): number {
    let n = 0;
    for (const jar of this.hosts.values()) n += jar.size;
    return n;
  }
}

function parseSetCookie(line: string, now: number): { name: string; value: string; expires: number } | null {
  const [pair, ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return null;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  let expires = Infinity;
  for (const attribute of attributes) {
    const [key, ...rest] = attribute.split('=');
    const k = key.trim().toLowerCase();
    const v = rest.join('=').trim();
    // Max-Age wins over Expires (RFC 6265 §5.3).
    if (k === 'max-age' && /^-?\d+$/.test(v)) {
      expires = now + Number(v) * 1000;
      break;
    }
    if (k === 'expires') {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) expires = t;
    }
  }
  return { name, value, expires };
}
