/**
 * Deliveries of inbound callbacks, from arrival until their HTTP answer.
 *
 * WeChat waits 5 s for an answer and then retries the same delivery (3 tries in all).
 * A tracker keys each delivery by its de-duplication key, so a retry never reaches the
 * flow twice: it waits for the answer of the first try, or gets the answer already
 * given, while the key is remembered. A reply that comes after the deadline (when the
 * platform has already been told "no reply") is reported as late, so the caller can
 * deliver it another way.
 */
import { randomBytes } from 'node:crypto';

/**
 * The answer of a delivery that gets no passive reply. Deliveries are settled with the
 * plain reply XML or this; the endpoint turns it into "success" (Official Account) or an
 * empty body (WeCom), and seals a reply like the message it answers.
 */
export const NO_REPLY = '';

/** WeChat's three tries end within about 15 s; a delivery's key is remembered twice that long. */
export const RETRY_WINDOW_SECONDS = 30;

export type SettleResult = 'answered' | 'late' | 'duplicate';

export class Delivery {
  /** Resolves with the HTTP body to answer, once a reply or the deadline settles it. */
  readonly answer: Promise<string>;
  private resolve!: (body: string) => void;
  private state: 'open' | 'expired' | 'answered' = 'open';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly key: string,
    /** Called once with the reply that closes the delivery, in time or late. */
    private readonly onClosed: (delivery: Delivery, body: string) => void,
  ) {
    this.answer = new Promise((resolve) => (this.resolve = resolve));
  }

  /** Answers NO_REPLY if nothing has settled the delivery within `ms`. */
  armDeadline(ms: number, onExpired?: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'open') return;
      this.state = 'expired';
      this.resolve(NO_REPLY);
      onExpired?.();
    }, ms);
  }

  /** Gives the answer. Only the first settle counts; after the deadline it is 'late'. */
  settle(body: string): SettleResult {
    if (this.state === 'answered') return 'duplicate';
    const late = this.state === 'expired';
    this.state = 'answered';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.onClosed(this, body);
    if (late) return 'late';
    this.resolve(body);
    return 'answered';
  }

  /** Stops the deadline timer and answers NO_REPLY if still open, e.g. when the node is closed. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.state === 'open') {
      this.state = 'expired';
      this.resolve(NO_REPLY);
    }
  }
}

export type Begin = { retry: false; delivery: Delivery } | { retry: true; answer: Promise<string> };

/**
 * The deliveries still open for a reply, by id: owned by the account (its config node),
 * shared by the wechat-in nodes that receive for it and the wechat-reply nodes that answer.
 */
export class DeliveryRegistry {
  /** Ids only need to be unique within this registry: a random prefix and a counter. */
  private readonly prefix = randomBytes(6).toString('base64url');
  private counter = 0;
  private readonly open = new Map<string, Delivery>();

  find(id: unknown): Delivery | undefined {
    return typeof id === 'string' ? this.open.get(id) : undefined;
  }

  nextId(): string {
    this.counter = (this.counter + 1) % Number.MAX_SAFE_INTEGER;
    return this.prefix + this.counter.toString(36);
  }

  add(delivery: Delivery): void {
    this.open.set(delivery.id, delivery);
  }

  remove(id: string): void {
    this.open.delete(id);
  }

  get size(): number {
    return this.open.size;
  }
}

/**
 * What a tracker remembers of a key: the delivery while it can still be answered, then
 * only the answer, so the tens of thousands of keys kept under load cost little memory.
 */
interface Remembered {
  expires: number;
  delivery: Delivery | null;
  answer: string | null;
}

export class DeliveryTracker {
  /** Every delivery by de-duplication key, in arrival order, kept for `ttlMs` after it arrived. */
  private readonly byKey = new Map<string, Remembered>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly registry: DeliveryRegistry,
    private readonly ttlMs: number = RETRY_WINDOW_SECONDS * 1000,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.min(ttlMs, 10_000));
    this.sweeper.unref();
  }

  begin(key: string, now: number = Date.now()): Begin {
    const known = this.byKey.get(key);
    if (known && known.expires > now) {
      // A retry gets the answer given (or the reply that came late), else waits for the first try's.
      const answer = known.answer !== null ? Promise.resolve(known.answer) : known.delivery!.answer;
      return { retry: true, answer };
    }
    if (known) this.forget(key, known);
    const remembered: Remembered = { expires: now + this.ttlMs, delivery: null, answer: null };
    const delivery = new Delivery(this.registry.nextId(), key, (d, body) => {
      this.registry.remove(d.id);
      remembered.delivery = null;
      remembered.answer = body;
    });
    remembered.delivery = delivery;
    this.byKey.set(key, remembered);
    this.registry.add(delivery);
    return { retry: false, delivery };
  }

  get size(): number {
    return this.byKey.size;
  }

  private forget(key: string, entry: Remembered): void {
    if (entry.delivery) this.registry.remove(entry.delivery.id);
    this.byKey.delete(key);
  }

  /** Keys are in arrival order, so expired ones are all at the front. */
  private sweep(now: number): void {
    for (const [key, entry] of this.byKey) {
      if (entry.expires > now) break;
      this.forget(key, entry);
    }
  }

  /** Answers everything still open with NO_REPLY and stops the sweeper. */
  close(): void {
    clearInterval(this.sweeper);
    for (const { delivery } of this.byKey.values()) {
      if (!delivery) continue;
      delivery.cancel();
      this.registry.remove(delivery.id);
    }
    this.byKey.clear();
  }
}
