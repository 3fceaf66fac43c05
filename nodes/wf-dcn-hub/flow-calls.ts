/**
 * The hub's calls into the flow that wait for an answer: a named MBO operation, a
 * pre-process filter, a post-process filter. wf-dcn-in opens one per stage it hands to
 * the flow and holds the HTTP request until a wf-dcn-response answers it (or its time
 * runs out); the registry belongs to the hub config node, so any wf-dcn-response can
 * find the call by the id on the message. Closing a wf-dcn-in fails its open calls, so
 * no request waits on a node that is gone.
 */
import { randomBytes } from 'node:crypto';

export type FlowStage = 'operation' | 'preprocess' | 'postprocess';

/** What each stage's answer carries. */
export interface StageAnswers {
  /** The operation succeeded; a failure fails the call instead. */
  operation: void;
  /** The request text the filter made of the raw request. */
  preprocess: string;
  /** The response body, and headers to add to the response. */
  postprocess: { body: string; headers: Record<string, string> };
}

export class FlowCall<S extends FlowStage> {
  readonly promise: Promise<StageAnswers[S]>;
  private resolve!: (value: StageAnswers[S]) => void;
  private reject!: (err: Error) => void;
  private timer: NodeJS.Timeout | null = null;
  private open = true;

  constructor(
    readonly id: string,
    readonly stage: S,
    /** The node that opened it (a wf-dcn-in), so closing that node fails its calls. */
    readonly owner: string,
    private readonly onSettled: (call: FlowCall<S>) => void,
  ) {
    this.promise = new Promise<StageAnswers[S]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Fails the call with `expired()` if nothing answered it within `ms`. */
  armDeadline(ms: number, expired: () => Error): void {
    this.timer = setTimeout(() => this.fail(expired()), ms);
  }

  /** Only the first answer or failure counts; later ones return false. */
  answer(value: StageAnswers[S]): boolean {
    if (!this.settle()) return false;
    this.resolve(value);
    return true;
  }

  fail(err: Error): boolean {
    if (!this.settle()) return false;
    this.reject(err);
    return true;
  }

  private settle(): boolean {
    if (!this.open) return false;
    this.open = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.onSettled(this);
    return true;
  }
}

/** A call of any stage; its `stage` says which. */
export type AnyFlowCall = { [S in FlowStage]: FlowCall<S> }[FlowStage];

export class FlowCalls {
  /** Ids only need to be unique within this registry: a random prefix and a counter. */
  private readonly prefix = randomBytes(6).toString('base64url');
  private counter = 0;
  private readonly calls = new Map<string, AnyFlowCall>();

  /** Opens a call that fails with `expired()` unless answered within `timeoutMs`. */
  open<S extends FlowStage>(stage: S, owner: string, timeoutMs: number, expired: () => Error): FlowCall<S> {
    this.counter = (this.counter + 1) % Number.MAX_SAFE_INTEGER;
    const call = new FlowCall<S>(this.prefix + this.counter.toString(36), stage, owner, (settled) => this.calls.delete(settled.id));
    this.calls.set(call.id, call as unknown as AnyFlowCall);
    call.armDeadline(timeoutMs, expired);
    return call;
  }

  /** The open call with this id; undefined when it was answered, timed out, or never existed. */
  find(id: unknown): AnyFlowCall | undefined {
    return typeof id === 'string' ? this.calls.get(id) : undefined;
  }

  /** Fails every open call `owner` opened. */
  closeOwner(owner: string, err: Error): void {
    for (const call of [...this.calls.values()]) if (call.owner === owner) call.fail(err);
  }

  /** Fails every open call. */
  close(err: Error): void {
    for (const call of [...this.calls.values()]) call.fail(err);
  }

  get size(): number {
    return this.calls.size;
  }
}
