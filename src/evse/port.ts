import type { MeterHealth, PilotOutput, PilotState } from '../hal/types.js';
import type { FaultKind } from '../domain/types.js';
import type { ClockQuality, Stamp, SyncEvent } from '../hal/clock.js';
import type { SessionRecord } from '../store/sessions.js';
import type { HealthResult, SimulatorControls } from '../hal/types.js';

export type { SimulatorControls } from '../hal/types.js';
import type { AuthResult, AuthSource, AuthStatus, ConnectorStatus, StopReason } from '../domain/types.js';

export type { AuthResult, AuthSource, AuthStatus, ConnectorStatus, StopReason } from '../domain/types.js';

/**
 * The one port into the station core: a read-only view, commands, typed events and the provider
 * hooks (authorisation, session extras, status sections). OCPP, billing, the API, MQTT and the CLI
 * see the station only through this interface; the composition root (daemon.ts) builds the
 * concrete core behind it. Whatever a protocol (OCPP 1.6 or 2.0.1) needs is expressed here in
 * station terms, never in one protocol's messages.
 */

/**
 * Decides whether a tag may charge. The station uses the one for `auth.mode`; the OCPP layer
 * installs its own (Authorize.req, cache, local list, offline rules).
 */
export interface Authorizer {
  authorize(idTag: string, connectorId: number): Promise<AuthResult>;
  /** The parentIdTag of a running session, when the authorizer knows one (OCPP): a tag of the same parent may stop it. */
  parentIdTagOf?(sessionId: number): string | undefined;
}

export interface MeterView {
  energyWh: number | null;
  powerW: number | null;
  voltageV: number[];
  currentA: number[];
  powerPhaseW: number[];
  frequencyHz: number | null;
  health: MeterHealth;
  /** true when the last good reading is older than the allowed age: values must not be shown as live. */
  stale: boolean;
  ageS: number | null;
  /** Poll counters since start, for the technician. */
  reads?: { ok: number; failed: number; rejected: number; consecutiveFailures: number; errors: Record<string, number>; lastError: string | null };
}

export interface LiveSession {
  id: number;
  uid: string;
  idTag: string | null;
  authSource: AuthSource;
  startedAt: string;
  startedAtQuality: 'synced' | 'unsynced';
  meterStartWh: number;
  /** meterStartWh is the meter's last good register (it could not be read at the start); energyWh may be too high. Always set by the station. */
  meterStartProvisional?: boolean;
  energyWh: number;
  durationS: number;
  chargingS: number;
  idleS: number;
  /** Seconds the meter could not be read during the session. */
  meterGapS: number;
  /** Cost so far under the tariff snapshotted at the start (integer minor units, gross); null without a tariff. */
  cost: { currency: string; grossMinor: number } | null;
  /** Estimated seconds to finish; null = unknown (no target, or no power yet). */
  etaS: number | null;
  etaBasis: 'energy' | 'soc' | 'unknown';
  socPercent: number | null;
  /**
   * The targets the estimate works to (energy: config default, API or MQTT; SoC: 100 % when the SoC
   * is known); null = none. mode 'stop': the energy target also ends the session (a limit);
   * 'estimate' (or absent): it only feeds the time to finish.
   */
  target?: { energyWh: number | null; socPercent: number | null; mode?: 'estimate' | 'stop' };
  /** The owner's stop conditions of this session (energy/session-limits.ts); null = none. */
  limits?: { energyWh: number | null; durationS: number | null; socPercent: number | null };
  /** "Charge now" is on for this session (it overrides the charging timers). */
  chargeNow?: boolean;
}

/** A connector (or the station: connectorId 0, any connector) reserved for one tag until a time (OCPP ReserveNow). */
export interface Reservation {
  reservationId: number;
  /** 0 = the station: the tag may use any connector, and one free connector is kept for it. */
  connectorId: number;
  idTag: string;
  /** A tag with this parent may use it too. */
  parentIdTag?: string;
  /** When it ends, in the reserver's wall-clock time (ms since the epoch; OCPP expiryDate). */
  expiresAtMs: number;
}

/** The answer to a reservation (OCPP 1.6 ReservationStatus). */
export type ReserveResult = 'Accepted' | 'Faulted' | 'Occupied' | 'Rejected' | 'Unavailable';

/** Why a reservation ended: its session started, it expired, it was cancelled or replaced, its connector became Faulted or Unavailable. */
export type ReservationEnd = 'used' | 'expired' | 'cancelled' | 'replaced' | 'faulted' | 'unavailable';

/** The reservation a connector keeps for its tag (ConnectorView.reservation). */
export interface ReservationView {
  reservationId: number;
  idTag: string;
  parentIdTag: string | null;
  /** ISO 8601, the reserver's time. */
  expiresAt: string;
  /** A reservation of the station (connector 0) that this connector is kept for. */
  station: boolean;
}

export interface ConnectorView {
  id: number;
  status: ConnectorStatus;
  /** The reservation this connector is kept for (status Reserved while nobody is on it); null or absent = none. */
  reservation?: ReservationView | null;
  pilot: PilotState;
  diodeOk: boolean;
  pilotOutput: PilotOutput;
  contactorClosed: boolean;
  /** Current offered to the EV now (A; 0 = no offer). */
  currentLimitA: number;
  /** Which claim decided the offer (e.g. "config", "ocpp:profile", "api"). */
  limitSource: string;
  /**
   * The supply phases: installed (connectors[].phases), active (what the 1p/3p relay connects now;
   * installed without a relay), whether a relay can switch them, a switch under way, and the
   * switches of the running session (bounded by connectors[].phaseSwitch.maxPerSession).
   */
  phases: { installed: PhaseCount; active: PhaseCount; switchable: boolean; switching: boolean; switchesThisSession: number };
  faults: FaultKind[];
  available: boolean;
  paused: boolean;
  meter: MeterView;
  session: LiveSession | null;
}

export interface StationView {
  id: string;
  vendor: string;
  model: string;
  serialNumber?: string;
  firmwareVersion: string;
  clock: { wall: string; quality: 'synced' | 'unsynced' };
  uptimeS: number;
  connectors: ConnectorView[];
  /** The station budgets and how they are shared out now (absent where the core does not share). */
  sharing?: SharingView;
}

/** The station budgets and each connector's allowance from them. */
export interface SharingView {
  mode: 'fair' | 'priority';
  budgets: StationBudget[];
  /** The tightest budget on each site phase L1, L2, L3 (A), and its source; null where no budget is set. */
  phaseA: [number | null, number | null, number | null];
  phaseSource: [string | null, string | null, string | null];
  /** Per connector while a budget is set: its allowance (A, a hard claim named after `source`). */
  allowances: SharingAllowance[];
}

export interface SharingAllowance {
  connectorId: number;
  /** 0 = no current from the budget. */
  amps: number;
  /** What it gets once the increase interval or the resume hold has passed. */
  targetA: number;
  /** The budget that bounds it. */
  source: string;
  /** It wants current but cannot get the IEC 61851 minimum of 6 A: suspended (SuspendedEVSE) until it can. */
  suspended: boolean;
  /** The site phases it loads. */
  sitePhases: ('L1' | 'L2' | 'L3')[];
}

/** A bound on the current offered to one connector, or to all (connectorId 0). */
export interface CurrentClaim {
  /** Unique per source; setting the same source again replaces it. e.g. "api", "mqtt", "ocpp:TxProfile". */
  source: string;
  connectorId: number;
  /** Maximum current in A; 0 suspends charging. */
  maxA: number;
  /**
   * Absent: a hard bound that always applies (hardware rating, config maximum, a fault, a grid or
   * load-management limit). Present: a preference; of all preferences only those with the highest
   * priority apply, so a higher one overrides a lower one in both directions (an OCPP TxProfile
   * over a TxDefaultProfile, a driver's boost over a schedule). Hard bounds cap the result either way.
   */
  priority?: number;
  /**
   * A lease (ms): the claim ends by itself unless set again within this time, so a limit from an
   * energy manager that crashed or lost its link falls back (to the remaining claims) on its own.
   */
  leaseMs?: number;
}

/**
 * A bound on what all connectors together may draw, per phase of the site supply (L1, L2, L3), in
 * A: an OCPP ChargePointMaxProfile, the main fuse minus the house load, the PV surplus. The core
 * shares the tightest of them out among the connectors (per phase: a 1-phase EV loads one phase)
 * and offers each its share, or suspends one that cannot get the IEC 61851 minimum.
 */
export interface StationBudget {
  /** Unique; setting the same source again replaces it. e.g. "ocpp:ChargePointMaxProfile", "site", "pv". */
  source: string;
  phaseA: readonly [number, number, number];
}

export type PhaseCount = 1 | 3;
/** Accepted: the connector now offers on that many phases (or already did). */
export type PhaseSwitchResult = 'Accepted' | 'Rejected' | 'NotSupported';

/** Station events, as passed to `station.on(name, listener)`. */
export interface StationEvents {
  /** A connector's view changed in a way that matters (status, contactor, limit, faults, availability). */
  status: [view: ConnectorView, previous: ConnectorStatus];
  /** A fresh meter reading. */
  sample: [sample: MeterSample];
  'session-started': [session: SessionRecord];
  'session-stopped': [session: SessionRecord];
  /**
   * A provisional meter start/stop was replaced by the meter's register once it could be read again
   * (the store's onCorrect hooks ran in the same transaction; `before` is what was recorded).
   */
  'session-corrected': [session: SessionRecord, before: SessionRecord];
  /** A tag was presented and refused. */
  'auth-rejected': [info: { connectorId: number; idTag: string; status: AuthStatus }];
  fault: [info: { connectorId: number; kind: FaultKind; active: boolean }];
  /** A reservation was taken or replaced (`ended` null) or ended. */
  reservation: [reservation: Reservation, ended: ReservationEnd | null];
}

/** A meter reading as the station reports it. */
export interface MeterSample {
  connectorId: number;
  sessionId: number | null;
  energyWh: number;
  powerW: number;
  voltageV: number[];
  currentA: number[];
  powerPhaseW: number[];
  frequencyHz: number | null;
  wallMs: number;
}

/** Identity of the station (also the OCPP identity and BootNotification fields). */
export interface StationInfo {
  id: string;
  vendor: string;
  model: string;
  serialNumber?: string;
  firmwareVersion: string;
}

/** Live figures other modules add to a running session's view (billing: cost, time to finish). */
export interface SessionExtras {
  costMinor?: number;
  currency?: string;
  etaS?: number | null;
  etaBasis?: 'energy' | 'soc' | 'unknown';
  socPercent?: number | null;
  target?: { energyWh?: number | null; socPercent?: number | null; mode?: 'estimate' | 'stop' };
  limits?: { energyWh: number | null; durationS: number | null; socPercent: number | null };
  chargeNow?: boolean;
}
export type SessionExtrasProvider = (connectorId: number, sessionId: number) => SessionExtras | undefined;

/** What the station's clock lets the edges do: read it, stamp with it, and set it from a trusted source (CSMS). */
export interface StationClock {
  readonly bootId: string;
  wallMs(): number;
  monoMs(): number;
  quality(): ClockQuality;
  stamp(): Stamp;
  setFromTrustedSource(wallMs: number, source: string): void;
  on(e: 'sync', l: (ev: SyncEvent) => void): unknown;
  off(e: 'sync', l: (ev: SyncEvent) => void): unknown;
  /** A timer on this clock (fake time in tests); `cancel()` is idempotent. */
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

/** What the EV tells the station about itself where the hardware knows (simulator, ISO 15118 later). */
export interface VehicleInfo {
  socPercent: number | null;
  batteryCapacityWh: number | null;
}

/** Live durations of a running session (monotonic clock), ms. */
export interface LiveDurations {
  durationMs: number;
  chargingMs: number;
  idleMs: number;
  meterGapMs: number;
  /** Whether the time now counts as charging (the whole seconds shown are rounded by it). */
  charging?: boolean;
}

/**
 * What a tag presented at a reader did; `unavailable`: the connector cannot charge now (Unavailable,
 * Faulted), nobody was asked; `reserved` with `rejected`: the connector is kept for another tag.
 */
export type TagOutcome = AuthResult & { action: 'started' | 'stopped' | 'rejected' | 'pending' | 'unlocked' | 'unavailable'; reserved?: boolean };

export type ResetKind = 'Soft' | 'Hard';

export interface StationPort {
  readonly info: StationInfo;
  readonly clock: StationClock;

  // ---- read model
  view(): StationView;
  connectorIds(): number[];
  connectorView(id: number): ConnectorView | undefined;
  /** The running session on a connector, as stored. */
  sessionOn(connectorId: number): SessionRecord | undefined;
  liveDurations(connectorId: number): LiveDurations | null;
  vehicle(connectorId: number): VehicleInfo;
  /** Every current claim in force on a connector (connector 0's included), and which one decides. */
  claims(connectorId: number): readonly CurrentClaim[];
  hasLock(connectorId: number): boolean;
  /** Liveness of every control loop, for the systemd watchdog. */
  health(): HealthResult;
  /** Sections other modules add to GET /api/status. */
  extraStatus(): Record<string, unknown>;

  // ---- events
  on<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): unknown;
  off<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): unknown;

  // ---- commands
  presentTag(connectorId: number, idTag: string): Promise<TagOutcome>;
  /** Pre-authorised start (OCPP RemoteStartTransaction); the first free connector when none is given. */
  remoteStart(connectorId: number | undefined, idTag: string): Promise<boolean>;
  stopSession(connectorId: number, reason: StopReason, stopIdTag?: string): Promise<boolean>;
  pause(connectorId: number): boolean;
  resume(connectorId: number): boolean;
  wake(connectorId: number): boolean;
  /** A technician clears latched faults; false for an unknown connector. */
  clearFaults(connectorId: number): boolean;
  setClaim(claim: CurrentClaim): void;
  clearClaim(source: string, connectorId: number): void;
  /** A station-wide per-phase budget (see StationBudget); the core shares it out at once. */
  setBudget(budget: StationBudget): void;
  clearBudget(source: string): void;
  budgets(): readonly StationBudget[];
  /**
   * Switch the phases a connector offers (1p/3p relay). The core runs the only allowed sequence
   * (suspend, wait for the EV to stop drawing, open, pause, switch, close, resume) and resolves when
   * it ended; NotSupported without a phase relay; Rejected with a fault, or past the switches
   * allowed per session.
   */
  setPhases(connectorId: number, phases: PhaseCount, source: string): Promise<PhaseSwitchResult>;
  /** connectorId 0 = the whole station; Scheduled while a session runs. */
  setAvailability(connectorId: number, available: boolean): 'Accepted' | 'Scheduled' | 'Rejected';
  /** How long an authorisation given before plugging in stays valid (OCPP ConnectionTimeOut); at once. */
  setConnectionTimeout(seconds: number): void;
  /** Keep the cable locked after the running session until the owner's tag (or same parent) is presented; false without a lock. */
  holdLock(connectorId: number, owner: { idTag: string; parentIdTag?: string }): boolean;
  /** NotSupported without a lock (no side effect); else a running session ends (UnlockCommand), then the cable unlocks. */
  unlock(connectorId: number): Promise<'Unlocked' | 'UnlockFailed' | 'NotSupported'>;
  /** A fresh meter reading now (also emitted as 'sample'); rejects when the meter cannot be read. */
  readMeter(connectorId: number): Promise<MeterSample>;
  /**
   * Reserve a connector (connectorId 0: the station) for a tag until `expiresAtMs`; the same
   * reservationId replaces. Only that tag, or one with the same parentIdTag, may start there; it
   * ends when its session starts, at expiry, or when the connector becomes Faulted or Unavailable.
   */
  reserve(r: Reservation): ReserveResult;
  /** false when no such reservation is in force. */
  cancelReservation(reservationId: number): boolean;
  reservations(): readonly Reservation[];
  /** Stop sessions (SoftReset/HardReset) and restart the daemon. */
  requestReset(kind: ResetKind): void;
  /** The simulated EV of a connector; undefined on real hardware. */
  simulator(connectorId: number): SimulatorControls | undefined;

  // ---- providers
  /** The station asks it for every tag presented at a reader (OCPP installs its own). */
  setAuthorizer(a: Authorizer): void;
  setSessionExtras(p: SessionExtrasProvider): void;
  registerStatus(name: string, provider: () => unknown): void;
  onReset(handler: (kind: ResetKind) => void): void;
}
