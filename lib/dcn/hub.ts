/**
 * One SMP-like server: the senders allowed to post, the MBOs it knows, and on one
 * store its data cache, device registry and outbox. `handle` takes a call as the HTTP
 * layer read it and answers it completely: authentication (401), parameters (400),
 * the right to the security configuration (403), then the processing order of
 * ./processor. It never rejects; every refusal and failure is its response.
 */
import type { Store } from '../store/types';
import { DataCache } from './cache';
import { CallLog, DcnHooks, DcnProcessor, refusal } from './processor';
import { DeviceRegistry } from './registry';
import { authenticate, checkedCall } from './request';
import { DcnError, DcnHttpCall, DcnResponse, DcnSender, MboDefinition, Outbox } from './types';

/** An outbox that owns tables brings them up in `migrate`, which the hub's ready() calls. */
export type HubOutbox = Outbox & { migrate?(): Promise<void> };

export interface DcnHubOptions {
  store: Store;
  senders: DcnSender[];
  mbos: MboDefinition[];
  outbox: HubOutbox;
  /** Clock in milliseconds: log records, cache and registry times. */
  now?: () => number;
}

export class DcnHub {
  readonly cache: DataCache;
  readonly registry: DeviceRegistry;
  readonly outbox: HubOutbox;
  private readonly senders: DcnSender[];
  private readonly processor: DcnProcessor;
  private readonly now: () => number;
  private readiness: Promise<void> | null = null;

  constructor(options: DcnHubOptions) {
    const db = options.store.database();
    this.now = options.now ?? Date.now;
    this.senders = [...options.senders];
    this.cache = new DataCache(db, options.mbos, { now: this.now });
    this.registry = new DeviceRegistry(db, { now: this.now });
    this.outbox = options.outbox;
    this.processor = new DcnProcessor({ db, cache: this.cache, registry: this.registry, outbox: this.outbox, now: this.now });
  }

  /** Brings the cache's, the registry's and the outbox's tables up; tried again after a failure. */
  ready(): Promise<void> {
    this.readiness ??= Promise.all([this.cache.migrate(), this.registry.migrate(), this.outbox.migrate?.()])
      .then(() => undefined)
      .catch((err: Error) => {
        this.readiness = null;
        throw err;
      });
    return this.readiness;
  }

  /** The sender a call's credentials name (the admin routes use it too); a 401 DcnError otherwise. */
  authenticate(call: DcnHttpCall): DcnSender {
    return authenticate(call, this.senders);
  }

  async handle(call: DcnHttpCall, hooks: DcnHooks = {}): Promise<DcnResponse> {
    let sender: DcnSender | undefined;
    try {
      sender = this.authenticate(call);
      const checked = checkedCall(call, sender);
      await this.ready();
      return await this.processor.process(checked, hooks);
    } catch (err) {
      if (err instanceof DcnError && err.status < 500) return refusal(err);
      const log = new CallLog({ cmd: call.parameters.cmd === 'dcn' ? 'dcn' : 'wf', package: call.parameters.package ?? '', security: call.parameters.security ?? '', sender: sender?.user ?? '' }, this.now);
      return log.failure([log.entry('process', `processing failed: ${(err as Error).message}`)]);
    }
  }
}
