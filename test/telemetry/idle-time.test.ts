import { describe, expect, it } from 'vitest';
import { SessionTimer } from '../../src/evse/session-timer.js';
import { wholeSeconds } from '../../src/store/sessions.js';

/**
 * The whole seconds a session shows (status, MQTT session/idle_time and charging_time) must not
 * flap: idle time stands still while charging steadily, charging time while idle, and neither
 * goes back, whatever the fractions of a second of the two.
 */
function shown(timer: SessionTimer, from: number, to: number, stepMs: number): { durationS: number; chargingS: number; idleS: number }[] {
  const out = [];
  for (let t = from; t <= to; t += stepMs) out.push(wholeSeconds(timer.live(t)));
  return out;
}

describe('session seconds while charging steadily', () => {
  it('idle time stands still while charging (it flipped 0/1 with duration − charging)', () => {
    const timer = new SessionTimer(0);
    timer.update(700, { charging: true, meterOk: true }); // 0.7 s idle before the EV draws
    const seen = shown(timer, 700, 30_000, 130);
    expect(new Set(seen.map((s) => s.idleS))).toEqual(new Set([0]));
    for (const s of seen) expect(s.chargingS + s.idleS).toBe(s.durationS);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.chargingS).toBeGreaterThanOrEqual(seen[i - 1]!.chargingS);
  });

  it('charging time stands still while idle', () => {
    const timer = new SessionTimer(0);
    timer.update(0, { charging: true, meterOk: true });
    timer.update(5_400, { charging: false, meterOk: true }); // 5.4 s charged, then the EV is full
    const seen = shown(timer, 5_400, 30_000, 130);
    expect(new Set(seen.map((s) => s.chargingS))).toEqual(new Set([5]));
    for (const s of seen) expect(s.chargingS + s.idleS).toBe(s.durationS);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.idleS).toBeGreaterThanOrEqual(seen[i - 1]!.idleS);
  });
});
