/**
 * The loop of a worker that drains a queue kept in the store: a round of `drain` when
 * kicked (work was just committed) and every `pollMs` without a kick (work nobody
 * kicked for: a retry that fell due, a dead instance's lease that ran out). Never two
 * rounds at once; a kick during a round asks for one more right after it, so nothing
 * committed meanwhile waits for the next poll. The store's QueueWorker and the WF-DCN
 * hub's DeliveryWorker both run on it.
 */
export interface DrainLoopOptions {
  pollMs: number;
  /** Whether the poll timer keeps the process alive (default false: it runs until stop(), but does not hold the process up). */
  keepsProcessAlive?: boolean;
}

export class DrainLoop {
  private readonly poller: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private again = false;
  private halted = false;

  constructor(
    /** One round: takes work until none is left; handles its own failures (a rejection ends the round only). */
    private readonly drain: () => Promise<void>,
    options: DrainLoopOptions,
  ) {
    // The first look is a poll away, not now: a flow that is starting may not be wired up yet.
    this.poller = setInterval(() => this.kick(), options.pollMs);
    if (!options.keepsProcessAlive) this.poller.unref();
  }

  /** True once stop() was called: a round in hand ends at its next item. */
  get stopped(): boolean {
    return this.halted;
  }

  /** Looks for work now: call after committing some. */
  kick(): void {
    if (this.halted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Looks for work now and resolves once that round, and any round it asked for, is over. */
  async flush(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  /** Stops polling and waits for the round in hand. */
  async stop(): Promise<void> {
    this.halted = true;
    clearInterval(this.poller);
    await this.running;
  }
}
