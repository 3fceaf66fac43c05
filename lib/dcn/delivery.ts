/**
 * Hands the outbox's messages to the flow: leases due messages of the channels some
 * deliverer wants, gives each to one of those deliverers, and records what the flow
 * answers (acknowledge / fail). A lease is never renewed: the visibility timeout is the
 * time the flow has to answer, after which the message goes out again with the next
 * attempt number, from whichever instance leases first. After the last attempt a message
 * is dead, and goes once to the dead-letter side of every deliverer that wants its channel.
 */
import { randomUUID } from 'node:crypto';
import { DrainLoop } from '../store/drain-loop';
import type { DeviceChannel, Outbox, OutboxMessage, OutboxStats } from './types';

/** Where delivered and dead messages go: in Node-RED, one wf-dcn-deliver node. */
export interface Deliverer {
  channels: readonly DeviceChannel[];
  /** Sends the message on; the answer comes later through acknowledge / fail. A throw counts as a failed attempt. */
  deliver(message: OutboxMessage): void;
  /** A message that ran out of attempts; `lastError` says why. */
  dead(message: OutboxMessage): void;
}

export interface DeliveryWorkerOptions {
  /** Names this instance's leases (default: a new UUID). */
  owner?: string;
  /** How often the outbox is looked at without a kick, e.g. for retries and a dead instance's leases (default 1000 ms). */
  pollMs?: number;
  /** Messages leased at once (default 20). */
  batch?: number;
  /** How long the flow has to answer a message before it goes out again (default 30 s). */
  visibilitySeconds?: number;
  /** Attempts before a message is dead (default 5). */
  maxAttempts?: number;
  /** Seconds to wait before the next attempt after the given one failed (default: 5 s doubling, at most 300 s, ±20 %). */
  retryDelaySeconds?: (attempt: number) => number;
  /** The outbox's failures and deliverers' throws; the worker keeps going. */
  onError?: (err: Error) => void;
  /** Clock in milliseconds, for forgetting hand-outs whose lease is over. */
  now?: () => number;
}

export const DEFAULT_POLL_MS = 1000;
export const DEFAULT_BATCH = 20;
export const DEFAULT_VISIBILITY_SECONDS = 30;
export const DEFAULT_MAX_ATTEMPTS = 5;
const FIRST_RETRY_SECONDS = 5;
const LONGEST_RETRY_SECONDS = 300;
const JITTER = 0.2;

/**
 * 5 s after the first attempt, doubling to at most 300 s, spread by ±20 % so messages
 * that failed together (a channel was down) do not all come back at the same moment.
 */
export function defaultRetryDelaySeconds(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempt - 1));
  return Math.min(LONGEST_RETRY_SECONDS, base * (1 - JITTER + 2 * JITTER * random()));
}

/** What this instance handed out and not yet heard back about: the attempt decides the retry delay. */
interface HandedOut {
  attempt: number;
  leaseEnds: number;
}

export class DeliveryWorker {
  readonly owner: string;
  private readonly batch: number;
  private readonly visibilitySeconds: number;
  private readonly maxAttempts: number;
  private readonly retryDelaySeconds: (attempt: number) => number;
  private readonly onError: (err: Error) => void;
  private readonly now: () => number;
  private readonly loop: DrainLoop;
  private deliverers: Deliverer[] = [];
  /** Which of a channel's deliverers gets the next message: they take turns. */
  private readonly turns = new Map<DeviceChannel, number>();
  private readonly handedOut = new Map<string, HandedOut>();

  constructor(
    private readonly outbox: Outbox,
    options: DeliveryWorkerOptions = {},
  ) {
    this.owner = options.owner ?? randomUUID();
    this.batch = whole('batch', options.batch ?? DEFAULT_BATCH);
    this.visibilitySeconds = positive('visibilitySeconds', options.visibilitySeconds ?? DEFAULT_VISIBILITY_SECONDS);
    this.maxAttempts = whole('maxAttempts', options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.retryDelaySeconds = options.retryDelaySeconds ?? ((attempt) => defaultRetryDelaySeconds(attempt));
    this.onError = options.onError ?? (() => undefined);
    this.now = options.now ?? Date.now;
    // Keeps the process alive: the worker runs until stop(), which its owner calls on close.
    this.loop = new DrainLoop(() => this.drain(), { pollMs: positive('pollMs', options.pollMs ?? DEFAULT_POLL_MS), keepsProcessAlive: true });
  }

  /** Adds where messages of its channels go; returns the function that removes it again. */
  addDeliverer(deliverer: Deliverer): () => void {
    const added: Deliverer = { channels: [...deliverer.channels], deliver: (m) => deliverer.deliver(m), dead: (m) => deliverer.dead(m) };
    this.deliverers = [...this.deliverers, added];
    return () => {
      this.deliverers = this.deliverers.filter((d) => d !== added);
    };
  }

  /** The message reached its device: false when it was no longer pending (answered before, retracted, dead). */
  async acknowledge(messageId: string): Promise<boolean> {
    this.handedOut.delete(messageId);
    return this.outbox.acknowledge(messageId);
  }

  /**
   * The message's attempt failed: it goes out again after the retry delay, or is dead
   * after the last attempt; 'unknown' when it was no longer pending. `attempt` (the
   * failed one) is known for messages this instance handed out; pass it otherwise.
   */
  async fail(messageId: string, error: string, attempt?: number): Promise<'retry' | 'dead' | 'unknown'> {
    const failed = attempt ?? this.handedOut.get(messageId)?.attempt ?? 1;
    this.handedOut.delete(messageId);
    const outcome = await this.outbox.fail(messageId, error, this.retryDelaySeconds(failed), this.maxAttempts);
    // A dead message's dead letter goes out now, not at the next poll.
    if (outcome === 'dead') this.kick();
    return outcome;
  }

  /** Looks for work now: call after committing messages. */
  kick(): void {
    this.loop.kick();
  }

  /** Looks for work now and resolves once that round, and any round it asked for, is over. */
  flush(): Promise<void> {
    return this.loop.flush();
  }

  /** Stops polling and waits for the round in hand; what is leased and unanswered goes out again after its timeout. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  stats(): Promise<OutboxStats> {
    return this.outbox.stats();
  }

  /** Leases and hands out until a round finds less than a batch of either kind. */
  private async drain(): Promise<void> {
    while (!this.loop.stopped) {
      this.forgetEndedLeases();
      const channels = this.wantedChannels();
      if (channels.length === 0) return;
      let leased: OutboxMessage[];
      let dead: OutboxMessage[];
      try {
        leased = await this.outbox.lease(this.owner, this.batch, this.visibilitySeconds, channels, this.maxAttempts);
        await this.handOut(leased);
        dead = await this.outbox.takeDead(this.batch, channels);
      } catch (err) {
        this.onError(err as Error);
        return;
      }
      this.handOutDead(dead);
      if (leased.length < this.batch && dead.length < this.batch) return;
    }
  }

  /** Resolves once the failures of deliverers that threw are recorded. */
  private async handOut(messages: OutboxMessage[]): Promise<void> {
    const leaseEnds = this.now() + this.visibilitySeconds * 1000;
    const failures: Promise<unknown>[] = [];
    for (const message of messages) {
      const deliverer = this.nextDeliverer(message.device.channel);
      // Its deliverer went away meanwhile: the lease runs out and the message goes out again.
      if (!deliverer) continue;
      this.handedOut.set(message.messageId, { attempt: message.attempt, leaseEnds });
      try {
        deliverer.deliver(message);
      } catch (err) {
        this.onError(err instanceof Error ? err : new Error(errorText(err)));
        failures.push(this.fail(message.messageId, errorText(err), message.attempt).catch((failErr: Error) => this.onError(failErr)));
      }
    }
    await Promise.all(failures);
  }

  private handOutDead(messages: OutboxMessage[]): void {
    for (const message of messages) {
      for (const deliverer of this.deliverers.filter((d) => d.channels.includes(message.device.channel))) {
        try {
          deliverer.dead(message);
        } catch (err) {
          this.onError(err as Error);
        }
      }
    }
  }

  /** One of the channel's deliverers, each in turn. */
  private nextDeliverer(channel: DeviceChannel): Deliverer | undefined {
    const candidates = this.deliverers.filter((d) => d.channels.includes(channel));
    if (candidates.length === 0) return undefined;
    const turn = this.turns.get(channel) ?? 0;
    this.turns.set(channel, (turn + 1) % candidates.length);
    return candidates[turn % candidates.length];
  }

  private wantedChannels(): DeviceChannel[] {
    return [...new Set(this.deliverers.flatMap((d) => d.channels))];
  }

  /** After its lease, a message may be anyone's: the flow's late answer then uses the first retry delay. */
  private forgetEndedLeases(): void {
    const now = this.now();
    for (const [messageId, handed] of this.handedOut) if (handed.leaseEnds <= now) this.handedOut.delete(messageId);
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, not ${value}`);
  return value;
}

function whole(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
