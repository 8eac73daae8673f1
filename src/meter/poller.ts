import { EventEmitter } from 'node:events';
import type { HealthResult, Meter, MeterSnapshot, MeterStatus } from '../hal/types.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { backoffDelayMs } from '../util/backoff.js';

export interface MeterPollerOptions {
  connectorId: number;
  intervalMs: number;
  /** A snapshot older than this is stale: not live, not to be republished as fresh. */
  staleAfterMs: number;
  /** Upper bound of plausible power (W), used to reject impossible energy jumps. */
  maxPowerW: number;
  /** Consecutive failures before the meter is `offline` (before that: `degraded`). */
  offlineAfterFailures?: number;
  /** After failures the poll interval doubles per failure up to this (default 10 s). */
  maxBackoffMs?: number;
  /**
   * The first reading after start has nothing to be checked against; when true (default) it is
   * confirmed by an immediate second read that must be plausible relative to it, so a glitch at
   * start cannot become the baseline that then rejects every true reading.
   */
  confirmFirstReading?: boolean;
  clock: Pick<Clock, 'monoMs' | 'setTimeout'>;
  log: Logger;
  /** A single read (with its retries) still running after this is stuck: the poll loop is dead (default 60 s). */
  stuckReadMs?: number;
}

export interface PollerStatus extends MeterStatus {
  stale: boolean;
  /** Failed reads by kind (timeout, crc, garbage, exception, port, not-available, other). */
  errorCounts: Record<string, number>;
  /** Delay before the next poll (grows while the meter fails). */
  nextPollMs: number;
  /**
   * The meter answers but failed its start-up self-check (another model, or a setting its map does
   * not read right), with the register and the fix; null otherwise. The station treats it as a meter fault.
   */
  misconfigured: string | null;
}

/**
 * Polls one meter at a fixed interval and keeps its last good snapshot and health.
 * Health changes (and stale/fresh changes) are logged once per change, not per poll. The energy
 * register is checked for plausibility: it never goes backwards and never grows faster than
 * maxPowerW allows; an implausible reading is rejected and counted, never recorded.
 *
 * Events: 'snapshot' (MeterSnapshot) on each accepted reading, 'health' (PollerStatus) when the
 * health or the stale flag changes.
 */
export class MeterPoller extends EventEmitter {
  private last?: MeterSnapshot;
  private st: MeterStatus = { health: 'ok', failures: 0, okReads: 0, failedReads: 0, rejectedReads: 0 };
  private errorCounts: Record<string, number> = {};
  private misconfigured: string | null = null;
  private timer?: { cancel(): void };
  private staleTimer?: { cancel(): void };
  private staleFlag = false;
  private running = false;
  private inFlight?: Promise<MeterSnapshot>;
  private readStartedMono = 0;
  /** When the next poll is due (the loop's own timer). */
  private nextPollMono = 0;

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
    this.staleTimer?.cancel();
    await this.inFlight?.catch(() => undefined);
  }

  /** Stop polling and close the meter's transport. */
  async close(): Promise<void> {
    await this.stop();
    await this.meter.close().catch(() => undefined);
  }

  /** The last accepted snapshot, however old: check isStale() (or use fresh()) before treating it as live. */
  latest(): MeterSnapshot | undefined {
    return this.last;
  }

  /** The last accepted snapshot only while it is not stale. */
  fresh(): MeterSnapshot | undefined {
    return this.isStale() ? undefined : this.last;
  }

  status(): PollerStatus {
    return { ...this.st, stale: this.isStale(), errorCounts: { ...this.errorCounts }, nextPollMs: this.nextDelay(), misconfigured: this.misconfigured };
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
    this.readStartedMono = this.opts.clock.monoMs();
    const p = this.doRead();
    this.inFlight = p;
    void p.finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    }).catch(() => undefined);
    return p;
  }

  private nextDelay(): number {
    const f = this.st.failures;
    if (f === 0) return this.opts.intervalMs;
    // No jitter: one station's own bus, nothing to spread; a steady rhythm is easier on a technician's scope.
    return backoffDelayMs(f - 1, { baseMs: this.opts.intervalMs, maxMs: Math.max(this.opts.intervalMs, this.opts.maxBackoffMs ?? 10_000), jitter: 0 });
  }

  /**
   * Is the poll loop running (for the systemd watchdog)? Not whether the meter answers: a dead
   * meter keeps the loop polling (with back-off) and is reported as offline, never as a reason to
   * restart. Dead = not started, a read stuck longer than stuckReadMs, or the poll timer overdue.
   */
  loopHealth(): HealthResult {
    if (!this.running) return { ok: false, reason: `meter poll loop of connector ${this.opts.connectorId} not running` };
    const now = this.opts.clock.monoMs();
    if (this.inFlight) {
      const age = now - this.readStartedMono;
      const stuck = this.opts.stuckReadMs ?? 60_000;
      if (age > stuck) return { ok: false, reason: `meter read of connector ${this.opts.connectorId} stuck for ${Math.round(age)} ms` };
      return { ok: true };
    }
    const late = now - this.nextPollMono;
    if (late > 5000) return { ok: false, reason: `meter poll of connector ${this.opts.connectorId} overdue by ${Math.round(late)} ms` };
    return { ok: true };
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.nextPollMono = this.opts.clock.monoMs() + ms;
    this.timer = this.opts.clock.setTimeout(() => {
      this.readNow()
        .catch(() => undefined)
        .finally(() => this.schedule(this.nextDelay()));
    }, ms);
  }

  private async readOnce(): Promise<MeterSnapshot> {
    try {
      return await this.meter.read();
    } catch (err) {
      this.st.failedReads++;
      this.st.failures++;
      this.st.lastError = (err as Error).message;
      const kind = (err as { kind?: unknown }).kind;
      const k = typeof kind === 'string' ? kind : 'other';
      this.errorCounts[k] = (this.errorCounts[k] ?? 0) + 1;
      if (k === 'misconfigured') this.setMisconfigured(this.st.lastError);
      const offlineAfter = this.opts.offlineAfterFailures ?? 3;
      this.setHealth(this.st.failures >= offlineAfter ? 'offline' : 'degraded');
      throw err;
    }
  }

  private reject(reason: string): never {
    this.st.rejectedReads++;
    this.opts.log.warn({ connectorId: this.opts.connectorId, reason }, 'meter reading rejected as implausible');
    throw new Error(`implausible meter reading: ${reason}`);
  }

  private async doRead(): Promise<MeterSnapshot> {
    let snap = await this.readOnce();
    const reason = this.implausible(snap, this.last);
    if (reason) this.reject(reason);
    if (!this.last && this.opts.confirmFirstReading !== false) {
      const second = await this.readOnce();
      const r2 = this.implausible(second, snap);
      if (r2) this.reject(`first reading not confirmed: ${r2}`);
      snap = second;
    }
    this.accept(snap);
    return snap;
  }

  private setMisconfigured(problem: string | null): void {
    if (problem === this.misconfigured) return;
    const was = this.misconfigured;
    this.misconfigured = problem;
    if (problem) this.opts.log.error({ connectorId: this.opts.connectorId, problem }, 'meter misconfigured: its readings are not used');
    else this.opts.log.info({ connectorId: this.opts.connectorId, was }, 'meter passes its self-check again');
    this.emit('health', this.status());
  }

  private accept(snap: MeterSnapshot): void {
    this.setMisconfigured(null);
    this.last = snap;
    this.st.okReads++;
    this.st.failures = 0;
    this.st.lastOkMonoMs = snap.monoMs;
    this.setHealth('ok');
    this.watchStale();
    this.emit('snapshot', snap);
  }

  /** Flag staleness when it happens (a timer), not only when someone asks. */
  private watchStale(): void {
    this.staleTimer?.cancel();
    if (this.staleFlag) this.setStale(false);
    this.staleTimer = this.opts.clock.setTimeout(() => {
      if (this.isStale()) this.setStale(true);
      else this.watchStale();
    }, this.opts.staleAfterMs + 1);
  }

  private setStale(stale: boolean): void {
    if (stale === this.staleFlag) return;
    this.staleFlag = stale;
    const fields = { connectorId: this.opts.connectorId, lastError: this.st.lastError, lastOkMonoMs: this.st.lastOkMonoMs };
    if (stale) this.opts.log.warn(fields, `meter reading stale (older than ${this.opts.staleAfterMs} ms)`);
    else this.opts.log.info(fields, 'meter reading fresh again');
    this.emit('health', this.status());
  }

  private implausible(s: MeterSnapshot, prev: MeterSnapshot | undefined): string | undefined {
    if (!Number.isSafeInteger(s.energyImportWh) || s.energyImportWh < 0) return `energy register ${s.energyImportWh} is not a whole number of Wh`;
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
