import type { Clock } from '../clock.js';
import type { Contactor } from '../types.js';
import { WeldingDetector, type ContactorVerdict } from '../../evse/safety-timing.js';
import type { GpioLine } from './sysfs-gpio.js';
import type { DebouncedInput } from './input.js';

/**
 * Contactor relay output plus its auxiliary contact. set() writes the pin synchronously. With a
 * feedback input it reports 'welded' (latched until clearWeld) and 'contactor' (failed to close).
 */
export class GpioContactor implements Contactor {
  private closed = false;
  private readonly fbListeners: ((closed: boolean) => void)[] = [];
  private readonly detector?: WeldingDetector;
  private check?: { cancel(): void };
  private verdict: ContactorVerdict = { welded: false, failedToClose: false };
  /** Commands with their monotonic time (for hw test and the bench). */
  lastCommandMono = 0;

  constructor(
    private readonly line: GpioLine,
    private readonly fb: DebouncedInput | undefined,
    private readonly clock: Clock,
    opts: { weldMs: number; closeMs: number },
    private readonly onVerdict: (v: ContactorVerdict) => void,
  ) {
    if (fb) {
      this.detector = new WeldingDetector(opts);
      this.detector.feedback(fb.active(), clock.monoMs());
      fb.onChange((c) => {
        for (const l of this.fbListeners) l(c);
        this.apply(this.detector!.feedback(c, this.clock.monoMs()));
      });
      // a contactor that is already closed at start-up while commanded open is welded
      this.apply(this.detector.command(false, clock.monoMs()));
    }
  }

  set(closed: boolean): void {
    this.line.write(closed ? 1 : 0);
    this.closed = closed;
    this.lastCommandMono = this.clock.monoMs();
    if (this.detector) this.apply(this.detector.command(closed, this.lastCommandMono));
  }

  commanded(): boolean {
    return this.closed;
  }

  feedback(): boolean | undefined {
    return this.fb?.active();
  }

  onFeedback(listener: (closed: boolean) => void): void {
    this.fbListeners.push(listener);
  }

  clearWeld(): boolean {
    if (!this.detector) return true;
    const ok = this.detector.clearWeld(this.clock.monoMs());
    this.apply(this.detector.evaluate(this.clock.monoMs()));
    return ok;
  }

  close(): void {
    this.check?.cancel();
    this.fb?.close();
  }

  private apply(v: ContactorVerdict): void {
    this.check?.cancel();
    this.check = undefined;
    if (v.checkAtMs !== undefined) {
      this.check = this.clock.setTimeout(() => this.apply(this.detector!.evaluate(this.clock.monoMs())), v.checkAtMs - this.clock.monoMs());
    }
    if (v.welded !== this.verdict.welded || v.failedToClose !== this.verdict.failedToClose) {
      this.verdict = v;
      this.onVerdict(v);
    }
  }
}
