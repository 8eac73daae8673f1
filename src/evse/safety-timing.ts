import type { Clock } from '../hal/clock.js';

/**
 * Pure timing rules of the safety supervisor (owned by the hardware side, issue 6). Time is always
 * passed in (monotonic ms) or taken from an injected Clock, so every rule runs on a FakeClock.
 * Sources: ../shared/reference/iec61851.md §1.3-1.8.
 */

// ---------------------------------------------------------------------------------------------
// Overcurrent

export interface OvercurrentOptions {
  /** Allowed excess over the offer, percent (EVerest soft over-current: 10 %). */
  tolerancePct?: number;
  /** Measurement noise allowance, A (EVerest: 0.5 A). */
  noiseA?: number;
  /** How long the excess must last (EV reaction window 5 s; EVerest minimum 6000, default 7000). */
  windowMs?: number;
}

export interface OvercurrentVerdict {
  /** true once the excess has lasted the whole window: open the contactor, fault 'overcurrent'. */
  trip: boolean;
  /** Largest phase current above the limit right now. */
  over: boolean;
  limitA: number;
  /** Monotonic ms since which the current has been over the limit. */
  overSinceMs?: number;
}

/** Measured current above the offer beyond the IEC tolerance for longer than the EV's reaction window. */
export class OvercurrentCheck {
  readonly tolerancePct: number;
  readonly noiseA: number;
  readonly windowMs: number;
  private overSince?: number;

  constructor(opts: OvercurrentOptions = {}) {
    this.tolerancePct = opts.tolerancePct ?? 10;
    this.noiseA = opts.noiseA ?? 0.5;
    this.windowMs = opts.windowMs ?? 6000;
    if (this.windowMs < 6000) throw new RangeError(`overcurrent window must be at least 6000 ms (EV reaction time 5 s), got ${this.windowMs}`);
  }

  limitFor(offerA: number): number {
    return offerA * (1 + this.tolerancePct / 100) + this.noiseA;
  }

  /** `offerA` = current the PWM offers now (0 in X1); `phaseCurrentsA` = meter reading. */
  update(phaseCurrentsA: readonly number[], offerA: number, nowMs: number): OvercurrentVerdict {
    const limitA = this.limitFor(offerA);
    const over = phaseCurrentsA.some((a) => a > limitA);
    if (!over) {
      this.overSince = undefined;
      return { trip: false, over, limitA };
    }
    this.overSince ??= nowMs;
    return { trip: nowMs - this.overSince >= this.windowMs, over, limitA, overSinceMs: this.overSince };
  }

  reset(): void {
    this.overSince = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Contactor welding / failed to close

export interface ContactorCheckOptions {
  /** Feedback still closed this long after the command to open: welded. */
  weldMs?: number;
  /** Feedback still open this long after the command to close: failed to close. */
  closeMs?: number;
}

export interface ContactorVerdict {
  welded: boolean;
  failedToClose: boolean;
  /** Monotonic ms at which evaluate() should run again to decide a pending mismatch. */
  checkAtMs?: number;
}

/**
 * Compares the contactor command with its auxiliary (mirror) contact. A weld latches until
 * clearWeld() (a technician); a failure to close clears when the feedback follows again.
 */
export class WeldingDetector {
  readonly weldMs: number;
  readonly closeMs: number;
  private commanded = false;
  private feedbackClosed = false;
  private mismatchSince?: number;
  private weldLatched = false;

  constructor(opts: ContactorCheckOptions = {}) {
    this.weldMs = opts.weldMs ?? 500;
    this.closeMs = opts.closeMs ?? 500;
  }

  command(closed: boolean, nowMs: number): ContactorVerdict {
    if (closed !== this.commanded) {
      this.commanded = closed;
      this.restart(nowMs);
    }
    return this.evaluate(nowMs);
  }

  feedback(closed: boolean, nowMs: number): ContactorVerdict {
    if (closed !== this.feedbackClosed) {
      this.feedbackClosed = closed;
      this.restart(nowMs);
    }
    return this.evaluate(nowMs);
  }

  evaluate(nowMs: number): ContactorVerdict {
    let failedToClose = false;
    let checkAtMs: number | undefined;
    if (this.mismatchSince !== undefined) {
      const limit = this.commanded ? this.closeMs : this.weldMs;
      const due = this.mismatchSince + limit;
      if (nowMs >= due) {
        if (this.commanded) failedToClose = true;
        else this.weldLatched = true;
      } else checkAtMs = due;
    }
    return { welded: this.weldLatched, failedToClose, checkAtMs };
  }

  /** A technician confirmed the contactor is repaired. Returns false (still welded) if the feedback is still closed while open. */
  clearWeld(nowMs: number): boolean {
    if (!this.commanded && this.feedbackClosed) return false;
    this.weldLatched = false;
    this.evaluate(nowMs);
    return true;
  }

  private restart(nowMs: number): void {
    this.mismatchSince = this.commanded !== this.feedbackClosed ? nowMs : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// RCD self-test

export interface RcdTestIo {
  /** Drive the module's test input (true = inject the test current). */
  setTest(on: boolean): void;
  /** The module's fault output right now (true = tripped). */
  faultActive(): boolean;
  /** Subscribe to fault output changes; returns the unsubscribe function. */
  onFault(listener: (active: boolean) => void): () => void;
}

export interface RcdTestResult {
  ok: boolean;
  /** What failed, in words a technician can act on. */
  reason?: string;
  /** Time from test on to trip, and from test off to clear (ms). */
  tripMs?: number;
  clearMs?: number;
}

/**
 * RCD / RDC-DD self-test (SmartEVSE: test input 1000 ms, expect the fault line; Tinkerforge:
 * in state A after every charge and at least every 24 h). Run only with the contactor open.
 * The test input is always released, also on failure.
 */
export async function runRcdSelfTest(
  io: RcdTestIo,
  clock: Clock,
  opts: { testMs?: number; clearMs?: number } = {},
): Promise<RcdTestResult> {
  const testMs = opts.testMs ?? 1000;
  const clearMs = opts.clearMs ?? 1500;
  if (io.faultActive()) return { ok: false, reason: 'the RCD fault output was already active before the test (tripped, or wiring/polarity wrong: check gpio.activeLow)' };

  const waitFor = (want: boolean, ms: number) =>
    new Promise<number | undefined>((resolve) => {
      const t0 = clock.monoMs();
      if (io.faultActive() === want) return resolve(0);
      let off = () => {};
      const timer = clock.setTimeout(() => {
        off();
        resolve(undefined);
      }, ms);
      off = io.onFault((active) => {
        if (active !== want) return;
        timer.cancel();
        off();
        resolve(clock.monoMs() - t0);
      });
    });

  io.setTest(true);
  let tripMs: number | undefined;
  try {
    tripMs = await waitFor(true, testMs);
  } finally {
    io.setTest(false);
  }
  if (tripMs === undefined) return { ok: false, reason: `the RCD module did not trip within ${testMs} ms of its test input` };
  const clearedMs = await waitFor(false, clearMs);
  if (clearedMs === undefined) return { ok: false, reason: `the RCD fault output did not clear within ${clearMs} ms after the test`, tripMs };
  return { ok: true, tripMs, clearMs: clearedMs };
}
