/**
 * How a connector's phases are wired to the site's supply. A station rotates the phases of its
 * connectors (L2L3L1 = the connector's L1 is the site's L2) so that 1-phase EVs, which all load
 * their L1, do not all load the same site phase. (config/sharing.ts lists the same values for the
 * key `connectors[].phaseRotation`: domain imports nothing.)
 */
export const PHASE_ROTATIONS = ['L1L2L3', 'L2L3L1', 'L3L1L2'] as const;
export type PhaseRotation = (typeof PHASE_ROTATIONS)[number];

/** Per site phase (L1, L2, L3), A. */
export type Phases = readonly [number, number, number];

/** The site phase (0..2) that a connector's phase `i` (0 = its L1) is wired to. */
export function sitePhase(i: number, rotation: PhaseRotation): number {
  return (i + PHASE_ROTATIONS.indexOf(rotation)) % 3;
}

/** A connector's per-phase currents on the site's phases (non-finite values count as 0). */
export function toSitePhases(currentA: readonly number[], rotation: PhaseRotation): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  currentA.slice(0, 3).forEach((a, i) => {
    const p = sitePhase(i, rotation) as 0 | 1 | 2;
    if (Number.isFinite(a)) out[p] += a;
  });
  return out;
}
