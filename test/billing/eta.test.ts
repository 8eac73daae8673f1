import { describe, expect, it } from 'vitest';
import { PowerSmoother, SessionEtaTracker, estimateCapacityWh, estimateTimeToFinish } from '../../src/billing/eta.js';
import { FakeClock } from '../../src/hal/clock.js';

describe('estimateTimeToFinish', () => {
  it('is honestly unknown without a target or without power', () => {
    expect(estimateTimeToFinish({ powerW: 11_000, energyWh: 1000 })).toEqual({ etaS: null, basis: 'unknown' });
    expect(estimateTimeToFinish({ powerW: null, energyWh: 1000, targetEnergyWh: 5000 })).toEqual({ etaS: null, basis: 'unknown' });
    expect(estimateTimeToFinish({ powerW: 50, energyWh: 1000, targetEnergyWh: 5000 })).toEqual({ etaS: null, basis: 'unknown' });
    // SoC known but no capacity and too little SoC rise to estimate it
    expect(estimateTimeToFinish({ powerW: 11_000, energyWh: 1000, socPercent: 23, startSocPercent: 20 })).toEqual({ etaS: null, basis: 'unknown' });
  });

  it('energy target: remaining energy over the observed power; 0 once reached', () => {
    expect(estimateTimeToFinish({ powerW: 6000, energyWh: 4000, targetEnergyWh: 10_000 })).toEqual({ etaS: 3600, basis: 'energy' });
    expect(estimateTimeToFinish({ powerW: 0, energyWh: 10_000, targetEnergyWh: 10_000 })).toEqual({ etaS: 0, basis: 'energy' });
  });

  it('SoC target below the taper: flat power', () => {
    // 40 % of 60 kWh = 24 kWh at 11 kW
    expect(estimateTimeToFinish({ powerW: 11_000, energyWh: 0, socPercent: 40, targetSocPercent: 80, batteryCapacityWh: 60_000 })).toEqual({ etaS: 7855, basis: 'soc' });
    expect(estimateTimeToFinish({ powerW: 11_000, energyWh: 0, socPercent: 100, batteryCapacityWh: 60_000 })).toEqual({ etaS: 0, basis: 'soc' });
  });

  it('SoC to 100 % considers the taper above 80 % and its floor (10 % here)', () => {
    // taper 80→98 %: 20 % × 500 Wh × ln(20/2) / 10 kW = 2.3026 h; floor 98→100 % at 1 kW: 1 h
    expect(estimateTimeToFinish({ powerW: 10_000, energyWh: 0, socPercent: 80, batteryCapacityWh: 50_000, taperFloorRatio: 0.1 })).toEqual({ etaS: 11_889, basis: 'soc' });
    // at 90 % the EV draws half its untapered power: 5 kW now means 10 kW untapered
    expect(estimateTimeToFinish({ powerW: 5000, energyWh: 0, socPercent: 90, batteryCapacityWh: 50_000, taperFloorRatio: 0.1 })).toEqual({ etaS: 9394, basis: 'soc' });
  });

  it('estimates the capacity from the session once the SoC rose 5 %', () => {
    expect(estimateCapacityWh(5500, 20, 30)).toBe(55_000);
    expect(estimateCapacityWh(1000, 20, 24)).toBeNull();
    // 50 % × 550 Wh / 11 kW = 2.5 h
    expect(estimateTimeToFinish({ powerW: 11_000, energyWh: 5500, socPercent: 30, startSocPercent: 20, targetSocPercent: 80 })).toEqual({ etaS: 9000, basis: 'soc' });
  });

  it('with both targets, the one reached first decides', () => {
    const base = { powerW: 8000, energyWh: 2000, socPercent: 50, targetSocPercent: 80, batteryCapacityWh: 40_000 };
    expect(estimateTimeToFinish({ ...base, targetEnergyWh: 10_000 })).toEqual({ etaS: 3600, basis: 'energy' });
    expect(estimateTimeToFinish({ ...base, targetEnergyWh: 20_000 })).toEqual({ etaS: 5400, basis: 'soc' });
  });

  it('an energy target reached in the taper takes longer than energy / power', () => {
    // 85 % → 90 % (2 kWh of 40 kWh); 7.5 kW now = 10 kW untapered: 20 × 400 × ln(15/10) / 10 000 h
    expect(estimateTimeToFinish({ powerW: 7500, energyWh: 0, targetEnergyWh: 2000, socPercent: 85, batteryCapacityWh: 40_000 })).toEqual({ etaS: 1168, basis: 'energy' });
  });

  it('tracks a session like the simulated EV (taper above 80 %, 1 A floor) within 10 % until the last minutes', () => {
    // 3 × 16 A × 230 V into 40 kWh from 20 %, the sim EV's current law, 10 s steps.
    const cap = 40_000;
    const fullW = 3 * 16 * 230;
    let soc = 20;
    let wh = 0;
    const trace: { t: number; soc: number; wh: number; w: number }[] = [];
    for (let t = 0; soc < 100; t += 10) {
      const a = soc > 80 ? Math.max(1, 16 * ((100 - soc) / 20)) : 16;
      const w = 3 * a * 230;
      trace.push({ t, soc, wh, w });
      const dwh = (w * 10) / 3600;
      wh += dwh;
      soc = Math.min(100, soc + (dwh / cap) * 100);
    }
    const total = trace[trace.length - 1]!.t + 10;
    const smoother = new PowerSmoother();
    let worst = 0;
    for (const p of trace) {
      const w = smoother.update(p.w, p.t * 1000);
      const remaining = total - p.t;
      if (remaining < 15 * 60 || p.soc < 25) continue; // capacity estimate needs 5 %; the last minutes are noise
      const eta = estimateTimeToFinish({ powerW: w, energyWh: p.wh, socPercent: p.soc, startSocPercent: 20 });
      expect(eta.basis).toBe('soc');
      worst = Math.max(worst, Math.abs(eta.etaS! - remaining) / remaining);
    }
    console.log(`ETA vs simulated EV (40 kWh, 11 kW, 20→100 %, ${Math.round(total / 60)} min): worst relative error ${(worst * 100).toFixed(1)} % (excluding the last 15 min)`);
    expect(fullW).toBe(11_040);
    expect(worst).toBeLessThan(0.1);
  });
});

describe('PowerSmoother', () => {
  it('moves 63 % of a step per time constant and holds on repeated time', () => {
    const s = new PowerSmoother(60);
    expect(s.powerW).toBeNull();
    expect(s.update(0, 0)).toBe(0);
    expect(s.update(1000, 60_000)).toBeCloseTo(632.12, 2);
    expect(s.update(5000, 60_000)).toBeCloseTo(632.12, 2);
    s.reset();
    expect(s.update(7000, 70_000)).toBe(7000);
  });
});

describe('SessionEtaTracker', () => {
  it('is unknown before a reading, then follows readings and the targets', () => {
    const t = new SessionEtaTracker();
    expect(t.estimate({ energyWh: 10_000 })).toEqual({ etaS: null, basis: 'unknown' });
    t.observe({ monoMs: 0, powerW: 6000, sessionEnergyWh: 4000 });
    expect(t.estimate({ energyWh: 10_000 })).toEqual({ etaS: 3600, basis: 'energy' });
    expect(t.estimate()).toEqual({ etaS: null, basis: 'unknown' });
  });

  it('estimates the capacity from the SoC it saw first (mid-session SoC is fine)', () => {
    const t = new SessionEtaTracker();
    t.observe({ monoMs: 0, powerW: 11_000, sessionEnergyWh: 1000, socPercent: 20 }); // SoC first known after 1 kWh
    expect(t.estimate({ socPercent: 80 })).toEqual({ etaS: null, basis: 'unknown' });
    t.observe({ monoMs: 1000, powerW: 11_000, sessionEnergyWh: 6500, socPercent: 30 }); // 5.5 kWh per 10 % → 55 kWh
    expect(t.estimate({ socPercent: 80 })).toEqual({ etaS: 9000, basis: 'soc' });
  });

  it('is unknown as soon as the EV stops drawing (latest reading, not the smoothed power), and follows at once when it resumes', () => {
    const clock = new FakeClock();
    const t = new SessionEtaTracker();
    let wh = 0;
    const reading = (powerW: number) => {
      clock.advance(1000);
      wh += powerW / 3600;
      t.observe({ monoMs: clock.monoMs(), powerW, sessionEnergyWh: Math.floor(wh) });
    };
    const target = { energyWh: 50_000 };
    for (let i = 0; i < 600; i++) reading(11_040);
    const charging = t.estimate(target);
    expect(charging.basis).toBe('energy');
    expect(charging.etaS).toBeCloseTo(((50_000 - Math.floor(wh)) / 11_040) * 3600, -1);
    // The EV stops drawing: the smoothed power (60 s time constant) is still ~200 W after 240 s,
    // which would make 50 kWh look like ten days away. The latest reading says it is not drawing.
    for (let s = 1; s <= 240; s++) {
      reading(0);
      expect(t.estimate(target), `${s} s after power fell to 0`).toEqual({ etaS: null, basis: 'unknown' });
    }
    // A reached target is still reached while not drawing.
    expect(t.estimate({ energyWh: 1000 })).toEqual({ etaS: 0, basis: 'energy' });
    // Resumed: the estimate starts from the new power, not from a smoother dragged down by the pause.
    reading(7360);
    const resumed = t.estimate(target);
    expect(resumed.basis).toBe('energy');
    expect(resumed.etaS).toBeCloseTo(((50_000 - Math.floor(wh)) / 7360) * 3600, -1);
  });
});
