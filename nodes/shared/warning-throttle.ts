/**
 * Warnings about refused requests, at most one per cause in each window. A flood of
 * forged or malformed callbacks would otherwise bury the log; the first refusal of a
 * cause is logged at once, later ones in the window are counted and reported with the
 * next warning of that cause.
 */
export class WarningThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly warn: (text: string) => void,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `text()` unless `cause` was logged within the window; `text` gets the count held back since. */
  report(cause: string, text: (suppressed: number) => string): void {
    const at = this.now();
    const seen = this.last.get(cause);
    if (seen && at - seen.at < this.windowMs) {
      seen.suppressed++;
      return;
    }
    this.last.set(cause, { at, suppressed: 0 });
    this.warn(text(seen?.suppressed ?? 0));
  }
}
