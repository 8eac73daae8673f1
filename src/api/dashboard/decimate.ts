/** One point of a power curve: wall time (ms), power (W), meter register (Wh). */
export interface CurvePoint {
  wallMs: number;
  powerW: number | null;
  energyWh: number;
}

/**
 * At most `max` points of a curve, for a chart a few hundred pixels wide. The samples are cut into
 * runs of equal count; each run becomes one point at its last sample's time and register, with
 * the run's mean power (a mean keeps the area under the curve, which is the energy; a sample
 * picked from the run would not). The first and last samples are kept as they are, so the curve
 * starts and ends where the session did.
 */
export function decimate(points: readonly CurvePoint[], max: number): CurvePoint[] {
  if (max < 2) throw new RangeError('max must be at least 2');
  if (points.length <= max) return points.slice();
  const inner = points.slice(1, -1);
  const runs = max - 2;
  const out: CurvePoint[] = [points[0]!];
  for (let r = 0; r < runs; r++) {
    const from = Math.floor((r * inner.length) / runs);
    const to = Math.floor(((r + 1) * inner.length) / runs);
    if (to <= from) continue;
    let sum = 0;
    let n = 0;
    for (let i = from; i < to; i++) {
      const w = inner[i]!.powerW;
      if (w !== null) (sum += w), n++;
    }
    const last = inner[to - 1]!;
    out.push({ wallMs: last.wallMs, energyWh: last.energyWh, powerW: n ? Math.round(sum / n) : null });
  }
  out.push(points[points.length - 1]!);
  return out;
}
