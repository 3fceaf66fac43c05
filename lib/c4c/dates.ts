/**
 * OData v2 JSON dates ('/Date(1700000000000)/', optionally with an offset) as ISO
 * strings. Every entity of a C4C page carries several of them, so this is on the hot
 * path of unwrapping: Date#toISOString costs a Date object and ~0.4 µs per value, which
 * made date conversion the larger half of the unwrapping cost. The common range is
 * formatted with integer arithmetic instead; the result is identical.
 */

/** The offset form keeps UTC milliseconds, so the offset itself is ignored. */
const ODATA_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;
const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from here on toISOString switches to the ±YYYYYY form. */
const YEAR_10000_MS = 253_402_300_800_000;

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function pad3(n: number): string {
  return n < 10 ? '00' + n : n < 100 ? '0' + n : String(n);
}

/** 'YYYY-MM-DDT' of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
function dayPrefixOf(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${pad2(month)}-${pad2(day)}T`;
}

// Dates in one answer mostly fall on few days; remembering the last day skips its arithmetic.
let lastDay = NaN;
let lastDayPrefix = '';

/** Same output as new Date(ms).toISOString(); undefined where that would throw (out of range). */
export function isoFromMs(ms: number): string | undefined {
  if (!(ms >= 0 && ms < YEAR_10000_MS && Number.isInteger(ms))) {
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  const days = Math.floor(ms / DAY_MS);
  if (days !== lastDay) {
    lastDayPrefix = dayPrefixOf(days);
    lastDay = days;
  }
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${lastDayPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
}

/** The ISO form of an OData date string, or undefined when `value` is not one (or is out of range). */
export function odataDateToIso(value: string): string | undefined {
  const m = ODATA_DATE.exec(value);
  return m === null ? undefined : isoFromMs(Number(m[1]));
}
