import type { MeterSnapshot } from '../hal/types.js';
import type { GridPowerSource, GridReading } from './grid-source.js';

/** What the site grid meter's poller (LoadService.poller) offers; only this is used. */
export interface GridMeterPoller {
  on(e: 'snapshot', l: (s: MeterSnapshot) => void): unknown;
  off(e: 'snapshot', l: (s: MeterSnapshot) => void): unknown;
  latest(): MeterSnapshot | undefined;
  status(): { stale: boolean; health: string; lastError?: string | null };
}

/**
 * Grid power from load management's grid meter (`pv.source: site`): its total active power,
 * import positive. The poller is attached once load management runs (it starts after the
 * station); until then, and whenever the poller calls its reading stale, there is no reading.
 */
export class SiteGridPowerSource implements GridPowerSource {
  private poller?: GridMeterPoller;
  private readonly listeners = new Set<(r: GridReading) => void>();
  private readonly onSnapshot = (s: MeterSnapshot) => {
    const r = { powerW: s.powerW, atMs: s.monoMs };
    for (const l of this.listeners) l(r);
  };

  attach(poller: GridMeterPoller): void {
    this.poller?.off('snapshot', this.onSnapshot);
    this.poller = poller;
    poller.on('snapshot', this.onSnapshot);
  }

  latest(_nowMs: number): GridReading | null {
    const s = this.poller?.latest();
    if (!s || this.poller!.status().stale) return null;
    return { powerW: s.powerW, atMs: s.monoMs };
  }

  onReading(listener: (r: GridReading) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(nowMs: number): Record<string, unknown> {
    const r = this.latest(nowMs);
    const s = this.poller?.latest();
    const st = this.poller?.status();
    return { kind: 'site', attached: this.poller !== undefined, gridW: r?.powerW ?? null, ageS: s ? Math.round((nowMs - s.monoMs) / 100) / 10 : null, stale: r === null, health: st?.health ?? null, lastError: st?.lastError ?? null };
  }

  async close(): Promise<void> {
    this.poller?.off('snapshot', this.onSnapshot);
    this.listeners.clear();
  }
}
