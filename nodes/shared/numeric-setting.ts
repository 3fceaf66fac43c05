/**
 * A number from an editor field or a setting. Editor fields arrive as strings and may be
 * blank; blank or not a number gives `fallback`, and the result is kept within min..max.
 */
export function numericSetting(value: unknown, fallback: number, min = 0, max = Number.POSITIVE_INFINITY): number {
  const n = typeof value === 'string' && value.trim() === '' ? NaN : Number(value ?? NaN);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}
