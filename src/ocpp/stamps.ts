import { isoSeconds, type Stamp } from '../hal/clock.js';
import type { ClockOffsetRepository } from '../store/ocpp/clock-offsets.js';
import type { SessionRecord } from '../store/sessions.js';

/**
 * Timestamps inside stored OCPP payloads are kept as the full Stamp and turned into
 * `YYYY-MM-DDTHH:MM:SSZ` only when the message is sent, so an event recorded before the clock
 * was set (Pi without RTC, CSMS time not yet known) goes out with its corrected time.
 */
export interface StampRef {
  $stamp: [wallMs: number, quality: Stamp['quality'], bootId: string, monoMs: number];
}

export function stampRef(s: Stamp): StampRef {
  return { $stamp: [Math.round(s.wallMs), s.quality, s.bootId, s.monoMs] };
}

/** When a session started, as the store recorded it. */
export function sessionStartStamp(s: Pick<SessionRecord, 'startWallMs' | 'startQuality' | 'startBootId' | 'startMonoMs'>): Stamp {
  return { wallMs: s.startWallMs, quality: s.startQuality, bootId: s.startBootId, monoMs: s.startMonoMs };
}

/** The moment a completed session stopped, as recorded (the start, for a session not stopped yet). */
export function sessionStopStamp(s: Pick<SessionRecord, 'startWallMs' | 'startQuality' | 'startBootId' | 'startMonoMs' | 'stopWallMs' | 'stopQuality' | 'stopBootId' | 'stopMonoMs'>): Stamp {
  return {
    wallMs: s.stopWallMs ?? s.startWallMs,
    quality: s.stopQuality ?? 'unsynced',
    bootId: s.stopBootId ?? s.startBootId,
    monoMs: s.stopMonoMs ?? s.startMonoMs,
  };
}

function isStampRef(v: unknown): v is StampRef {
  return typeof v === 'object' && v !== null && Array.isArray((v as StampRef).$stamp);
}

/** Knows, per boot, the offset that turns a monotonic reading into wall time once the clock was set. */
export class TimeResolver {
  private readonly offsets: Map<string, number>;

  constructor(private readonly repo: ClockOffsetRepository) {
    this.offsets = repo.all();
  }

  noteSync(bootId: string, monoToWallMs: number): void {
    this.offsets.set(bootId, Math.round(monoToWallMs));
    this.repo.save(bootId, Math.round(monoToWallMs));
  }

  wallMs(ref: StampRef): number {
    const [wallMs, quality, bootId, monoMs] = ref.$stamp;
    if (quality === 'synced') return wallMs;
    const off = this.offsets.get(bootId);
    return off === undefined ? wallMs : Math.round(monoMs + off);
  }

  /** A deep copy of `payload` with every StampRef replaced by its ISO time. */
  resolve<T>(payload: T): T {
    const walk = (v: unknown): unknown => {
      if (isStampRef(v)) return isoSeconds(this.wallMs(v));
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(payload) as T;
  }
}
