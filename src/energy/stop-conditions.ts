import type { StopReason } from '../domain/types.js';

/** A session's stop conditions; null or absent = none. */
export interface StopConditions {
  energyWh?: number | null;
  durationS?: number | null;
  socPercent?: number | null;
}

export interface SessionProgress {
  /** Energy delivered in the session (Wh). */
  energyWh: number;
  /** Time since the session started, on the monotonic clock (ms). */
  durationMs: number;
  /** The EV's state of charge, when it reports one. */
  socPercent: number | null;
}

/**
 * The first condition the session has reached, as the reason it ends with (OCPP 2.0.1's names),
 * or null. Energy is checked first: it is what the owner pays for. Pure.
 */
export function reachedLimit(c: StopConditions, p: SessionProgress): StopReason | null {
  if (c.energyWh != null && p.energyWh >= c.energyWh) return 'EnergyLimitReached';
  if (c.durationS != null && p.durationMs >= c.durationS * 1000) return 'TimeLimitReached';
  if (c.socPercent != null && p.socPercent !== null && p.socPercent >= c.socPercent) return 'SOCLimitReached';
  return null;
}

/** ms until the duration limit is reached (0 = now), or null without one. */
export function msToTimeLimit(c: StopConditions, durationMs: number): number | null {
  return c.durationS == null ? null : Math.max(0, c.durationS * 1000 - durationMs);
}

/** The tighter of two energy limits (null = none). */
export function tighter(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return Math.min(a, b);
}
