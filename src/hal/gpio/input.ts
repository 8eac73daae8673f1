import type { Clock } from '../clock.js';
import type { Bit, GpioLine } from './sysfs-gpio.js';

/**
 * A GPIO input debounced in time, asymmetrically: one level is the alarm (a fault line tripped, a
 * contact closed, a lock released) and chatter must never hide it.
 * - Towards the alarm level, time spent at it counts up across edges: the alarm is reported once
 *   the line has been at it for `debounceMs` in total. The count is forgotten only after the line
 *   has been back at the idle level for `debounceMs` without a break, so a short glitch now and
 *   then never trips, but a line that keeps chattering (e.g. every 8 ms against a 10 ms debounce)
 *   trips within a few toggles instead of never.
 * - Back to the idle level, the line must hold it for `debounceMs` without a break (a chattering
 *   alarm stays reported).
 * Edges come by interrupt (GpioLine.watch); nothing here polls.
 */
export class DebouncedInput {
  private stable: Bit;
  private raw: Bit;
  /** When `raw` last changed. */
  private rawSinceMs: number;
  /** Time at the alarm level in earlier stretches, counted towards reporting it. */
  private alarmMs = 0;
  private pending?: { cancel(): void };
  private readonly listeners: ((active: boolean) => void)[] = [];

  constructor(
    readonly line: GpioLine,
    private readonly clock: Clock,
    private readonly debounceMs: number,
    /** The level whose chatter must trip (default 1, active: a fault asserted, a contact closed). */
    private readonly alarm: Bit = 1,
  ) {
    this.stable = line.read();
    this.raw = this.stable;
    this.rawSinceMs = clock.monoMs();
    line.watch(() => this.edge());
  }

  active(): boolean {
    return this.stable === 1;
  }

  onChange(listener: (active: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Re-reads the pin now (used after a self-test and by hw test). */
  resync(): void {
    this.edge();
  }

  private edge(): void {
    const now = this.clock.monoMs();
    const level = this.line.read();
    if (this.debounceMs <= 0) return this.commit(level);
    if (level !== this.raw) {
      if (this.raw === this.alarm) this.alarmMs += now - this.rawSinceMs;
      this.raw = level;
      this.rawSinceMs = now;
    }
    this.pending?.cancel();
    this.pending = undefined;
    this.settle();
  }

  /** Reports the level once it qualifies, else re-judges when it could. */
  private settle(): void {
    const held = this.clock.monoMs() - this.rawSinceMs;
    if (this.stable !== this.alarm) {
      if (this.raw === this.alarm) {
        const total = this.alarmMs + held;
        if (total >= this.debounceMs) this.commit(this.alarm);
        else this.schedule(this.debounceMs - total);
      } else if (held >= this.debounceMs) {
        this.alarmMs = 0; // a clean idle stretch: earlier glitches are forgotten
      } else if (this.alarmMs > 0) {
        this.schedule(this.debounceMs - held);
      }
    } else if (this.raw !== this.alarm) {
      if (held >= this.debounceMs) this.commit(this.raw);
      else this.schedule(this.debounceMs - held);
    }
  }

  /** Re-judges after `ms`, reading the pin again (an edge may not have been delivered). */
  private schedule(ms: number): void {
    this.pending = this.clock.setTimeout(() => {
      this.pending = undefined;
      this.edge();
    }, Math.max(0, ms));
  }

  private commit(value: Bit): void {
    this.alarmMs = 0;
    if (value !== this.raw) {
      this.raw = value;
      this.rawSinceMs = this.clock.monoMs();
    }
    if (value === this.stable) return;
    this.stable = value;
    for (const l of this.listeners) l(value === 1);
  }

  close(): void {
    this.pending?.cancel();
  }
}
