/**
 * What became of a message sent to a callback URL, in a few words: the CLI prints it
 * after the arrow, the chat page shows it under the message.
 */
import type { ReplyOutcome } from './wechat-client';

export function replySummary(reply: ReplyOutcome): string {
  switch (reply.kind) {
    case 'reply':
      return `${reply.msgType} reply${reply.encrypted ? ' (encrypted, signature and receiver id verified)' : ''}:`;
    case 'no-reply':
      return `no passive reply (${reply.marker === '' ? 'empty body' : '"success"'})`;
    case 'rejected':
      return `refused by the endpoint: ${reply.reason}`;
    case 'invalid':
      return `answer WeChat would not accept: ${reply.reason}`;
    case 'timeout':
      return 'no answer before the deadline (WeChat would retry)';
    case 'network-error':
      return `could not reach the webhook: ${reply.reason}`;
  }
}
