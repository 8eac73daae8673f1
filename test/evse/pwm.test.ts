import { describe, expect, it } from 'vitest';
import { currentForDuty, dutyForCurrent, MAX_CURRENT_A, MIN_CURRENT_A, offerableCurrent } from '../../src/domain/pwm.js';

/** Every current from `from` to `to` A in steps of 0.01 A, built from integers so the steps are exact decimals. */
function centiAmps(from: number, to: number): number[] {
  const out: number[] = [];
  for (let c = Math.round(from * 100); c <= Math.round(to * 100); c++) out.push(c / 100);
  return out;
}

describe('dutyForCurrent (IEC 61851-1 Annex A, per mille)', () => {
  it('encodes the boundaries of both formulas', () => {
    expect(dutyForCurrent(6)).toBe(100); // 10 %
    expect(dutyForCurrent(10)).toBe(166); // 16.67 % rounded down
    expect(dutyForCurrent(16)).toBe(266);
    expect(dutyForCurrent(32)).toBe(533);
    expect(dutyForCurrent(51)).toBe(850); // 85 %, top of I / 0.6
    expect(dutyForCurrent(52.75)).toBe(851); // first duty of I / 2.5 + 64
    expect(dutyForCurrent(63)).toBe(892);
    expect(dutyForCurrent(80)).toBe(960); // 96 %
  });

  it('clamps 51 A < I < 52.5 A (no encoding in the standard) to 51 A = 850', () => {
    for (const a of [51.01, 51.5, 52, 52.49, 52.5, 52.74]) expect(dutyForCurrent(a), `${a} A`).toBe(850);
  });

  it('clamps everything above 80 A to 960 (96 %)', () => {
    for (const a of [80.01, 80.5, 81, 100, 1000]) expect(dutyForCurrent(a), `${a} A`).toBe(960);
  });

  it('refuses below 6 A, NaN and infinities (the caller must use X1, never 0 %)', () => {
    for (const a of [5.99, 5, 0, -1, -6, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => dutyForCurrent(a), `${a} A`).toThrow(RangeError);
    }
    expect(() => dutyForCurrent(5.99)).toThrow(/use X1/);
  });

  it('rounds fractional amps down: the EV never reads more than the limit', () => {
    expect(dutyForCurrent(6.05)).toBe(100); // 6.05 / 0.6 = 100.8 %o -> 100 (6.00 A)
    expect(dutyForCurrent(10.9)).toBe(181); // 181.67 -> 181 (10.86 A)
    expect(dutyForCurrent(60.3)).toBe(881); // 881.2 -> 881 (60.25 A)
    for (const a of centiAmps(MIN_CURRENT_A, MAX_CURRENT_A)) {
      const d = dutyForCurrent(a);
      expect(Number.isInteger(d), `${a} A -> ${d}`).toBe(true);
      expect(currentForDuty(d), `${a} A -> ${d} %o`).toBeLessThanOrEqual(a);
    }
  });

  it('never gives away a whole step: the next duty up would offer more than asked', () => {
    for (const a of centiAmps(MIN_CURRENT_A, MAX_CURRENT_A)) {
      const d = dutyForCurrent(a);
      if (d === 850 && a < 52.75) continue; // the 51..52.5 A gap is clamped on purpose
      if (d === 960) continue; // 96 % is the top of the encoding
      expect(currentForDuty(d + 1), `${a} A -> ${d} %o`).toBeGreaterThan(a);
    }
  });

  it('never emits a reserved duty (below 10 %: 5 % digital communication, 0 % state F)', () => {
    for (const a of centiAmps(MIN_CURRENT_A, 100)) {
      const d = dutyForCurrent(a);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(960);
    }
  });
});

describe('currentForDuty (what the EV reads)', () => {
  it('decodes both ranges and the special bands', () => {
    expect(currentForDuty(0)).toBe(0); // 0 % = state F
    expect(currentForDuty(50)).toBe(0); // 5 % = digital communication
    expect(currentForDuty(79)).toBe(0);
    expect(currentForDuty(80)).toBe(6); // 8 % .. < 10 % -> 6 A
    expect(currentForDuty(99)).toBe(6);
    expect(currentForDuty(100)).toBe(6);
    expect(currentForDuty(266)).toBeCloseTo(15.96, 10);
    expect(currentForDuty(850)).toBe(51);
    expect(currentForDuty(851)).toBe(52.75);
    expect(currentForDuty(960)).toBe(80);
    expect(currentForDuty(961)).toBe(80);
    expect(currentForDuty(970)).toBe(80);
    expect(currentForDuty(971)).toBe(0);
    expect(currentForDuty(1000)).toBe(0); // 100 % = X1, no charging
  });

  it('is the exact inverse of dutyForCurrent on every duty 100..960', () => {
    for (let d = 100; d <= 960; d++) {
      const a = currentForDuty(d);
      expect(a, `${d} %o`).toBeGreaterThanOrEqual(MIN_CURRENT_A);
      expect(dutyForCurrent(a), `${d} %o -> ${a} A`).toBe(d);
    }
  });

  it('round trip current -> duty -> current never exceeds the requested current', () => {
    for (const a of centiAmps(MIN_CURRENT_A, 120)) {
      expect(currentForDuty(dutyForCurrent(a)), `${a} A`).toBeLessThanOrEqual(Math.min(a, MAX_CURRENT_A));
    }
    for (let a = MIN_CURRENT_A; a <= 51; a++) expect(currentForDuty(dutyForCurrent(a))).toBeGreaterThan(a - 0.06);
    for (let a = 53; a <= MAX_CURRENT_A; a++) expect(currentForDuty(dutyForCurrent(a))).toBe(a);
  });
});

describe('offerableCurrent', () => {
  it('is the largest whole current at or below the limit, 0 when nothing can be offered', () => {
    expect(offerableCurrent(6)).toBe(6);
    expect(offerableCurrent(6.99)).toBe(6);
    expect(offerableCurrent(16)).toBe(16);
    expect(offerableCurrent(31.5)).toBe(31);
    expect(offerableCurrent(80)).toBe(80);
    expect(offerableCurrent(80.9)).toBe(80);
    expect(offerableCurrent(500)).toBe(80);
    expect(offerableCurrent(5.99)).toBe(0);
    expect(offerableCurrent(0)).toBe(0);
    expect(offerableCurrent(-3)).toBe(0);
    expect(offerableCurrent(Number.NaN)).toBe(0);
    expect(offerableCurrent(Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('always yields a current dutyForCurrent accepts (or 0)', () => {
    for (const a of centiAmps(0, 100)) {
      const o = offerableCurrent(a);
      if (o === 0) expect(a).toBeLessThan(MIN_CURRENT_A);
      else {
        expect(o).toBeLessThanOrEqual(a);
        expect(() => dutyForCurrent(o)).not.toThrow();
      }
    }
  });
});
