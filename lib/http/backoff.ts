/**
 * How long to wait before retrying a request: a server's Retry-After (in seconds) when it
 * sent one, else a delay that doubles with each attempt, with up to a quarter of jitter
 * so that instances retrying together spread out; never more than `maxMs`.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, retryAfter?: string | number): number {
  const seconds = Number(retryAfter);
  if (retryAfter !== undefined && retryAfter !== '' && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, maxMs);
  const base = baseMs * 2 ** attempt;
  return Math.min(maxMs, base + Math.floor(Math.random() * base * 0.25));
}
