import { EventEmitter } from 'node:events';
import type { Meter, MeterSnapshot, MeterStatus } from '../hal/types.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';

export interface MeterPollerOptions {
  connectorId: number;
  intervalMs: number;
  /** A snapshot older than this is stale: not live, not to be republished as fresh. */
  staleAfterMs: number;
  /** Upper bound of plausible power (W), used to reject impossible energy jumps. */
  maxPowerW: number;
  /** Consecutive failures before the meter is `offline` (before that: `degraded`). */
  offlineAfterFailures?: number;
  clock: Pick<Clock, 'monoMs' | 'setTimeout'>;
  log: Logger;
}

export interface PollerStatus extends MeterStatus {
  stale: boolean;
}

/**
 * Polls one meter at a fixed interval and keeps its last good snapshot and health.
 * Health changes are logged once per change, not per poll. The energy register is checked for
 * plausibility: it never goes backwards and never grows faster than maxPowerW allows.
 *
 * Events: 'snapshot' (MeterSnapshot) on each accepted reading, 'health' (PollerStatus) on change.
 */
export class MeterPoller extends EventEmitter {
  private last?: MeterSnapshot;
  private st: MeterStatus = { health: 'ok', failures: 0, okReads: 0, failedReads: 0, rejectedReads: 0 };
  private timer?: { cancel(): void };
  private running = false;
  private inFlight?: Promise<MeterSnapshot>;

  constructor(private readonly meter: Meter, private readonly opts: MeterPollerOptions) {
    super();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    await this.inFlight?.catch(() => undefined);
  }

  latest(): MeterSnapshot | undefined {
    return this.last;
  }

  status(): PollerStatus {
    return { ...this.st, stale: this.isStale() };
  }

  isStale(): boolean {
    if (!this.last) return true;
    return this.opts.clock.monoMs() - this.last.monoMs > this.opts.staleAfterMs;
  }

  /**
   * A fresh reading now (session start/stop). Shares the in-flight request if one is running, so
   * requests to the device never overlap. Rejects when the meter cannot be read.
   */
  readNow(): Promise<MeterSnapshot> {
    if (this.inFlight) return this.inFlight;
    const p = this.doRead();
    this.inFlight = p;
    void p.finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    }).catch(() => undefined);
    return p;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.readNow()
        .catch(() => undefined)
        .finally(() => this.schedule(this.opts.intervalMs));
    }, ms);
  }

  private async doRead(): Promise<MeterSnapshot> {
    let snap: MeterSnapshot;
    try {
      snap = await this.meter.read();
    } catch (err) {
      this.st.failedReads++;
      this.st.failures++;
      this.st.lastError = (err as Error).message;
      const offlineAfter = this.opts.offlineAfterFailures ?? 3;
      this.setHealth(this.st.failures >= offlineAfter ? 'offline' : 'degraded');
      throw err;
    }
    const reason = this.implausible(snap);
    if (reason) {
      this.st.rejectedReads++;
      this.opts.log.warn({ connectorId: this.opts.connectorId, reason }, 'meter reading rejected as implausible');
      throw new Error(`implausible meter reading: ${reason}`);
    }
    this.last = snap;
    this.st.okReads++;
    this.st.failures = 0;
    this.st.lastOkMonoMs = snap.monoMs;
    this.setHealth('ok');
    this.emit('snapshot', snap);
    return snap;
  }

  private implausible(s: MeterSnapshot): string | undefined {
    if (!Number.isSafeInteger(s.energyImportWh) || s.energyImportWh < 0) return `energy register ${s.energyImportWh} is not a whole number of Wh`;
    const prev = this.last;
    if (!prev) return undefined;
    if (s.energyImportWh < prev.energyImportWh) return `energy register went backwards (${prev.energyImportWh} -> ${s.energyImportWh} Wh)`;
    const hours = Math.max(0, s.monoMs - prev.monoMs) / 3_600_000;
    // One Wh of slack for register rounding.
    const maxWh = this.opts.maxPowerW * hours + 1;
    if (s.energyImportWh - prev.energyImportWh > maxWh) {
      return `energy register jumped ${s.energyImportWh - prev.energyImportWh} Wh in ${(hours * 3600).toFixed(1)} s (max ${Math.floor(maxWh)} Wh at ${this.opts.maxPowerW} W)`;
    }
    return undefined;
  }

  private setHealth(h: MeterStatus['health']): void {
    if (h === this.st.health) return;
    const prev = this.st.health;
    this.st.health = h;
    const fields = { connectorId: this.opts.connectorId, from: prev, to: h, lastError: this.st.lastError, failures: this.st.failures };
    if (h === 'ok') this.opts.log.info(fields, 'meter health ok');
    else this.opts.log.warn(fields, `meter health ${h}`);
    this.emit('health', this.status());
  }
}
