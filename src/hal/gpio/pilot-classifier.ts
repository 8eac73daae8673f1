import type { PilotReading, PilotState } from '../types.js';

/**
 * Pure pilot classification: pilot volts -> IEC state, with hysteresis, and a time debouncer that
 * never delays the readings that open the contactor (leaving C/D, diode lost) beyond its fast window.
 */

export interface PilotThresholds {
  ab: number;
  bc: number;
  cd: number;
  de: number;
  diode: number;
}

/** State from the high (positive) pilot level alone. */
export function classifyHigh(v: number, t: PilotThresholds): PilotState {
  if (v >= t.ab) return 'A';
  if (v >= t.bc) return 'B';
  if (v >= t.cd) return 'C';
  if (v >= t.de) return 'D';
  if (v > -t.de) return 'E';
  return 'F';
}

/** Band of a state on the high level: [lo, hi). */
function band(s: PilotState, t: PilotThresholds): [number, number] {
  switch (s) {
    case 'A': return [t.ab, Infinity];
    case 'B': return [t.bc, t.ab];
    case 'C': return [t.cd, t.bc];
    case 'D': return [t.de, t.cd];
    case 'E': return [-t.de, t.de];
    case 'F': return [-Infinity, -t.de];
  }
}

/** Like classifyHigh, but a reading within `h` volts outside the current state's band keeps it. */
export function classifyWithHysteresis(v: number, current: PilotState, t: PilotThresholds, h: number): PilotState {
  const [lo, hi] = band(current, t);
  if (v >= lo - h && v < hi + h) return current;
  return classifyHigh(v, t);
}

const CHARGING: ReadonlySet<PilotState> = new Set(['C', 'D']);

export interface DebounceTimes {
  debounceMs: number;
  fastDebounceMs: number;
}

/**
 * Holds the reported reading. A candidate must persist `debounceMs` (or `fastDebounceMs` when it
 * takes the EV out of C/D or reports a lost diode) before it is reported.
 *
 * Leaving C/D is one candidate, "not C/D": every sample outside C/D keeps it alive, whichever
 * state it shows, so a pilot that flickers between B, A, E... (a bad contact while the EV opens S2)
 * still leaves C/D after `fastDebounceMs`; the state reported then is the latest sample's. Only a
 * C/D sample restarts it. Other changes restart their wait whenever the sampled state changes.
 */
export class PilotDebouncer {
  private reading: PilotReading;
  /** `leave`: the fast "not C/D" candidate; `state` is then the latest non-C/D sample. */
  private stateCand?: { state: PilotState; since: number; leave: boolean };
  private diodeCand?: { ok: boolean; since: number };

  constructor(private readonly times: DebounceTimes, initial: PilotReading = { state: 'A', diodeOk: true, diodeChecked: false }) {
    this.reading = { ...initial };
  }

  current(): PilotReading {
    return this.reading;
  }

  /** The output mode changed: the reported diode verdict is no longer fresh (not an event: the caller knows). */
  invalidateDiodeCheck(): void {
    if (this.reading.diodeChecked) this.reading = { ...this.reading, diodeChecked: false };
  }

  /** Feed one sample; returns the new reading when it changed. */
  feed(sample: PilotReading, nowMs: number): PilotReading | undefined {
    let changed = false;
    let state = this.reading.state;
    let diodeOk = this.reading.diodeOk;

    if (sample.state === state) this.stateCand = undefined;
    else {
      const fast = CHARGING.has(state) && !CHARGING.has(sample.state);
      if (fast) {
        if (!this.stateCand?.leave) this.stateCand = { state: sample.state, since: nowMs, leave: true };
        else this.stateCand.state = sample.state;
      } else if (this.stateCand?.leave || this.stateCand?.state !== sample.state) {
        this.stateCand = { state: sample.state, since: nowMs, leave: false };
      }
      const need = fast ? this.times.fastDebounceMs : this.times.debounceMs;
      if (nowMs - this.stateCand.since >= need) {
        state = sample.state;
        this.stateCand = undefined;
        changed = true;
      }
    }

    if (sample.diodeOk === diodeOk) this.diodeCand = undefined;
    else {
      if (this.diodeCand?.ok !== sample.diodeOk) this.diodeCand = { ok: sample.diodeOk, since: nowMs };
      const need = sample.diodeOk ? this.times.debounceMs : this.times.fastDebounceMs;
      if (nowMs - this.diodeCand.since >= need) {
        diodeOk = sample.diodeOk;
        this.diodeCand = undefined;
        changed = true;
      }
    }

    // Checked only when this sample measured the diode and agrees with the reported verdict: a first
    // measurement that contradicts it waits for its debounce (a missing diode is never reported
    // checked-and-good, not even for one sample).
    const diodeChecked = sample.diodeChecked && sample.diodeOk === diodeOk;
    if (diodeChecked !== this.reading.diodeChecked) changed = true;

    if (!changed) return undefined;
    this.reading = { state, diodeOk, diodeChecked };
    return this.reading;
  }
}
