import type { Clock } from '../clock.js';
import type { Contactor } from '../types.js';
import { ContactorMonitor, type ContactorVerdict } from '../contactor-check.js';
import type { GpioLine } from './sysfs-gpio.js';
import type { DebouncedInput } from './input.js';

/**
 * Contactor relay output plus its auxiliary contact. set() writes the pin synchronously. With a
 * feedback input it reports 'welded' (latched until clearWeld) and 'contactor' (failed to close).
 */
export class GpioContactor implements Contactor {
  private closed = false;
  private readonly fbListeners: ((closed: boolean) => void)[] = [];
  private readonly monitor?: ContactorMonitor;
  /** Commands with their monotonic time (for hw test and the bench). */
  lastCommandMono = 0;

  constructor(
    private readonly line: GpioLine,
    private readonly fb: DebouncedInput | undefined,
    private readonly clock: Clock,
    opts: { weldMs: number; closeMs: number },
    onVerdict: (v: ContactorVerdict) => void,
  ) {
    if (fb) {
      const monitor = new ContactorMonitor(clock, opts, { commanded: false, feedback: fb.active() }, onVerdict);
      this.monitor = monitor;
      fb.onChange((c) => {
        for (const l of this.fbListeners) l(c);
        monitor.feedback(c);
      });
    }
  }

  set(closed: boolean): void {
    this.line.write(closed ? 1 : 0);
    this.closed = closed;
    this.lastCommandMono = this.clock.monoMs();
    this.monitor?.command(closed);
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
    return this.monitor?.clearWeld() ?? true;
  }

  close(): void {
    this.monitor?.close();
    this.fb?.close();
  }
}
