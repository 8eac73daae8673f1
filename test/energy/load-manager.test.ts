import { describe, expect, it } from 'vitest';
import { signedCurrents, siteBudget, sitePhase, toSitePhases, type LoadSettings } from '../../src/energy/load-manager.js';

const settings: LoadSettings = { fuseA: 25, marginA: 1, fallbackA: [6, 6, 6], staleAfterMs: 5000 };
const at = (currentA: [number, number, number], monoMs = 1000) => ({ currentA, monoMs });

describe('load manager (pure)', () => {
  it('budget = fuse - margin - (grid - EVs), per site phase', () => {
    const d = siteBudget(settings, {
      nowMs: 1500,
      grid: at([20, 14, 8]),
      meterFault: null,
      evs: [{ connectorId: 1, currentA: [10, 10, 0], rotation: 'L1L2L3' }],
    });
    expect(d.fallback).toBeNull();
    expect(d.evA).toEqual([10, 10, 0]);
    expect(d.houseA).toEqual([10, 4, 8]);
    expect(d.budgetA).toEqual([14, 20, 16]);
    expect(d.ageMs).toBe(500);
  });

  it('never negative: a house above the fuse leaves 0 A', () => {
    const d = siteBudget(settings, { nowMs: 1000, grid: at([30, 24, 24.5]), meterFault: null, evs: [] });
    expect(d.budgetA).toEqual([0, 0, 0]);
  });

  it('rounds the budget down to a tenth of an ampere', () => {
    const d = siteBudget(settings, { nowMs: 1000, grid: at([3.333, 0.05, 0]), meterFault: null, evs: [] });
    expect(d.budgetA).toEqual([20.6, 23.9, 24]);
  });

  it('export (negative grid current) raises what the EVs may draw: the fuse sees house + EVs', () => {
    const d = siteBudget(settings, { nowMs: 1000, grid: at([-5, 2, 2]), meterFault: null, evs: [{ connectorId: 1, currentA: [6, 6, 6], rotation: 'L1L2L3' }] });
    expect(d.houseA).toEqual([-11, -4, -4]);
    expect(d.budgetA).toEqual([35, 28, 28]);
  });

  it('a 1-phase EV on a rotated connector loads the site phase it is wired to', () => {
    expect(sitePhase(0, 'L1L2L3')).toBe(0);
    expect(sitePhase(0, 'L2L3L1')).toBe(1);
    expect(sitePhase(0, 'L3L1L2')).toBe(2);
    expect(sitePhase(2, 'L2L3L1')).toBe(0);
    expect(toSitePhases([16], 'L3L1L2')).toEqual([0, 0, 16]);
    expect(toSitePhases([16, 15, 14], 'L2L3L1')).toEqual([14, 16, 15]);
    const d = siteBudget(settings, {
      nowMs: 1000,
      grid: at([2, 2, 18]),
      meterFault: null,
      evs: [
        { connectorId: 1, currentA: [16], rotation: 'L3L1L2' },
        { connectorId: 2, currentA: [0, 0, 0], rotation: 'L1L2L3' },
      ],
    });
    expect(d.houseA).toEqual([2, 2, 2]);
    expect(d.budgetA).toEqual([22, 22, 22]);
  });

  it('stale, failed, missing or incomplete readings give the fallback, with the reason', () => {
    const none = siteBudget(settings, { nowMs: 1000, grid: null, meterFault: null, evs: [] });
    expect(none).toMatchObject({ budgetA: [6, 6, 6], houseA: null, gridA: null });
    expect(none.fallback).toMatch(/no reading/);

    const fresh = siteBudget(settings, { nowMs: 6000, grid: at([1, 1, 1]), meterFault: null, evs: [] });
    expect(fresh.fallback).toBeNull(); // exactly staleAfterMs old: still usable
    const stale = siteBudget(settings, { nowMs: 6001, grid: at([1, 1, 1]), meterFault: null, evs: [] });
    expect(stale.budgetA).toEqual([6, 6, 6]);
    expect(stale.fallback).toMatch(/stale \(5\.0 s old, allowed 5 s\)/);

    const failed = siteBudget(settings, { nowMs: 1000, grid: at([1, 1, 1]), meterFault: 'grid meter offline', evs: [] });
    expect(failed).toMatchObject({ budgetA: [6, 6, 6], fallback: 'grid meter offline' });

    const nan = siteBudget(settings, { nowMs: 1000, grid: at([1, NaN, 1]), meterFault: null, evs: [] });
    expect(nan.fallback).toMatch(/no current on L2/);
  });

  it('the fallback may differ per phase', () => {
    const d = siteBudget({ ...settings, fallbackA: [0, 6, 10] }, { nowMs: 1000, grid: null, meterFault: null, evs: [] });
    expect(d.budgetA).toEqual([0, 6, 10]);
  });

  it('signs each phase current by its power: meters report current as a magnitude', () => {
    expect(signedCurrents([5, 3, 2], [1150, -690, 0])).toEqual([5, -3, 2]);
    expect(signedCurrents([-5, 3], [-1150, 690])).toEqual([-5, 3, NaN]);
    expect(signedCurrents([5, NaN, 2], [1150, 100, NaN])).toEqual([5, NaN, 2]);
  });
});
