/**
 * Every simulated user's conversation as their phone shows it: what they sent, the
 * passive replies, and every active message the stand-ins record for them
 * (customer-service and template messages, WeCom app messages, Mobile Services pushes),
 * in the order they happened. An active message that follows a message of theirs that
 * got no passive reply is that message's late answer, and is marked so.
 */
import { DeliveryText, messageText, pushText, textCardOf } from '../delivery-text';
import type { Sandbox } from '../index';
import type { PushDelivery } from '../mobile-services/index';
import type { RecordedMessage } from '../platform-api';
import { RecordFeed } from '../record-feed';
import type { DemoAccount } from '../wechat-client';
import type { Channel, ChatEntry } from './api';

export type { Channel, ChatEntry } from './api';

export type NewEntry = Omit<ChatEntry, 'id' | 'at'>;

/** The platform whose active messages answer an account's unanswered messages late: the Micro App only answers passively. */
const LATE_CHANNEL: Partial<Record<DemoAccount, Channel>> = { official: 'customer-service', wecom: 'wecom-app' };

/** How many entries the page keeps, all users together: the sandbox may run for days, and a chat page shows the recent past. */
export const KEPT_ENTRIES = 5_000;

export class Conversations {
  private readonly entries: ChatEntry[] = [];
  private lastId = 0;
  private readonly added = new RecordFeed<ChatEntry>();
  /** `${channel} ${user}` of users whose last message is still waiting for its answer. */
  private readonly awaiting = new Set<string>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    sandbox: Pick<Sandbox, 'wechat' | 'wecom' | 'mobileServices'>,
    private readonly now: () => number = Date.now,
    private readonly kept: number = KEPT_ENTRIES,
  ) {
    this.unsubscribe = [
      sandbox.wechat.delivered.subscribe((m) => this.apiMessage(m, m.api === 'message/template/send' ? 'template' : 'customer-service')),
      sandbox.wecom.delivered.subscribe((m) => this.apiMessage(m, 'wecom-app')),
      sandbox.mobileServices.pushed.subscribe((p) => this.push(p)),
    ];
  }

  /** The user's conversation so far. */
  of(user: string): ChatEntry[] {
    return this.entries.filter((e) => e.user === user);
  }

  /** Calls `listener` with each new entry of the user's conversation; the returned function stops that. */
  follow(user: string, listener: (entry: ChatEntry) => void): () => void {
    return this.added.subscribe((entry) => {
      if (entry.user === user) listener(entry);
    });
  }

  add(entry: NewEntry): ChatEntry {
    const added: ChatEntry = { id: ++this.lastId, at: this.now(), ...entry };
    this.entries.push(added);
    // The oldest go first; ids keep counting, so a page that saw an entry never sees its id again.
    if (this.entries.length > this.kept) this.entries.splice(0, this.entries.length - this.kept);
    this.added.publish(added);
    return added;
  }

  /** The user's message to `account` got no passive reply: an active message that follows is its late answer. */
  awaitLateAnswer(account: DemoAccount, user: string): void {
    const channel = LATE_CHANNEL[account];
    if (channel) this.awaiting.add(`${channel} ${user}`);
  }

  /** The user's message was answered: nothing is late. */
  answered(account: DemoAccount, user: string): void {
    const channel = LATE_CHANNEL[account];
    if (channel) this.awaiting.delete(`${channel} ${user}`);
  }

  /** Stops following the stand-ins. */
  close(): void {
    this.unsubscribe.forEach((stop) => stop());
  }

  private apiMessage(message: RecordedMessage, channel: Channel): void {
    const recipients = typeof message.body.touser === 'string' ? message.body.touser.split('|').map((u) => u.trim()) : [];
    for (const user of recipients.filter(Boolean)) {
      const late = this.awaiting.delete(`${channel} ${user}`);
      this.add({ user, channel, ...this.content(messageText(message.body), message.body), ...(late ? { late } : {}) });
    }
  }

  private push(push: PushDelivery): void {
    const channel: Channel = push.target === 'microApp' ? 'micro-app-push' : 'push';
    for (const user of push.delivered) this.add({ user, channel, ...this.content(pushText(push.body), push.body) });
  }

  private content(text: DeliveryText, body: RecordedMessage['body']): Pick<ChatEntry, 'msgtype' | 'text' | 'card'> {
    const card = textCardOf(body);
    return { msgtype: text.msgtype, text: text.text, ...(card ? { card } : {}) };
  }
}
