/**
 * How many wechat-reply nodes are deployed. A wechat-in answers at once when there
 * are none, instead of holding every callback until its deadline.
 */
let deployed = 0;

export function replyNodeAdded(): void {
  deployed++;
}

export function replyNodeRemoved(): void {
  deployed = Math.max(0, deployed - 1);
}

export function hasReplyNodes(): boolean {
  return deployed > 0;
}
