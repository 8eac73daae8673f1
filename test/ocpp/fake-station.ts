import { EventEmitter } from 'node:events';
import { SystemClock } from '../../src/hal/clock.js';
import { SessionStore, type SessionRecord } from '../../src/store/sessions.js';
import type { Db } from '../../src/store/db.js';
import type { AuthResult, Authorizer, ConnectorStatus, ConnectorView, CurrentClaim, PhaseCount, PhaseSwitchResult, Reservation, ReserveResult, StationBudget, StationEvents, StationClock, StationInfo, StationPort, StationView, StopReason, TagOutcome } from '../../src/evse/port.js';
import type { FaultKind } from '../../src/domain/types.js';

interface FakeConnector {
  id: number;
  status: ConnectorStatus;
  available: boolean;
  faults: FaultKind[];
  energyWh: number;
  currentLimitA: number;
  pendingUnavailable: boolean;
  /** A cable lock (socket); false = fixed cable. */
  lock: boolean;
  /** The meter stopped answering: its last reading is stale, readMeter fails, no samples. */
  meterOffline: boolean;
}

const ZERO = { durationMs: 0, chargingMs: 0, idleMs: 0, meterGapMs: 0 };

/**
 * A station for OCPP tests: the StationPort over a real SessionStore on a real SQLite file,
 * connectors reduced to what OCPP sees (status, energy register, availability). The EV is assumed
 * plugged in.
 */
export class FakeStation extends EventEmitter implements StationPort {
  readonly info: StationInfo = { id: 'CP-TEST', vendor: 'evsed', model: 'test', serialNumber: 'SN1', firmwareVersion: '0.1.0' };
  readonly sessions: SessionStore;
  readonly clock: StationClock & { close(): void };
  readonly connectors = new Map<number, FakeConnector>();
  authorizer?: Authorizer;
  readonly claimed: CurrentClaim[] = [];
  readonly resets: string[] = [];
  readonly statusProviders = new Map<string, () => unknown>();

  /** `clock`: a fake one for tests on fake time; else the real clock with the given trust. */
  constructor(db: Db, opts: { connectors?: number; trust?: 'always' | 'never'; locks?: boolean; clock?: StationClock & { close(): void } } = {}) {
    super();
    this.clock = opts.clock ?? new SystemClock(opts.trust ?? 'always');
    this.sessions = new SessionStore(db);
    for (let id = 1; id <= (opts.connectors ?? 2); id++) {
      this.connectors.set(id, { id, status: 'Available', available: true, faults: [], energyWh: 10_000 * id, currentLimitA: 16, pendingUnavailable: false, meterOffline: false, lock: opts.locks ?? true });
    }
  }

  override on<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): this {
    return super.on(e, l as (...a: unknown[]) => void);
  }
  override off<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): this {
    return super.off(e, l as (...a: unknown[]) => void);
  }

  setAuthorizer(a: Authorizer): void {
    this.authorizer = a;
  }

  private viewOf(c: FakeConnector): ConnectorView {
    const s = this.sessionOn(c.id);
    return {
      id: c.id, status: c.status, pilot: 'C', diodeOk: true, pilotOutput: { mode: 'pwm', dutyPercent: 26.7 } as any, contactorClosed: !!s,
      currentLimitA: c.currentLimitA, limitSource: 'config', faults: c.faults, available: c.available, paused: false,
      phases: { installed: 3, active: 3, switchable: false, switching: false, switchesThisSession: 0 },
      meter: { energyWh: c.energyWh, powerW: 0, voltageV: [230], currentA: [0], powerPhaseW: [0], frequencyHz: 50, health: c.meterOffline ? 'offline' : 'ok', stale: c.meterOffline, ageS: 0, reads: { ok: 0, failed: 0, rejected: 0, consecutiveFailures: 0, errors: {}, lastError: null } },
      session: s ? { id: s.id, uid: s.uid, idTag: s.idTag, authSource: s.authSource, startedAt: '', startedAtQuality: s.startQuality, meterStartWh: s.meterStartWh, energyWh: c.energyWh - s.meterStartWh, durationS: 0, chargingS: 0, idleS: 0, meterGapS: 0, cost: null, etaS: null, etaBasis: 'unknown', socPercent: null } : null,
    };
  }

  view(): StationView {
    return {
      id: this.info.id, vendor: 'evsed', model: 'test', firmwareVersion: '0.1.0',
      clock: { wall: new Date().toISOString(), quality: this.clock.quality() }, uptimeS: 0,
      connectors: [...this.connectors.values()].map((c) => this.viewOf(c)!),
    };
  }

  connectorIds(): number[] {
    return [...this.connectors.keys()];
  }

  connectorView(id: number): ConnectorView | undefined {
    const c = this.connectors.get(id);
    return c ? this.viewOf(c) : undefined;
  }

  liveDurations(): null {
    return null;
  }

  vehicle(): { socPercent: null; batteryCapacityWh: null } {
    return { socPercent: null, batteryCapacityWh: null };
  }

  claims(connectorId: number): readonly CurrentClaim[] {
    return this.claimed.filter((c) => c.connectorId === connectorId || c.connectorId === 0);
  }

  health(): { ok: true } {
    return { ok: true };
  }

  extraStatus(): Record<string, unknown> {
    return Object.fromEntries([...this.statusProviders].map(([k, p]) => [k, p()]));
  }

  pause(): boolean {
    return false;
  }
  resume(): boolean {
    return false;
  }
  wake(): boolean {
    return false;
  }
  clearFaults(): boolean {
    return false;
  }
  simulator(): undefined {
    return undefined;
  }
  setSessionExtras(): void {}
  onReset(): void {}

  setStatus(id: number, status: ConnectorStatus, faults: FaultKind[] = []): void {
    const c = this.connectors.get(id)!;
    const prev = c.status;
    c.status = status;
    c.faults = faults;
    this.emit('status', this.viewOf(c)!, prev);
  }

  /** A tag at the reader: ask the installed authorizer, start on Accepted. */
  async presentTag(connectorId: number, idTag: string): Promise<TagOutcome> {
    const r: AuthResult = await this.authorizer!.authorize(idTag, connectorId);
    if (r.status === 'Accepted') this.startSession(connectorId, idTag, r.source);
    else this.emit('auth-rejected', { connectorId, idTag, status: r.status });
    return { ...r, action: r.status === 'Accepted' ? 'started' : 'rejected' };
  }

  startSession(connectorId: number, idTag: string | null, source: AuthResult['source'] = 'ocpp'): SessionRecord {
    const c = this.connectors.get(connectorId)!;
    const s = this.sessions.start({ connectorId, idTag, authSource: source, meterStartWh: c.energyWh, at: this.clock.stamp() });
    this.emit('session-started', s);
    this.setStatus(connectorId, 'Charging');
    return s;
  }

  private reading(connectorId: number): StationEvents['sample'][0] {
    const c = this.connectors.get(connectorId)!;
    return { connectorId, sessionId: this.sessionOn(connectorId)?.id ?? null, energyWh: c.energyWh, powerW: 7360.5, voltageV: [230.1], currentA: [32], powerPhaseW: [7360.5], frequencyHz: 50, wallMs: this.clock.wallMs() };
  }

  /** The meter advanced; emits a sample like the station's poller. */
  sample(connectorId: number, addWh: number): void {
    const c = this.connectors.get(connectorId)!;
    c.energyWh += addWh;
    this.emit('sample', this.reading(connectorId));
  }

  /** The meter stops (or resumes) answering, as the station's poller sees it. */
  setMeterOffline(connectorId: number, offline: boolean): void {
    this.connectors.get(connectorId)!.meterOffline = offline;
  }

  readMeterCalls = 0;
  async readMeter(connectorId: number): Promise<StationEvents['sample'][0]> {
    this.readMeterCalls++;
    const c = this.connectors.get(connectorId);
    if (!c || c.meterOffline) throw new Error('meter: no answer');
    const s = this.reading(connectorId);
    this.emit('sample', s);
    return s;
  }

  async remoteStart(connectorId: number | undefined, idTag: string): Promise<boolean> {
    const id = connectorId ?? [...this.connectors.values()].find((c) => c.status === 'Available')?.id;
    if (id === undefined || this.sessionOn(id) || this.connectors.get(id)!.status !== 'Available') return false;
    this.startSession(id, idTag, 'remote');
    return true;
  }

  async stopSession(connectorId: number, reason: StopReason, stopIdTag?: string): Promise<boolean> {
    const s = this.sessionOn(connectorId);
    if (!s) return false;
    const c = this.connectors.get(connectorId)!;
    const rec = this.sessions.stop(s.id, { meterStopWh: c.energyWh, reason, stopIdTag: stopIdTag ?? null, at: this.clock.stamp(), ...ZERO });
    this.emit('session-stopped', rec);
    this.setStatus(connectorId, c.pendingUnavailable ? 'Unavailable' : 'Finishing');
    c.pendingUnavailable = false;
    return true;
  }

  sessionOn(connectorId: number): SessionRecord | undefined {
    return this.sessions.active().find((s) => s.connectorId === connectorId);
  }

  setAvailability(connectorId: number, available: boolean): 'Accepted' | 'Scheduled' | 'Rejected' {
    const ids = connectorId === 0 ? [...this.connectors.keys()] : [connectorId];
    if (!ids.every((id) => this.connectors.has(id))) return 'Rejected';
    let scheduled = false;
    for (const id of ids) {
      const c = this.connectors.get(id)!;
      c.available = available;
      if (this.sessionOn(id)) {
        scheduled = true;
        c.pendingUnavailable = !available;
      } else this.setStatus(id, available ? 'Available' : 'Unavailable');
    }
    return scheduled ? 'Scheduled' : 'Accepted';
  }

  connectionTimeoutS?: number;
  setConnectionTimeout(seconds: number): void {
    this.connectionTimeoutS = seconds;
  }

  readonly holds = new Map<number, { idTag: string; parentIdTag?: string }>();
  holdLock(connectorId: number, owner: { idTag: string; parentIdTag?: string }): boolean {
    if (!this.hasLock(connectorId)) return false;
    this.holds.set(connectorId, owner);
    return true;
  }

  hasLock(connectorId: number): boolean {
    return this.connectors.get(connectorId)?.lock ?? false;
  }

  /** As the station: no lock → NotSupported, nothing else; with a lock the session ends (UnlockCommand) first. */
  async unlock(connectorId: number): Promise<'Unlocked' | 'UnlockFailed' | 'NotSupported'> {
    const c = this.connectors.get(connectorId);
    if (!c || !c.lock) return 'NotSupported';
    if (this.sessionOn(connectorId)) await this.stopSession(connectorId, 'UnlockCommand');
    return 'Unlocked';
  }

  /** Setting the same source on the same connector again replaces it (as the port says). */
  setClaim(c: CurrentClaim): void {
    this.clearClaim(c.source, c.connectorId);
    this.claimed.push(c);
  }
  clearClaim(source: string, connectorId: number): void {
    const i = this.claimed.findIndex((c) => c.source === source && c.connectorId === connectorId);
    if (i >= 0) this.claimed.splice(i, 1);
  }
  readonly budgetsSet = new Map<string, StationBudget>();
  setBudget(b: StationBudget): void {
    this.budgetsSet.set(b.source, b);
  }
  clearBudget(source: string): void {
    this.budgetsSet.delete(source);
  }
  budgets(): readonly StationBudget[] {
    return [...this.budgetsSet.values()];
  }
  readonly phaseRequests: { connectorId: number; phases: PhaseCount; source: string }[] = [];
  async setPhases(connectorId: number, phases: PhaseCount, source: string): Promise<PhaseSwitchResult> {
    this.phaseRequests.push({ connectorId, phases, source });
    return 'NotSupported';
  }

  /** Reservations as asked (the core's rules are tested on the real station); `reserveAs` is the answer. */
  readonly reserved = new Map<number, Reservation>();
  reserveAs: ReserveResult = 'Accepted';
  reserve(r: Reservation): ReserveResult {
    if (this.reserveAs === 'Accepted') this.reserved.set(r.reservationId, r);
    return this.reserveAs;
  }
  cancelReservation(reservationId: number): boolean {
    return this.reserved.delete(reservationId);
  }
  reservations(): readonly Reservation[] {
    return [...this.reserved.values()];
  }

  requestReset(kind: 'Soft' | 'Hard'): void {
    this.resets.push(kind);
  }

  registerStatus(name: string, provider: () => unknown): void {
    this.statusProviders.set(name, provider);
  }

  close(): void {
    this.clock.close();
  }
}
