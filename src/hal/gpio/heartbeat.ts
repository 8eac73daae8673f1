import type { GpioLine } from './sysfs-gpio.js';

export interface HeartbeatOptions {
  /** Toggle half-period (`heartbeatMs`): a rising edge every 2 x halfPeriodMs. */
  halfPeriodMs: number;
  /** Toggles only while this passes (pilot sampling alive). */
  healthy?: () => boolean;
  /** Monotonic ms. */
  now?: () => number;
  /**
   * Time since the last rising edge after which the interlock's monostable may have timed out
   * and dropped the contactor: `interlockMs - 2 x heartbeatMs` (hardware/interlock.md).
   */
  missAfterMs?: number;
  /** Is the contactor commanded closed right now? */
  contactorClosed?: () => boolean;
  /**
   * A heartbeat was missed while the contactor is commanded closed: the next rising edge would
   * retrigger the monostable and close the contactor again under load. Must drive the outputs safe
   * and raise the latched 'stall' fault; toggling resumes only after it returns with the contactor
   * commanded open.
   */
  onMissed?: (gapMs: number) => void;
}

/**
 * The software half of the contactor interlock (hardware/interlock.md): a GPIO that must keep
 * toggling, or a retriggerable monostable drops the contactor driver. It toggles only while the
 * health check passes, so a stuck sampler or a stalled event loop both stop it.
 *
 * It never resumes silently: before every toggle it checks whether the monostable may have timed
 * out since the last rising edge (or never been triggered) while the contactor is commanded closed;
 * then it calls onMissed first, and toggles only with the contactor commanded open.
 */
export class HeartbeatOutput {
  private level: 0 | 1 = 0;
  private timer?: NodeJS.Timeout;
  /** Monotonic ms of the last rising edge; undefined = the monostable is not triggered (power-on, stop()). */
  private lastRise?: number;
  private readonly o: Required<HeartbeatOptions>;
  toggles = 0;
  /** Missed heartbeats with the contactor closed (each one drove the outputs safe). */
  misses = 0;

  constructor(private readonly line: GpioLine, opts: HeartbeatOptions) {
    this.o = {
      healthy: () => true,
      now: () => performance.now(),
      missAfterMs: Infinity,
      contactorClosed: () => false,
      onMissed: () => {},
      ...opts,
    };
  }

  /** One toggle, if healthy. Returns whether it toggled. */
  tick(): boolean {
    const now = this.o.now();
    if (this.o.contactorClosed() && this.mayHaveDropped(now)) {
      this.misses++;
      this.o.onMissed(this.lastRise === undefined ? Infinity : now - this.lastRise);
      // Never retrigger the monostable while the contactor is still commanded closed.
      if (this.o.contactorClosed()) return false;
    }
    if (!this.o.healthy()) return false;
    this.level = this.level ? 0 : 1;
    this.line.write(this.level);
    if (this.level === 1) this.lastRise = now;
    this.toggles++;
    return true;
  }

  /** true when the monostable's output may be low now (not triggered, or timed out). */
  mayHaveDropped(now = this.o.now()): boolean {
    return this.lastRise === undefined || now - this.lastRise >= this.o.missAfterMs;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.o.halfPeriodMs);
  }

  running(): boolean {
    return this.timer !== undefined;
  }

  /** Stop toggling and hold low: the interlock drops out after its time-out. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.level = 0;
    this.lastRise = undefined;
    this.line.write(0);
  }
}
