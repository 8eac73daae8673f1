import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDay, simulateDay } from '../../bench/pv-day.js';
import { clearSkyW, generateDay, ROWS, STEP_S, toCsv } from '../../bench/pv-day-profile.js';
import { ROOT } from '../support/station.js';

/**
 * The PV day (issue 13 acceptance): the PV logic through a whole day of the fixtures on a fake
 * clock. Properties, not figures: the figures are `npm run bench` (pvDay).
 */
describe('the PV day fixtures', () => {
  for (const kind of ['clear', 'cloudy'] as const) {
    it(`pv-day-${kind}.csv is what bench/pv-day-profile.ts builds, at 10 s for a whole day, dark at night`, () => {
      const text = readFileSync(join(ROOT, 'test/fixtures', `pv-day-${kind}.csv`), 'utf8');
      expect(text).toBe(toCsv(generateDay(kind)));
      const rows = loadDay(kind);
      expect(rows).toHaveLength(ROWS);
      rows.forEach((r, i) => expect(r.t).toBe(i * STEP_S));
      const at = (h: number) => rows[Math.round((h * 3600) / STEP_S)]!;
      for (const h of [0, 3, 5.4, 21.6, 23.9]) expect(at(h).pvW).toBe(0);
      for (const r of rows) {
        expect(r.pvW).toBeLessThanOrEqual(Math.ceil(clearSkyW(r.t) * 1.006) + 1);
        expect(r.houseW).toBeGreaterThanOrEqual(250);
      }
      const peak = Math.max(...rows.map((r) => r.pvW));
      if (kind === 'clear') expect(peak).toBeGreaterThan(7000);
      else expect(rows.filter((r) => r.t > 9 * 3600 && r.t < 17 * 3600 && r.pvW < 0.35 * clearSkyW(r.t)).length * STEP_S).toBeGreaterThan(3600); // cloud passages: over an hour of dips to 20-35 %
    });
  }
});

describe('the PV day through the PV logic', () => {
  for (const kind of ['clear', 'cloudy'] as const) {
    it(`${kind}: pv mode charges from the sun only, within the switch bound, below the oracle`, () => {
      const rows = loadDay(kind);
      const r = simulateDay(rows, { mode: 'pv', phaseSwitching: 'auto' });
      expect(r.nightChargedWh).toBe(0);
      expect(r.chargedWh).toBeGreaterThan(0);
      // Grid import only while a dip is bridged at the minimum current (stop delay) and during the EV's 5 s reaction.
      expect(r.gridImportForChargingWh).toBeLessThan(0.1 * r.chargedWh);
      expect(r.phaseSwitches).toBeLessThanOrEqual(r.maxSwitchesPerSession);
      // Against the oracle that knows the whole day (all surplus, capped by the EV and its battery).
      expect(r.ratioAll).toBeGreaterThan(0);
      expect(r.ratioAll).toBeLessThanOrEqual(1);
      expect(r.oracleAllWh).toBeGreaterThanOrEqual(r.oracleWh);
      expect(r.stops).toBeLessThanOrEqual(r.starts);

      // The same day without PV logic charges at night at once: the night check above can fail.
      const off = simulateDay(rows, { mode: 'off', phaseSwitching: 'off' });
      expect(off.nightChargedWh).toBeGreaterThan(0);
      // minpv takes the minimum from the grid when the sun is short, but never more than its minimum power.
      const minpv = simulateDay(rows, { mode: 'minpv', phaseSwitching: 'auto', plugInS: 7 * 3600, plugOutS: 19 * 3600 });
      expect(minpv.chargedWh).toBeGreaterThanOrEqual(r.chargedWh * 0.99);
      expect(minpv.phaseSwitches).toBeLessThanOrEqual(minpv.maxSwitchesPerSession);
    });
  }

  it('on the cloudy day automatic 1p/3p catches more sun than a fixed 3-phase station', () => {
    const rows = loadDay('cloudy');
    const auto = simulateDay(rows, { mode: 'pv', phaseSwitching: 'auto' });
    const fixed = simulateDay(rows, { mode: 'pv', phaseSwitching: 'off', phases: 3 });
    expect(auto.fromSurplusWh).toBeGreaterThan(fixed.fromSurplusWh);
    expect(fixed.phaseSwitches).toBe(0);
  });
});
