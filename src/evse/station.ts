import { EventEmitter } from 'node:events';
import type { Config, ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware, HealthResult, Meter, MeterSnapshot } from '../hal/types.js';
import type { FaultKind } from '../domain/types.js';
import type { SystemClock, SyncEvent } from '../hal/clock.js';
import type { Logger } from '../log.js';
import type { SessionRecord, SessionStore } from '../store/sessions.js';
import type { LockoutStore } from '../store/lockouts.js';
import type { ReservationStore } from '../store/reservations.js';
import { MeterPoller } from '../meter/poller.js';
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_REQUIRED_GRACE_S, DEFAULT_STALE_AFTER_S } from '../config/meter.js';
import { offerableCurrent } from '../domain/pwm.js';
import { Connector } from './connector.js';
import { CurrentArbiter } from './current-arbiter.js';
import { fReadbackGraceMs, type SmEvent } from './state-machine.js';
import { Authorization } from './authorization.js';
import { LockoutKeeper, recoverOpenSessions } from './recovery.js';
import { offeredA, StatusView } from './status-view.js';
import { BudgetSharing } from './budget-sharing.js';
import { Reservations } from './reservations.js';
import type { Occupancy } from './reservation-rules.js';
import type { ConnectorInput } from './allocator.js';
import { DEFAULT_SHARING } from '../config/sharing.js';
import type {
  Authorizer, ConnectorStatus, ConnectorView, CurrentClaim, LiveDurations, MeterSample, ResetKind, SessionExtrasProvider,
  SimulatorControls, StationEvents, StationInfo, StationPort, StationView, StopReason, TagOutcome, VehicleInfo,
  PhaseCount, PhaseSwitchResult, StationBudget, Reservation, ReservationEnd, ReserveResult,
} from './port.js';

import { FIRMWARE_VERSION } from '../domain/version.js';


export interface ConnectorParts {
  cfg: ConnectorConfig;
  hardware: ConnectorHardware;
  meter: Meter;
}

export interface StationOptions {
  config: Config;
  parts: ConnectorParts[];
  sessions: SessionStore;
  lockouts: LockoutStore;
  reservations: ReservationStore;
  clock: SystemClock;
  log: Logger;
}

interface Entry {
  c: Connector;
  cfg: ConnectorConfig;
  /** Simulated EV controls, when the board is the simulator. */
  sim?: SimulatorControls;
}

/**
 * The station core behind StationPort: the connector registry and command routing. Its jobs
 * beside routing live in their own modules: tag and remote-start policy (authorization.ts), crash
 * recovery and stored lockouts (recovery.ts), the read model (status-view.ts), current limits
 * (current-arbiter.ts). Each Connector is the only owner of its hardware and meter.
 */
export class Station extends EventEmitter<StationEvents> implements StationPort {
  readonly info: StationInfo;
  readonly clock: SystemClock;
  private readonly sessions: SessionStore;
  private readonly arbiter = new CurrentArbiter();
  private readonly lockouts: LockoutKeeper;
  private readonly authorization: Authorization;
  private readonly statusView: StatusView;
  private readonly connectors = new Map<number, Entry>();
  private readonly statusProviders = new Map<string, () => unknown>();
  private readonly log: Logger;
  private resetHandler?: (kind: ResetKind) => void;
  private readonly leases = new Map<string, { cancel(): void }>();
  /** currentLimitA/limitSource last shown per connector (a change emits a status event). */
  private readonly offerShown = new Map<number, string>();
  private readonly sharing: BudgetSharing;
  private readonly reserved: Reservations;
  /** Re-entry guard: a Reserved flag changes a status, whose event would settle the flags again. */
  private settlingReservations = false;

  constructor(o: StationOptions) {
    super();
    const s = o.config.station;
    this.info = { id: s.id, vendor: s.vendor, model: s.model, serialNumber: s.serialNumber, firmwareVersion: s.firmwareVersion ?? FIRMWARE_VERSION };
    this.sessions = o.sessions;
    this.clock = o.clock;
    this.log = o.log;
    this.lockouts = new LockoutKeeper(o.lockouts, o.clock, o.log);
    this.statusView = new StatusView(this.info, o.clock, o.log);
    this.authorization = new Authorization({
      auth: o.config.auth,
      connector: (id) => this.connectors.get(id)?.c,
      connectorIds: () => this.connectorIds(),
      reservations: () => this.reserved,
      rejected: (info) => this.emit('auth-rejected', info),
      log: o.log,
    });
    this.sharing = new BudgetSharing({
      config: o.config.sharing ?? DEFAULT_SHARING,
      arbiter: this.arbiter,
      clock: o.clock,
      log: o.log.child({ module: 'sharing' }),
      connectors: () => [...this.connectors.values()].map((e) => this.sharingInput(e)),
      applyOffer: (id) => this.applyOffer(id),
    });
    this.reserved = new Reservations({
      clock: o.clock,
      store: o.reservations,
      occupancy: () => this.occupancy(),
      claimed: () => [...this.connectors.values()].flatMap(({ c }) => {
        const id = c.snapshot().auth?.reservationId;
        return id === null || id === undefined ? [] : [id];
      }),
      changed: (r, ended) => this.reservationChanged(r, ended),
      log: o.log.child({ module: 'reservations' }),
    });
    this.statusView.setReservations((id) => this.reserved.keptFor(id));
    this.clock.on('sync', (ev: SyncEvent) => this.onClockSync(ev));
    for (const parts of o.parts) this.add(o.config, parts);
  }

  private add(config: Config, parts: ConnectorParts): void {
    const { cfg, hardware } = parts;
    const meterCfg = cfg.meter as Record<string, unknown>;
    const maxPowerW = (meterCfg.maxPowerW as number | undefined) ?? cfg.maxCurrentA * cfg.phases * 253 * 1.2;
    const poller = new MeterPoller(parts.meter, {
      connectorId: cfg.id,
      intervalMs: (meterCfg.pollIntervalMs as number | undefined) ?? DEFAULT_POLL_INTERVAL_MS,
      staleAfterMs: ((meterCfg.staleAfterS as number | undefined) ?? DEFAULT_STALE_AFTER_S) * 1000,
      maxPowerW,
      clock: this.clock,
      log: this.log,
    });
    const required = meterCfg.requiredForCharging === true;
    const c = new Connector({
      id: cfg.id,
      hardware,
      poller,
      store: this.sessions,
      clock: this.clock,
      log: this.log.child({ connector: cfg.id }),
      sm: {
        stopTimeoutMs: cfg.stopTimeoutS * 1000,
        // Our own F is read back through the pilot sense's debounce (gpio); the sim reports at once.
        fReadbackGraceMs: fReadbackGraceMs(cfg.hardware.driver === 'gpio' ? cfg.hardware.pilotSense : undefined),
        phasePauseMs: cfg.phaseSwitch.pauseS * 1000,
        phaseMaxPerSession: cfg.phaseSwitch.maxPerSession,
      },
      phases: cfg.phases,
      sampleIntervalMs: config.storage.sampleIntervalS * 1000,
      flushIntervalMs: config.storage.flushIntervalS * 1000,
      freeIdTag: config.auth.mode === 'free' ? config.auth.freeIdTag : null,
      meterRequiredGraceMs: required ? ((meterCfg.requiredGraceS as number | undefined) ?? DEFAULT_REQUIRED_GRACE_S) * 1000 : null,
    });
    this.connectors.set(cfg.id, { c, cfg, sim: hardware.simulator?.() });
    this.arbiter.set({ source: 'config', connectorId: cfg.id, maxA: cfg.maxCurrentA });
    const emitStatus = () => this.emit('status', this.viewOf(c), c.status());
    // Whatever can move a share of the station budgets shares them out again (a no-op without budgets).
    const reshare = () => this.sharing.update();
    c.on('status', (s: ConnectorStatus, prev: ConnectorStatus) => {
      reshare();
      this.emit('status', this.viewOf(c), prev);
      // Faulted or Unavailable ends a reservation; someone arriving or leaving moves the station's.
      if (s !== prev) this.reservationsMoved();
    });
    c.on('contactor', () => {
      reshare();
      emitStatus();
    });
    c.on('phases', () => {
      reshare();
      emitStatus();
    });
    c.on('faults', (now: FaultKind[], before: FaultKind[]) => {
      // A fault is a 0 A claim as well (the state machine refuses to offer on its own): the status names it.
      if (now.length && !before.length) this.setClaim({ source: 'fault', connectorId: cfg.id, maxA: 0 });
      if (!now.length && before.length) this.clearClaim('fault', cfg.id);
      this.lockouts.track(cfg.id, now, before);
      reshare();
      for (const kind of now) if (!before.includes(kind)) this.emit('fault', { connectorId: cfg.id, kind, active: true });
      for (const kind of before) if (!now.includes(kind)) this.emit('fault', { connectorId: cfg.id, kind, active: false });
      emitStatus();
    });
    // A session appearing or ending changes the view even when the status does not (it may have
    // changed before the store recorded the stop): a status event follows, so no client keeps a
    // ghost session.
    c.on('session-started', (rec: SessionRecord) => {
      reshare();
      if (rec.reservationId !== null) this.reserved.used(rec.reservationId);
      this.emit('session-started', rec);
      emitStatus();
    });
    c.on('session-stopped', (rec: SessionRecord) => {
      reshare();
      this.emit('session-stopped', rec);
      emitStatus();
    });
    c.on('session-corrected', (rec: SessionRecord, before: SessionRecord) => this.emit('session-corrected', rec, before));
    poller.on('snapshot', (snap) => {
      reshare(); // measured currents: what the EV uses, and on which phases
      this.emit('sample', this.sampleOf(cfg.id, snap));
    });
    poller.on('health', emitStatus);
  }

  /** A connector as the budget sharing sees it (its own cap is the arbiter's, filled in by BudgetSharing). */
  private sharingInput({ c, cfg }: Entry): Omit<ConnectorInput, 'capA'> {
    const snap = c.snapshot();
    const plugged = snap.pilot === 'B' || snap.pilot === 'C' || snap.pilot === 'D';
    // A recorded session still authorised (the state machine drops the authorisation as it ends one).
    const wants = c.session() !== null && snap.auth !== null && plugged && !snap.stopping && !snap.paused && snap.available && snap.faults.length === 0;
    return {
      id: c.id,
      wants,
      // The phases in use: the 1p/3p relay's position where there is one, else the config's.
      phases: c.phases().active,
      rotation: cfg.phaseRotation ?? 'L1L2L3',
      priority: cfg.priority ?? 0,
      measuredA: c.meter().fresh?.currentA ?? null,
    };
  }

  private sampleOf(id: number, snap: MeterSnapshot): MeterSample {
    return {
      connectorId: id,
      sessionId: this.connectors.get(id)?.c.session()?.id ?? null,
      energyWh: snap.energyImportWh,
      powerW: snap.powerW,
      voltageV: snap.voltageV,
      currentA: snap.currentA,
      powerPhaseW: snap.powerPhaseW,
      frequencyHz: snap.frequencyHz ?? null,
      wallMs: this.clock.wallMs(),
    };
  }

  /** Restore stored lockouts, recover sessions left open by a crash or power loss, then start the connectors and meters. */
  async start(): Promise<void> {
    for (const { c } of this.connectors.values()) this.lockouts.restore(c);
    // Before the first status anyone reports: a reserved connector starts Reserved.
    this.reserved.restore((id) => this.connectors.has(id));
    this.reservationsMoved();
    this.sessions.recordBoot(this.clock.stamp());
    for (const rec of await recoverOpenSessions(this.sessions, (id) => this.connectors.get(id)?.c, this.log)) this.emit('session-stopped', rec);
    for (const { c } of this.connectors.values()) {
      c.startMeter();
      c.start();
      this.applyOffer(c.id);
    }
    this.sharing.update();
  }

  /** Every output safe at once (stall detector, signals, fatal errors): synchronous. */
  safe(): void {
    for (const { c } of this.connectors.values()) c.safe();
  }

  /**
   * Stop every connector (under load: X1, wait for the EV to go to B or the stop timeout, then open;
   * Connector.shutdown), close sessions with `reason`, then stop the meters and release the boards.
   * Emergencies use safe() instead.
   */
  async shutdown(reason: StopReason = 'Other'): Promise<void> {
    this.sharing.dispose();
    this.reserved.stop();
    await Promise.all([...this.connectors.values()].map(({ c }) => c.shutdown(reason)));
    for (const { c } of this.connectors.values()) await c.release();
  }

  // ---------------------------------------------------------------- read model

  connectorIds(): number[] {
    return [...this.connectors.keys()];
  }

  view(): StationView {
    return { ...this.statusView.station([...this.connectors.values()].map(({ c }) => this.viewOf(c))), sharing: this.sharing.view() };
  }

  connectorView(id: number): ConnectorView | undefined {
    const e = this.connectors.get(id);
    return e ? this.viewOf(e.c) : undefined;
  }

  private viewOf(c: Connector): ConnectorView {
    return this.statusView.connector(c, this.arbiter.decide(c.id));
  }

  sessionOn(connectorId: number): SessionRecord | undefined {
    return this.connectors.get(connectorId)?.c.session() ?? undefined;
  }

  liveDurations(connectorId: number): LiveDurations | null {
    return this.connectors.get(connectorId)?.c.liveDurations() ?? null;
  }

  vehicle(connectorId: number): VehicleInfo {
    return this.connectors.get(connectorId)?.c.vehicle() ?? { socPercent: null, batteryCapacityWh: null };
  }

  claims(connectorId: number): readonly CurrentClaim[] {
    return this.arbiter.list(connectorId);
  }

  hasLock(connectorId: number): boolean {
    return this.connectors.get(connectorId)?.c.hasLock() ?? false;
  }

  simulator(connectorId: number): SimulatorControls | undefined {
    return this.connectors.get(connectorId)?.sim;
  }

  /** Liveness for the systemd watchdog, per connector (Connector.health). */
  health(): HealthResult {
    for (const { c } of this.connectors.values()) {
      const h = c.health();
      if (!h.ok) return h;
    }
    return { ok: true };
  }

  registerStatus(name: string, provider: () => unknown): void {
    this.statusProviders.set(name, provider);
  }

  extraStatus(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, p] of this.statusProviders) {
      try {
        out[k] = p();
      } catch (err) {
        out[k] = { error: (err as Error).message };
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- providers

  setAuthorizer(a: Authorizer): void {
    this.authorization.setAuthorizer(a);
  }

  /** Live cost and time to finish for the session view (billing). */
  setSessionExtras(fn: SessionExtrasProvider): void {
    this.statusView.setSessionExtras(fn);
  }

  onReset(handler: (kind: ResetKind) => void): void {
    this.resetHandler = handler;
  }

  // ---------------------------------------------------------------- reservations

  reserve(r: Reservation): ReserveResult {
    return this.reserved.reserve(r);
  }

  cancelReservation(reservationId: number): boolean {
    return this.reserved.cancel(reservationId);
  }

  reservations(): readonly Reservation[] {
    return this.reserved.list();
  }

  private occupancy(): Occupancy[] {
    return [...this.connectors.values()].map(({ c }) => {
      const snap = c.snapshot();
      return { id: c.id, available: snap.available, faulted: snap.faults.length > 0, busy: snap.session || snap.auth !== null || c.session() !== null, plugged: snap.pilot !== 'A' };
    });
  }

  private reservationChanged(r: Reservation, ended: ReservationEnd | null): void {
    if (ended && ended !== 'used') for (const { c } of this.connectors.values()) c.dispatch({ type: 'reservation-ended', reservationId: r.reservationId });
    this.emit('reservation', r, ended);
    this.reservationsMoved();
    // The view of a connector whose Reserved flag did not change still names another reservation (or none).
    for (const { c } of this.connectors.values()) if (r.connectorId === 0 || r.connectorId === c.id) this.emit('status', this.viewOf(c), c.status());
  }

  /** Ends what a Faulted or Unavailable connector cannot keep, then each connector's Reserved flag as the rules say. */
  private reservationsMoved(): void {
    if (this.settlingReservations) return;
    this.settlingReservations = true;
    try {
      this.reserved.connectorsChanged();
      for (const { c } of this.connectors.values()) {
        const kept = this.reserved.keptFor(c.id) !== undefined;
        if (kept !== c.snapshot().reserved) c.dispatch({ type: 'reserved', reserved: kept });
      }
    } finally {
      this.settlingReservations = false;
    }
  }

  // ---------------------------------------------------------------- commands

  /** A fresh meter reading now (also emitted as 'sample'); rejects when the meter cannot be read. */
  async readMeter(connectorId: number): Promise<MeterSample> {
    return this.sampleOf(connectorId, await this.need(connectorId).readMeter());
  }

  presentTag(connectorId: number, idTag: string): Promise<TagOutcome> {
    return this.authorization.presentTag(connectorId, idTag);
  }

  async remoteStart(connectorId: number | undefined, idTag: string): Promise<boolean> {
    return this.authorization.remoteStart(connectorId, idTag);
  }

  async stopSession(connectorId: number, reason: StopReason, stopIdTag?: string): Promise<boolean> {
    return this.connectors.get(connectorId)?.c.stop(reason, stopIdTag ?? null) ?? false;
  }

  /** connectorId 0 = the whole station. Scheduled while a session runs; applied when it ends. */
  setAvailability(connectorId: number, available: boolean): 'Accepted' | 'Scheduled' | 'Rejected' {
    const ids = connectorId === 0 ? this.connectorIds() : this.connectors.has(connectorId) ? [connectorId] : [];
    if (!ids.length) return 'Rejected';
    let scheduled = false;
    for (const id of ids) {
      const c = this.need(id);
      c.dispatch({ type: 'availability', available });
      if (c.snapshot().pendingAvailable !== null) scheduled = true;
    }
    return scheduled ? 'Scheduled' : 'Accepted';
  }

  setConnectionTimeout(seconds: number): void {
    for (const id of this.connectorIds()) this.send(id, { type: 'connection-timeout', ms: seconds * 1000 });
  }

  holdLock(connectorId: number, owner: { idTag: string; parentIdTag?: string }): boolean {
    return this.connectors.get(connectorId)?.c.holdLock(owner) ?? false;
  }

  async unlock(connectorId: number): Promise<'Unlocked' | 'UnlockFailed' | 'NotSupported'> {
    return (await this.connectors.get(connectorId)?.c.unlock()) ?? 'NotSupported';
  }

  pause(connectorId: number): boolean {
    return this.send(connectorId, { type: 'pause' });
  }

  resume(connectorId: number): boolean {
    return this.send(connectorId, { type: 'resume' });
  }

  /** Wake a sleeping EV (state F for 4 s, then X1, then the offer again); false when it cannot be woken now. */
  wake(connectorId: number): boolean {
    return this.send(connectorId, { type: 'wake' }) && this.need(connectorId).snapshot().waking;
  }

  clearFaults(connectorId: number): boolean {
    const c = this.connectors.get(connectorId)?.c;
    c?.clearFaults();
    return c !== undefined;
  }

  /** The store's database file is gone or damaged: fault 'store' on every connector until evsed restarts. */
  storeLost(): void {
    for (const { c } of this.connectors.values()) c.storeLost();
  }

  /** The event loop stalled: latch a 'stall' fault (the contactor opens and stays open until unplug). */
  reportStall(connectorId: number): void {
    this.send(connectorId, { type: 'fault', kind: 'stall', active: true });
    this.send(connectorId, { type: 'fault', kind: 'stall', active: false });
  }

  setClaim(claim: CurrentClaim): void {
    if (this.sharing.isAllowance(claim.source, claim.connectorId)) throw new RangeError(`claim ${claim.source} on connector ${claim.connectorId}: the station budget of that name holds it`);
    this.arbiter.set(claim);
    this.renewLease(claim);
    this.sharing.update();
    this.applyOffers(claim.connectorId);
  }

  clearClaim(source: string, connectorId: number): void {
    this.leases.get(leaseKey(source, connectorId))?.cancel();
    this.leases.delete(leaseKey(source, connectorId));
    if (this.sharing.isAllowance(source, connectorId)) return;
    if (this.arbiter.clear(source, connectorId)) {
      this.sharing.update();
      this.applyOffers(connectorId);
    }
  }

  private renewLease(claim: CurrentClaim): void {
    const k = leaseKey(claim.source, claim.connectorId);
    this.leases.get(k)?.cancel();
    this.leases.delete(k);
    if (claim.leaseMs === undefined) return;
    this.leases.set(k, this.clock.setTimeout(() => {
      this.leases.delete(k);
      this.log.warn({ source: claim.source, connectorId: claim.connectorId, leaseMs: claim.leaseMs }, 'current claim lease ran out: the limit falls back');
      if (this.arbiter.clear(claim.source, claim.connectorId)) {
        this.sharing.update();
        this.applyOffers(claim.connectorId);
      }
    }, claim.leaseMs));
  }

  /** Shared out at once among the connectors (budget-sharing.ts, allocator.ts): each gets a hard claim named after the budget. */
  setBudget(budget: StationBudget): void {
    this.sharing.set(budget);
  }

  clearBudget(source: string): void {
    this.sharing.clear(source);
  }

  budgets(): readonly StationBudget[] {
    return this.sharing.list();
  }

  /** The 1p/3p sequence of the connector (Connector.setPhases); Rejected for an unknown connector. */
  async setPhases(connectorId: number, phases: PhaseCount, source: string): Promise<PhaseSwitchResult> {
    const c = this.connectors.get(connectorId)?.c;
    return c ? c.setPhases(phases, source) : 'Rejected';
  }

  requestReset(kind: ResetKind): void {
    this.log.warn({ kind }, 'reset requested');
    if (this.resetHandler) this.resetHandler(kind);
  }

  private send(connectorId: number, ev: SmEvent): boolean {
    const c = this.connectors.get(connectorId)?.c;
    c?.dispatch(ev);
    return c !== undefined;
  }

  private need(id: number): Connector {
    const e = this.connectors.get(id);
    if (!e) throw new Error(`no connector ${id}`);
    return e.c;
  }

  private applyOffers(connectorId: number): void {
    for (const id of connectorId === 0 ? this.connectorIds() : [connectorId]) this.applyOffer(id);
  }

  private applyOffer(id: number): void {
    const c = this.connectors.get(id)?.c;
    if (!c) return;
    const before = this.offerShown.get(id);
    const decision = this.arbiter.decide(id);
    c.dispatch({ type: 'offer', amps: offerableCurrent(decision.amps) });
    // A new limit or a new source of it is a change of the view: pushed, not left to the next poll.
    // Compared on the two fields alone; the whole view is built only when it is pushed.
    const shown = `${offeredA(c.snapshot())}/${decision.source}`;
    if (shown !== before) {
      this.offerShown.set(id, shown);
      if (before !== undefined) this.emit('status', this.viewOf(c), c.status());
    }
  }

  private onClockSync(ev: SyncEvent): void {
    this.reserved.clockSynced();
    const n = this.sessions.repairBoot(this.clock.bootId, ev.monoToWallMs, ev.source);
    this.log.info({ source: ev.source, repaired: n }, 'wall clock synchronised; earlier timestamps of this boot repaired');
  }
}

function leaseKey(source: string, connectorId: number): string {
  return `${connectorId}\u0000${source}`;
}
