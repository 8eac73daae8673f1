import { describe, expect, it } from 'vitest';
import { decimate, type CurvePoint } from '../../src/api/dashboard/decimate.js';

const curve = (n: number, power = (i: number) => i * 10): CurvePoint[] => Array.from({ length: n }, (_, i) => ({ wallMs: i * 1000, powerW: power(i), energyWh: i * 3 }));

describe('decimate (a session curve cut down for a chart)', () => {
  it('keeps a short curve as it is', () => {
    expect(decimate(curve(5), 10)).toEqual(curve(5));
  });

  it('gives at most max points, from the first sample to the last, in time order', () => {
    const c = curve(10_001);
    const d = decimate(c, 600);
    expect(d.length).toBeLessThanOrEqual(600);
    expect(d.length).toBeGreaterThan(590);
    expect(d[0]).toEqual(c[0]);
    expect(d[d.length - 1]).toEqual(c[c.length - 1]);
    for (let i = 1; i < d.length; i++) expect(d[i]!.wallMs).toBeGreaterThan(d[i - 1]!.wallMs);
  });

  it('keeps the mean power of each run, so the energy under the curve stays', () => {
    const steady = decimate(curve(1000, () => 7000), 50);
    expect(new Set(steady.map((p) => p.powerW))).toEqual(new Set([7000]));
    // Alternating 0 / 10 kW: a picked sample would show 0 or 10 kW; the mean is 5 kW.
    const alternating = decimate(curve(1002, (i) => (i % 2 ? 10_000 : 0)), 52);
    expect(alternating.slice(1, -1).every((p) => p.powerW === 5000)).toBe(true);
  });

  it('refuses fewer than two points', () => {
    expect(() => decimate(curve(3), 1)).toThrow(RangeError);
  });
});
