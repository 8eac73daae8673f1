import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RELEASE_DATE } from '../domain/version.js';

/**
 * Time for the station. A Raspberry Pi has no RTC: at boot the wall clock may be far off until NTP
 * (or the CSMS) sets it. Durations therefore always come from the monotonic clock, and every
 * wall-clock timestamp is stored with its quality plus the (bootId, monoMs) it was taken at, so it
 * can be repaired once the real time is known.
 */
export type ClockQuality = 'synced' | 'unsynced';

/** A wall-clock timestamp with what is needed to repair it later. */
export interface Stamp {
  wallMs: number;
  quality: ClockQuality;
  bootId: string;
  monoMs: number;
}

export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin of this process; never jumps. */
  monoMs(): number;
  /** Best known wall-clock time (ms since epoch). */
  wallMs(): number;
  quality(): ClockQuality;
  stamp(): Stamp;
  readonly bootId: string;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export type ClockTrust = 'auto' | 'always' | 'never';

export interface SyncEvent {
  /** offset that turns an unsynced wallMs of this boot into a correct one: correct = monoMs + monoToWallMs. */
  monoToWallMs: number;
  source: string;
}

const TIMESYNC_FLAG = '/run/systemd/timesync/synchronized';

/**
 * The real clock. Quality is `synced` when trust is `always`, when systemd-timesyncd has
 * synchronised (its flag file exists), or after `setFromTrustedSource` (e.g. the CSMS's
 * currentTime). Emits `sync` once when quality becomes synced.
 */
export class SystemClock extends EventEmitter implements Clock {
  readonly bootId = randomUUID();
  private synced: boolean;
  /** Added to Date.now() when a trusted source told us the time and the system clock was not synced. */
  private wallOffsetMs = 0;
  private poll?: NodeJS.Timeout;

  constructor(private readonly trust: ClockTrust = 'auto', private readonly flagFile = TIMESYNC_FLAG) {
    super();
    this.synced = trust === 'always' || (trust === 'auto' && this.systemSynced());
    if (!this.synced && trust === 'auto') {
      this.poll = setInterval(() => {
        if (this.systemSynced()) this.markSynced('ntp');
      }, 10_000);
      this.poll.unref();
    }
  }

  monoMs(): number {
    return performance.now();
  }

  wallMs(): number {
    return Date.now() + this.wallOffsetMs;
  }

  quality(): ClockQuality {
    return this.synced ? 'synced' : 'unsynced';
  }

  stamp(): Stamp {
    return { wallMs: Math.round(this.wallMs()), quality: this.quality(), bootId: this.bootId, monoMs: this.monoMs() };
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  }

  /** A trusted source (the CSMS) says it is `wallMs` now. An implausible time (implausibleWallTime) never moves the clock. */
  setFromTrustedSource(wallMs: number, source: string): void {
    if (implausibleWallTime(wallMs)) return;
    if (this.synced && source !== 'ntp') {
      // The system clock is already NTP-synced; a CSMS time is only a cross-check then.
      return;
    }
    this.wallOffsetMs = wallMs - Date.now();
    this.markSynced(source);
  }

  close(): void {
    if (this.poll) clearInterval(this.poll);
  }

  private markSynced(source: string): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    const wasSynced = this.synced;
    this.synced = true;
    if (!wasSynced) {
      const ev: SyncEvent = { monoToWallMs: this.wallMs() - this.monoMs(), source };
      this.emit('sync', ev);
    }
  }

  private systemSynced(): boolean {
    return existsSync(this.flagFile);
  }
}

/** How far after this release a wall time is still plausible (a station's service life, with margin). */
export const MAX_PLAUSIBLE_YEARS_AFTER_RELEASE = 25;

/**
 * Why `wallMs` cannot be the real time (undefined when it can): before this release was made
 * (RELEASE_DATE), or more than MAX_PLAUSIBLE_YEARS_AFTER_RELEASE years after it. A Pi without an
 * RTC cannot judge better at boot: its own clock may be anywhere.
 */
export function implausibleWallTime(wallMs: number): string | undefined {
  const release = Date.parse(RELEASE_DATE);
  if (wallMs < release) return `it is before this release of evsed (${RELEASE_DATE})`;
  const latest = new Date(release);
  latest.setUTCFullYear(latest.getUTCFullYear() + MAX_PLAUSIBLE_YEARS_AFTER_RELEASE);
  if (wallMs > latest.getTime()) return `it is more than ${MAX_PLAUSIBLE_YEARS_AFTER_RELEASE} years after this release of evsed (${RELEASE_DATE})`;
  return undefined;
}

/** Real-time timers and monotonic time, for parts built without a clock (the simulator's boards). */
export const realTimeClock: Pick<Clock, 'monoMs' | 'setTimeout'> = {
  monoMs: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock under the test's control. */
export class FakeClock implements Clock {
  readonly bootId: string;
  private mono = 0;
  private wall: number;
  private q: ClockQuality;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  constructor(opts: { wallMs?: number; quality?: ClockQuality; bootId?: string } = {}) {
    this.wall = opts.wallMs ?? Date.UTC(2026, 10, 1, 12, 0, 0);
    this.q = opts.quality ?? 'synced';
    this.bootId = opts.bootId ?? 'boot-test';
  }

  monoMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  quality(): ClockQuality {
    return this.q;
  }
  stamp(): Stamp {
    return { wallMs: this.wall, quality: this.q, bootId: this.bootId, monoMs: this.mono };
  }
  setQuality(q: ClockQuality): void {
    this.q = q;
  }
  setWall(ms: number): void {
    this.wall = ms;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const id = this.nextId++;
    this.timers.push({ at: this.mono + Math.max(0, ms), fn, id });
    return { cancel: () => (this.timers = this.timers.filter((t) => t.id !== id)) };
  }

  /** Advance both clocks, firing due timers in order. */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.wall += next.at - this.mono;
      this.mono = next.at;
      next.fn();
    }
    this.wall += end - this.mono;
    this.mono = end;
  }
}

/** UTC ISO-8601 with Z and whole seconds (what OCPP peers parse reliably). */
export function isoSeconds(wallMs: number): string {
  return new Date(Math.floor(wallMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `p`, or a rejection with Error('timeout') after `ms` on `clock` (real time by default); the timer never outlives `p`. */
export function withTimeout<T>(p: Promise<T>, ms: number, clock: Pick<Clock, 'setTimeout'> = realTimeClock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (t.cancel(), resolve(v)),
      (e) => (t.cancel(), reject(e)),
    );
  });
}
