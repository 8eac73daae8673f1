import type { Clock } from '../clock.js';
import type { CableLock } from '../types.js';
import type { GpioLine } from './sysfs-gpio.js';
import type { DebouncedInput } from './input.js';
import { HardwareError } from './errors.js';

/** After the motor stops, how long the debounced feedback gets to settle before it is judged. */
export const LOCK_FEEDBACK_SETTLE_MS = 50;

/**
 * Cable lock actuator on an H-bridge (motorA/motorB) with an optional "locked" feedback input.
 * Never drives both motor pins at once; the motor is always switched off after `motorMs`. With a
 * feedback, lock() and unlock() reject unless it confirms within motorMs + LOCK_FEEDBACK_SETTLE_MS
 * (the connector then raises fault 'lock'); without one, the lock is believed driven.
 */
export class GpioCableLock implements CableLock {
  private believed: boolean | undefined = undefined;
  private busy: Promise<void> = Promise.resolve();
  private readonly listeners: ((locked: boolean) => void)[] = [];

  constructor(
    private readonly a: GpioLine,
    private readonly b: GpioLine,
    private readonly fb: DebouncedInput | undefined,
    private readonly clock: Clock,
    private readonly motorMs: number,
  ) {
    fb?.onChange((locked) => {
      for (const l of this.listeners) l(locked);
    });
  }

  lock(): Promise<void> {
    return this.drive(true);
  }

  unlock(): Promise<void> {
    return this.drive(false);
  }

  isLocked(): boolean | undefined {
    return this.fb ? this.fb.active() : this.believed;
  }

  onChange(listener: (locked: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Motor off (part of ConnectorHardware.safe()). */
  stop(): void {
    this.a.write(0);
    this.b.write(0);
  }

  private drive(lock: boolean): Promise<void> {
    const run = async () => {
      this.stop();
      (lock ? this.a : this.b).write(1);
      await new Promise<void>((r) => this.clock.setTimeout(r, this.motorMs));
      this.stop();
      if (this.fb) {
        this.fb.resync();
        await new Promise<void>((r) => this.clock.setTimeout(r, LOCK_FEEDBACK_SETTLE_MS));
        if (this.fb.active() !== lock) {
          throw new HardwareError(`cable lock did not confirm ${lock ? 'locked' : 'unlocked'} within ${this.motorMs + LOCK_FEEDBACK_SETTLE_MS} ms (feedback GPIO${this.fb.line.bcm})`);
        }
      }
      const changed = this.believed !== lock;
      this.believed = lock;
      if (!this.fb && changed) for (const l of this.listeners) l(lock);
    };
    const p = this.busy.then(run, run);
    this.busy = p.catch(() => {});
    return p;
  }
}
