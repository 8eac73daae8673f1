/**
 * Where the PV logic (and anything else that needs it) gets the power at the grid connection:
 * import positive, export negative, in W. The MQTT power topic (mqtt-power-source.ts) is one
 * source; the site grid meter of load management is meant to be another (it implements the same
 * interface), so the PV service does not care which one an installation has.
 */
export interface GridReading {
  /** Import positive, export negative (W). */
  powerW: number;
  /** When it arrived, on the monotonic clock (ms). */
  atMs: number;
}

export interface GridPowerSource {
  /** The last reading if it is fresh at `nowMs` (monotonic), else null: no value is better than an old one. */
  latest(nowMs: number): GridReading | null;
  /** Called on every new reading; returns the unsubscribe function. */
  onReading(listener: (r: GridReading) => void): () => void;
  /** For GET /api/status (no secrets). */
  status(nowMs: number): Record<string, unknown>;
  close(): Promise<void>;
}

/** The freshness rule every source shares: a reading counts for `staleAfterMs` after it arrived. */
export class FreshValue {
  private last: GridReading | null = null;

  constructor(private readonly staleAfterMs: number) {}

  set(r: GridReading): void {
    this.last = r;
  }

  latest(nowMs: number): GridReading | null {
    return this.last && nowMs - this.last.atMs <= this.staleAfterMs ? this.last : null;
  }

  ageS(nowMs: number): number | null {
    return this.last ? Math.round((nowMs - this.last.atMs) / 100) / 10 : null;
  }
}
