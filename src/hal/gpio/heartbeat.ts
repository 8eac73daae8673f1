import type { GpioLine } from './sysfs-gpio.js';

/**
 * The software half of the contactor interlock (hardware/interlock.md): a GPIO that must keep
 * toggling, or a retriggerable monostable drops the contactor driver. It toggles only while the
 * health check passes, so a stuck sampler or a stalled event loop both stop it.
 */
export class HeartbeatOutput {
  private level: 0 | 1 = 0;
  private timer?: NodeJS.Timeout;
  toggles = 0;

  constructor(private readonly line: GpioLine, private readonly halfPeriodMs: number, private readonly healthy: () => boolean = () => true) {}

  /** One toggle, if healthy. Returns whether it toggled. */
  tick(): boolean {
    if (!this.healthy()) return false;
    this.level = this.level ? 0 : 1;
    this.line.write(this.level);
    this.toggles++;
    return true;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.halfPeriodMs);
  }

  running(): boolean {
    return this.timer !== undefined;
  }

  /** Stop toggling and hold low: the interlock drops out after its time-out. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.level = 0;
    this.line.write(0);
  }
}
