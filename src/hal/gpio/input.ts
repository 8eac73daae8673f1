import type { Clock } from '../clock.js';
import type { Bit, GpioLine } from './sysfs-gpio.js';

/**
 * A GPIO input debounced in time: after an edge the new level must still be there `debounceMs`
 * later to count. Edges come by interrupt (GpioLine.watch); nothing here polls.
 */
export class DebouncedInput {
  private stable: Bit;
  private pending?: { cancel(): void };
  private readonly listeners: ((active: boolean) => void)[] = [];

  constructor(readonly line: GpioLine, private readonly clock: Clock, private readonly debounceMs: number) {
    this.stable = line.read();
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
    const raw = this.line.read();
    if (this.debounceMs <= 0) return this.commit(raw);
    this.pending?.cancel();
    this.pending = undefined;
    if (raw === this.stable) return;
    this.pending = this.clock.setTimeout(() => {
      this.pending = undefined;
      this.commit(this.line.read());
    }, this.debounceMs);
  }

  private commit(value: Bit): void {
    if (value === this.stable) return;
    this.stable = value;
    for (const l of this.listeners) l(value === 1);
  }

  close(): void {
    this.pending?.cancel();
  }
}
