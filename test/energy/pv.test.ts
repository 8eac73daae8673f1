import { describe, expect, it } from 'vitest';
import { DEFAULT_PV_SETTINGS, minPowerW, PvController, type PvDecision, type PvInput, type PvMode, type PvSettings } from '../../src/energy/pv.js';

/** A PV controller on a fake clock: `at(s, …)` ticks it at second s. */
function rig(mode: PvMode, over: Partial<PvSettings> = {}, base: Partial<PvInput> = {}) {
  const c = new PvController({ ...DEFAULT_PV_SETTINGS, startDelayS: 60, stopDelayS: 180, phaseUpDelayS: 120, phaseDownDelayS: 180, minSwitchIntervalS: 0, ...over }, mode);
  const input: PvInput = { nowMs: 0, gridW: 0, evW: 0, phases: 3, switchable: false, sessionActive: true, ...base };
  return {
    c,
    input,
    /** Tick at second `s` with a surplus of `surplusW` (all of it exported: the EV draws what `evW` says). */
    at(s: number, surplusW: number | null, more: Partial<PvInput> = {}): PvDecision {
      Object.assign(input, more);
      input.nowMs = s * 1000;
      input.gridW = surplusW === null ? null : input.evW - surplusW;
      return c.tick(input);
    },
    /** Ticks every second from `from` to `to` (inclusive) at a constant surplus; the last decision, but the first one that asked for a phase switch if any did. */
    hold(from: number, to: number, surplusW: number | null, more: Partial<PvInput> = {}): PvDecision {
      let d!: PvDecision;
      let asked: PvDecision | undefined;
      for (let s = from; s <= to; s++) {
        d = this.at(s, surplusW, more);
        if (d.phaseRequest !== null) asked ??= d;
      }
      return asked ?? d;
    },
  };
}

describe('PV surplus logic (pure, fake clock)', () => {
  it('the minimum powers: 1.38 kW on 1 phase, 4.14 kW on 3 at 230 V', () => {
    expect(minPowerW(1, 230)).toBe(1380);
    expect(minPowerW(3, 230)).toBe(4140);
  });

  it('mode off gives no budget at all', () => {
    const r = rig('off');
    expect(r.at(0, 10_000)).toMatchObject({ state: 'off', budgetA: null, phaseRequest: null });
  });

  it('pv starts only after the surplus held the start threshold for startDelayS, and a dip restarts the delay', () => {
    const r = rig('pv');
    expect(r.at(0, 4000)).toMatchObject({ state: 'idle', budgetA: 0 }); // below 4140 W on 3 phases
    expect(r.at(1, 4200)).toMatchObject({ state: 'starting', budgetA: 0, timerS: 60 });
    expect(r.hold(2, 40, 4200).budgetA).toBe(0);
    r.at(41, 3000); // a cloud: the start delay begins again
    expect(r.hold(42, 100, 4200)).toMatchObject({ state: 'starting', budgetA: 0 });
    const d = r.hold(101, 102, 4200);
    expect(d.state).toBe('charging');
    expect(d.budgetA).toBe(6); // 4200 / 690 = 6.08 → 6.0
  });

  it('follows the surplus while charging, in A per phase = surplus / (V × phases)', () => {
    const r = rig('pv', { startDelayS: 0 });
    expect(r.at(0, 6900).budgetA).toBe(10);
    expect(r.at(1, 5000, { evW: 6900 }).budgetA).toBe(7.2);
    expect(rig('pv', { startDelayS: 0 }, { phases: 1 }).at(0, 3000).budgetA).toBe(13);
  });

  it('pv bridges a dip at the minimum current, and suspends when below the stop threshold for stopDelayS', () => {
    const r = rig('pv', { startDelayS: 0 });
    r.at(0, 6000);
    // Below the 3-phase minimum: keep 6 A from the grid while the stop timer runs.
    expect(r.at(1, 2000, { evW: 4140 })).toMatchObject({ state: 'stopping', budgetA: 6, timerS: 180 });
    expect(r.hold(2, 100, 2000)).toMatchObject({ state: 'stopping', budgetA: 6 });
    expect(r.at(101, 5000)).toMatchObject({ state: 'charging' }); // back above: the stop timer ends
    r.hold(102, 281, 2000);
    expect(r.at(282, 2000)).toMatchObject({ state: 'idle', budgetA: 0 });
    // Once stopped the start delay applies again.
    expect(r.at(283, 6000, { evW: 0 })).toMatchObject({ state: 'charging' }); // startDelayS 0 in this rig
  });

  it('an allowance lowers the start and stop thresholds (a little import to charge earlier)', () => {
    const r = rig('pv', { startDelayS: 0, allowanceW: 500 });
    expect(r.at(0, 3700).state).toBe('charging'); // 4140 - 500 = 3640
    const strict = rig('pv', { startDelayS: 0 });
    expect(strict.at(0, 3700).state).toBe('idle');
  });

  it('explicit start and stop thresholds replace the defaults', () => {
    const r = rig('pv', { startDelayS: 0, stopDelayS: 0, startThresholdW: 5000, stopThresholdW: 4500 });
    expect(r.at(0, 4900).state).toBe('idle');
    expect(r.at(1, 5000).state).toBe('charging');
    expect(r.at(2, 4600).state).toBe('charging');
    expect(r.at(3, 4400).state).toBe('idle');
  });

  it('minpv keeps the minimum current with no surplus at all, and adds the surplus above it', () => {
    const r = rig('minpv');
    expect(r.at(0, -2000)).toMatchObject({ state: 'minimum', budgetA: 6 });
    expect(r.hold(1, 1000, 0)).toMatchObject({ state: 'minimum', budgetA: 6 }); // never stops
    expect(r.at(1001, 8280).budgetA).toBe(12);
  });

  it('no fresh grid reading: pv suspends at once, minpv keeps its minimum', () => {
    const r = rig('pv', { startDelayS: 0 });
    expect(r.at(0, 8000).state).toBe('charging');
    expect(r.at(1, null)).toMatchObject({ state: 'no-reading', budgetA: 0 });
    const m = rig('minpv');
    expect(m.at(0, null)).toMatchObject({ state: 'no-reading', budgetA: 6 });
  });

  it('without an EV there is nothing to start: no-ev, and the start delay counts from the plug-in', () => {
    const r = rig('pv', { startDelayS: 30 });
    expect(r.hold(0, 100, 8000, { sessionActive: false })).toMatchObject({ state: 'no-ev', budgetA: 0 });
    expect(r.at(101, 8000, { sessionActive: true }).state).toBe('starting');
    expect(r.hold(102, 131, 8000).state).toBe('charging');
  });

  describe('automatic 1p/3p', () => {
    const sw = { switchable: true } as const;

    it('starts on 1 phase when the surplus fits 1 phase but not 3', () => {
      const r = rig('pv', { startDelayS: 10 }, { ...sw, phases: 3 });
      r.hold(0, 9, 2000);
      const d = r.at(10, 2000);
      expect(d).toMatchObject({ state: 'charging', phaseRequest: 1, budgetA: 8.6 }); // 2000 / 230
      r.c.phaseSwitchEnded('Accepted');
      expect(r.at(11, 2000, { phases: 1 }).phaseRequest).toBeNull();
    });

    it('3p → 1p only when the surplus stays between the 1- and 3-phase minimum for phaseDownDelayS', () => {
      const r = rig('pv', { startDelayS: 0 }, { ...sw, phases: 3 });
      r.at(0, 6000);
      expect(r.at(1, 3000, { evW: 6000 })).toMatchObject({ phaseRequest: null, timerS: 180 });
      expect(r.hold(2, 179, 3000).phaseRequest).toBeNull();
      r.at(180, 4500); // back above 4140: the delay starts again
      expect(r.hold(181, 360, 3000).phaseRequest).toBeNull();
      const d = r.at(361, 3000);
      expect(d.phaseRequest).toBe(1);
      expect(d.budgetA).toBe(13); // the budget for the phases asked for: 3000 / 230
      expect(d.switchesThisSession).toBe(1);
    });

    it('1p → 3p only above the 3-phase minimum plus the hysteresis for phaseUpDelayS', () => {
      const r = rig('pv', { startDelayS: 0, phaseHysteresisW: 500 }, { ...sw, phases: 1 });
      r.at(0, 2000);
      // Above 4140 W but within the hysteresis: stays on 1 phase for ever.
      expect(r.hold(1, 1000, 4500).phaseRequest).toBeNull();
      expect(r.hold(1001, 1120, 4700).phaseRequest).toBeNull();
      expect(r.at(1121, 4700).phaseRequest).toBe(3);
    });

    it('a surplus below the 1-phase minimum is the stop timer\'s business in pv, not a switch', () => {
      const r = rig('pv', { startDelayS: 0, stopDelayS: 10_000 }, { ...sw, phases: 3 });
      r.at(0, 6000);
      expect(r.hold(1, 1000, 1000).phaseRequest).toBeNull();
    });

    it('minpv switches down with no surplus at all (the minimum on 1 phase takes a third from the grid)', () => {
      const r = rig('minpv', {}, { ...sw, phases: 3 });
      expect(r.hold(0, 179, 0).phaseRequest).toBeNull();
      expect(r.at(180, 0).phaseRequest).toBe(1);
    });

    it('at most maxSwitchesPerSession per session, minSwitchIntervalS apart; a new session starts the count again', () => {
      const r = rig('minpv', { phaseUpDelayS: 1, phaseDownDelayS: 1, minSwitchIntervalS: 100, maxSwitchesPerSession: 2 }, { ...sw, phases: 3 });
      let phases: 1 | 3 = 3;
      const asked: number[] = [];
      for (let s = 0; s <= 2000; s++) {
        // The surplus swings every 50 s between nothing and plenty.
        const d = r.at(s, Math.floor(s / 50) % 2 ? 9000 : 0, { phases });
        if (d.phaseRequest) {
          asked.push(s);
          phases = d.phaseRequest;
          r.c.phaseSwitchEnded('Accepted');
        }
      }
      expect(asked.length).toBe(2);
      expect(asked[1]! - asked[0]!).toBeGreaterThanOrEqual(100);
      r.at(2001, 0, { sessionActive: false });
      r.at(2002, 0, { sessionActive: true, phases: 1 });
      expect(r.hold(2003, 2010, 9000, { phases: 1 }).phaseRequest).toBe(3);
    });

    it('past the bound the phases in use decide the stop threshold (no charging on 3 phases from a 1-phase surplus)', () => {
      const r = rig('pv', { startDelayS: 0, stopDelayS: 60, phaseUpDelayS: 1, maxSwitchesPerSession: 1 }, { ...sw, phases: 1 });
      expect(r.at(0, 5000).phaseRequest).toBe(3); // starts on 3 phases: the one switch allowed
      r.c.phaseSwitchEnded('Accepted');
      // 2 kW: enough for 1 phase, not for 3; no switch left, so 6 A on 3 phases would take 2.1 kW from the grid for ever.
      expect(r.at(3, 2000, { phases: 3, evW: 5000 })).toMatchObject({ state: 'stopping', phaseRequest: null });
      expect(r.hold(4, 63, 2000, { phases: 3, evW: 4140 })).toMatchObject({ state: 'idle', budgetA: 0 });
    });

    it('a station without a relay (NotSupported) is never asked again; phaseSwitching off never asks', () => {
      const r = rig('minpv', { phaseDownDelayS: 1 }, { ...sw, phases: 3 });
      expect(r.hold(0, 2, 0).phaseRequest).toBe(1);
      r.c.phaseSwitchEnded('NotSupported');
      expect(r.hold(3, 5000, 0, { phases: 3 }).phaseRequest).toBeNull();
      const off = rig('minpv', { phaseDownDelayS: 1, phaseSwitching: 'off' }, { ...sw, phases: 3 });
      expect(off.hold(0, 5000, 0).phaseRequest).toBeNull();
      const fixed = rig('minpv', { phaseDownDelayS: 1 }, { switchable: false, phases: 3 });
      expect(fixed.hold(0, 5000, 0).phaseRequest).toBeNull();
    });
  });

  it('changing the mode starts the logic afresh', () => {
    const r = rig('pv', { startDelayS: 0 });
    expect(r.at(0, 8000).state).toBe('charging');
    r.c.setMode('off');
    expect(r.at(1, 8000).budgetA).toBeNull();
    r.c.setMode('pv');
    expect(rig('pv').c.getMode()).toBe('pv');
    expect(r.at(2, 8000).state).toBe('charging'); // startDelayS 0
  });
});
