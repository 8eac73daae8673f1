import type { FaultKind, MeterHealth, PilotOutput, PilotState } from '../hal/types.js';

/**
 * The station as seen by everything around it (OCPP, MQTT, HTTP API, dashboard): a read model,
 * typed events and commands. Implemented by `Station` (station.ts).
 */

/** Connector status; the names are OCPP 1.6 ChargePointStatus so the OCPP layer maps 1:1. */
export type ConnectorStatus =
  | 'Available'
  | 'Preparing'
  | 'Charging'
  | 'SuspendedEV'
  | 'SuspendedEVSE'
  | 'Finishing'
  | 'Reserved'
  | 'Unavailable'
  | 'Faulted';

/** Why a session ended; the names are OCPP 1.6 StopTransaction reasons. */
export type StopReason =
  | 'Local'
  | 'Remote'
  | 'EVDisconnected'
  | 'PowerLoss'
  | 'Reboot'
  | 'SoftReset'
  | 'HardReset'
  | 'DeAuthorized'
  | 'EmergencyStop'
  | 'UnlockCommand'
  | 'Other';

/** Who authorised a session. */
export type AuthSource = 'free' | 'local' | 'ocpp' | 'cache' | 'local-list' | 'offline' | 'remote';

export type AuthStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

export interface AuthResult {
  status: AuthStatus;
  source: AuthSource;
  parentIdTag?: string;
}

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
  /** The targets the estimate works to (energy: config default, API or MQTT; SoC: 100 % when the SoC is known); null = none. */
  target?: { energyWh: number | null; socPercent: number | null };
}

export interface ConnectorView {
  id: number;
  status: ConnectorStatus;
  pilot: PilotState;
  diodeOk: boolean;
  pilotOutput: PilotOutput;
  contactorClosed: boolean;
  /** Current offered to the EV now (A; 0 = no offer). */
  currentLimitA: number;
  /** Which claim decided the offer (e.g. "config", "ocpp:profile", "api"). */
  limitSource: string;
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
}

/** Station events, as passed to `station.on(name, listener)`. */
export interface StationEvents {
  /** A connector's view changed in a way that matters (status, contactor, limit, faults, availability). */
  status: [view: ConnectorView, previous: ConnectorStatus];
  /** A fresh meter reading. */
  sample: [sample: { connectorId: number; sessionId: number | null; energyWh: number; powerW: number; voltageV: number[]; currentA: number[]; powerPhaseW: number[]; frequencyHz: number | null; wallMs: number }];
  'session-started': [session: import('../store/sessions.js').SessionRecord];
  'session-stopped': [session: import('../store/sessions.js').SessionRecord];
  /**
   * A provisional meter start/stop was replaced by the meter's register once it could be read again
   * (the store's onCorrect hooks ran in the same transaction; `before` is what was recorded).
   */
  'session-corrected': [session: import('../store/sessions.js').SessionRecord, before: import('../store/sessions.js').SessionRecord];
  /** A tag was presented and refused. */
  'auth-rejected': [info: { connectorId: number; idTag: string; status: AuthStatus }];
  fault: [info: { connectorId: number; kind: FaultKind; active: boolean }];
}
