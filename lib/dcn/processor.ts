/**
 * The documented processing order of a checked call (SMP's WF-DCN flow; reference
 * §4/§5, ../../README.md "WF-DCN hub"):
 *
 * 1. the pre-process filter, when `dcn_filter` names one (a hook the flow supplies);
 * 2. the request text parsed into a WfDcnRequest (cmd=wf) or a DcnRequest (cmd=dcn);
 * 3. each DCN request applied to the data cache all or nothing: the first failing
 *    message rolls back the request's earlier messages and skips the rest; for cmd=wf
 *    a failed DCN request also skips the DCN requests after it, and those before it
 *    stay committed (SMP commits step 4 per DCN request);
 * 4. cmd=wf only, when step 3 had no failure: all or nothing, the receivers' devices
 *    looked up (`to` + `security`) and one message per device created in the outbox
 *    (:upsert), or the earlier :upsert's messages withdrawn (:delete). Any failure
 *    there creates nothing, and does not undo step 3;
 * 5. the post-process filter, which may replace the result's body and set headers
 *    (only of a 200: a 500 carries the log records as SMP's did).
 *
 * A `dcn_filter` needs both hooks (SMP's DCNFilter has both methods): when either is
 * missing the call fails with 500 "not available" before anything is done. A receiver
 * with no registered device is named in the result and the others still get their
 * messages; when no receiver has one, the call succeeds saying so [U].
 *
 * How it commits: a cmd=wf without named operations is ONE transaction, each DCN
 * request of step 3 and step 4 a savepoint in it, so a failing part is undone alone
 * (exactly the rule above) and the request costs one commit, not one per part. With
 * named operations (and for cmd=dcn) each DCN request is a transaction of its own
 * (see below), and step 4 one more.
 *
 * The response is built only after the data and the messages are committed, so a 200
 * means both are durable. Failures in 3 or 4 answer 500 with JSON log records; cmd=dcn
 * answers 200 with one result record per message even when one failed [U: SMP's
 * documentation implies per-record failures come back inside the result], and 500
 * only when the store itself failed.
 *
 * Named MBO operations (any op besides :upsert and :delete) go to the flow through
 * `hooks.namedOperation`, in message order. The flow runs outside the cache's
 * transaction: the request's cache writes are checked in order as the messages come,
 * and written together in one transaction after the last message succeeded, so no
 * write lock is held while a flow works (a flow reading the hub's store from a
 * named operation would otherwise wait on itself). Seen from outside it is the same
 * transaction: nothing of the request is visible before all of it is. What a named
 * operation did itself cannot be rolled back; the result says when it ran before a
 * failure.
 */
import type { SqlDatabase, SqlExecutor, SqlTransaction } from '../store/sql';
import { CacheChange, DataCache } from './cache';
import { DeviceRegistry } from './registry';
import { parseDcnRequest, parseWfRequest } from './request';
import { DcnCall, DcnCommand, DcnError, DcnMessage, DcnRequest, DcnResponse, DcnResultRecord, Device, Outbox, WfDcnRequest } from './types';

/** What a named MBO operation hands the flow. */
export interface NamedOperation {
  cmd: DcnCommand;
  /** The DCN request's `pkg`, version included, as sent. */
  package: string;
  mbo: string;
  op: string;
  cols: Record<string, unknown>;
  /** The DCN request's `id` ('' for a cmd=dcn request without one). */
  requestId: string;
  messageId: string;
}

/** What the flow supplies: SMP's DCNFilter (pre/post-process, chosen by `dcn_filter`) and the named MBO operations. */
export interface DcnHooks {
  /** Turns the raw request text into WF-DCN / DCN JSON text. */
  preprocess?(filter: string, raw: string, headers: Record<string, string>): Promise<string>;
  /** Turns the result JSON text into the body sent; may set response headers (lower-case names) in `headers`. */
  postprocess?(filter: string, resultJson: string, headers: Record<string, string>): Promise<string>;
  /** Performs a named MBO operation; rejects when it failed (a DcnError's message is kept as it is). */
  namedOperation?(op: NamedOperation): Promise<void>;
}

/** One entry of a 500 body: what was asked and what went wrong, as SMP's server log had it. */
export interface DcnLogRecord {
  time: string;
  cmd: DcnCommand;
  package: string;
  security: string;
  /** The sender. */
  user: string;
  /** The WF-DCN request's id (or the DCN request's). */
  id: string;
  subject: string;
  from: string;
  to: string;
  /** 'data' (a DCN request), ':upsert' / ':delete' (the messages), 'preprocess', 'postprocess', 'process'. */
  operation: string;
  /** The result record this entry reports on, when there is one. */
  recordID?: string;
  success?: boolean;
  error: string;
}

export interface ProcessorParts {
  db: SqlDatabase;
  cache: DataCache;
  registry: DeviceRegistry;
  outbox: Outbox;
  now: () => number;
}

/** The checked cache writes of one DCN request, with each message's place in it. */
type Writes = Array<{ index: number; message: DcnMessage; change: CacheChange }>;

/** Runs a DCN request's writes all or nothing: a transaction of its own, or a savepoint of the caller's. */
type AllOrNothing = (work: (tx: SqlExecutor) => Promise<void>) => Promise<void>;

/** What step 3 and step 4 of a cmd=wf came to: step 4's record or why it failed, absent when step 3 failed. */
interface WorkflowSteps {
  outcomes: RequestOutcome[];
  failed?: RequestOutcome;
  messages?: DcnResultRecord | Error;
}

/** How one DCN request went: fine, failed at a message, or skipped after an earlier request failed. */
interface RequestOutcome {
  request: DcnRequest;
  failure?: MessageFailure;
  skipped?: boolean;
  /** Ids of the named operations that ran. */
  namedRan: string[];
}

interface MessageFailure {
  index: number;
  message: DcnMessage;
  error: string;
  /** The store failed, not the message: the call is answered 500 whatever the command. */
  internal: boolean;
}

const JSON_HEADERS = (): Record<string, string> => ({ 'content-type': 'application/json; charset=utf-8' });

export class DcnProcessor {
  constructor(private readonly parts: ProcessorParts) {}

  /** Answers a checked call; never rejects: refusals and failures become their responses. */
  async process(call: DcnCall, hooks: DcnHooks = {}): Promise<DcnResponse> {
    const log = new CallLog(call, this.parts.now);
    try {
      if (call.filter && (!hooks.preprocess || !hooks.postprocess)) {
        return log.failure([log.entry('preprocess', `the filter ${call.filter} is not available`)]);
      }
      const text = call.filter ? await this.preprocessed(call, hooks, log) : call.request;
      if (typeof text !== 'string') return text;
      if (call.cmd === 'dcn') return await this.general(call, parseDcnRequest(text, call.package), hooks, log);
      return await this.workflow(call, parseWfRequest(text), hooks, log);
    } catch (err) {
      if (err instanceof DcnError && err.status < 500) return refusal(err);
      return log.failure([log.entry('process', `processing failed: ${(err as Error).message}`)]);
    }
  }

  private async preprocessed(call: DcnCall, hooks: DcnHooks, log: CallLog): Promise<string | DcnResponse> {
    try {
      const text: unknown = await hooks.preprocess!(call.filter, call.request, { ...call.headers });
      if (typeof text !== 'string') return log.failure([log.entry('preprocess', `the filter ${call.filter} returned no request text`)]);
      return text;
    } catch (err) {
      return log.failure([log.entry('preprocess', `the filter ${call.filter} failed in preprocess: ${(err as Error).message}`)]);
    }
  }

  /** cmd=dcn: one transaction; one result record per message, 200 even when a message failed. */
  private async general(call: DcnCall, request: DcnRequest, hooks: DcnHooks, log: CallLog): Promise<DcnResponse> {
    log.request = { id: request.id, package: request.pkg };
    const outcome = await this.apply('dcn', request, hooks);
    const records = messageRecords(outcome);
    if (outcome.failure?.internal) {
      return log.failure(records.map((r) => ({ ...log.entry('data', r.statusMessage), recordID: r.recordID, success: r.success })));
    }
    return this.succeeded(call, records, hooks, log);
  }

  /** cmd=wf: the data, then (only when it all succeeded) the messages, all or nothing. */
  private async workflow(call: DcnCall, request: WfDcnRequest, hooks: DcnHooks, log: CallLog): Promise<DcnResponse> {
    log.wf = request;
    const steps = hasNamedOperations(request) ? await this.stepByStep(call, request, hooks) : await this.inOneCommit(call, request);
    const { outcomes, failed } = steps;
    const dataRecords = outcomes.map((o) => requestRecord(o, failed));
    const dataEntries = () => outcomes.map((o, i) => ({ ...log.entry('data', dataRecords[i].statusMessage, o.request.pkg), recordID: dataRecords[i].recordID, success: dataRecords[i].success }));
    if (failed) {
      const skipped = `no messages were created because DCN request ${failed.request.id} failed`;
      return log.failure([...dataEntries(), { ...log.entry(request.op, skipped), recordID: request.id, success: false }]);
    }
    // Step 4 ran whenever step 3 did not fail.
    const messages = steps.messages!;
    if (messages instanceof Error) {
      const kept = request.data.length ? '; the data of the DCN requests stays committed' : '';
      const error = `no messages were created: ${messages.message}${kept}`;
      return log.failure([...dataEntries(), { ...log.entry(request.op, error), recordID: request.id, success: false }]);
    }
    return this.succeeded(call, [...dataRecords, messages], hooks, log);
  }

  /**
   * Steps 3 and 4 in one transaction, each DCN request and the messages under a savepoint
   * of their own: a failing part is undone alone, the parts before it are committed.
   */
  private inOneCommit(call: DcnCall, request: WfDcnRequest): Promise<WorkflowSteps> {
    return this.parts.db.transaction(async (tx) => {
      const steps = await this.dataSteps(request, (dcnRequest) => this.applyChecked(dcnRequest, this.checked(dcnRequest), inSavepoint(tx)));
      if (steps.failed) return steps;
      return { ...steps, messages: await tx.savepoint(() => this.messagesInTx(tx, call, request)).catch((err: Error) => err) };
    });
  }

  /** Steps 3 and 4 with named operations: the flow works between them, so no transaction spans them. */
  private async stepByStep(call: DcnCall, request: WfDcnRequest, hooks: DcnHooks): Promise<WorkflowSteps> {
    const steps = await this.dataSteps(request, (dcnRequest) => this.apply('wf', dcnRequest, hooks));
    if (steps.failed) return steps;
    return { ...steps, messages: await this.parts.db.transaction((tx) => this.messagesInTx(tx, call, request)).catch((err: Error) => err) };
  }

  /** Step 3: the DCN requests in order, until the first that fails; the ones after it are skipped. */
  private async dataSteps(request: WfDcnRequest, apply: (dcnRequest: DcnRequest) => Promise<RequestOutcome>): Promise<WorkflowSteps> {
    const outcomes: RequestOutcome[] = [];
    let failed: RequestOutcome | undefined;
    for (const dcnRequest of request.data) {
      if (failed) {
        outcomes.push({ request: dcnRequest, skipped: true, namedRan: [] });
        continue;
      }
      const outcome = await apply(dcnRequest);
      outcomes.push(outcome);
      if (outcome.failure) failed = outcome;
    }
    return { outcomes, failed };
  }

  /** Step 4: the fan-out of an :upsert, the withdrawal of a :delete. */
  private messagesInTx(tx: SqlExecutor, call: DcnCall, request: WfDcnRequest): Promise<DcnResultRecord> {
    return request.op === ':upsert' ? this.fanOut(tx, call, request) : this.retract(tx, call, request);
  }

  /** One message per device of each receiver, inside the fan-out's transaction. */
  private async fanOut(tx: SqlExecutor, call: DcnCall, request: WfDcnRequest): Promise<DcnResultRecord> {
    const devices = await this.parts.registry.devicesInTx(tx, call.security, request.to);
    const created = await this.parts.outbox.createInTx(tx, request, devices, call.security);
    return { recordID: request.id, success: true, statusMessage: fanOutStatus(request.to, devices, created.length) };
  }

  /** A :delete withdraws the earlier :upsert of the same id on every device that got it. */
  private async retract(tx: SqlExecutor, call: DcnCall, request: WfDcnRequest): Promise<DcnResultRecord> {
    const outcome = await this.parts.outbox.retractInTx(tx, request.id, call.security);
    const statusMessage = outcome.known
      ? `withdrawn: ${count(outcome.cancelled, 'undelivered message')} cancelled; retracted on ${count(outcome.retractions, 'device')} that had it`
      : `no earlier :upsert has the id ${request.id}; nothing was withdrawn`;
    return { recordID: request.id, success: true, statusMessage };
  }

  /** 200 with the result records, through the post-process filter when there is one. */
  private async succeeded(call: DcnCall, records: DcnResultRecord[], hooks: DcnHooks, log: CallLog): Promise<DcnResponse> {
    const json = JSON.stringify(records);
    const headers = JSON_HEADERS();
    if (!call.filter) return { status: 200, body: json, headers };
    try {
      const body: unknown = await hooks.postprocess!(call.filter, json, headers);
      if (typeof body !== 'string') throw new Error('it returned no text');
      return { status: 200, body, headers };
    } catch (err) {
      // Everything is committed by now; the answer says so.
      return log.failure([log.entry('postprocess', `the filter ${call.filter} failed in postprocess: ${(err as Error).message}; the data and messages are committed`)]);
    }
  }

  /**
   * One DCN request: its messages in order (cache writes checked, named operations
   * run), then the writes in one transaction. The first failure ends it.
   */
  private async apply(cmd: DcnCommand, request: DcnRequest, hooks: DcnHooks): Promise<RequestOutcome> {
    const writes: Writes = [];
    const namedRan: string[] = [];
    for (const [index, message] of request.messages.entries()) {
      try {
        if (DataCache.isCacheOperation(message.op)) {
          writes.push({ index, message, change: this.parts.cache.check(request.pkg, message) });
        } else {
          this.parts.cache.definition(request.pkg, message.mbo);
          await namedOperation(cmd, request, message, hooks);
          namedRan.push(message.id);
        }
      } catch (err) {
        return { request, failure: failureOf(index, message, err), namedRan };
      }
    }
    return this.applyChecked(request, { writes, namedRan }, (work) => this.parts.db.transaction(work));
  }

  /** A DCN request of cache writes only, checked: its writes, or the first message that fails the check. */
  private checked(request: DcnRequest): { writes: Writes; namedRan: string[]; failure?: MessageFailure } {
    const writes: Writes = [];
    for (const [index, message] of request.messages.entries()) {
      try {
        writes.push({ index, message, change: this.parts.cache.check(request.pkg, message) });
      } catch (err) {
        return { writes, namedRan: [], failure: failureOf(index, message, err) };
      }
    }
    return { writes, namedRan: [] };
  }

  /** Writes a checked DCN request's rows all or nothing; a failing write names its message. */
  private async applyChecked(request: DcnRequest, checked: { writes: Writes; namedRan: string[]; failure?: MessageFailure }, allOrNothing: AllOrNothing): Promise<RequestOutcome> {
    const { writes, namedRan, failure } = checked;
    if (failure) return { request, failure, namedRan };
    if (writes.length === 0) return { request, namedRan };
    let current = writes[0];
    try {
      await allOrNothing(async (tx) => {
        for (const write of writes) {
          current = write;
          await this.parts.cache.writeInTx(tx, write.change);
        }
      });
    } catch (err) {
      return { request, failure: failureOf(current.index, current.message, err), namedRan };
    }
    return { request, namedRan };
  }
}

/** A savepoint of `tx` as the all-or-nothing of one DCN request. */
function inSavepoint(tx: SqlTransaction): AllOrNothing {
  return (work) => tx.savepoint(() => work(tx));
}

/** Whether the flow performs some of the request's messages (which rules out one transaction around them). */
function hasNamedOperations(request: WfDcnRequest): boolean {
  return request.data.some((dcnRequest) => dcnRequest.messages.some((message) => !DataCache.isCacheOperation(message.op)));
}

async function namedOperation(cmd: DcnCommand, request: DcnRequest, message: DcnMessage, hooks: DcnHooks): Promise<void> {
  const { op, mbo } = message;
  if (!hooks.namedOperation) throw new DcnError(500, 'dcn_no_operation_handler', `no flow handles the operation ${op} of ${mbo}`, { op, mbo });
  try {
    await hooks.namedOperation({ cmd, package: request.pkg, mbo, op, cols: message.cols, requestId: request.id, messageId: message.id });
  } catch (err) {
    if (err instanceof DcnError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new DcnError(500, 'dcn_operation_failed', `the operation ${op} of ${mbo} failed: ${detail}`, { op, mbo, detail });
  }
}

function failureOf(index: number, message: DcnMessage, err: unknown): MessageFailure {
  const internal = !(err instanceof DcnError);
  return { index, message, error: err instanceof Error ? err.message : String(err), internal };
}

/** cmd=dcn: SMP's one record per message: rolled back before the failure, the error at it, skipped after it. */
function messageRecords(outcome: RequestOutcome): DcnResultRecord[] {
  const failure = outcome.failure;
  return outcome.request.messages.map((message, i) => {
    if (!failure) return { recordID: message.id, success: true, statusMessage: '' };
    const failedId = failure.message.id;
    let statusMessage: string;
    if (i === failure.index) statusMessage = failure.error;
    else if (i > failure.index) statusMessage = `skipped because message ${failedId} failed`;
    else if (DataCache.isCacheOperation(message.op)) statusMessage = `rolled back because message ${failedId} failed`;
    else statusMessage = `the operation ran and cannot be rolled back; message ${failedId} failed after it`;
    return { recordID: message.id, success: false, statusMessage };
  });
}

/** cmd=wf: one record per DCN request. */
function requestRecord(outcome: RequestOutcome, failed: RequestOutcome | undefined): DcnResultRecord {
  const recordID = outcome.request.id;
  if (outcome.skipped) return { recordID, success: false, statusMessage: `skipped because DCN request ${failed!.request.id} failed` };
  const failure = outcome.failure;
  if (!failure) return { recordID, success: true, statusMessage: '' };
  const ran = outcome.namedRan.length ? ` (the named operations of messages ${outcome.namedRan.join(', ')} ran and are not undone)` : '';
  return { recordID, success: false, statusMessage: `rolled back because message ${failure.message.id} failed: ${failure.error}${ran}` };
}

/** "3 messages for 2 devices of 1 receiver", and who had no device. */
function fanOutStatus(receivers: string[], devices: Device[], messages: number): string {
  const reached = new Set(devices.map((d) => d.user));
  const without = receivers.filter((user) => !reached.has(user));
  if (reached.size === 0) return `no messages: no receiver has a registered device (${without.join(', ')})`;
  const summary = `${count(messages, 'message')} for ${count(devices.length, 'device')} of ${count(reached.size, 'receiver')}`;
  return without.length ? `${summary}; no device registered for ${without.join(', ')}` : summary;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A 4xx answer: `{ "error": code, "message": text, "field"? }`. */
export function refusal(err: DcnError): DcnResponse {
  const field = err.params.field;
  const body = { error: err.code, message: err.message, ...(field === undefined ? {} : { field: String(field) }) };
  return { status: err.status, body: JSON.stringify(body), headers: JSON_HEADERS() };
}

/** The log records of one call: what is known of it so far, and the 500 answer made of them. */
export class CallLog {
  wf?: WfDcnRequest;
  request?: { id: string; package: string };

  constructor(
    private readonly call: Pick<DcnCall, 'cmd' | 'package' | 'security' | 'sender'>,
    private readonly now: () => number,
  ) {}

  entry(operation: string, error: string, pkg?: string): DcnLogRecord {
    const wf = this.wf;
    return {
      time: new Date(this.now()).toISOString(),
      cmd: this.call.cmd,
      package: pkg ?? this.request?.package ?? this.call.package,
      security: this.call.security,
      user: this.call.sender,
      id: wf?.id ?? this.request?.id ?? '',
      subject: wf?.subject ?? '',
      from: wf?.from ?? '',
      to: wf?.to.join(',') ?? '',
      operation,
      error,
    };
  }

  failure(entries: DcnLogRecord[]): DcnResponse {
    return { status: 500, body: JSON.stringify(entries), headers: JSON_HEADERS() };
  }
}
