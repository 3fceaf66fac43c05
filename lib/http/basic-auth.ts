/**
 * HTTP Basic authentication (RFC 7617) both ways: the header a client sends, and the
 * credentials a server reads from one. The scheme name is case-insensitive (RFC 9110).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function basicHeader(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

/** The user and password an Authorization header carries, or null when it is not Basic. */
export function basicCredentials(authorization: string | undefined): { user: string; password: string } | null {
  const encoded = /^basic[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')?.[1];
  if (!encoded) return null;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Whether the header carries exactly these credentials, compared in constant time. */
export function basicMatches(authorization: string | undefined, user: string, password: string): boolean {
  const given = basicCredentials(authorization);
  if (!given || !user) return false;
  const digest = (u: string, p: string) => createHash('sha256').update(`${u}:${p}`, 'utf8').digest();
  return timingSafeEqual(digest(given.user, given.password), digest(user, password));
}
