/**
 * Deliveries claimed across every instance that shares a store, so that a WeChat retry
 * landing on another instance neither runs its flow a second time nor is lost.
 *
 * A claim starts as a short lease ("pending:<holder>") that its holder renews while the
 * delivery is open, and becomes final ("done:<answer>") once the delivery is answered,
 * for the rest of WeChat's retry window. A retry reaching another instance:
 * - finds it done: answers with the same reply, without running its flow;
 * - finds it pending: waits for the holder to finish, and takes the delivery over when
 *   the lease runs out (the holder died), so the message reaches a flow after all.
 * This is at-least-once: a holder that died after its flow got the message (but before
 * answering) means the flow of another instance gets it again.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store';
import { RETRY_WINDOW_SECONDS } from './deliveries';
import { signatureReusedError } from './signed-queries';

/** How long a claim lasts without renewal; WeChat's next try comes about 5 s after the first. */
export const CLAIM_LEASE_SECONDS = 3;
const RENEW_EVERY_MS = 1000;
const POLL_EVERY_MS = 100;

const PENDING = 'pending:';
const DONE = 'done:';

export type SharedClaim =
  | { kind: 'mine'; lease: ClaimLease }
  /** Another instance answered (or is answering) the delivery; `answer` is its reply, or NO_REPLY. */
  | { kind: 'answered'; answer: string };

export class ClaimLease {
  private timer: NodeJS.Timeout | null;
  private finished = false;

  constructor(
    private readonly store: Store,
    private readonly key: string,
    private readonly holding: string,
    onRenewFailed: (err: Error) => void,
  ) {
    this.timer = setInterval(() => {
      this.store.replace(this.key, this.holding, this.holding, CLAIM_LEASE_SECONDS).catch(onRenewFailed);
    }, RENEW_EVERY_MS);
    this.timer.unref();
  }

  /** Makes the claim final with the delivery's answer, for the rest of WeChat's retry window. */
  async finish(answer: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.stopRenewing();
    await this.store.replace(this.key, this.holding, DONE + answer, RETRY_WINDOW_SECONDS);
  }

  /** Stops renewing without finishing: another instance takes over once the lease runs out. */
  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export class SharedDeliveries {
  /** Identifies this instance's claims. */
  private readonly holding = PENDING + randomUUID();

  constructor(
    private readonly store: Store,
    /** Names the account (and so its retries) within the store. */
    private readonly scope: string,
    private readonly onRenewFailed: (err: Error) => void = () => undefined,
  ) {}

  /**
   * Claims a delivery, or learns how another instance answered it. Waits at most
   * `maxWaitMs` for a live holder; after that the holder is still working on it, so
   * this try is answered NO_REPLY ('') and WeChat stops retrying.
   */
  async claim(dedupKey: string, maxWaitMs: number): Promise<SharedClaim> {
    const key = `dedup:wechat:${this.scope}:${dedupKey}`;
    const giveUpAt = Date.now() + maxWaitMs;
    for (;;) {
      if (await this.store.claim(key, CLAIM_LEASE_SECONDS, this.holding)) {
        return { kind: 'mine', lease: new ClaimLease(this.store, key, this.holding, this.onRenewFailed) };
      }
      const value = await this.store.get(key);
      if (value?.startsWith(DONE)) return { kind: 'answered', answer: value.slice(DONE.length) };
      // undefined: the claim expired between the two reads; claim again at once.
      if (value !== undefined) {
        if (Date.now() >= giveUpAt) return { kind: 'answered', answer: '' };
        await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
      }
    }
  }

  /**
   * One signed query, one message, across instances: throws 403 signature_reused when
   * `signature` already carried another message within `keepMs`.
   */
  async recordSignature(signature: string, dedupKey: string, keepMs: number): Promise<void> {
    const key = `sig:wechat:${this.scope}:${signature}`;
    const keepSeconds = Math.ceil(keepMs / 1000);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.store.claim(key, keepSeconds, dedupKey)) return;
      const carried = await this.store.get(key);
      if (carried === dedupKey) return;
      if (carried !== undefined) throw signatureReusedError();
    }
  }
}
