import type { Durations } from '../store/sessions.js';

import { CHARGING_THRESHOLD_W } from '../domain/charging.js';


/**
 * Splits a session's monotonic duration into charging time (contactor closed and drawing power)
 * and idle time (plugged, not drawing), and counts the time the meter could not be read.
 * Each interval is attributed to the condition that held during it, i.e. the one set by the
 * previous update, so the split is exact whatever the update rate.
 */
export class SessionTimer {
  private last: number;
  private charging = false;
  private meterOk = true;
  private d: Durations;

  constructor(startMonoMs: number, carried: Partial<Durations> = {}) {
    this.last = Math.floor(startMonoMs);
    this.d = { durationMs: carried.durationMs ?? 0, chargingMs: carried.chargingMs ?? 0, idleMs: carried.idleMs ?? 0, meterGapMs: carried.meterGapMs ?? 0 };
  }

  /** Account for the time up to `now`, then switch to the given condition. */
  update(now: number, cond: { charging: boolean; meterOk: boolean }): void {
    this.advance(now);
    this.charging = cond.charging;
    this.meterOk = cond.meterOk;
  }

  durations(now: number): Durations {
    this.advance(now);
    return { ...this.d };
  }

  /** The durations up to `now` and which of charging and idle grows now (wholeSeconds rounds by it). */
  live(now: number): Durations & { charging: boolean } {
    return { ...this.durations(now), charging: this.charging };
  }

  private advance(nowMs: number): void {
    // Whole milliseconds of the clock: fractional sums rounded one by one would no longer add up
    // (charging + idle = duration) once stored.
    const now = Math.floor(nowMs);
    const dt = Math.max(0, now - this.last);
    this.last = Math.max(this.last, now);
    this.d.durationMs += dt;
    if (this.charging) this.d.chargingMs += dt;
    else this.d.idleMs += dt;
    if (!this.meterOk) this.d.meterGapMs += dt;
  }
}
