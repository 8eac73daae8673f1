import { EventEmitter } from 'node:events';
import type { Config, ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware, FaultKind, HealthResult, Meter, MeterSnapshot } from '../hal/types.js';
import { isoSeconds, withTimeout, type SystemClock, type SyncEvent } from '../hal/clock.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { wholeSeconds, type SessionRecord, type SessionStore } from '../store/sessions.js';
import { LockoutStore, PERSISTED_LOCKOUTS } from '../store/lockouts.js';
import { MeterPoller } from '../meter/poller.js';
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_REQUIRED_GRACE_S, DEFAULT_STALE_AFTER_S } from '../meter/config.js';
import { Connector } from './connector.js';
import { CurrentArbiter } from './current-arbiter.js';
import { offerableCurrent } from './pwm.js';
import type { SmEvent } from './state-machine.js';
import type {
  AuthResult, Authorizer, ConnectorStatus, ConnectorView, CurrentClaim, LiveDurations, MeterSample, ResetKind, SessionExtrasProvider,
  SimulatorControls, StationEvents, StationInfo, StationPort, StationView, StopReason, TagOutcome, VehicleInfo,
} from './port.js';

import { FIRMWARE_VERSION } from '../domain/version.js';

export { FIRMWARE_VERSION };

export interface ConnectorParts {
  cfg: ConnectorConfig;
  hardware: ConnectorHardware;
  meter: Meter;
}

export interface StationOptions {
  config: Config;
  parts: ConnectorParts[];
  db: Db;
  sessions: SessionStore;
  clock: SystemClock;
  log: Logger;
}

/** Tags listed in the config (auth.mode local). */
export class LocalListAuthorizer implements Authorizer {
  constructor(private readonly tags: Config['auth']['tags']) {}
  async authorize(idTag: string): Promise<AuthResult> {
    const t = this.tags.find((x) => x.idTag.toLowerCase() === idTag.toLowerCase());
    if (!t) return { status: 'Invalid', source: 'local' };
    return { status: t.enabled ? 'Accepted' : 'Blocked', source: 'local' };
  }
}

/**
 * The station: its connectors, their meters, the current arbiter and the session store,
 * behind the commands and events other parts use (OCPP, API, MQTT).
 */
export class Station extends EventEmitter<StationEvents> implements StationPort {
  readonly stationConfig: StationInfo;
  readonly sessions: SessionStore;
  readonly db: Db;
  readonly clock: SystemClock;
  readonly arbiter = new CurrentArbiter();
  /** Faults that survive a restart (welded contactor) until a technician clears them. */
  readonly lockouts: LockoutStore;
  private readonly connectors = new Map<number, { c: Connector; poller: MeterPoller; parts: ConnectorParts }>();
  private authorizer: Authorizer | null;
  private readonly statusProviders = new Map<string, () => unknown>();
  private readonly startedMono: number;
  private readonly log: Logger;
  private resetHandler?: (kind: 'Soft' | 'Hard') => void;
  private sessionExtras?: SessionExtrasProvider;

  constructor(private readonly o: StationOptions) {
    super();
    const s = o.config.station;
    this.stationConfig = { id: s.id, vendor: s.vendor, model: s.model, serialNumber: s.serialNumber, firmwareVersion: s.firmwareVersion ?? FIRMWARE_VERSION };
    this.sessions = o.sessions;
    this.db = o.db;
    this.clock = o.clock;
    this.log = o.log;
    this.startedMono = o.clock.monoMs();
    this.authorizer = o.config.auth.mode === 'local' ? new LocalListAuthorizer(o.config.auth.tags) : null;
    this.lockouts = new LockoutStore(o.db);
    this.clock.on('sync', (ev: SyncEvent) => this.onClockSync(ev));

    for (const parts of o.parts) {
      const { cfg } = parts;
      const meterCfg = cfg.meter as Record<string, unknown>;
      const maxPowerW = (meterCfg.maxPowerW as number | undefined) ?? cfg.maxCurrentA * cfg.phases * 253 * 1.2;
      const poller = new MeterPoller(parts.meter, {
        connectorId: cfg.id,
        intervalMs: (meterCfg.pollIntervalMs as number | undefined) ?? DEFAULT_POLL_INTERVAL_MS,
        staleAfterMs: ((meterCfg.staleAfterS as number | undefined) ?? DEFAULT_STALE_AFTER_S) * 1000,
        maxPowerW,
        clock: o.clock,
        log: o.log,
      });
      const required = meterCfg.requiredForCharging === true;
      const c = new Connector({
        id: cfg.id,
        hardware: parts.hardware,
        poller,
        store: o.sessions,
        clock: o.clock,
        log: o.log.child({ connector: cfg.id }),
        sm: { stopTimeoutMs: cfg.stopTimeoutS * 1000 },
        sampleIntervalMs: o.config.storage.sampleIntervalS * 1000,
        flushIntervalMs: o.config.storage.flushIntervalS * 1000,
        freeIdTag: o.config.auth.mode === 'free' ? o.config.auth.freeIdTag : null,
        meterRequiredGraceMs: required ? ((meterCfg.requiredGraceS as number | undefined) ?? DEFAULT_REQUIRED_GRACE_S) * 1000 : null,
      });
      this.connectors.set(cfg.id, { c, poller, parts });
      this.arbiter.set({ source: 'config', connectorId: cfg.id, maxA: cfg.maxCurrentA });
      c.on('status', (_s: ConnectorStatus, prev: ConnectorStatus) => this.emit('status', this.viewOf(cfg.id), prev));
      c.on('contactor', () => this.emit('status', this.viewOf(cfg.id), c.status()));
      c.on('faults', (now: FaultKind[], before: FaultKind[]) => {
        // A fault is a 0 A claim as well (the state machine refuses to offer on its own): the status names it.
        if (now.length && !before.length) this.setClaim({ source: 'fault', connectorId: cfg.id, maxA: 0 });
        if (!now.length && before.length) this.clearClaim('fault', cfg.id);
        this.persistLockouts(cfg.id, now, before);
        for (const kind of now) if (!before.includes(kind)) this.emit('fault', { connectorId: cfg.id, kind, active: true });
        for (const kind of before) if (!now.includes(kind)) this.emit('fault', { connectorId: cfg.id, kind, active: false });
        this.emit('status', this.viewOf(cfg.id), c.status());
      });
      c.on('session-started', (rec: SessionRecord) => this.emit('session-started', rec));
      c.on('session-stopped', (rec: SessionRecord) => this.emit('session-stopped', rec));
      c.on('session-corrected', (rec: SessionRecord, before: SessionRecord) => this.emit('session-corrected', rec, before));
      poller.on('snapshot', (snap) => this.emit('sample', this.sampleOf(cfg.id, snap)));
      poller.on('health', () => this.emit('status', this.viewOf(cfg.id), c.status()));
    }
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

  /** A fresh meter reading now (also emitted as 'sample'); rejects when the meter cannot be read. */
  async readMeter(connectorId: number): Promise<MeterSample> {
    const entry = this.connectors.get(connectorId);
    if (!entry) throw new Error(`no connector ${connectorId}`);
    return this.sampleOf(connectorId, await entry.poller.readNow());
  }

  /** Recover sessions left open by a crash or power loss, then start the connectors and meters. */
  async start(): Promise<void> {
    // Lockouts first: a contactor welded before a crash or power cut is still welded now.
    for (const { c } of this.connectors.values()) {
      for (const l of this.lockouts.list(c.id)) {
        this.log.warn({ connectorId: c.id, kind: l.kind, since: new Date(l.sinceWallMs).toISOString() }, `fault ${l.kind} restored from the store: the connector stays locked out until a technician clears it`);
        c.dispatch({ type: 'fault', kind: l.kind, active: true });
        c.dispatch({ type: 'fault', kind: l.kind, active: false });
      }
    }
    this.sessions.recordBoot(this.clock.stamp());
    await this.recoverOpenSessions();
    for (const { c, poller } of this.connectors.values()) {
      poller.start();
      c.start();
      this.applyOffer(c.id);
    }
  }

  /** Open every contactor first, then close sessions with `reason`, then stop the meters. */
  async shutdown(reason: StopReason = 'Other'): Promise<void> {
    for (const { parts } of this.connectors.values()) parts.hardware.safe();
    await Promise.all([...this.connectors.values()].map(({ c }) => c.shutdown(reason)));
    for (const { poller, parts } of this.connectors.values()) {
      await poller.stop();
      await parts.meter.close().catch(() => undefined);
      await parts.hardware.close().catch(() => undefined);
    }
  }

  connectorIds(): number[] {
    return [...this.connectors.keys()];
  }

  connector(id: number): Connector | undefined {
    return this.connectors.get(id)?.c;
  }

  hardware(id: number): ConnectorHardware | undefined {
    return this.connectors.get(id)?.parts.hardware;
  }

  setAuthorizer(a: Authorizer): void {
    this.authorizer = a;
  }

  get info(): StationInfo {
    return this.stationConfig;
  }

  connectorView(id: number): ConnectorView | undefined {
    return this.connectors.has(id) ? this.viewOf(id) : undefined;
  }

  liveDurations(connectorId: number): LiveDurations | null {
    return this.connectors.get(connectorId)?.c.liveDurations() ?? null;
  }

  vehicle(connectorId: number): VehicleInfo {
    const hw = this.connectors.get(connectorId)?.parts.hardware;
    return { socPercent: hw?.socPercent?.() ?? null, batteryCapacityWh: hw?.batteryCapacityWh?.() ?? null };
  }

  claims(connectorId: number): readonly CurrentClaim[] {
    return this.arbiter.list(connectorId);
  }

  simulator(connectorId: number): SimulatorControls | undefined {
    return this.connectors.get(connectorId)?.parts.hardware.simulator?.();
  }

  onReset(handler: (kind: ResetKind) => void): void {
    this.resetHandler = handler;
  }

  /** Live cost and time to finish for the session view (billing). */
  setSessionExtras(fn: SessionExtrasProvider): void {
    this.sessionExtras = fn;
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

  /**
   * A tag presented at the connector's reader: stops the running session when it is the same tag,
   * else asks the authoriser and authorises the connector.
   */
  async presentTag(connectorId: number, idTag: string): Promise<TagOutcome> {
    const c = this.need(connectorId);
    const running = c.session();
    const hold = c.lockHeldFor();
    if (hold && !running) {
      // The cable was kept locked for its owner (OCPP StopTransactionOnInvalidId): the same tag, or
      // one with the same parentIdTag, unlocks it.
      let result: AuthResult | undefined;
      const same = hold.idTag.toLowerCase() === idTag.toLowerCase();
      if (!same && hold.parentIdTag && this.authorizer) result = await this.authorizer.authorize(idTag, connectorId);
      if (same || (result?.parentIdTag && result.parentIdTag.toLowerCase() === hold.parentIdTag?.toLowerCase())) {
        await c.releaseLock();
        this.log.info({ connectorId, idTag }, 'cable unlocked for its owner');
        return { status: 'Accepted', source: result?.source ?? 'local', action: 'unlocked' };
      }
    }
    if (running && running.idTag !== null && running.idTag.toLowerCase() === idTag.toLowerCase()) {
      c.stop('Local', idTag);
      return { status: 'Accepted', source: running.authSource, action: 'stopped' };
    }
    const mode = this.o.config.auth.mode;
    const result: AuthResult = this.authorizer
      ? await this.authorizer.authorize(idTag, connectorId)
      : { status: 'Accepted', source: mode === 'free' ? 'free' : 'local' };
    if (result.status !== 'Accepted') {
      this.log.info({ connectorId, idTag, status: result.status }, 'tag refused');
      this.emit('auth-rejected', { connectorId, idTag, status: result.status });
      return { ...result, action: 'rejected' };
    }
    if (running) {
      // Another valid tag while charging: with the same parentIdTag as the running session's it may
      // stop it (OCPP 1.6 §4.1/§4.8); else ignore.
      const runningParent = this.authorizer?.parentIdTagOf?.(running.id);
      if (result.parentIdTag && runningParent && result.parentIdTag.toLowerCase() === runningParent.toLowerCase()) {
        c.stop('Local', idTag);
        return { ...result, action: 'stopped' };
      }
      this.emit('auth-rejected', { connectorId, idTag, status: 'ConcurrentTx' });
      return { status: 'ConcurrentTx', source: result.source, action: 'rejected' };
    }
    c.presentedAuth(idTag, result.source);
    return { ...result, action: c.sm.snapshot().session ? 'started' : 'pending' };
  }

  /** Pre-authorised start (e.g. OCPP RemoteStartTransaction). Picks the first free connector when none is given. */
  async remoteStart(connectorId: number | undefined, idTag: string): Promise<boolean> {
    const id = connectorId ?? this.connectorIds().find((i) => {
      const snap = this.need(i).sm.snapshot();
      return !snap.session && !snap.auth && snap.available && snap.faults.length === 0;
    });
    if (id === undefined || !this.connectors.has(id)) return false;
    const snap = this.need(id).sm.snapshot();
    if (snap.session || !snap.available || snap.faults.length > 0) return false;
    this.need(id).presentedAuth(idTag, 'remote');
    return true;
  }

  async stopSession(connectorId: number, reason: StopReason, stopIdTag?: string): Promise<boolean> {
    const c = this.connectors.get(connectorId)?.c;
    if (!c) return false;
    return c.stop(reason, stopIdTag ?? null);
  }

  sessionOn(connectorId: number): SessionRecord | undefined {
    return this.connectors.get(connectorId)?.c.session() ?? undefined;
  }

  /** connectorId 0 = the whole station. Scheduled while a session runs; applied when it ends. */
  setAvailability(connectorId: number, available: boolean): 'Accepted' | 'Scheduled' | 'Rejected' {
    const ids = connectorId === 0 ? this.connectorIds() : this.connectors.has(connectorId) ? [connectorId] : [];
    if (!ids.length) return 'Rejected';
    let scheduled = false;
    for (const id of ids) {
      const c = this.need(id);
      c.dispatch({ type: 'availability', available });
      if (c.sm.snapshot().pendingAvailable !== null) scheduled = true;
    }
    return scheduled ? 'Scheduled' : 'Accepted';
  }

  /** How long an authorisation given before the EV is plugged in stays valid (OCPP ConnectionTimeOut); at once. */
  setConnectionTimeout(seconds: number): void {
    for (const id of this.connectorIds()) this.send(id, { type: 'connection-timeout', ms: seconds * 1000 });
  }

  /** Whether the connector has a cable lock (a socket); false for a fixed cable. */
  hasLock(connectorId: number): boolean {
    return this.connectors.get(connectorId)?.parts.hardware.lock !== undefined;
  }

  /** Keep the cable locked after the running session until its owner's tag is presented (false: no lock). */
  holdLock(connectorId: number, owner: { idTag: string; parentIdTag?: string }): boolean {
    return this.connectors.get(connectorId)?.c.holdLock(owner) ?? false;
  }

  /**
   * OCPP UnlockConnector (S16 §5.18): NotSupported, with no side effect, where there is no lock
   * (fixed cable). With a lock: a running session is finished first (reason UnlockCommand) and the
   * cable unlocked only once it has ended; if it does not end in time, UnlockFailed (never unlock
   * while current may flow).
   */
  async unlock(connectorId: number): Promise<'Unlocked' | 'UnlockFailed' | 'NotSupported'> {
    const entry = this.connectors.get(connectorId);
    if (!entry) return 'NotSupported';
    const lock = entry.parts.hardware.lock;
    if (!lock) return 'NotSupported';
    const c = entry.c;
    // the operator's unlock also ends a hold for the owner's tag
    const held = c.lockHeldFor() !== null;
    if (c.session()) {
      const ended = new Promise<void>((resolve) => c.once('session-stopped', () => resolve()));
      c.stop('UnlockCommand');
      await withTimeout(ended, entry.parts.cfg.stopTimeoutS * 1000 + 5000).catch(() => undefined);
      await c.settled();
      if (c.session()) return 'UnlockFailed';
    }
    if (held) await c.releaseLock().catch(() => undefined);
    try {
      await lock.unlock();
      return lock.isLocked() === true ? 'UnlockFailed' : 'Unlocked';
    } catch {
      return 'UnlockFailed';
    }
  }

  pause(connectorId: number): boolean {
    return this.send(connectorId, { type: 'pause' });
  }

  resume(connectorId: number): boolean {
    return this.send(connectorId, { type: 'resume' });
  }

  /** Wake a sleeping EV (state F for 4 s, then X1, then the offer again); false when it cannot be woken now. */
  wake(connectorId: number): boolean {
    return this.send(connectorId, { type: 'wake' }) && this.need(connectorId).sm.snapshot().waking;
  }

  /**
   * A technician clears the latched faults. A welded contactor only when its feedback now reads
   * open: the driver's own weld latch (gpio) is released first, then the state machine's and the
   * stored lockout. False for an unknown connector.
   */
  clearFaults(connectorId: number): boolean {
    const entry = this.connectors.get(connectorId);
    if (!entry) return false;
    const hw = entry.parts.hardware;
    const stillClosed = hw.contactor.feedback() === true && !hw.contactor.commanded();
    const driverReleased = hw.clearWeld ? hw.clearWeld() : true;
    const keep: FaultKind[] = stillClosed || !driverReleased ? ['welded'] : [];
    if (keep.length && entry.c.sm.snapshot().faults.includes('welded')) {
      this.log.warn({ connectorId }, 'welded contactor not cleared: its feedback still reads closed');
    }
    entry.c.dispatch({ type: 'clear-faults', keep });
    return true;
  }

  /** Keep connector_lockouts in step with the faults only a technician may clear. */
  private persistLockouts(connectorId: number, now: FaultKind[], before: FaultKind[]): void {
    for (const kind of PERSISTED_LOCKOUTS) {
      try {
        if (now.includes(kind) && !before.includes(kind)) this.lockouts.set(connectorId, kind, this.clock.stamp(), `fault ${kind}`);
        else if (!now.includes(kind) && before.includes(kind)) this.lockouts.clear(connectorId, kind);
      } catch (err) {
        this.log.error({ connectorId, kind, err: (err as Error).message }, 'cannot record the lockout in the store (it holds until restart only)');
      }
    }
  }

  /** The event loop stalled: latch a 'stall' fault (the contactor opens and stays open until unplug). */
  reportStall(connectorId: number): void {
    this.send(connectorId, { type: 'fault', kind: 'stall', active: true });
    this.send(connectorId, { type: 'fault', kind: 'stall', active: false });
  }

  private send(connectorId: number, ev: SmEvent): boolean {
    const c = this.connectors.get(connectorId)?.c;
    c?.dispatch(ev);
    return c !== undefined;
  }

  setClaim(claim: CurrentClaim): void {
    this.arbiter.set(claim);
    this.applyOffers(claim.connectorId);
  }

  clearClaim(source: string, connectorId: number): void {
    if (this.arbiter.clear(source, connectorId)) this.applyOffers(connectorId);
  }

  /**
   * Liveness for the systemd watchdog, per connector: the control loop (1 s housekeeping timer) ran
   * recently, the board's own loops run (gpio: pilot sampler, heartbeat) and the meter poll loop
   * runs. Liveness only: a dead meter or ADC is a fault on the connector, a restart would not help.
   */
  health(): HealthResult {
    const now = this.clock.monoMs();
    for (const { c, poller, parts } of this.connectors.values()) {
      const age = now - c.lastHousekeepingMono();
      if (age > 5000) return { ok: false, reason: `connector ${c.id} control loop silent for ${Math.round(age)} ms` };
      const board = parts.hardware.health?.();
      if (board && !board.ok) return { ok: false, reason: `connector ${c.id}: ${board.reason}` };
      const meter = poller.loopHealth();
      if (!meter.ok) return meter;
    }
    return { ok: true };
  }

  requestReset(kind: 'Soft' | 'Hard'): void {
    this.log.warn({ kind }, 'reset requested');
    if (this.resetHandler) this.resetHandler(kind);
  }

  view(): StationView {
    return {
      id: this.stationConfig.id,
      vendor: this.stationConfig.vendor,
      model: this.stationConfig.model,
      serialNumber: this.stationConfig.serialNumber,
      firmwareVersion: this.stationConfig.firmwareVersion,
      clock: { wall: isoSeconds(this.clock.wallMs()), quality: this.clock.quality() },
      uptimeS: Math.floor((this.clock.monoMs() - this.startedMono) / 1000),
      connectors: this.connectorIds().map((id) => this.viewOf(id)),
    };
  }

  private viewOf(id: number): ConnectorView {
    const { c, poller, parts } = this.connectors.get(id)!;
    const snap = c.sm.snapshot();
    const m = poller.latest();
    const st = poller.status();
    // The register may be shown while stale (flagged); instantaneous values only while fresh.
    const live = poller.fresh();
    const decision = this.arbiter.decide(id);
    const rec = c.session();
    const d = c.liveDurations();
    const energyWh = m && rec ? Math.max(0, m.energyImportWh - rec.meterStartWh) : 0;
    const x = rec ? this.extras(id, rec.id) : undefined;
    return {
      id,
      status: snap.status,
      pilot: snap.pilot,
      diodeOk: snap.diodeOk,
      pilotOutput: snap.output,
      contactorClosed: snap.contactor,
      currentLimitA: snap.output.mode === 'pwm' ? snap.offerA : 0,
      limitSource: decision.source,
      faults: snap.faults,
      available: snap.available,
      paused: snap.paused,
      meter: {
        energyWh: m?.energyImportWh ?? null,
        powerW: live ? live.powerW : null,
        voltageV: live ? live.voltageV : [],
        currentA: live ? live.currentA : [],
        powerPhaseW: live ? live.powerPhaseW : [],
        frequencyHz: live ? (live.frequencyHz ?? null) : null,
        health: st.health,
        stale: st.stale,
        ageS: m ? Math.round((this.clock.monoMs() - m.monoMs) / 100) / 10 : null,
        reads: { ok: st.okReads, failed: st.failedReads, rejected: st.rejectedReads, consecutiveFailures: st.failures, errors: st.errorCounts, lastError: st.lastError ?? null },
      },
      session: rec
        ? {
            id: rec.id,
            uid: rec.uid,
            idTag: rec.idTag,
            authSource: rec.authSource,
            startedAt: isoSeconds(rec.startWallMs),
            startedAtQuality: rec.startQuality,
            meterStartWh: rec.meterStartWh,
            meterStartProvisional: rec.meterStartProvisional,
            energyWh,
            ...wholeSeconds(d),
            cost: x?.costMinor !== undefined && x.currency ? { currency: x.currency, grossMinor: x.costMinor } : null,
            etaS: x?.etaS ?? null,
            etaBasis: x?.etaBasis ?? 'unknown',
            socPercent: x?.socPercent ?? parts.hardware.socPercent?.() ?? null,
            target: { energyWh: x?.target?.energyWh ?? null, socPercent: x?.target?.socPercent ?? null },
          }
        : null,
    };
  }

  private extras(connectorId: number, sessionId: number) {
    try {
      return this.sessionExtras?.(connectorId, sessionId);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, connectorId }, 'session extras failed');
      return undefined;
    }
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
    const entry = this.connectors.get(id);
    if (!entry) return;
    const d = this.arbiter.decide(id);
    entry.c.dispatch({ type: 'offer', amps: offerableCurrent(d.amps) });
  }

  /**
   * Sessions still `active` in the store were interrupted (crash, power loss, watchdog). Close each
   * with reason PowerLoss: meterStop from the meter's present register (exact: it kept counting
   * whatever flowed) or, if the meter cannot be read, the last stored register, flagged provisional.
   */
  private async recoverOpenSessions(): Promise<void> {
    for (const rec of this.sessions.active()) {
      const entry = this.connectors.get(rec.connectorId);
      let wh: number | undefined;
      let source = 'meter';
      if (entry) {
        try {
          wh = (await entry.poller.readNow()).energyImportWh;
        } catch {
          wh = undefined;
        }
      }
      if (wh === undefined) {
        const last = this.sessions.lastSample(rec.id);
        wh = Math.max(last?.energyWh ?? 0, rec.checkpointEnergyWh ?? 0, rec.meterStartWh);
        source = 'last stored sample';
      }
      // The stop time is the last moment the session was known alive: its checkpoint.
      const row = this.db.prepare('SELECT checkpoint_wall_ms w, checkpoint_quality q, checkpoint_boot_id b, checkpoint_mono_ms m FROM sessions WHERE id = ?').get(rec.id) as { w: number; q: 'synced' | 'unsynced'; b: string; m: number };
      const stopped = this.sessions.stop(rec.id, {
        meterStopWh: wh,
        reason: 'PowerLoss',
        at: { wallMs: row.w, quality: row.q, bootId: row.b, monoMs: row.m },
        durationMs: rec.durationMs,
        chargingMs: rec.chargingMs,
        idleMs: rec.idleMs,
        meterGapMs: rec.meterGapMs,
        recovered: true,
        // Not read now: corrected from the meter when it answers, unless a session starts first (Connector).
        meterStopProvisional: source !== 'meter',
      });
      this.log.warn({ sessionId: rec.id, connectorId: rec.connectorId, meterStopWh: wh, from: source, energyWh: stopped.energyWh }, 'recovered a session left open by a crash or power loss');
      this.emit('session-stopped', stopped);
    }
  }

  private onClockSync(ev: SyncEvent): void {
    const n = this.sessions.repairBoot(this.clock.bootId, ev.monoToWallMs, ev.source);
    this.log.info({ source: ev.source, repaired: n }, 'wall clock synchronised; earlier timestamps of this boot repaired');
  }
}
