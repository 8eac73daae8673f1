/**
 * Load management, the pure part: from the main fuse, the grid meter's per-phase currents and the
 * EVs' own measured currents, what all EVs together may draw per site phase. No I/O, no clock:
 * the caller passes the time (monotonic ms) and the readings.
 *
 *   house load = grid current - EV currents          (per site phase, signed: export is negative)
 *   budget     = fuse - margin - house load, never below 0
 *
 * Without a usable grid reading (none yet, older than staleAfterMs, the meter failed) the house
 * load is unknown, and the budget is the configured fallback.
 */

import { toSitePhases, type Phases, type PhaseRotation } from '../domain/phases.js';

export { PHASE_ROTATIONS, sitePhase, toSitePhases, type Phases, type PhaseRotation } from '../domain/phases.js';

export interface LoadSettings {
  /** Main fuse per phase, A. */
  fuseA: number;
  marginA: number;
  /** Budget per site phase while the grid meter cannot be used. */
  fallbackA: Phases;
  staleAfterMs: number;
}

export interface GridReading {
  /** Per site phase, A; import positive, export negative. */
  currentA: Phases;
  monoMs: number;
}

export interface EvDraw {
  connectorId: number;
  /** The connector meter's currents, index 0 = the connector's L1 (a 1-phase meter has one). */
  currentA: readonly number[];
  rotation: PhaseRotation;
}

export interface LoadInputs {
  nowMs: number;
  /** The grid meter's last accepted reading, however old; null before the first. */
  grid: GridReading | null;
  /** Why the grid meter counts as failed (offline, misconfigured) even if a reading is not stale yet; null when it works. */
  meterFault: string | null;
  evs: readonly EvDraw[];
}

export interface LoadDecision {
  /** What all EVs together may draw per site phase, A (never negative). */
  budgetA: Phases;
  /** Why the budget is the fallback; null while it comes from the grid meter. */
  fallback: string | null;
  /** The grid reading used (null in fallback). */
  gridA: Phases | null;
  /** The EVs' draw per site phase. */
  evA: Phases;
  /** House load = grid - EVs (null in fallback). */
  houseA: Phases | null;
  /** Age of the grid reading, ms (null before the first). */
  ageMs: number | null;
}

/**
 * A meter's per-phase currents, signed by the direction of that phase's power. Most meters (the
 * SDM630 among them) report current as a magnitude and sign only the power, so an exporting phase
 * would otherwise read as load. `powerPhaseW` is already corrected for an inverted CT by the driver.
 */
export function signedCurrents(currentA: readonly number[], powerPhaseW: readonly number[]): [number, number, number] {
  const out: [number, number, number] = [NaN, NaN, NaN];
  for (let i = 0; i < 3; i++) {
    const a = currentA[i];
    if (a === undefined || !Number.isFinite(a)) continue;
    const p = powerPhaseW[i];
    out[i] = p !== undefined && Number.isFinite(p) && p !== 0 ? Math.sign(p) * Math.abs(a) : a;
  }
  return out;
}

const sum3 = (list: readonly Phases[]): [number, number, number] =>
  list.reduce<[number, number, number]>((acc, p) => [acc[0] + p[0], acc[1] + p[1], acc[2] + p[2]], [0, 0, 0]);

/** Tenths of an ampere, rounded down: a budget is never rounded up past what is safe. */
const floorTenth = (a: number) => Math.floor(a * 10 + 1e-9) / 10;

export function siteBudget(s: LoadSettings, i: LoadInputs): LoadDecision {
  const evA = sum3(i.evs.map((e) => toSitePhases(e.currentA, e.rotation)));
  const ageMs = i.grid ? Math.max(0, i.nowMs - i.grid.monoMs) : null;
  const fallback = (why: string): LoadDecision => ({ budgetA: [...s.fallbackA] as [number, number, number], fallback: why, gridA: null, evA, houseA: null, ageMs });
  if (!i.grid) return fallback('no reading from the grid meter yet');
  if (i.meterFault) return fallback(i.meterFault);
  if (ageMs! > s.staleAfterMs) return fallback(`grid meter reading stale (${(ageMs! / 1000).toFixed(1)} s old, allowed ${s.staleAfterMs / 1000} s)`);
  const missing = i.grid.currentA.findIndex((a) => !Number.isFinite(a));
  if (missing >= 0) return fallback(`grid meter gives no current on L${missing + 1}`);
  const gridA = i.grid.currentA;
  const houseA: Phases = [gridA[0] - evA[0], gridA[1] - evA[1], gridA[2] - evA[2]];
  const budgetA = houseA.map((h) => Math.max(0, floorTenth(s.fuseA - s.marginA - h))) as unknown as Phases;
  return { budgetA, fallback: null, gridA, evA, houseA, ageMs };
}
