import { describe, expect, it } from 'vitest';
import { SessionTimer } from '../../src/evse/session-timer.js';

describe('SessionTimer', () => {
  it('starts at zero; time before the first update is idle with the meter ok', () => {
    const t = new SessionTimer(1000);
    expect(t.durations(1000)).toEqual({ durationMs: 0, chargingMs: 0, idleMs: 0, meterGapMs: 0 });
    expect(t.durations(1500)).toEqual({ durationMs: 500, chargingMs: 0, idleMs: 500, meterGapMs: 0 });
  });

  it('attributes each interval to the condition set by the previous update', () => {
    const t = new SessionTimer(0);
    t.update(1000, { charging: true, meterOk: true }); // 0..1000 idle
    t.update(4000, { charging: true, meterOk: false }); // 1000..4000 charging
    t.update(6500, { charging: false, meterOk: false }); // 4000..6500 charging, meter gap
    t.update(7000, { charging: false, meterOk: true }); // 6500..7000 idle, meter gap
    expect(t.durations(10_000)).toEqual({ durationMs: 10_000, chargingMs: 5500, idleMs: 4500, meterGapMs: 3000 });
  });

  it('durations() does not change the condition and can be called any number of times', () => {
    const t = new SessionTimer(0);
    t.update(0, { charging: true, meterOk: true });
    expect(t.durations(100).chargingMs).toBe(100);
    expect(t.durations(100).chargingMs).toBe(100);
    expect(t.durations(300)).toEqual({ durationMs: 300, chargingMs: 300, idleMs: 0, meterGapMs: 0 });
  });

  it('returns a copy', () => {
    const t = new SessionTimer(0);
    const d = t.durations(100);
    d.durationMs = 1e9;
    expect(t.durations(100).durationMs).toBe(100);
  });

  it('continues from carried durations (a session recovered after a restart)', () => {
    const t = new SessionTimer(50_000, { durationMs: 60_000, chargingMs: 40_000, idleMs: 20_000, meterGapMs: 1000 });
    t.update(50_000, { charging: true, meterOk: true });
    expect(t.durations(52_000)).toEqual({ durationMs: 62_000, chargingMs: 42_000, idleMs: 20_000, meterGapMs: 1000 });
    expect(new SessionTimer(0, { chargingMs: 5 }).durations(0)).toEqual({ durationMs: 0, chargingMs: 5, idleMs: 0, meterGapMs: 0 });
  });

  it('never counts backwards when a reading arrives out of order', () => {
    const t = new SessionTimer(1000);
    t.update(2000, { charging: true, meterOk: true });
    t.update(1500, { charging: true, meterOk: true }); // earlier than the last update: adds nothing
    expect(t.durations(1200)).toEqual({ durationMs: 1000, chargingMs: 0, idleMs: 1000, meterGapMs: 0 });
    expect(t.durations(3000)).toEqual({ durationMs: 2000, chargingMs: 1000, idleMs: 1000, meterGapMs: 0 });
  });

  it('counts whole milliseconds of a fractional monotonic clock, so the parts always add up after storing', () => {
    const t = new SessionTimer(100.6);
    t.update(350.3, { charging: true, meterOk: false });
    t.update(1000.9, { charging: false, meterOk: true });
    const d = t.durations(1234.4);
    expect(d).toEqual({ durationMs: 1134, chargingMs: 650, idleMs: 484, meterGapMs: 650 });
    for (const v of Object.values(d)) expect(Number.isInteger(v)).toBe(true);
    expect(d.chargingMs + d.idleMs).toBe(d.durationMs);
  });

  it('the split is exact whatever the update rate: charging + idle = duration, and equals a coarse timer', () => {
    const fine = new SessionTimer(0);
    const coarse = new SessionTimer(0);
    let charging = false;
    for (let now = 0; now < 100_000; now += 7) {
      const nowCharging = Math.floor(now / 10_000) % 2 === 1;
      if (nowCharging !== charging) {
        coarse.update(now, { charging: nowCharging, meterOk: true });
        charging = nowCharging;
      }
      fine.update(now, { charging: nowCharging, meterOk: true });
    }
    const f = fine.durations(100_000);
    const c = coarse.durations(100_000);
    expect(f.chargingMs + f.idleMs).toBe(f.durationMs);
    expect(f.durationMs).toBe(100_000);
    // The fine timer switches on the first update at or after each 10 s boundary (steps of 7 ms), like the coarse one.
    expect(f).toEqual(c);
  });
});
