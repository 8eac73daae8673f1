import type { Clock } from '../clock.js';
import type { CableLock } from '../types.js';
import type { GpioLine } from './sysfs-gpio.js';
import type { DebouncedInput } from './input.js';
import { HardwareError } from './errors.js';

/**
 * Cable lock actuator on an H-bridge (motorA/motorB) with an optional "locked" feedback input.
 * Never drives both motor pins at once; the motor is always switched off after `motorMs`.
 */
export class GpioCableLock implements CableLock {
  private believed: boolean | undefined = undefined;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly a: GpioLine,
    private readonly b: GpioLine,
    private readonly fb: DebouncedInput | undefined,
    private readonly clock: Clock,
    private readonly motorMs: number,
  ) {}

  lock(): Promise<void> {
    return this.drive(true);
  }

  unlock(): Promise<void> {
    return this.drive(false);
  }

  isLocked(): boolean | undefined {
    return this.fb ? this.fb.active() : this.believed;
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
        // give the debounced feedback a moment to settle
        await new Promise<void>((r) => this.clock.setTimeout(r, 50));
        if (this.fb.active() !== lock) {
          throw new HardwareError(`cable lock did not confirm ${lock ? 'locked' : 'unlocked'} (feedback GPIO${this.fb.line.bcm})`);
        }
      }
      this.believed = lock;
    };
    const p = this.busy.then(run, run);
    this.busy = p.catch(() => {});
    return p;
  }
}
