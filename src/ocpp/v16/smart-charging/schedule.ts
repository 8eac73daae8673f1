import type { ChargingProfile, ChargingRateUnit } from './types.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** The period of one profile in force at an instant, in the profile's own unit. */
export interface PeriodInForce {
  limit: number;
  unit: ChargingRateUnit;
  numberPhases?: number;
  minChargingRate?: number;
}

/** One profile at one instant: its period in force (null = not active) and the next instant that can change. */
export interface ProfileAt {
  period: PeriodInForce | null;
  /** Wall-clock ms of the next instant this profile's answer can change; null = never. */
  nextChangeMs: number | null;
}

/** Wall-clock ms of an ISO 8601 time, or undefined when absent or unreadable. */
export function parseTime(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

function earliest(...times: (number | null | undefined)[]): number | null {
  let best: number | null = null;
  for (const t of times) if (t !== null && t !== undefined && Number.isFinite(t) && (best === null || t < best)) best = t;
  return best;
}

/**
 * Where the schedule's current cycle starts and ends. Absolute: startSchedule; Relative: the transaction's start
 * (`relativeStartMs`; none → not applicable); Recurring: the latest startSchedule + k × day/week at or before `t`
 * (k may be negative: a recurring profile repeats before its startSchedule too, bounded only by validFrom).
 * Recurrence is counted in UTC days and weeks (OCPP's startSchedule is absolute, so no DST shift).
 */
function cycleAt(p: ChargingProfile, t: number, relativeStartMs: number | undefined): { start: number; end: number } | null {
  const s = p.chargingSchedule;
  const durationMs = s.duration === undefined ? Infinity : s.duration * 1000;
  if (p.chargingProfileKind === 'Relative') {
    if (relativeStartMs === undefined) return null;
    return { start: relativeStartMs, end: relativeStartMs + durationMs };
  }
  const base = parseTime(s.startSchedule);
  if (base === undefined) return null;
  if (p.chargingProfileKind === 'Absolute') return { start: base, end: base + durationMs };
  const rec = p.recurrencyKind === 'Weekly' ? WEEK_MS : DAY_MS;
  const start = base + Math.floor((t - base) / rec) * rec;
  return { start, end: start + Math.min(durationMs, rec) };
}

/**
 * One profile at `t`: validFrom/validTo, the schedule's cycle, its duration (a period past it is not executed), and
 * the period in force (the last one whose startPeriod has begun). `relativeStartMs` is where a Relative schedule starts.
 */
export function profileAt(p: ChargingProfile, t: number, relativeStartMs?: number): ProfileAt {
  const validFrom = parseTime(p.validFrom) ?? -Infinity;
  const validTo = parseTime(p.validTo) ?? Infinity;
  if (t >= validTo) return { period: null, nextChangeMs: null };
  if (t < validFrom) return { period: null, nextChangeMs: validFrom };
  const until = (ms: number | null): number | null => earliest(ms, validTo);

  const cycle = cycleAt(p, t, relativeStartMs);
  if (cycle === null) return { period: null, nextChangeMs: until(null) };
  const recurring = p.chargingProfileKind === 'Recurring';
  const nextCycle = recurring ? cycle.start + (p.recurrencyKind === 'Weekly' ? WEEK_MS : DAY_MS) : null;
  if (t < cycle.start) return { period: null, nextChangeMs: until(cycle.start) };
  if (t >= cycle.end) return { period: null, nextChangeMs: until(nextCycle) };

  const offsetS = (t - cycle.start) / 1000;
  const periods = [...p.chargingSchedule.chargingSchedulePeriod].sort((a, b) => a.startPeriod - b.startPeriod);
  let index = -1;
  for (let i = 0; i < periods.length && periods[i]!.startPeriod <= offsetS; i++) index = i;
  const following = periods[index + 1];
  const nextPeriodMs = following === undefined ? null : cycle.start + following.startPeriod * 1000;
  const cycleEndMs = Number.isFinite(cycle.end) ? cycle.end : null;
  const nextChangeMs = until(earliest(nextPeriodMs, cycleEndMs, nextCycle));
  const current = periods[index];
  if (current === undefined) return { period: null, nextChangeMs };
  const period: PeriodInForce = { limit: current.limit, unit: p.chargingSchedule.chargingRateUnit };
  if (current.numberPhases !== undefined) period.numberPhases = current.numberPhases;
  if (p.chargingSchedule.minChargingRate !== undefined) period.minChargingRate = p.chargingSchedule.minChargingRate;
  return { period, nextChangeMs };
}
