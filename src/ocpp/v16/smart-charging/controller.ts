import type { ConnectorView, StationEvents, StationPort } from '../../../evse/port.js';
import { idTagKey } from '../../../domain/tags.js';
import type { Logger } from '../../../log.js';
import type { SessionRecord } from '../../../store/sessions.js';
import { Subscriptions } from '../../../util/subscriptions.js';
import type { Timers } from '../../timers.js';
import type { KeyStore } from '../key-store.js';
import { compositeSchedule, limitAt, stationLimitAt, type CompositeSchedule, type StationContext } from './composite.js';
import { clearProfiles, installProfile, profilesEndingWith, type ClearCriteria } from './install.js';
import type { ChargingProfile, ChargingRateUnit, InstalledProfile, LimitNow, ScheduleContext } from './types.js';
import { validateProfile, validateRemoteStartProfile, type ValidationContext, type ValidationResult } from './validate.js';

export type { ClearCriteria } from './install.js';

/** The claim every connector's OCPP limit is set as (a hard bound: the lowest of all applies). */
export const PROFILE_CLAIM = 'ocpp:profile';
/** The station budget a ChargePointMaxProfile is set as (the core shares it among the connectors). */
export const STATION_BUDGET = 'ocpp:ChargePointMaxProfile';

/** How often the wall clock is compared with the monotonic one (a Pi without RTC jumps at boot, NTP later). */
export const JUMP_CHECK_MS = 5000;
/** A change of wall − monotonic larger than this is a jump: every limit is evaluated again at once. */
export const JUMP_MS = 2000;
/** The longest the next-change timer is set for (timers far ahead are re-armed; jumps are caught anyway). */
const MAX_TIMER_MS = 3_600_000;
const NOMINAL_V = 230;

/** Where the installed profiles persist (repos.chargingProfiles). */
export interface ChargingProfileStore {
  all<P extends ChargingProfile>(): { connectorId: number; profile: P }[];
  replaceAll(list: readonly InstalledProfile[]): void;
}

/**
 * The transactionId a TxProfile is bound to while its transaction's StartTransaction is not answered
 * yet (a RemoteStartTransaction's profile, or one set in the first moments): replaced by the CSMS's
 * id once it is known. The running transaction's context carries it too, so the profile applies
 * from the start of the session.
 */
const UNANSWERED_TX = -1;

/** What the handlers ask of smart charging. */
export interface SmartChargingPort {
  /** SetChargingProfile on a known connector (0 = the station): validated, installed, persisted, applied. */
  setProfile(connectorId: number, profile: ChargingProfile): ValidationResult;
  /** ClearChargingProfile: how many were removed. */
  clear(criteria: ClearCriteria): number;
  /** GetCompositeSchedule from now, for a known connector (0 = the station's total). */
  composite(connectorId: number, durationS: number, unit: ChargingRateUnit | undefined): CompositeSchedule | null;
  /**
   * RemoteStartTransaction with a profile: its checks (purpose TxProfile, as installed for a
   * transaction on that connector); kept until the session it starts begins, then installed.
   */
  checkRemoteStartProfile(connectorId: number | undefined, profile: ChargingProfile): ValidationResult;
  /** Returns what lets it go again (the start was refused). */
  holdForRemoteStart(connectorId: number | undefined, idTag: string, profile: ChargingProfile): () => void;
}

export interface SmartChargingDeps {
  station: StationPort;
  store: ChargingProfileStore;
  keys: KeyStore;
  /** The CSMS's transactionId of a session; -1 while its StartTransaction is not answered yet. */
  transactionIdOf(sessionId: number): number | undefined;
  /** Phases per connector from the config (when the view does not say the phases in use). */
  phases: Map<number, 1 | 3>;
  /** What a connector offers with no profile (GetCompositeSchedule): the configured maximum. */
  connectorMaxA: number;
  timers: Timers;
  log: Logger;
}

interface AppliedLimit {
  limitA: number | null;
  profileId?: number;
  purpose?: LimitNow['purpose'];
  numberPhases?: 1 | 3;
}

type PhasesView = { active: 1 | 3; switchable?: boolean; switching?: boolean };

/**
 * OCPP 1.6 Smart Charging on the station: keeps the installed profiles (persisted), and turns what
 * the pure schedule math answers into station terms: per connector a claim (`ocpp:profile`, cleared
 * when no profile applies), the ChargePointMaxProfile as a station budget, and a period's
 * numberPhases as a phase switch where the station can switch. Evaluated again on every change of
 * profiles, at transaction start and stop, at the next period boundary (a timer on the station
 * clock), and when the wall clock jumps.
 */
export class SmartCharging implements SmartChargingPort {
  private list: InstalledProfile[] = [];
  private readonly applied = new Map<number, AppliedLimit>();
  private budget: number | null = null;
  private readonly phaseRequested = new Map<number, 1 | 3>();
  private readonly pending = new Map<string, { connectorId: number | undefined; profile: ChargingProfile }>();
  private readonly subs = new Subscriptions();
  private lastOffset = 0;
  private stopped = false;

  constructor(private readonly d: SmartChargingDeps) {}

  /** Restores the persisted profiles (a TxProfile outlives no transaction) and applies them. */
  start(): void {
    const st = this.d.station;
    this.list = this.d.store.all<ChargingProfile>().filter((p) => p.profile.chargingProfilePurpose !== 'TxProfile' || st.sessionOn(p.connectorId) !== undefined);
    if (this.list.length !== this.d.store.all().length) this.d.store.replaceAll(this.list);
    if (this.list.length) this.d.log.info({ profiles: this.list.length }, 'OCPP: charging profiles restored');
    const listen = this.subs.events<StationEvents>(st);
    listen('session-started', (s) => this.sessionStarted(s));
    listen('session-stopped', (s) => this.sessionStopped(s));
    listen('status', () => this.evaluate());
    this.subs.on(st.clock, 'sync', () => this.evaluate('clock set'));
    this.lastOffset = st.clock.wallMs() - st.clock.monoMs();
    this.checkJump();
    this.evaluate();
  }

  stop(): void {
    this.stopped = true;
    this.subs.clear();
    this.d.timers.cancel('smart-charging:next');
    this.d.timers.cancel('smart-charging:jump');
  }

  profiles(): readonly InstalledProfile[] {
    return this.list;
  }

  setProfile(connectorId: number, profile: ChargingProfile): ValidationResult {
    const running = connectorId > 0 ? this.transactionOn(connectorId) : undefined;
    const next = installProfile(this.list, connectorId, profile, running);
    const v = validateProfile(connectorId, profile, this.validationContext((id) => this.transactionOn(id), next.length));
    if (v.status !== 'Accepted') {
      this.d.log.info({ connectorId, chargingProfileId: profile.chargingProfileId, reason: v.reason }, 'OCPP: SetChargingProfile rejected');
      return v;
    }
    this.save(next);
    this.d.log.info({ connectorId, chargingProfileId: profile.chargingProfileId, purpose: profile.chargingProfilePurpose, stackLevel: profile.stackLevel }, 'OCPP: charging profile installed');
    this.evaluate();
    return { status: 'Accepted', reason: 'ok' };
  }

  clear(criteria: ClearCriteria): number {
    const r = clearProfiles(this.list, criteria);
    if (r.cleared) {
      this.save(r.list);
      this.d.log.info({ ...criteria, cleared: r.cleared }, 'OCPP: charging profiles cleared');
      this.evaluate();
    }
    return r.cleared;
  }

  composite(connectorId: number, durationS: number, unit: ChargingRateUnit | undefined): CompositeSchedule | null {
    const st = this.d.station;
    const ctx = { connectors: st.connectorIds().map((id) => this.context(id)), station: this.stationContext(), connectorMaxA: this.d.connectorMaxA };
    return compositeSchedule(this.list, { connectorId, startMs: st.clock.wallMs(), durationS, ...(unit ? { unit } : {}) }, ctx);
  }

  checkRemoteStartProfile(connectorId: number | undefined, profile: ChargingProfile): ValidationResult {
    const target = connectorId ?? this.d.station.connectorIds()[0]!;
    // As it will be installed: on its connector, for the transaction about to start (its id not known yet).
    const count = installProfile(this.list, target, profile, UNANSWERED_TX).length;
    const v = validateRemoteStartProfile(target, profile, this.validationContext((id) => (id === target ? UNANSWERED_TX : undefined), count));
    if (v.status !== 'Accepted') this.d.log.info({ connectorId, chargingProfileId: profile.chargingProfileId, reason: v.reason }, 'OCPP: RemoteStartTransaction profile rejected');
    return v;
  }

  holdForRemoteStart(connectorId: number | undefined, idTag: string, profile: ChargingProfile): () => void {
    const key = idTagKey(idTag);
    const held = { connectorId, profile };
    this.pending.set(key, held);
    const release = () => {
      if (this.pending.get(key) === held) this.pending.delete(key);
    };
    // the remote start's authorisation lapses after ConnectionTimeOut without a plug-in; so does its profile
    this.d.timers.later(this.d.keys.int('ConnectionTimeOut') * 1000 + 1000, release);
    return release;
  }

  /** The StartTransaction of a session was answered: the TxProfiles bound to it before get its id. */
  transactionKnown(_sessionId: number, _transactionId: number): void {
    this.evaluate();
  }

  /** TxProfiles installed before their transaction's id was known take it once it is. */
  private bindUnansweredTx(): void {
    const st = this.d.station;
    const bound = this.list.map((p) => {
      if (p.profile.chargingProfilePurpose !== 'TxProfile' || p.profile.transactionId !== UNANSWERED_TX) return p;
      const id = this.transactionOn(p.connectorId);
      return id !== undefined && id !== UNANSWERED_TX && st.sessionOn(p.connectorId) ? { connectorId: p.connectorId, profile: { ...p.profile, transactionId: id } } : p;
    });
    if (bound.some((p, i) => p !== this.list[i])) this.save(bound);
  }

  status(): Record<string, unknown> {
    const connectors: Record<string, unknown> = {};
    for (const [id, a] of this.applied) connectors[id] = a;
    return {
      profiles: this.list.map((p) => ({ connectorId: p.connectorId, id: p.profile.chargingProfileId, purpose: p.profile.chargingProfilePurpose, stackLevel: p.profile.stackLevel, transactionId: p.profile.transactionId ?? null })),
      limits: connectors,
      stationBudgetA: this.budget,
    };
  }

  private sessionStarted(s: SessionRecord): void {
    const key = idTagKey(s.idTag ?? '');
    const held = this.pending.get(key);
    if (held && (held.connectorId === undefined || held.connectorId === s.connectorId)) {
      this.pending.delete(key);
      this.save(installProfile(this.list, s.connectorId, held.profile, this.transactionOn(s.connectorId)));
      this.d.log.info({ connectorId: s.connectorId, chargingProfileId: held.profile.chargingProfileId }, 'OCPP: the RemoteStartTransaction profile applies to the session it started');
    }
    this.evaluate();
  }

  private sessionStopped(s: SessionRecord): void {
    const txId = this.d.transactionIdOf(s.id);
    const ending = new Set(txId !== undefined && txId >= 0 ? profilesEndingWith(this.list, txId) : []);
    const kept = this.list.filter((p) => !ending.has(p) && !(p.connectorId === s.connectorId && p.profile.chargingProfilePurpose === 'TxProfile'));
    if (kept.length !== this.list.length) this.save(kept);
    this.phaseRequested.delete(s.connectorId);
    this.evaluate();
  }

  private save(list: InstalledProfile[]): void {
    this.d.store.replaceAll(list);
    this.list = list;
  }

  private validationContext(transactionOn: (connectorId: number) => number | undefined, installedCount: number): ValidationContext {
    const k = this.d.keys;
    return {
      connectorIds: this.d.station.connectorIds(),
      maxStackLevel: k.int('ChargeProfileMaxStackLevel'),
      allowedUnits: k.csl('ChargingScheduleAllowedChargingRateUnit').flatMap((u): ChargingRateUnit[] => (u === 'Current' ? ['A'] : u === 'Power' ? ['W'] : [])),
      maxPeriods: k.int('ChargingScheduleMaxPeriods'),
      maxInstalled: k.int('MaxChargingProfilesInstalled'),
      installedCount,
      transactionOn,
    };
  }

  /** The CSMS's id of the transaction running on a connector (UNANSWERED_TX while not answered yet); undefined = none. */
  private transactionOn(connectorId: number): number | undefined {
    const s = this.d.station.sessionOn(connectorId);
    if (!s) return undefined;
    const id = this.d.transactionIdOf(s.id);
    return id === undefined || id < 0 ? UNANSWERED_TX : id;
  }

  /** The station's supply: 3 phases when a connector uses 3; the mean measured voltage; Relative from the earliest running transaction. */
  private stationContext(): StationContext {
    const st = this.d.station;
    const views = st.connectorIds().map((id) => st.connectorView(id)).filter((v): v is ConnectorView => v !== undefined);
    const starts = st.connectorIds().flatMap((id) => this.context(id).transaction?.startMs ?? []);
    return {
      phases: views.some((v) => this.phasesOf(v) === 3) ? 3 : 1,
      voltageV: meanVoltage(views.flatMap((v) => v.meter.voltageV)),
      ...(starts.length ? { relativeStartMs: Math.min(...starts) } : {}),
    };
  }

  private context(connectorId: number): ScheduleContext {
    const st = this.d.station;
    const v = st.connectorView(connectorId);
    const s = st.sessionOn(connectorId);
    const ctx: ScheduleContext = { connectorId, phases: v ? this.phasesOf(v) : (this.d.phases.get(connectorId) ?? 1), voltageV: meanVoltage(v?.meter.voltageV ?? []) };
    if (s) ctx.transaction = { transactionId: this.transactionOn(connectorId)!, startMs: startWallMs(s, st.clock) };
    return ctx;
  }

  private phasesOf(v: ConnectorView): 1 | 3 {
    return phasesView(v)?.active ?? this.d.phases.get(v.id) ?? 1;
  }

  /** Applies what the profiles say now, and sets the timer for the next instant that can change it. */
  private evaluate(why?: string): void {
    if (this.stopped) return;
    const st = this.d.station;
    const nowMs = st.clock.wallMs();
    if (why) this.d.log.info({ why }, 'OCPP: charging limits evaluated again');
    this.bindUnansweredTx();
    let next: number | null = null;
    const soonest = (l: LimitNow) => {
      if (l.nextChangeMs !== null && (next === null || l.nextChangeMs < next)) next = l.nextChangeMs;
    };
    for (const id of st.connectorIds()) {
      const l = limitAt(this.list, nowMs, this.context(id));
      soonest(l);
      this.applyConnector(id, l);
    }
    const station = stationLimitAt(this.list, nowMs, this.stationContext());
    soonest(station);
    this.applyBudget(station.limitA);
    if (next === null) this.d.timers.cancel('smart-charging:next');
    else this.d.timers.set('smart-charging:next', Math.min(MAX_TIMER_MS, Math.max(0, (next as number) - nowMs)), () => this.evaluate());
  }

  private applyConnector(id: number, l: LimitNow): void {
    const st = this.d.station;
    const was = this.applied.get(id);
    const now: AppliedLimit = { limitA: l.limitA, ...(l.profileId !== undefined ? { profileId: l.profileId } : {}), ...(l.purpose ? { purpose: l.purpose } : {}), ...(l.numberPhases ? { numberPhases: l.numberPhases } : {}) };
    this.applied.set(id, now);
    if (was?.limitA !== now.limitA || was === undefined) {
      if (now.limitA === null) st.clearClaim(PROFILE_CLAIM, id);
      else st.setClaim({ source: PROFILE_CLAIM, connectorId: id, maxA: Math.max(0, now.limitA) });
      if (was !== undefined || now.limitA !== null) this.d.log.info({ connectorId: id, ...now }, 'OCPP: charging profile limit');
    }
    if (l.numberPhases) this.switchPhases(id, l.numberPhases);
  }

  private switchPhases(id: number, phases: 1 | 3): void {
    if (!this.d.keys.bool('ConnectorSwitch3to1PhaseSupported')) return;
    const v = this.d.station.connectorView(id);
    const pv = v && phasesView(v);
    if (!pv?.switchable || pv.switching || pv.active === phases || this.phaseRequested.get(id) === phases) return;
    this.phaseRequested.set(id, phases);
    void this.d.station.setPhases(id, phases, 'ocpp').then(
      (r) => this.d.log.info({ connectorId: id, phases, result: r }, 'OCPP: phase switch for the charging profile'),
      (e: unknown) => this.d.log.warn({ connectorId: id, phases, err: String(e) }, 'OCPP: phase switch failed'),
    );
  }

  private applyBudget(limitA: number | null): void {
    if (limitA === this.budget) return;
    this.budget = limitA;
    const st = this.d.station;
    if (limitA === null) st.clearBudget(STATION_BUDGET);
    else st.setBudget({ source: STATION_BUDGET, phaseA: [limitA, limitA, limitA] });
    this.d.log.info({ limitA }, 'OCPP: ChargePointMaxProfile station budget');
  }

  /** Every JUMP_CHECK_MS: has wall time moved against monotonic time (a clock set without a 'sync')? */
  private checkJump(): void {
    const c = this.d.station.clock;
    const offset = c.wallMs() - c.monoMs();
    if (Math.abs(offset - this.lastOffset) > JUMP_MS) {
      this.lastOffset = offset;
      this.evaluate('wall clock jumped');
    }
    this.d.timers.set('smart-charging:jump', JUMP_CHECK_MS, () => this.checkJump());
  }
}

/** When the session began on today's wall clock: from the monotonic clock in this boot (the wall clock may have been set since). */
function startWallMs(s: SessionRecord, clock: StationPort['clock']): number {
  return s.startBootId === clock.bootId ? clock.wallMs() - (clock.monoMs() - s.startMonoMs) : s.startWallMs;
}

function phasesView(v: ConnectorView): PhasesView | undefined {
  return (v as ConnectorView & { phases?: PhasesView }).phases;
}

function meanVoltage(v: number[]): number {
  const ok = v.filter((x) => Number.isFinite(x) && x > 100);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NOMINAL_V;
}
