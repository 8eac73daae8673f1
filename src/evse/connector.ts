import { EventEmitter } from 'node:events';
import type { ConnectorHardware, HealthResult, MeterSnapshot, PilotReading } from '../hal/types.js';
import type { FaultKind } from '../domain/types.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import type { MeterPoller } from '../meter/poller.js';
import type { SampleRow, SessionRecord, SessionStore } from '../store/sessions.js';
import { ConnectorStateMachine, DEFAULT_SM_OPTIONS, type SmAction, type SmEvent, type SmSnapshot, type StateMachineOptions } from './state-machine.js';
import { SessionTimer } from './session-timer.js';
import { CHARGING_THRESHOLD_W } from '../domain/charging.js';
import { supervisorViolation, type SupervisorInputs } from '../domain/supervisor.js';
import { OvercurrentCheck } from './safety-timing.js';
import { currentForDuty } from '../domain/pwm.js';
import type { AuthSource, ConnectorStatus, StopReason } from '../domain/types.js';
import type { PhaseCount, PhaseSwitchResult, VehicleInfo } from './port.js';

const STORE_FAILURES_BEFORE_FAULT = 2;
const STORE_RETRY_MS = 5000;
const HOUSEKEEPING_MS = 1000;
/** A shutdown waits at most this much longer than the stop timeout before it opens on its own. */
const SHUTDOWN_MARGIN_MS = 500;

export interface ConnectorOptions {
  id: number;
  hardware: ConnectorHardware;
  poller: MeterPoller;
  store: SessionStore;
  clock: Clock;
  log: Logger;
  sm?: Partial<StateMachineOptions>;
  sampleIntervalMs: number;
  flushIntervalMs: number;
  /** `free` mode: authorise on plug-in with this idTag. */
  freeIdTag?: string | null;
  /** Stop charging (fault 'meter') when the meter has been unreadable this long; null = keep charging. */
  meterRequiredGraceMs?: number | null;
  /** The phases the connector is installed with (connectors[].phases); default 3. */
  phases?: PhaseCount;
}

/** ConnectorView.phases. */
export interface PhasesView {
  installed: PhaseCount;
  active: PhaseCount;
  switchable: boolean;
  switching: boolean;
  switchesThisSession: number;
}

/**
 * Runs one connector: feeds hardware inputs to the state machine one at a time (never
 * re-entrantly), executes its commands, and records the session in the store from the meter
 * register. Contactor commands execute synchronously in the same turn as the input that caused them.
 *
 * Events: 'status' (status, previous), 'contactor' ({closed, why, latencyMs}),
 * 'session-started' (SessionRecord), 'session-stopped' (SessionRecord), 'faults' (now, before),
 * 'session-corrected' (SessionRecord, before): a provisional meter start/stop replaced by the register.
 */
export class Connector extends EventEmitter {
  readonly id: number;
  private readonly sm: ConnectorStateMachine;
  private readonly queue: { ev: SmEvent; atMs: number }[] = [];
  private processing = false;
  private deadline?: { cancel(): void; at: number };
  private housekeeping?: { cancel(): void };
  private storeOps: Promise<unknown> = Promise.resolve();
  private current: SessionRecord | null = null;
  private timer: SessionTimer | null = null;
  private samples: SampleRow[] = [];
  private lastSampleMs = -Infinity;
  private lastFlushMs = 0;
  private meterBadSinceMs: number | null = null;
  private closed = false;
  private lastTickMs = 0;
  private readonly overcurrent = new OvercurrentCheck();
  private storeFailures = 0;
  /** Times the contactor was commanded closed: while it stays the same, no energy has flowed. */
  private closures = 0;
  /**
   * A provisional meter value of this connector's latest session (recorded from the last good
   * register while the meter was unreadable), to be corrected from the next reading as long as the
   * contactor has not closed since it was recorded: then the register has not moved and is exact.
   */
  private pendingMeter: { sessionId: number; startAtClosures?: number; stopAtClosures?: number } | null = null;
  private lockHold: { idTag: string; parentIdTag?: string } | null = null;
  /** The store's file is gone or damaged (StoreFileWatch): fault 'store' until evsed restarts. */
  private storeFileLost = false;
  /**
   * A stop the store refused (full, read-only): kept with its reason, time and register and written
   * at the next flush that succeeds. Lost only if evsed stops first: the next start then closes the
   * session as PowerLoss from its checkpoint.
   */
  private unwrittenStop: { sessionId: number; input: Parameters<SessionStore['stop']>[1] } | null = null;
  /** Close commands the supervisor vetoed in the current dispatch drain. */
  private vetoes = 0;
  /** The state machine released the lock, but the contactor could not be confirmed open yet. */
  private unlockDeferred = false;
  /** A graceful shutdown is waiting for the contactor to open. */
  private shuttingDown = false;
  /** The lock motor's drive under way (a shutdown lets it finish rather than cut it half-way). */
  private lockOp: Promise<unknown> = Promise.resolve();
  /** setPhases callers waiting for their request's end, by request id. */
  private readonly phaseWaiters = new Map<number, (r: PhaseSwitchResult) => void>();
  private nextPhaseRequest = 1;

  constructor(private readonly o: ConnectorOptions) {
    super();
    this.id = o.id;
    const relay = o.hardware.phaseRelay;
    // The board decides how the switching pause looks (CP relay or not) and how long its relay settles.
    this.sm = new ConnectorStateMachine({ ...o.sm, phaseCpInterrupt: relay?.cpInterrupt ?? false, phaseSettleMs: relay?.settleMs ?? 0 });
  }

  /** Start polling the meter (the station does this before start()). */
  startMeter(): void {
    this.o.poller.start();
  }

  /** Drive the outputs safe, wire the inputs, and take the first pilot reading. */
  start(): void {
    const hw = this.o.hardware;
    hw.safe();
    hw.pilot.onChange((r) => this.onPilot(r));
    hw.faults.onChange((kind, active) => this.dispatch({ type: 'fault', kind, active }));
    hw.contactor.onOverride?.((o) => this.onCoreOverride(o.action, o.why));
    for (const kind of hw.faults.active()) this.dispatch({ type: 'fault', kind, active: true });
    hw.lock?.onChange?.(() => this.reportLock());
    // A deferred unlock (the contactor's feedback read closed) goes ahead once it reads open.
    hw.contactor.onFeedback((closed) => {
      if (!closed && this.unlockDeferred && !this.lockHold && !this.closed) void this.unlockWhenSafe('the contactor feedback reads open');
    });
    this.reportLock();
    // A stop recorded provisionally before a restart: no session has run since, so the contactor
    // stayed open (outputs are safe from here on) and the next reading is that session's true stop.
    const last = this.o.store.latestOn(this.id);
    if (last?.status === 'completed' && last.meterStopProvisional) this.pendingMeter = { sessionId: last.id, stopAtClosures: this.closures };
    this.o.poller.on('snapshot', (s: MeterSnapshot) => this.onSnapshot(s));
    this.o.poller.on('health', () => {
      // Meter ok -> failing (or stale) and back is a change of the timer's condition: account for it
      // now, not on the next 1 s housekeeping tick, or short outages are not counted as gaps at all.
      this.updateTimer();
      this.checkMeterRequired();
    });
    this.lastFlushMs = this.o.clock.monoMs();
    this.lastTickMs = this.lastFlushMs;
    this.scheduleHousekeeping();
    this.onPilot(hw.pilot.read());
  }

  /** Queue an event for the state machine; processed at once unless an event is being processed. */
  dispatch(ev: SmEvent): void {
    if (this.closed) return;
    this.queue.push({ ev, atMs: this.o.clock.monoMs() });
    if (this.processing) return;
    this.processing = true;
    this.vetoes = 0;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        const faultsBefore = this.sm.snapshot().faults;
        const actions = this.sm.handle(item.ev, this.o.clock.monoMs());
        this.execute(actions, item.atMs);
        this.supervise();
        const faults = this.sm.snapshot().faults;
        if (faults.join() !== faultsBefore.join()) this.emit('faults', faults, faultsBefore);
      }
    } finally {
      this.processing = false;
    }
    // The safety core's claim input: withdrawn the moment the session is no longer authorised.
    this.o.hardware.authorise?.(this.supervisorInputs().authorised);
    this.scheduleDeadline();
  }

  session(): SessionRecord | null {
    return this.current;
  }

  /** The state machine's view of the connector (read-only). */
  snapshot(): SmSnapshot {
    return this.sm.snapshot();
  }

  /** The meter as last read: the latest snapshot however old, the fresh one (undefined while stale), the poll status. */
  meter() {
    const p = this.o.poller;
    return { latest: p.latest(), fresh: p.fresh(), status: p.status() };
  }

  /** A fresh meter reading now; rejects when the meter cannot be read. */
  readMeter(): Promise<MeterSnapshot> {
    return this.o.poller.readNow();
  }

  vehicle(): VehicleInfo {
    const hw = this.o.hardware;
    return { socPercent: hw.socPercent?.() ?? null, batteryCapacityWh: hw.batteryCapacityWh?.() ?? null };
  }

  /**
   * Switch the phase relay through the only allowed sequence (the state machine's S10); resolves
   * when it ended. Accepted at once when already on `phases`; NotSupported without a relay.
   */
  setPhases(phases: PhaseCount, source: string): Promise<PhaseSwitchResult> {
    const relay = this.o.hardware.phaseRelay;
    if (!relay) return Promise.resolve('NotSupported');
    if (this.closed || this.shuttingDown) return Promise.resolve('Rejected');
    if (!this.sm.snapshot().phaseSwitch && relay.get() === phases) return Promise.resolve('Accepted');
    const requestId = this.nextPhaseRequest++;
    this.o.log.info({ connectorId: this.id, phases, source }, 'phase switch requested');
    return new Promise((resolve) => {
      this.phaseWaiters.set(requestId, resolve);
      this.dispatch({ type: 'phase-switch', phases, requestId });
    });
  }

  phases(): PhasesView {
    const installed = this.o.phases ?? 3;
    const relay = this.o.hardware.phaseRelay;
    const snap = this.sm.snapshot();
    return { installed, active: relay?.get() ?? installed, switchable: relay !== undefined, switching: snap.phaseSwitch !== null, switchesThisSession: snap.switchesThisSession };
  }

  /** Executes the state machine's relay command; the core's answer goes back as phase-relay-done. */
  private driveRelay(phases: PhaseCount): void {
    const relay = this.o.hardware.phaseRelay;
    const answer = (ok: boolean, why?: string) => this.dispatch({ type: 'phase-relay-done', phases, ok, ...(why ? { why } : {}) });
    if (!relay) return answer(false, 'this board has no phase relay');
    relay.set(phases).then(
      (r) => {
        if (!r.ok) this.o.log.error({ connectorId: this.id, phases, why: r.why }, 'the safety core refused to change the phase relay');
        answer(r.ok, r.ok ? undefined : r.why);
        this.emit('phases');
      },
      (err: unknown) => answer(false, (err as Error).message),
    );
  }

  /** Whether the connector has a cable lock (a socket); false for a fixed cable. */
  hasLock(): boolean {
    return this.o.hardware.lock !== undefined;
  }

  /** Drive every output safe now, synchronously (stall detector, shutdown, fatal error). */
  safe(): void {
    this.o.hardware.safe();
  }

  /**
   * A technician clears the latched faults. A welded contactor only when its feedback now reads
   * open: the board's own weld latch is released first, then the state machine's.
   */
  clearFaults(): void {
    const hw = this.o.hardware;
    const stillClosed = hw.contactor.feedback() === true && !hw.contactor.commanded();
    const boardReleased = hw.clearLatches ? !hw.clearLatches().includes('welded') : hw.clearWeld ? hw.clearWeld() : true;
    const keep: FaultKind[] = stillClosed || !boardReleased ? ['welded'] : [];
    if (keep.length && this.sm.snapshot().faults.includes('welded')) {
      this.o.log.warn({ connectorId: this.id }, 'welded contactor not cleared: its feedback still reads closed');
    }
    this.dispatch({ type: 'clear-faults', keep });
  }

  /**
   * OCPP UnlockConnector (S16 §5.18): NotSupported, with no side effect, where there is no lock
   * (fixed cable). With a lock: a running session is finished first (reason UnlockCommand) and the
   * cable unlocked only once it has ended; if it does not end in time, UnlockFailed (never unlock
   * while current may flow). Also ends a hold for the owner's tag.
   */
  async unlock(): Promise<'Unlocked' | 'UnlockFailed' | 'NotSupported'> {
    const lock = this.o.hardware.lock;
    if (!lock) return 'NotSupported';
    const held = this.lockHold !== null;
    if (this.current) {
      const ended = new Promise<boolean>((resolve) => {
        const t = this.o.clock.setTimeout(() => resolve(false), this.stopTimeoutMs() + 5000);
        this.once('session-stopped', () => {
          t.cancel();
          resolve(true);
        });
      });
      this.stop('UnlockCommand');
      await ended;
      await this.settled();
      if (this.current) return 'UnlockFailed';
    }
    if (held) this.lockHold = null;
    return (await this.unlockWhenSafe('UnlockConnector')) ? 'Unlocked' : 'UnlockFailed';
  }

  /**
   * Why the cable may not be unlocked now, or null: the contactor must be commanded open and its
   * feedback must read open. A welded contactor keeps the socket live; without a feedback wired
   * the open contactor cannot be confirmed, so the cable stays locked.
   */
  private unlockRefusal(): string | null {
    const c = this.o.hardware.contactor;
    if (c.commanded()) return 'the contactor is commanded closed';
    const fb = c.feedback();
    if (fb === undefined) return 'no contactor feedback is wired: the contactor cannot be confirmed open';
    if (fb) return "the contactor's feedback reads closed (welded?)";
    if (this.sm.snapshot().contactor) return 'the contactor is closed';
    return null;
  }

  /**
   * Unlocks the cable if the contactor is confirmed open; else keeps it locked (deferred until
   * the feedback reads open). Resolves whether the lock now reads unlocked.
   */
  private async unlockWhenSafe(why: string): Promise<boolean> {
    const lock = this.o.hardware.lock;
    if (!lock) return false;
    const refusal = this.unlockRefusal();
    if (refusal) {
      this.unlockDeferred = true;
      this.o.log.warn({ connectorId: this.id, why, refusal }, `the cable stays locked: ${refusal}`);
      return false;
    }
    this.unlockDeferred = false;
    try {
      await this.track(lock.unlock());
    } catch (err) {
      this.o.log.error({ connectorId: this.id, err: (err as Error).message }, 'cable unlock failed');
    }
    this.reportLock();
    return lock.isLocked() !== true;
  }

  private track<T>(op: Promise<T>): Promise<T> {
    this.lockOp = op.catch(() => undefined);
    return op;
  }

  /** The lock's reading to the state machine (null: no lock, a fixed cable). */
  private reportLock(): void {
    const lock = this.o.hardware.lock;
    this.dispatch({ type: 'lock-state', locked: lock ? lock.isLocked() === true : null });
  }

  /** Executes the state machine's lock command; the result comes back as lock-state / lock-failed. */
  private driveLock(locked: boolean): void {
    const lock = this.o.hardware.lock;
    if (!lock) {
      this.reportLock(); // the lock is gone (a fixed cable): the state machine stops waiting for it
      return;
    }
    if (!locked) {
      if (this.lockHold) {
        this.o.log.info({ connectorId: this.id, idTag: this.lockHold.idTag }, "cable stays locked until the session's tag is presented");
        return;
      }
      void this.unlockWhenSafe('no session');
      return;
    }
    this.unlockDeferred = false;
    this.track(lock.lock()).then(
      () => this.reportLock(),
      (err: unknown) => {
        const why = (err as Error).message;
        this.o.log.error({ connectorId: this.id, err: why }, 'cable lock failed');
        this.dispatch({ type: 'lock-failed', why });
        this.reportLock();
      },
    );
  }

  /**
   * Liveness for the systemd watchdog: the control loop (1 s housekeeping timer) ran recently, the
   * board's own loops run (gpio: pilot sampler, heartbeat) and the meter poll loop runs. Liveness
   * only: a dead meter or ADC is a fault on the connector, a restart would not help.
   */
  health(): HealthResult {
    const age = this.o.clock.monoMs() - this.lastTickMs;
    if (age > 5000) return { ok: false, reason: `connector ${this.id} control loop silent for ${Math.round(age)} ms` };
    const board = this.o.hardware.health?.();
    if (board && !board.ok) return { ok: false, reason: `connector ${this.id}: ${board.reason}` };
    return this.o.poller.loopHealth();
  }

  /** Stop the meter and release the board (after shutdown). */
  async release(): Promise<void> {
    await this.o.poller.close();
    await this.o.hardware.close().catch(() => undefined);
  }

  private stopTimeoutMs(): number {
    return this.o.sm?.stopTimeoutMs ?? DEFAULT_SM_OPTIONS.stopTimeoutMs;
  }

  liveDurations() {
    return this.timer?.live(this.o.clock.monoMs()) ?? null;
  }

  status(): ConnectorStatus {
    return this.sm.snapshot().status;
  }

  /** `reservationId`: the reservation the session will use (and end). */
  presentedAuth(idTag: string | null, source: AuthSource, reservationId?: number): void {
    this.dispatch({ type: 'authorize', idTag, source, reservationId: reservationId ?? null });
  }

  stop(reason: StopReason, stopIdTag?: string | null): boolean {
    const snap = this.sm.snapshot();
    if (!snap.session && !snap.auth) return false;
    this.dispatch({ type: 'stop', reason, stopIdTag: stopIdTag ?? null });
    return true;
  }

  /**
   * Keep the cable locked when the running session ends, until `releaseLock` (OCPP
   * StopTransactionOnInvalidId, errata 3.5: locked until the owner's tag is presented). False
   * without a lock. Not persisted: a restart ends the hold.
   */
  holdLock(owner: { idTag: string; parentIdTag?: string }): boolean {
    if (!this.o.hardware.lock) return false;
    this.lockHold = owner;
    return true;
  }

  lockHeldFor(): { idTag: string; parentIdTag?: string } | null {
    return this.lockHold;
  }

  /** Ends a hold; unlocks the cable unless a session is running or the contactor is not confirmed open. */
  async releaseLock(): Promise<void> {
    this.lockHold = null;
    if (this.current || this.sm.snapshot().session) return;
    await this.unlockWhenSafe('lock hold released');
  }

  /** Resolves when every pending store write (session start/stop) has completed. */
  async settled(): Promise<void> {
    for (let p = this.storeOps; ; ) {
      await p.catch(() => undefined);
      if (p === this.storeOps) return;
      p = this.storeOps;
    }
  }

  /**
   * Stop for a service stop or restart. Under load the EV is told first: the offer is withdrawn
   * (X1) and the contactor opens when the EV goes to B, or at the stop timeout (IEC 61851-1 Table
   * A.6 seq. 10.2), never before (opening under load wears the contacts and can arc). Then the
   * session ended with `reason`, every output safe, the samples written.
   */
  async shutdown(reason: StopReason): Promise<void> {
    if (this.closed || this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.o.hardware.contactor.commanded() && this.sm.snapshot().session) {
      const opened = new Promise<void>((resolve) => {
        const done = () => {
          t.cancel();
          this.off('contactor', onContactor);
          resolve();
        };
        const onContactor = (e: { closed: boolean }) => {
          if (!e.closed && !this.o.hardware.contactor.commanded()) done();
        };
        const t = this.o.clock.setTimeout(done, this.stopTimeoutMs() + SHUTDOWN_MARGIN_MS);
        this.on('contactor', onContactor);
      });
      this.o.log.info({ connectorId: this.id, reason }, 'stopping under load: offer withdrawn (X1), waiting for the EV to stop drawing');
      this.dispatch({ type: 'stop', reason });
      if (this.o.hardware.contactor.commanded()) await opened;
    }
    if (this.o.hardware.contactor.commanded()) this.o.hardware.safe(); // past the bound: open now
    if (this.sm.snapshot().session) this.dispatch({ type: 'deauthorize', reason });
    await this.settled();
    await this.lockOp; // an unlock under way finishes rather than stop half-way
    this.o.hardware.safe();
    this.flushSamples();
    this.closed = true;
    for (const w of this.phaseWaiters.values()) w('Rejected');
    this.phaseWaiters.clear();
    this.deadline?.cancel();
    this.housekeeping?.cancel();
  }

  private onPilot(r: PilotReading): void {
    const before = this.sm.snapshot();
    this.dispatch({ type: 'pilot', state: r.state, diodeOk: r.diodeOk, diodeChecked: r.diodeChecked });
    // free mode: plugging in is the authorisation (not on a connector kept for a reservation: its tag is presented)
    if (this.o.freeIdTag !== undefined && this.o.freeIdTag !== null && !before.reserved && before.pilot === 'A' && (r.state === 'B' || r.state === 'C' || r.state === 'D')) {
      this.dispatch({ type: 'authorize', idTag: this.o.freeIdTag, source: 'free' });
    }
  }

  private execute(actions: SmAction[], inputAtMs: number): void {
    for (const a of actions) {
      switch (a.type) {
        case 'contactor': {
          if (a.closed) {
            const inputs = this.supervisorInputs();
            const veto = supervisorViolation(inputs, true);
            if (veto) {
              this.refuseClose(inputs, veto, a.why);
              break;
            }
            this.o.hardware.authorise?.(inputs.authorised);
            this.closures++;
          }
          this.o.hardware.contactor.set(a.closed);
          const latencyMs = this.o.clock.monoMs() - inputAtMs;
          this.o.log.info({ connectorId: this.id, closed: a.closed, why: a.why }, a.closed ? 'contactor closed' : 'contactor opened');
          this.emit('contactor', { closed: a.closed, why: a.why, latencyMs });
          this.updateTimer();
          break;
        }
        case 'lock':
          this.driveLock(a.locked);
          break;
        case 'pilot':
          this.o.hardware.pilot.setOutput(a.output);
          this.o.log.debug({ connectorId: this.id, output: a.output }, 'pilot output');
          break;
        case 'start-session':
          this.beginSession(a.idTag, a.source, a.reservationId);
          break;
        case 'end-session':
          this.endSession(a.reason, a.stopIdTag);
          break;
        case 'phase-relay':
          this.driveRelay(a.phases);
          break;
        case 'phase-switch-ended': {
          const waiter = a.requestId === undefined ? undefined : this.phaseWaiters.get(a.requestId);
          if (a.requestId !== undefined) this.phaseWaiters.delete(a.requestId);
          waiter?.(a.result);
          this.emit('phases');
          break;
        }
        case 'status':
          this.o.log.info({ connectorId: this.id, from: a.previous, to: a.status }, `connector ${this.id}: ${a.previous} -> ${a.status}`);
          this.emit('status', a.status, a.previous);
          break;
        case 'log':
          this.o.log[a.level]({ connectorId: this.id }, a.msg);
          break;
      }
    }
  }

  /**
   * Independent check from the raw inputs after every step: if the contactor is commanded closed
   * while the inputs forbid it, open it now. Usually this only means an input change is still queued
   * (its interrupt arrives on the next turn); the raw reading is fed to the state machine so it catches up.
   */
  private supervise(): void {
    const hw = this.o.hardware;
    if (!hw.contactor.commanded()) return;
    const inputs = this.supervisorInputs();
    const why = supervisorViolation(inputs, false);
    if (!why) return;
    hw.contactor.set(false);
    this.o.log.warn({ connectorId: this.id, why }, 'safety supervisor opened the contactor');
    this.emit('contactor', { closed: false, why: `supervisor: ${why}`, latencyMs: 0 });
    this.resyncAfterSupervisor(inputs.pilot, why);
  }

  /**
   * The board's safety core refused a close or opened on its own (it decides without asking): the
   * state machine learns the contactor is open and gets the raw inputs that made the core act.
   */
  private onCoreOverride(action: 'refused' | 'opened', why: string): void {
    this.o.log.warn({ connectorId: this.id, action, why }, action === 'opened' ? 'the safety core opened the contactor' : 'the safety core refused to close the contactor');
    this.emit('contactor', { closed: false, why: `safety core ${action === 'opened' ? 'opened' : 'refused the close'}: ${why}`, latencyMs: 0 });
    this.updateTimer();
    if (this.sm.snapshot().contactor) this.resyncAfterSupervisor(this.o.hardware.pilot.read(), why);
  }

  /** The supervisor overruled the state machine: give it the raw inputs and tell it the contactor is open. */
  private resyncAfterSupervisor(pilot: PilotReading, why: string): void {
    this.dispatch({ type: 'pilot', state: pilot.state, diodeOk: pilot.diodeOk, diodeChecked: pilot.diodeChecked });
    for (const kind of this.o.hardware.faults.active()) this.dispatch({ type: 'fault', kind, active: true });
    this.dispatch({ type: 'contactor-refused', why });
  }

  /** The supervisor's inputs, read from the driver and the store's session, not from the state machine's view. */
  private supervisorInputs(): SupervisorInputs {
    const hw = this.o.hardware;
    const snap = this.sm.snapshot();
    return {
      pilot: hw.pilot.read(),
      boardFaults: hw.faults.active(),
      latchedFaults: snap.faults,
      authorised: this.current !== null && snap.auth !== null && snap.session,
      cableLocked: hw.lock ? hw.lock.isLocked() === true : null,
    };
  }

  /**
   * The supervisor vetoed a close: the pin is not written. Usually the state machine only lags an
   * input (a reading still queued): it gets the raw inputs and learns the contactor is open. If it
   * commands the close again in the same drain, that is a state machine bug: latched fault 'other'.
   */
  private refuseClose(inputs: SupervisorInputs, veto: string, smWhy: string): void {
    this.vetoes++;
    this.o.log.error({ connectorId: this.id, veto, stateMachine: smWhy }, 'safety supervisor refused to close the contactor');
    this.emit('contactor', { closed: false, why: `supervisor refused the close: ${veto}`, latencyMs: 0 });
    if (this.vetoes === 1) {
      this.resyncAfterSupervisor(inputs.pilot, veto);
    } else if (this.vetoes === 2) {
      this.raiseFault('other', `the state machine commanded a close the safety supervisor refused twice (${veto}): contactor kept open`);
    }
  }

  private scheduleDeadline(): void {
    const at = this.sm.nextDeadline();
    if (at === null) {
      this.deadline?.cancel();
      this.deadline = undefined;
      return;
    }
    if (this.deadline && this.deadline.at === at) return;
    this.deadline?.cancel();
    const t = this.o.clock.setTimeout(() => {
      this.deadline = undefined;
      this.dispatch({ type: 'tick' });
    }, Math.max(0, at - this.o.clock.monoMs()));
    this.deadline = { cancel: t.cancel, at };
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.storeOps.then(op, op);
    this.storeOps = p.catch(() => undefined);
    return p;
  }

  /**
   * The register at the session start. When the meter cannot be read, its last good register: exact
   * only if nothing flowed since (not so if the meter failed during the previous session), so that
   * start is recorded as provisional.
   */
  private async registerNow(): Promise<{ wh: number; fresh: boolean }> {
    try {
      const s = await this.o.poller.readNow();
      return { wh: s.energyImportWh, fresh: true };
    } catch (err) {
      const last = this.o.poller.latest();
      if (last) return { wh: last.energyImportWh, fresh: false };
      throw err;
    }
  }

  private beginSession(idTag: string | null, source: AuthSource, reservationId: number | null): void {
    void this.serial(async () => {
      try {
        // A session's stop is recorded before the next one starts (the CSMS gets them in that order).
        this.writeUnwrittenStop();
        const reg = await this.registerNow();
        if (!reg.fresh) this.o.log.warn({ connectorId: this.id, meterStartWh: reg.wh }, 'meter unreadable at session start: using its last good register, recorded as provisional');
        const rec = this.o.store.start({ connectorId: this.id, idTag, authSource: source, meterStartWh: reg.wh, at: this.o.clock.stamp(), meterStartProvisional: !reg.fresh, reservationId });
        // A provisional stop of the previous session can no longer be corrected from the register: it stays flagged.
        this.pendingMeter = reg.fresh ? null : { sessionId: rec.id, startAtClosures: this.closures };
        this.current = rec;
        this.timer = new SessionTimer(this.o.clock.monoMs());
        this.samples = [];
        this.lastSampleMs = -Infinity;
        this.o.log.info({ connectorId: this.id, sessionId: rec.id, idTag, source, meterStartWh: rec.meterStartWh }, 'session started');
        this.emit('session-started', rec);
        this.dispatch({ type: 'session-started' });
      } catch (err) {
        this.o.log.error({ connectorId: this.id, err: (err as Error).message }, 'cannot start session');
        this.dispatch({ type: 'session-start-failed' });
      }
    });
  }

  private endSession(reason: StopReason, stopIdTag: string | null): void {
    const rec = this.current;
    if (!rec) return;
    const durations = this.timer!.durations(this.o.clock.monoMs());
    const at = this.o.clock.stamp();
    this.timer = null;
    void this.serial(async () => {
      // The contactor is open: the register no longer moves. Read it fresh; retry a little if the bus hiccups.
      let wh: number | undefined;
      for (let attempt = 0; attempt < 3 && wh === undefined; attempt++) {
        try {
          wh = (await this.o.poller.readNow()).energyImportWh;
        } catch {
          await new Promise<void>((r) => this.o.clock.setTimeout(r, 300));
        }
      }
      const provisional = wh === undefined;
      if (wh === undefined) {
        wh = this.o.poller.latest()?.energyImportWh ?? rec.checkpointEnergyWh ?? rec.meterStartWh;
        this.o.log.warn({ connectorId: this.id, sessionId: rec.id, meterStopWh: wh }, 'meter unreadable at session stop: using its last good register, recorded as provisional (corrected when the meter answers, unless a session starts first)');
      }
      if (provisional) {
        const p = this.pendingMeter?.sessionId === rec.id ? this.pendingMeter : null;
        this.pendingMeter = { sessionId: rec.id, startAtClosures: p?.startAtClosures, stopAtClosures: this.closures };
      } else if (this.pendingMeter?.sessionId === rec.id) {
        this.pendingMeter = null;
      }
      this.flushSamples();
      const input = { meterStopWh: wh, reason, stopIdTag, at, ...durations, meterStopProvisional: provisional };
      try {
        const stopped = this.o.store.stop(rec.id, input);
        this.o.log.info({ connectorId: this.id, sessionId: rec.id, reason, energyWh: stopped.energyWh, durationS: Math.round(stopped.durationMs / 1000) }, 'session stopped');
        this.current = null;
        this.emit('session-stopped', stopped);
      } catch (err) {
        this.o.log.error(
          { connectorId: this.id, sessionId: rec.id, reason, err: (err as Error).message },
          'cannot record the session stop now: kept and written with its reason once the store accepts writes (if evsed stops first, the next start closes the session as PowerLoss)',
        );
        this.unwrittenStop = { sessionId: rec.id, input };
        this.current = null;
      }
    });
  }

  private updateTimer(): void {
    if (!this.timer) return;
    const snap = this.o.poller.fresh();
    const drawing = this.o.hardware.contactor.commanded() && (snap?.powerW ?? 0) >= CHARGING_THRESHOLD_W;
    const meterOk = this.o.poller.status().health === 'ok' && !this.o.poller.isStale();
    this.timer.update(this.o.clock.monoMs(), { charging: drawing, meterOk });
  }

  private onSnapshot(s: MeterSnapshot): void {
    if (this.pendingMeter) this.correctPendingMeter(s.energyImportWh);
    // A phase switch waits for the EV to stop drawing: below 1 A on every phase the contactor may open.
    if (this.sm.snapshot().phaseSwitch?.step === 'withdraw') this.dispatch({ type: 'drawing', amps: Math.max(0, ...s.currentA) });
    this.updateTimer();
    this.checkOvercurrent(s);
    this.emit('sample', s);
    const rec = this.current;
    const now = this.o.clock.monoMs();
    if (rec && now - this.lastSampleMs >= this.o.sampleIntervalMs) {
      this.lastSampleMs = now;
      this.samples.push({
        connectorId: this.id,
        sessionId: rec.id,
        at: this.o.clock.stamp(),
        energyWh: s.energyImportWh,
        powerW: s.powerW,
        phases: s.voltageV.map((v, i) => [v, s.currentA[i] ?? 0, s.powerPhaseW[i] ?? 0] as [number, number, number]),
      });
    }
  }

  /**
   * The meter answers again: a provisional start/stop recorded since the contactor last closed is
   * exactly the present register (nothing has flowed since). One recorded before a closure cannot
   * be known any more and keeps its flag.
   */
  private correctPendingMeter(registerWh: number): void {
    const p = this.pendingMeter!;
    this.pendingMeter = null;
    const fix: { meterStartWh?: number; meterStopWh?: number } = {};
    if (p.startAtClosures !== undefined && p.startAtClosures === this.closures) fix.meterStartWh = registerWh;
    if (p.stopAtClosures !== undefined && p.stopAtClosures === this.closures) fix.meterStopWh = registerWh;
    if (fix.meterStartWh === undefined && fix.meterStopWh === undefined) {
      this.o.log.warn({ connectorId: this.id, sessionId: p.sessionId }, 'meter answers again, but the contactor closed since the provisional meter value was recorded: it stays provisional');
      return;
    }
    try {
      const before = this.o.store.get(p.sessionId);
      const rec = this.o.store.correctMeter(p.sessionId, fix);
      if (!rec || !before) return;
      if (this.current?.id === rec.id) this.current = rec;
      this.o.log.info(
        { connectorId: this.id, sessionId: rec.id, meterStartWh: [before.meterStartWh, rec.meterStartWh], meterStopWh: [before.meterStopWh, rec.meterStopWh], energyWh: [before.energyWh, rec.energyWh], stillProvisional: { start: rec.meterStartProvisional, stop: rec.meterStopProvisional } },
        'meter answers again: provisional meter value corrected from the register',
      );
      this.emit('session-corrected', rec, before);
    } catch (err) {
      this.o.log.error({ connectorId: this.id, sessionId: p.sessionId, err: (err as Error).message }, 'cannot correct the provisional meter value (it stays flagged)');
    }
  }

  /** The 1 s control-loop tick, on the connector's clock. */
  private scheduleHousekeeping(): void {
    this.housekeeping = this.o.clock.setTimeout(() => {
      if (this.closed) return;
      this.tickHousekeeping();
      this.scheduleHousekeeping();
    }, HOUSEKEEPING_MS);
  }

  private tickHousekeeping(): void {
    this.lastTickMs = this.o.clock.monoMs();
    this.updateTimer();
    this.checkMeterRequired();
    const now = this.o.clock.monoMs();
    if (now - this.lastFlushMs >= this.o.flushIntervalMs) this.flushSamples();
  }

  /** Batch-commit samples and a session checkpoint (one commit per flush interval spares the SD card). */
  private flushSamples(): void {
    const now = this.o.clock.monoMs();
    this.lastFlushMs = now;
    try {
      this.writeUnwrittenStop();
      this.o.store.addSamples(this.samples);
      this.samples = [];
      const rec = this.current;
      const latest = this.o.poller.latest();
      if (rec && this.timer && latest) {
        this.o.store.checkpoint(rec.id, { energyWh: latest.energyImportWh, at: this.o.clock.stamp(), ...this.timer.durations(now) });
      }
      if (this.storeFailures > 0) {
        this.o.log.info({ connectorId: this.id }, 'the store can be written again');
        this.storeFailures = 0;
        if (this.sm.snapshot().faults.includes('store') && !this.storeFileLost) this.dispatch({ type: 'fault', kind: 'store', active: false });
      }
    } catch (err) {
      this.storeFailures++;
      if (this.storeFailures === 1) this.o.log.error({ connectorId: this.id, err: (err as Error).message }, 'cannot write to the store');
      if (this.samples.length > 3600) this.samples.splice(0, this.samples.length - 3600);
      // Energy delivered now would exist only in memory and be lost to a power cut: after a second
      // failure in a row stop charging (fault 'store', self-clearing) until a write succeeds.
      if (this.storeFailures >= STORE_FAILURES_BEFORE_FAULT && !this.sm.snapshot().faults.includes('store')) {
        this.o.log.error({ connectorId: this.id, failures: this.storeFailures }, 'the session cannot be recorded: charging stopped until the store can be written');
        this.dispatch({ type: 'fault', kind: 'store', active: true });
      }
      // Retry soon rather than after a whole flush interval, to notice both the fault and its end.
      this.lastFlushMs = now - this.o.flushIntervalMs + STORE_RETRY_MS;
    }
  }

  /**
   * The database file was deleted, replaced or damaged under the connection (StoreFileWatch): what
   * is recorded now may be lost, so charging stops (fault 'store', held until evsed restarts on the
   * restored file) as when the store refuses writes.
   */
  storeLost(): void {
    this.storeFileLost = true;
    if (!this.sm.snapshot().faults.includes('store')) this.dispatch({ type: 'fault', kind: 'store', active: true });
  }

  /** Writes a stop the store refused earlier (throws while it still refuses); announces it once recorded. */
  private writeUnwrittenStop(): void {
    const u = this.unwrittenStop;
    if (!u) return;
    const stopped = this.o.store.stop(u.sessionId, u.input);
    this.unwrittenStop = null;
    this.o.log.warn({ connectorId: this.id, sessionId: u.sessionId, reason: stopped.stopReason, energyWh: stopped.energyWh }, 'session stop recorded late, with its reason and stop time, now that the store accepts writes');
    this.emit('session-stopped', stopped);
  }

  /**
   * Measured current above the PWM offer beyond the IEC tolerance for longer than the EV's reaction
   * window is a fault. Only while an offer runs: after it is withdrawn (X1) the stop timeout governs.
   */
  private checkOvercurrent(s: MeterSnapshot): void {
    const snap = this.sm.snapshot();
    if (!snap.contactor || snap.output.mode !== 'pwm') {
      this.overcurrent.reset();
      return;
    }
    const offerA = currentForDuty(snap.output.dutyPermille);
    const v = this.overcurrent.update(s.currentA, offerA, this.o.clock.monoMs());
    if (v.trip && !snap.faults.includes('overcurrent')) {
      this.raiseFault('overcurrent', `EV draws ${Math.max(...s.currentA).toFixed(1)} A against an offer of ${offerA} A (limit ${v.limitA.toFixed(1)} A) for ${this.overcurrent.windowMs} ms`);
      this.overcurrent.reset();
    }
  }

  /**
   * The 'meter' fault (opens the contactor, clears by itself): a meter that fails its start-up
   * self-check (another model, or set otherwise than its map reads) at once, whatever
   * requiredForCharging says; with meter.requiredForCharging, also a meter unreadable for longer
   * than the grace time.
   */
  private checkMeterRequired(): void {
    const grace = this.o.meterRequiredGraceMs;
    const st = this.o.poller.status();
    const bad = st.health !== 'ok' || this.o.poller.isStale();
    const now = this.o.clock.monoMs();
    const active = this.sm.snapshot().faults.includes('meter');
    if (!bad) {
      this.meterBadSinceMs = null;
      if (active) this.dispatch({ type: 'fault', kind: 'meter', active: false });
      return;
    }
    this.meterBadSinceMs ??= now;
    const due = st.misconfigured != null || (grace != null && now - this.meterBadSinceMs >= grace);
    if (due && !active) {
      if (st.misconfigured != null) this.o.log.error({ connectorId: this.id, problem: st.misconfigured }, 'meter fault: the meter failed its self-check');
      this.dispatch({ type: 'fault', kind: 'meter', active: true });
    } else if (!due && active) {
      this.dispatch({ type: 'fault', kind: 'meter', active: false });
    }
  }

  private raiseFault(kind: FaultKind, msg: string): void {
    this.o.log.error({ connectorId: this.id }, msg);
    // Latched on the board's side first (written before the state machine opens the contactor).
    this.o.hardware.latch?.(kind);
    // A detected (not wired) fault: raise and release the input, so it stays latched by the state machine's rules.
    this.dispatch({ type: 'fault', kind, active: true });
    this.dispatch({ type: 'fault', kind, active: false });
  }
}
