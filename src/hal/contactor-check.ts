import { CONTACTOR_FEEDBACK_TIMEOUT_MS } from '../domain/faults.js';
import type { Clock } from './clock.js';

/**
 * Contactor welding / failure to close, from the auxiliary (mirror) contact: the one place it is decided for every board. Pure timing (monotonic ms passed in), so it runs on a FakeClock.
 * Sources: ../shared/reference/iec61851.md §1.3-1.8.
 */

export interface ContactorCheckOptions {
  /** Feedback still closed this long after the command to open: welded (default CONTACTOR_FEEDBACK_TIMEOUT_MS). */
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
    this.weldMs = opts.weldMs ?? CONTACTOR_FEEDBACK_TIMEOUT_MS;
    this.closeMs = opts.closeMs ?? CONTACTOR_FEEDBACK_TIMEOUT_MS;
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


/** The part of a Clock a monitor needs. */
export type MonitorClock = Pick<Clock, 'monoMs' | 'setTimeout'>;

/**
 * The WeldingDetector on a clock: every board with an auxiliary contact (gpio, simulator) feeds
 * it its commands and feedback edges and reports its verdicts as the board faults 'welded' and
 * 'contactor'. The one place welding is detected, with one timing.
 */
export class ContactorMonitor {
  private readonly detector: WeldingDetector;
  private check?: { cancel(): void };
  private verdict: ContactorVerdict = { welded: false, failedToClose: false };

  constructor(
    private readonly clock: MonitorClock,
    opts: ContactorCheckOptions,
    initial: { commanded: boolean; feedback: boolean },
    private readonly onVerdict: (v: ContactorVerdict) => void,
  ) {
    this.detector = new WeldingDetector(opts);
    this.detector.feedback(initial.feedback, clock.monoMs());
    // a contactor that is already closed at start-up while commanded open is welded
    this.apply(this.detector.command(initial.commanded, clock.monoMs()));
  }

  command(closed: boolean): void {
    this.apply(this.detector.command(closed, this.clock.monoMs()));
  }

  feedback(closed: boolean): void {
    this.apply(this.detector.feedback(closed, this.clock.monoMs()));
  }

  /** A technician cleared the weld: false (latched still) while the feedback reads closed with the contactor open. */
  clearWeld(): boolean {
    const ok = this.detector.clearWeld(this.clock.monoMs());
    this.apply(this.detector.evaluate(this.clock.monoMs()));
    return ok;
  }

  close(): void {
    this.check?.cancel();
    this.check = undefined;
  }

  private apply(v: ContactorVerdict): void {
    this.check?.cancel();
    this.check = undefined;
    if (v.checkAtMs !== undefined) {
      this.check = this.clock.setTimeout(() => this.apply(this.detector.evaluate(this.clock.monoMs())), v.checkAtMs - this.clock.monoMs());
    }
    if (v.welded !== this.verdict.welded || v.failedToClose !== this.verdict.failedToClose) {
      this.verdict = v;
      this.onVerdict(v);
    }
  }
}
