/**
 * Hands the items of one durable queue to a handler, one at a time, in order. Each
 * item is leased while it is handled (the lease renewed meanwhile) and marked done
 * afterwards, so an instance that dies mid-item leaves it to whichever instance polls
 * next once the lease runs out: every enqueued item is handled at least once.
 */
import { randomUUID } from 'node:crypto';
import { DrainLoop } from './drain-loop';
import type { QueueItem, Store } from './types';

export interface QueueWorkerOptions {
  /** How long a lease lasts without renewal (default 5 s); renewed every third of it. */
  leaseSeconds?: number;
  /** How often the queue is looked at for items nobody kicked, e.g. a dead instance's (default 1 s). */
  pollMs?: number;
  /** Store failures while taking, renewing or completing; the worker keeps polling. */
  onError?: (err: Error) => void;
}

export class QueueWorker {
  private readonly owner = randomUUID();
  private readonly leaseSeconds: number;
  private readonly onError: (err: Error) => void;
  private readonly loop: DrainLoop;

  constructor(
    private readonly store: Store,
    private readonly queue: string,
    /** Handles one item; a rejection is reported through onError and the item still counts as done. */
    private readonly handle: (item: QueueItem) => Promise<void>,
    options: QueueWorkerOptions = {},
  ) {
    this.leaseSeconds = options.leaseSeconds ?? 5;
    this.onError = options.onError ?? (() => undefined);
    this.loop = new DrainLoop(() => this.drain(), { pollMs: options.pollMs ?? 1000 });
  }

  /** Looks for work now: call after enqueueing. */
  kick(): void {
    this.loop.kick();
  }

  /** Stops polling and waits for the item in hand; items not yet taken stay queued. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async drain(): Promise<void> {
    while (!this.loop.stopped) {
      let item: QueueItem | null;
      try {
        item = await this.store.takeNext(this.queue, this.owner, this.leaseSeconds);
      } catch (err) {
        this.onError(err as Error);
        return;
      }
      if (!item) return;
      await this.handleLeased(item);
    }
  }

  private async handleLeased(item: QueueItem): Promise<void> {
    const renew = setInterval(() => {
      this.store.renewLease(this.queue, item.id, this.owner, this.leaseSeconds).catch((err: Error) => this.onError(err));
    }, (this.leaseSeconds * 1000) / 3);
    try {
      await this.handle(item);
    } catch (err) {
      this.onError(err as Error);
    } finally {
      clearInterval(renew);
    }
    try {
      await this.store.complete(this.queue, item.id, this.owner);
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
