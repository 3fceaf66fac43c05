/**
 * The chat page's JSON API, shared by its server (sandbox/chat/server.ts) and the page
 * (sandbox/chat/page/): what each route takes and answers. Types only.
 */
import type { TextCard } from '../delivery-text';
import type { DcnAction, DcnTemplate } from '../dcn-requests';
import type { DemoAccount } from '../wechat-client';

/** Where an entry came from; the page names each in the reader's language. */
export type Channel = 'sent' | 'reply' | 'customer-service' | 'template' | 'wecom-app' | 'micro-app-push' | 'push' | 'note';

/** One bubble of a conversation (GET /api/conversation?user=…, an event stream of these). */
export interface ChatEntry {
  /** Its place among all entries, from 1. */
  id: number;
  user: string;
  at: number;
  channel: Channel;
  /** The account of a message sent or replied to. */
  account?: DemoAccount;
  msgtype: string;
  text: string;
  card?: TextCard;
  /** An active message delivering the answer to a message that got no passive reply in time. */
  late?: boolean;
}

/** What the user does on the phone (POST /api/send { account, user, message }). */
export type PageMessage =
  | { kind: 'text'; text: string }
  | { kind: 'image' }
  | { kind: 'location' }
  | { kind: 'menu'; key: string }
  | { kind: 'follow' }
  | { kind: 'unfollow' };

export const PAGE_MESSAGE_KINDS: readonly PageMessage['kind'][] = ['text', 'image', 'location', 'menu', 'follow', 'unfollow'];

export interface SendRequest {
  account: DemoAccount;
  user: string;
  message: PageMessage;
}

/** What POST /api/send answers: the outcome in a few words. */
export interface SendAnswer {
  outcome: string;
}

export interface SimulatedUser {
  id: string;
  /** Who they are in the scenarios, e.g. 'requester'; the page names it. */
  role: 'follower' | 'employee' | 'receiver' | 'requester' | 'approver';
}

export interface AccountSetup {
  id: DemoAccount;
  users: SimulatedUser[];
  /** Menu keys to click. */
  menu: string[];
  /** Whether the account can be followed and unfollowed (the Official Account). */
  follow: boolean;
}

/** GET /api/setup. */
export interface Setup {
  accounts: AccountSetup[];
  templates: readonly DcnTemplate[];
  approver: string;
  dcnReceiver: string;
  links: { editor: string; timeOff: string };
}

/** GET /api/customers: the C4C stand-in's customers as rows of the shared columns. */
export interface CustomerList {
  columns: string[];
  rows: Array<Record<string, string>>;
}

/** POST /api/customers/<ObjectID, CustomerID or WechatID> with { Field: value } changes. */
export interface CustomerChanged {
  row: Record<string, string>;
}

/** POST /api/dcn { action, template }. */
export interface DcnRequestBody {
  action: DcnAction;
  template: DcnTemplate;
}

export interface DcnResult {
  what: string;
  status: number;
  meaning: string;
  body: unknown;
}
