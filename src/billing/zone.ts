/**
 * Local time in an IANA zone through Intl only (no tz package): the UTC offset at an instant, and
 * splitting a UTC interval where a local-time rule may change (local midnight, window edges, DST).
 */

import { offsetMs } from '../util/time-zone.js';

export { offsetMs };

export const DAY_MS = 86_400_000;

/** Local calendar view of an instant: day number since 1970-01-01 (local), weekday (0 = Sunday), ms after local midnight. */
export function localTime(t: number, timeZone: string): { day: number; weekday: number; msOfDay: number; offsetMs: number } {
  const off = offsetMs(t, timeZone);
  const local = t + off;
  const day = Math.floor(local / DAY_MS);
  return { day, weekday: (((day + 4) % 7) + 7) % 7, msOfDay: local - day * DAY_MS, offsetMs: off };
}

/** "2026-11-03T18:04:05+01:00" in the zone. */
export function localIso(t: number, timeZone: string): string {
  const off = offsetMs(t, timeZone);
  const s = new Date(Math.floor(t / 1000) * 1000 + off).toISOString().slice(0, 19);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(Math.round(off / 60_000));
  return `${s}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** The UTC instant at which local date y-m-d 00:00 begins (the first instant of that local day). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  // Two fixed-point steps settle any offset; a midnight inside a DST gap maps to the gap's end.
  let t = guess - offsetMs(guess, timeZone);
  t = guess - offsetMs(t, timeZone);
  const lt = localTime(t, timeZone);
  const target = Math.floor(guess / DAY_MS);
  if (lt.day < target) return firstInstantAfter(t, t + DAY_MS, (x) => localTime(x, timeZone).day >= target);
  return t;
}

/**
 * Cut [fromMs, toMs) into pieces on which `classify(localWeekday, localMsOfDay)` is constant, given
 * the ms-of-day `edges` where it may change (local midnight is always one). Follows the local
 * clock as lived: in a spring-forward gap an edge takes effect at the end of the gap; in a fall-back
 * overlap the repeated hour is classified again by its clock time.
 */
export function splitByLocalTime<T>(
  fromMs: number,
  toMs: number,
  timeZone: string,
  edges: readonly number[],
  classify: (weekday: number, msOfDay: number) => T,
): { fromMs: number; toMs: number; value: T }[] {
  const cuts = [...new Set([...edges.filter((e) => e > 0 && e < DAY_MS), DAY_MS])].sort((a, b) => a - b);
  const out: { fromMs: number; toMs: number; value: T }[] = [];
  let t = fromMs;
  while (t < toMs) {
    const lt = localTime(t, timeZone);
    const value = classify(lt.weekday, lt.msOfDay);
    const nextEdge = cuts.find((e) => e > lt.msOfDay)!;
    let next = t + (nextEdge - lt.msOfDay);
    if (offsetMs(next, timeZone) !== lt.offsetMs) {
      next = firstInstantAfter(t, next, (x) => offsetMs(x, timeZone) !== lt.offsetMs);
    }
    const end = Math.min(next, toMs);
    const last = out[out.length - 1];
    if (last && last.value === value && last.toMs === t) last.toMs = end;
    else out.push({ fromMs: t, toMs: end, value });
    t = next;
  }
  return out;
}

/** Smallest x in (lo, hi] with pred(x), given !pred(lo) and pred(hi); ms resolution. */
function firstInstantAfter(lo: number, hi: number, pred: (x: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (pred(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
