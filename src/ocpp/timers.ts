import type { StationClock } from '../evse/port.js';

type Handle = { cancel(): void };

/**
 * The timers of one OCPP part, all on the station's clock (fake time in tests): one-shot ones and
 * named ones that replace their predecessor (the heartbeat, the clock-aligned tick). `stop()`
 * cancels everything, and nothing fires or can be set after it.
 */
export class Timers {
  private readonly oneShots = new Set<Handle>();
  private readonly named = new Map<string, Handle>();
  private stopped = false;

  constructor(private readonly clock: Pick<StationClock, 'setTimeout'>) {}

  later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const h: Handle = this.clock.setTimeout(() => {
      this.oneShots.delete(h);
      if (!this.stopped) fn();
    }, ms);
    this.oneShots.add(h);
  }

  /** Sets the timer called `name`, cancelling the one set before. */
  set(name: string, ms: number, fn: () => void): void {
    this.cancel(name);
    if (this.stopped) return;
    this.named.set(name, this.clock.setTimeout(() => {
      this.named.delete(name);
      if (!this.stopped) fn();
    }, ms));
  }

  cancel(name: string): void {
    this.named.get(name)?.cancel();
    this.named.delete(name);
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.oneShots) h.cancel();
    for (const h of this.named.values()) h.cancel();
    this.oneShots.clear();
    this.named.clear();
  }
}
