/**
 * Wall-clock instants ↔ local civil time of an IANA time zone, through Intl only (the platform's
 * tz database: no hand-written offsets or DST rules). Pure.
 */

import { offsetMs, systemTimeZone } from '../util/time-zone.js';

export { offsetMs, systemTimeZone };

export interface LocalDateTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday, as Date.getUTCDay. */
  weekday: number;
}


export function toLocal(wallMs: number, timeZone: string): LocalDateTime {
  const shifted = new Date(wallMs + offsetMs(wallMs, timeZone));
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    weekday: shifted.getUTCDay(),
  };
}

/**
 * The instant of a local date and time. Where the clock skips it (spring forward, 02:30 in Berlin
 * on the last Sunday of March) it is the same distance past the gap (03:30 CEST); where it occurs
 * twice (fall back) it is the first (CEST) occurrence: Temporal's 'compatible' disambiguation, so a
 * window that starts in the gap still opens that night, and one that starts in the doubled hour
 * opens only once.
 */
export function fromLocal(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  // Offsets in force a day either side cover any transition near this local time.
  const before = offsetMs(asUtc - 86_400_000, timeZone);
  const after = offsetMs(asUtc + 86_400_000, timeZone);
  const valid = [before, after].map((o) => asUtc - o).filter((u) => offsetMs(u, timeZone) === asUtc - u);
  if (valid.length) return Math.min(...valid);
  // In a gap: read the time with the offset before it.
  return asUtc - before;
}

/** The local calendar date `days` after the given one (no time zone involved: civil arithmetic). */
export function addDays(year: number, month: number, day: number, days: number): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}
