/** A request a fuzz case sends: built by the case generators, sent over HTTP or opened directly by the parser targets. */
export interface HttpCase {
  method: string;
  /** Path relative to the route, without the query. */
  path?: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
  /**
   * What the case is: 'content' (authenticated, broken content), 'random' (random bytes),
   * 'auth' (valid content with the mark, broken authentication: must be refused with 401/403),
   * 'unsigned' (authenticated, with the mark only where no signature covers it: the mark must not reach the flow).
   */
  kind: 'content' | 'random' | 'auth' | 'unsigned';
  /** For 'auth' cases: what was broken. */
  broken?: string;
}

/** The query as a URL search string ('' or '?a=b'). */
export function searchOf(query: Record<string, string>): string {
  const text = new URLSearchParams(query).toString();
  return text ? `?${text}` : '';
}

/**
 * The statuses a broken authentication may get: 401 for a signature or login that does not
 * match, 403 for a stale timestamp or a message for another receiver; a message encrypted
 * with another key under a matching signature fails to decrypt (400) or names another receiver (403).
 */
export function refusalsFor(broken: string | undefined): readonly number[] {
  if (broken === 'stale-timestamp') return [403];
  if (broken === 'other-key') return [400, 403];
  if (broken === 'forbidden') return [403];
  return [401];
}

export function describeCase(c: HttpCase): string {
  const body = c.body.toString('utf8');
  return `${c.kind}${c.broken ? `(${c.broken})` : ''} ${c.method} ${c.path ?? ''}${searchOf(c.query)} ${body.length > 200 ? body.slice(0, 200) + `…(${body.length})` : body}`;
}
