/**
 * The mark every unauthenticated case carries in its content: whatever reaches a flow
 * with it came from a request that should have been refused.
 */
export const UNAUTHENTICATED_MARK = 'FUZZUNAUTH';

/** Whether a value (a message's payload) carries the mark anywhere. */
export function carriesMark(value: unknown): boolean {
  try {
    return (JSON.stringify(value) ?? '').includes(UNAUTHENTICATED_MARK);
  } catch {
    return String(value).includes(UNAUTHENTICATED_MARK);
  }
}
