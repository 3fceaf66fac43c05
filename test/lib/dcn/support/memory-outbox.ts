/**
 * An Outbox in memory for the processor's tests: what createInTx and retractInTx do
 * takes effect only when their transaction commits (TrackedStore.afterCommit), as in
 * the SQL outbox. It can be told to fail inside createInTx.
 */
import type { SqlExecutor } from '../../../../lib/store/sql';
import type { Device, DeviceChannel, Outbox, OutboxMessage, OutboxState, OutboxStats, RetractionOutcome, WfDcnRequest } from '../../../../lib/dcn/types';
import type { TrackedStore } from './tracked-store';

export interface StoredMessage {
  message: OutboxMessage;
  security: string;
  state: OutboxState;
}

export class MemoryOutbox implements Outbox {
  readonly messages: StoredMessage[] = [];
  /** When set, createInTx throws it after its first statement inside the transaction. */
  failCreate: Error | null = null;
  createCalls = 0;
  /** The security configuration each createInTx call was given. */
  readonly securities: Array<string | undefined> = [];

  constructor(
    private readonly tracked: TrackedStore,
    private readonly now: () => number = Date.now,
  ) {}

  async createInTx(tx: SqlExecutor, request: WfDcnRequest, devices: Device[], security?: string): Promise<OutboxMessage[]> {
    this.createCalls++;
    this.securities.push(security);
    // Proves the call joined a live transaction of the store.
    await tx.all('SELECT 1 AS one');
    if (this.failCreate) throw this.failCreate;
    const created = devices.map((device) => this.message(request, device, 'message'));
    this.tracked.afterCommit(tx, () => {
      for (const m of created) this.messages.push({ message: m, security: m.device.security, state: m.device.channel === 'inbox' ? 'delivered' : 'pending' });
    });
    return created;
  }

  async retractInTx(tx: SqlExecutor, requestId: string, security: string): Promise<RetractionOutcome> {
    await tx.all('SELECT 1 AS one');
    const earlier = this.messages.filter((m) => m.message.requestId === requestId && m.security === security && m.message.kind === 'message');
    // Not yet delivered, or in the inbox: cancelled; delivered to a device: a retraction follows it there.
    const cancelled = earlier.filter((m) => m.state === 'pending' || (m.state === 'delivered' && m.message.device.channel === 'inbox'));
    const delivered = earlier.filter((m) => m.state === 'delivered' && m.message.device.channel !== 'inbox');
    const retractions = delivered.map((m) => this.message({ ...m.message, id: m.message.requestId }, m.message.device, 'retraction'));
    this.tracked.afterCommit(tx, () => {
      for (const m of cancelled) m.state = 'cancelled';
      for (const r of retractions) this.messages.push({ message: r, security, state: 'pending' });
    });
    return { cancelled: cancelled.length, retractions: retractions.length, known: earlier.length > 0 };
  }

  /** Marks a message delivered, as a send node's acknowledgement would. */
  deliver(messageId: string): void {
    const found = this.messages.find((m) => m.message.messageId === messageId);
    if (found) found.state = 'delivered';
  }

  async lease(_owner: string, limit: number, _leaseSeconds: number, channels: readonly DeviceChannel[]): Promise<OutboxMessage[]> {
    return this.messages
      .filter((m) => m.state === 'pending' && channels.includes(m.message.device.channel))
      .slice(0, limit)
      .map((m) => m.message);
  }

  async acknowledge(messageId: string): Promise<boolean> {
    const found = this.messages.find((m) => m.message.messageId === messageId && m.state === 'pending');
    if (found) found.state = 'delivered';
    return Boolean(found);
  }

  async fail(messageId: string): Promise<'retry' | 'dead' | 'unknown'> {
    return this.messages.some((m) => m.message.messageId === messageId) ? 'retry' : 'unknown';
  }

  async takeDead(): Promise<OutboxMessage[]> {
    return [];
  }

  async stats(): Promise<OutboxStats> {
    const of = (state: OutboxState) => this.messages.filter((m) => m.state === state).length;
    return { pending: of('pending'), delivered: of('delivered'), dead: of('dead') };
  }

  async inbox(security: string, user: string, limit: number): Promise<OutboxMessage[]> {
    return this.messages
      .filter((m) => m.security === security && m.message.device.user === user && m.message.device.channel === 'inbox' && m.state === 'delivered')
      .reverse()
      .slice(0, limit)
      .map((m) => m.message);
  }

  private message(request: Pick<WfDcnRequest, 'id' | 'subject' | 'from' | 'body' | 'received' | 'read' | 'priority'>, device: Device, kind: 'message' | 'retraction'): OutboxMessage {
    const n = this.messages.filter((m) => m.message.requestId === request.id && m.message.device.deviceId === device.deviceId).length;
    return {
      messageId: `${request.id}/${device.security}/${device.user}/${device.deviceId}/${kind}/${n}`,
      requestId: request.id,
      kind,
      device,
      subject: request.subject,
      from: request.from,
      body: request.body,
      received: request.received,
      read: request.read,
      priority: request.priority,
      attempt: 0,
      createdAt: new Date(this.now()).toISOString(),
    };
  }
}
