import type { CableLock, ConnectorHardware, Contactor, ControlPilot, FaultInputs, HealthResult, PhaseRelay, PhaseRelayResult, PilotOutput, PilotReading, RelayPhases } from '../types.js';
import type { FaultKind } from '../../domain/types.js';
import { FAULTS } from '../../domain/faults.js';
import { phaseRelayViolation, relaySettleViolation, supervisorViolation } from '../../domain/supervisor.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../../log.js';
import type { LatchFile } from './latch-file.js';
import { PhaseRelayFile } from './phase-file.js';

export interface SafetyCoreOptions {
  latches: LatchFile;
  clock: Pick<Clock, 'monoMs' | 'setTimeout'>;
  log: Logger;
  /**
   * With the offer withdrawn (X1/F) and the contactor still closed, open after this long even if
   * the main side never says so (IEC 61851-1: the EV must stop within 3 s, the EVSE opens by 6 s).
   */
  stopTimeoutMs: number;
  /** Where the decisions run (worker thread, or the main loop for the simulator and unit tests). */
  offMainLoop: boolean;
  /** The phase relay's saved position (driven to at start); default: in memory. */
  phases?: PhaseRelayFile;
}

type Override = { action: 'refused' | 'opened'; why: string };

/**
 * The safety core of one connector: it wraps a board driver and is itself the board the rest of
 * the daemon sees. Every rule that must hold whatever the main side does lives here:
 * - a close is refused unless the pure rule (domain/supervisor.ts) allows it on the driver's own
 *   readings, the main side has claimed an authorised session, nothing is latched, and (where the
 *   board has the lines) an RCD self-test has passed since the contactor last opened;
 * - a closed contactor is opened the moment a reading, a fault input, a latch or a withdrawn
 *   authorisation forbids it, without asking anyone;
 * - faults the fault table persists are latched in the latch file before the output changes and
 *   reported as active fault inputs until cleared: on unplug (pilot A) or by a technician, as the
 *   table says. Latches found at start hold from the first reading;
 * - the 1p/3p relay changes only with the contactor commanded open, its feedback (when wired)
 *   reading open and no fault active, and a close is refused while a change is within the relay's
 *   settle time (domain/supervisor.ts). Its position is saved and restored at start.
 * The main side's state machine still decides when to offer and when to close; this only vetoes.
 */
export class SafetyCore implements ConnectorHardware {
  readonly pilot: ControlPilot;
  readonly contactor: Contactor;
  readonly faults: FaultInputs;
  readonly lock?: CableLock;
  readonly phaseRelay?: PhaseRelay;
  readonly safetyOffMainLoop: boolean;
  private authorised = false;
  /** Monotonic ms of the last phase relay change (null: none since start). */
  private relayChangedAtMs: number | null = null;
  private readonly phaseFile: PhaseRelayFile;
  /** A close was asked for and waits for the RCD self-test. */
  private closePending = false;
  private rcdPassedSinceOpen = false;
  private rcdTest?: Promise<void>;
  private output: PilotOutput = { mode: 'x1' };
  private stopTimer?: { cancel(): void };
  private readonly overrideListeners: ((o: Override) => void)[] = [];
  private readonly faultListeners: ((kind: FaultKind, active: boolean) => void)[] = [];
  private reported = new Set<FaultKind>();

  constructor(readonly inner: ConnectorHardware, private readonly o: SafetyCoreOptions) {
    this.safetyOffMainLoop = o.offMainLoop;
    const core = this;
    const p = inner.pilot;
    this.pilot = {
      setOutput: (out) => this.setOutput(out),
      read: () => p.read(),
      onChange: (l) => p.onChange(l),
    };
    const c = inner.contactor;
    this.contactor = {
      set: (closed) => (closed ? this.requestClose() : this.open(null)),
      commanded: () => c.commanded() || this.closePending,
      feedback: () => c.feedback(),
      onFeedback: (l) => c.onFeedback(l),
      onOverride: (l) => void this.overrideListeners.push(l),
    };
    this.faults = {
      active: () => this.activeFaults(),
      onChange: (l) => void this.faultListeners.push(l),
    };
    if (inner.lock) {
      const lock = inner.lock;
      this.lock = {
        lock: () => lock.lock(),
        unlock: async () => {
          const why = core.unlockViolation();
          if (why) throw new Error(`cable unlock refused: ${why}`);
          await lock.unlock();
        },
        isLocked: () => lock.isLocked(),
        onChange: (l) => lock.onChange?.(l),
      };
      // A lock that lets go while the contactor is closed opens it (the core listens first).
      lock.onChange?.(() => this.enforce());
    }
    this.phaseFile = o.phases ?? new PhaseRelayFile(null);
    if (inner.phaseRelay) {
      const relay = inner.phaseRelay;
      this.phaseRelay = {
        get: () => relay.get(),
        set: (phases) => Promise.resolve(this.switchPhases(phases)),
        settleMs: relay.settleMs,
        cpInterrupt: relay.cpInterrupt,
      };
    }
    // The core listens first: its decision is taken before anyone else hears of the change.
    p.onChange((r) => this.onReading(r));
    inner.faults.onChange((kind, active) => this.onFaultInput(kind, active));
    for (const kind of inner.faults.active()) this.onFaultInput(kind, true);
    const restored = o.latches.list();
    if (restored.length) o.log.warn({ latches: restored.map((l) => ({ kind: l.kind, since: new Date(l.sinceWallMs).toISOString() })) }, 'latched faults restored: no close until they are cleared as the fault table says');
    this.reported = new Set(this.activeFaults());
    this.restorePhases();
  }

  /** The relay back to its saved position (the coil let go when the daemon stopped), under the same rule as any change. */
  private restorePhases(): void {
    const relay = this.inner.phaseRelay;
    const saved = this.phaseFile.get();
    if (!relay || saved === null || relay.get() === saved) return;
    const r = this.switchPhases(saved);
    if (r.ok) this.o.log.info({ phases: saved }, 'phase relay driven to its saved position');
    else this.o.log.warn({ phases: saved, why: r.why }, 'phase relay not driven to its saved position');
  }

  /** The phase relay rule (domain/supervisor.ts): refuse, or change the relay now and save its position. */
  private switchPhases(phases: RelayPhases): PhaseRelayResult {
    const relay = this.inner.phaseRelay;
    if (!relay) return { ok: false, why: 'this board has no phase relay' };
    if (relay.get() === phases) return { ok: true };
    const why = phaseRelayViolation({
      contactorCommanded: this.inner.contactor.commanded() || this.closePending,
      contactorFeedback: this.inner.contactor.feedback(),
      faults: this.activeFaults(),
    });
    if (why) {
      this.o.log.error({ phases, why }, 'safety core refused to change the phase relay');
      return { ok: false, why };
    }
    void relay.set(phases);
    this.relayChangedAtMs = this.o.clock.monoMs();
    this.phaseFile.set(phases);
    this.o.log.info({ phases }, 'phase relay changed');
    return { ok: true };
  }

  socPercent(): number | null {
    return this.inner.socPercent?.() ?? null;
  }
  batteryCapacityWh(): number | null {
    return this.inner.batteryCapacityWh?.() ?? null;
  }
  simulator() {
    return this.inner.simulator?.() as ReturnType<NonNullable<ConnectorHardware['simulator']>>;
  }
  health(): HealthResult {
    return this.inner.health?.() ?? { ok: true };
  }

  authorise(authorised: boolean): void {
    this.authorised = authorised;
    if (!authorised) this.closePending = false;
    this.enforce();
  }

  latch(kind: FaultKind): void {
    if (this.o.latches.add(kind)) this.o.log.error({ kind }, `fault ${kind} latched`);
    this.enforce();
    // With nothing plugged in there is no one to protect until the next plug-in: an
    // unplug-cleared latch raised now ends at once (it has no input to wait for).
    if (this.inner.pilot.read().state === 'A') this.clearUnplugLatches();
    this.reportFaultChanges();
  }

  clearLatches(): FaultKind[] {
    const inputs = this.inner.faults.active();
    for (const kind of this.o.latches.kinds()) {
      if (inputs.has(kind)) continue;
      if (kind === 'welded' && (this.inner.contactor.feedback() === true || (this.inner.clearWeld && !this.inner.clearWeld()))) continue;
      this.o.latches.remove(kind);
      this.o.log.info({ kind }, `latched fault ${kind} cleared by a technician`);
    }
    this.reportFaultChanges();
    return this.o.latches.kinds();
  }

  clearWeld(): boolean {
    return !this.clearLatches().includes('welded');
  }

  rcdSelfTest(): Promise<{ ok: boolean; reason?: string }> {
    if (!this.inner.rcdSelfTest) return Promise.resolve({ ok: false, reason: 'this board has no RCD self-test lines' });
    if (this.inner.contactor.commanded()) return Promise.resolve({ ok: false, reason: 'refused: the contactor is closed' });
    return this.inner.rcdSelfTest();
  }

  safe(): void {
    this.closePending = false;
    this.rcdPassedSinceOpen = false;
    this.output = { mode: 'x1' };
    this.stopTimer?.cancel();
    this.stopTimer = undefined;
    this.inner.safe();
  }

  async close(): Promise<void> {
    this.safe();
    await this.inner.close();
  }

  /** Faults as the rest of the daemon sees them: the board's inputs and the latches. */
  private activeFaults(): ReadonlySet<FaultKind> {
    const s = new Set(this.inner.faults.active());
    for (const k of this.o.latches.kinds()) s.add(k);
    return s;
  }

  private onFaultInput(kind: FaultKind, active: boolean): void {
    // Written before the output changes (LatchFile.add returns once the file is in place).
    if (active && this.o.latches.add(kind)) this.o.log.error({ kind }, `fault ${kind} latched`);
    // With nothing plugged in, an unplug-cleared latch ends with its input.
    if (!active && this.inner.pilot.read().state === 'A') this.clearUnplugLatches();
    this.enforce();
    this.reportFaultChanges();
  }

  private onReading(r: PilotReading): void {
    if (r.state === 'A') this.clearUnplugLatches();
    // A missing or shorted EV diode, measured with PWM running: latched like a fault input.
    if (r.diodeChecked && !r.diodeOk && this.o.latches.add('diode')) this.o.log.error('fault diode latched: the EV diode is missing or shorted');
    this.enforce();
    this.reportFaultChanges();
  }

  /** Unplugging clears the latches the table clears on unplug, once their inputs are inactive. */
  private clearUnplugLatches(): void {
    const inputs = this.inner.faults.active();
    let any = false;
    for (const kind of this.o.latches.kinds()) {
      if (FAULTS[kind].clearing !== 'unplug' || inputs.has(kind)) continue;
      this.o.latches.remove(kind);
      this.o.log.info({ kind }, `latched fault ${kind} cleared: the EV was unplugged`);
      any = true;
    }
    if (any) this.reportFaultChanges();
  }

  /** Tell listeners about every change of the combined set (inputs ∪ latches) since the last report. */
  private reportFaultChanges(): void {
    const now = this.activeFaults();
    const before = this.reported;
    this.reported = new Set(now);
    for (const k of now) if (!before.has(k)) for (const l of this.faultListeners) l(k, true);
    for (const k of before) if (!now.has(k)) for (const l of this.faultListeners) l(k, false);
  }

  private violation(closing: boolean): string | null {
    const latched = this.o.latches.kinds();
    const why = supervisorViolation(
      {
        pilot: this.inner.pilot.read(),
        boardFaults: this.inner.faults.active(),
        latchedFaults: latched,
        authorised: this.authorised,
        // A socket's lock must read locked (unknown counts as not locked); a fixed cable has none.
        cableLocked: this.inner.lock ? this.inner.lock.isLocked() === true : null,
      },
      closing,
    );
    if (why) return why;
    if (closing && this.output.mode !== 'pwm' && this.output.mode !== 'digital') return `no current offered (pilot ${this.output.mode})`;
    if (closing && this.inner.phaseRelay) return relaySettleViolation(this.relayChangedAtMs, this.inner.phaseRelay.settleMs, this.o.clock.monoMs());
    return null;
  }

  /** Why the cable may not be unlocked now, or null. */
  private unlockViolation(): string | null {
    const c = this.inner.contactor;
    if (c.commanded() || this.closePending) return 'the contactor is commanded closed';
    const fb = c.feedback();
    if (fb === true) return 'the contactor feedback reads closed (welded?)';
    if (fb === undefined) return 'the contactor has no feedback: it cannot be known to be open';
    return null;
  }

  /** Open now if anything forbids the closed (or pending) contactor. */
  private enforce(): void {
    const closed = this.inner.contactor.commanded();
    if (!closed && !this.closePending) return;
    const why = this.violation(false);
    if (!why) return;
    this.open(why);
  }

  private setOutput(out: PilotOutput): void {
    this.inner.pilot.setOutput(out);
    this.output = out;
    const offering = out.mode === 'pwm' || out.mode === 'digital';
    if (offering) {
      this.stopTimer?.cancel();
      this.stopTimer = undefined;
    } else if (this.inner.contactor.commanded() && !this.stopTimer) {
      this.stopTimer = this.o.clock.setTimeout(() => {
        this.stopTimer = undefined;
        if (this.inner.contactor.commanded() && this.output.mode !== 'pwm' && this.output.mode !== 'digital') {
          this.open(`offer withdrawn for ${this.o.stopTimeoutMs} ms and the contactor still closed`);
        }
      }, this.o.stopTimeoutMs);
    }
  }

  private requestClose(): void {
    const why = this.violation(true);
    if (why) {
      this.o.log.error({ why }, 'safety core refused to close the contactor');
      this.emitOverride({ action: 'refused', why });
      return;
    }
    if (this.inner.rcdSelfTest && !this.rcdPassedSinceOpen) {
      this.closePending = true;
      this.rcdTest ??= this.runRcdTestThenClose().finally(() => (this.rcdTest = undefined));
      return;
    }
    this.inner.contactor.set(true);
  }

  private async runRcdTestThenClose(): Promise<void> {
    const r = await this.inner.rcdSelfTest!();
    if (!r.ok) {
      this.closePending = false;
      // The driver reports a failed self-test as fault 'rcd' (latched through onFaultInput).
      this.o.log.error({ reason: r.reason }, 'RCD self-test before closing failed: contactor stays open');
      this.emitOverride({ action: 'refused', why: `RCD self-test failed: ${r.reason ?? 'no reason'}` });
      return;
    }
    this.rcdPassedSinceOpen = true;
    if (!this.closePending) return;
    this.closePending = false;
    const why = this.violation(true);
    if (why) {
      this.emitOverride({ action: 'refused', why });
      return;
    }
    this.inner.contactor.set(true);
  }

  /** Open (or drop a pending close). `why` null: commanded by the main side. */
  private open(why: string | null): void {
    const wasClosed = this.inner.contactor.commanded() || this.closePending;
    this.closePending = false;
    this.inner.contactor.set(false);
    this.rcdPassedSinceOpen = false;
    if (why && wasClosed) {
      this.o.log.warn({ why }, 'safety core opened the contactor');
      this.emitOverride({ action: 'opened', why });
    }
  }

  private emitOverride(o: Override): void {
    for (const l of this.overrideListeners) l(o);
  }
}
