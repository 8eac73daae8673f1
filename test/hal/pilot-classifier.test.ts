import { describe, expect, it } from 'vitest';
import { PilotDebouncer, classifyHigh, classifyWithHysteresis } from '../../src/hal/gpio/pilot-classifier.js';
import type { PilotReading, PilotState } from '../../src/hal/types.js';

const T = { ab: 10.5, bc: 7.5, cd: 4.5, de: 1.5, diode: -10.5 };

describe('pilot classification', () => {
  it('maps the nominal levels and the edges of each band', () => {
    expect([12, 9, 6, 3, 0, -12].map((v) => classifyHigh(v, T))).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(classifyHigh(10.5, T)).toBe('A');
    expect(classifyHigh(10.49, T)).toBe('B');
    expect(classifyHigh(-1.49, T)).toBe('E');
    expect(classifyHigh(-1.5, T)).toBe('F');
  });

  it('hysteresis keeps the state near a boundary and lets go beyond it', () => {
    expect(classifyWithHysteresis(7.3, 'B', T, 0.4)).toBe('B');
    expect(classifyWithHysteresis(7.0, 'B', T, 0.4)).toBe('C');
    expect(classifyWithHysteresis(7.7, 'C', T, 0.4)).toBe('C');
    expect(classifyWithHysteresis(8.0, 'C', T, 0.4)).toBe('B');
  });
});

describe('PilotDebouncer', () => {
  it('slow to enter C, fast to leave it; diode loss fast, recovery slow', () => {
    const d = new PilotDebouncer({ debounceMs: 250, fastDebounceMs: 20 }, { state: 'B', diodeOk: true, diodeChecked: false });
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: false }, 0)).toBeUndefined();
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: false }, 240)).toBeUndefined();
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: false }, 250)).toEqual({ state: 'C', diodeOk: true, diodeChecked: false });
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 300)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 320)).toEqual({ state: 'B', diodeOk: true, diodeChecked: false });
    expect(d.feed({ state: 'B', diodeOk: false, diodeChecked: false }, 400)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: false, diodeChecked: false }, 420)).toEqual({ state: 'B', diodeOk: false, diodeChecked: false });
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 430)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 680)).toEqual({ state: 'B', diodeOk: true, diodeChecked: false });
  });

  it('a glitch shorter than the debounce is never reported; a new candidate restarts the wait', () => {
    const d = new PilotDebouncer({ debounceMs: 100, fastDebounceMs: 20 }, { state: 'A', diodeOk: true, diodeChecked: false });
    d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 0);
    expect(d.feed({ state: 'A', diodeOk: true, diodeChecked: false }, 50)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 60)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 150)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 160)?.state).toBe('B');
  });

  it('leaving C/D: samples that alternate between non-C/D states (B, A, E) still leave after the fast window', () => {
    const d = new PilotDebouncer({ debounceMs: 250, fastDebounceMs: 20 }, { state: 'C', diodeOk: true, diodeChecked: false });
    const flicker: PilotState[] = ['B', 'A', 'B', 'A', 'E', 'B'];
    let out: PilotReading | undefined;
    let t = 0;
    for (const s of flicker) {
      out = d.feed({ state: s, diodeOk: true, diodeChecked: false }, t) ?? out;
      if (out) break;
      t += 10;
    }
    expect(out).toBeDefined();
    expect(t).toBe(20); // the first non-C sample at 0 started the one candidate
    expect(out!.state).toBe('B'); // the latest sample's state
  });

  it('leaving C/D: a C sample in between restarts the fast candidate; D is a normal (slow) change', () => {
    const d = new PilotDebouncer({ debounceMs: 250, fastDebounceMs: 20 }, { state: 'C', diodeOk: true, diodeChecked: false });
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 0)).toBeUndefined();
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: false }, 10)).toBeUndefined();
    expect(d.feed({ state: 'A', diodeOk: true, diodeChecked: false }, 20)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 30)).toBeUndefined();
    expect(d.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 40)?.state).toBe('B');
    const e = new PilotDebouncer({ debounceMs: 250, fastDebounceMs: 20 }, { state: 'C', diodeOk: true, diodeChecked: false });
    expect(e.feed({ state: 'D', diodeOk: true, diodeChecked: false }, 0)).toBeUndefined();
    expect(e.feed({ state: 'B', diodeOk: true, diodeChecked: false }, 10)).toBeUndefined(); // leaving starts here
    expect(e.feed({ state: 'D', diodeOk: true, diodeChecked: false }, 20)).toBeUndefined(); // D: still requesting, restarts
    expect(e.feed({ state: 'D', diodeOk: true, diodeChecked: false }, 260)).toBeUndefined();
    expect(e.feed({ state: 'D', diodeOk: true, diodeChecked: false }, 270)?.state).toBe('D');
  });

  it('diodeChecked: reported only when the measured verdict agrees with the reported one; invalidated on request', () => {
    const d = new PilotDebouncer({ debounceMs: 250, fastDebounceMs: 20 }, { state: 'C', diodeOk: true, diodeChecked: false });
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: true }, 0)).toEqual({ state: 'C', diodeOk: true, diodeChecked: true });
    d.invalidateDiodeCheck();
    expect(d.current().diodeChecked).toBe(false);
    // first measurement says "missing": not checked until the (fast) debounce reports it missing
    expect(d.feed({ state: 'C', diodeOk: false, diodeChecked: true }, 10)).toBeUndefined();
    expect(d.feed({ state: 'C', diodeOk: false, diodeChecked: true }, 30)).toEqual({ state: 'C', diodeOk: false, diodeChecked: true });
    // recovery is slow; meanwhile the reported "missing" is not confirmed by the samples
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: true }, 40)).toEqual({ state: 'C', diodeOk: false, diodeChecked: false });
    expect(d.feed({ state: 'C', diodeOk: true, diodeChecked: true }, 290)).toEqual({ state: 'C', diodeOk: true, diodeChecked: true });
  });
});
