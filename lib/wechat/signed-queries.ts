/**
 * One signed query, one message. A plain callback's `signature` covers the token,
 * timestamp and nonce but not the body, so whoever saw one callback URL (a proxy log,
 * a browser history) could send any body under it while its timestamp is accepted.
 * The ledger remembers which message each signature carried: the same message again
 * is a retry, another message under the same signature is refused.
 */
import { CallbackError } from './callback';

/** Entries are kept this long beyond the replay window when the window is disabled (0). */
const FALLBACK_KEEP_SECONDS = 300;
/** Bounds the memory a flood of distinct signed callbacks can take; the oldest go first. */
const MAX_ENTRIES = 200_000;

interface Entry {
  dedupKey: string;
  expires: number;
}

export function signatureReusedError(): CallbackError {
  return new CallbackError(403, 'signature_reused', 'this signed query already carried another message');
}

export class SignedQueryLedger {
  private readonly bySignature = new Map<string, Entry>();
  readonly keepMs: number;

  /** `replayWindowSeconds`: how far a timestamp may be from our clock, so how long a signature stays usable. */
  constructor(replayWindowSeconds: number) {
    // A timestamp up to one window ahead stays acceptable until two windows from now.
    this.keepMs = 2 * (replayWindowSeconds || FALLBACK_KEEP_SECONDS) * 1000;
  }

  /** Records the signature's message; throws 403 signature_reused when it carried another one. */
  record(signature: string, dedupKey: string, now: number = Date.now()): void {
    this.sweep(now);
    const known = this.bySignature.get(signature);
    if (known && known.expires > now) {
      if (known.dedupKey !== dedupKey) throw signatureReusedError();
      return;
    }
    this.bySignature.delete(signature);
    this.bySignature.set(signature, { dedupKey, expires: now + this.keepMs });
    if (this.bySignature.size > MAX_ENTRIES) this.bySignature.delete(this.bySignature.keys().next().value as string);
  }

  get size(): number {
    return this.bySignature.size;
  }

  /** Entries are in insertion order with one keep time, so expired ones are at the front. */
  private sweep(now: number): void {
    for (const [signature, entry] of this.bySignature) {
      if (entry.expires > now) break;
      this.bySignature.delete(signature);
    }
  }
}
