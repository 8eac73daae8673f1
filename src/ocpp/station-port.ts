import type { Authorizer, CurrentClaim, StationEvents, StationView, StopReason } from '../evse/station-api.js';
import type { SessionRecord, SessionStore } from '../store/sessions.js';
import type { Db } from '../store/db.js';
import type { Clock, SyncEvent } from '../hal/clock.js';

/**
 * What the OCPP layer needs from the station. Core's `Station` implements it structurally; tests
 * use a small fake over a real SessionStore.
 */
export interface OcppStationPort {
  readonly stationConfig: { id: string; vendor: string; model: string; serialNumber?: string; firmwareVersion: string };
  view(): StationView;
  on<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): void;
  off<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): void;
  /** The station asks it for every tag presented at a reader. */
  setAuthorizer(a: Authorizer): void;
  /** Pre-authorised start; false if the connector cannot take it. */
  remoteStart(connectorId: number | undefined, idTag: string): Promise<boolean>;
  stopSession(connectorId: number, reason: StopReason, stopIdTag?: string): Promise<boolean>;
  sessionOn(connectorId: number): SessionRecord | undefined;
  /** connectorId 0 = the whole station; Scheduled while a session runs. */
  setAvailability(connectorId: number, available: boolean): 'Accepted' | 'Scheduled' | 'Rejected';
  /** A fresh meter reading now (it is also emitted as 'sample'); rejects when the meter cannot be read. */
  readMeter(connectorId: number): Promise<StationEvents['sample'][0]>;
  /** ConnectionTimeOut: how long a tag presented before plugging in stays valid; effective at once. */
  setConnectionTimeout(seconds: number): void;
  /** Keep the cable locked after the running session until the owner's tag (or same parent) is presented; false without a lock. */
  holdLock(connectorId: number, owner: { idTag: string; parentIdTag?: string }): boolean;
  /** Whether the connector has a cable lock (false: fixed cable). */
  hasLock(connectorId: number): boolean;
  /** UnlockConnector: NotSupported without a lock (no side effect); else a running session ends (UnlockCommand), then the cable unlocks. */
  unlock(connectorId: number): Promise<'Unlocked' | 'UnlockFailed' | 'NotSupported'>;
  setClaim(c: CurrentClaim): void;
  clearClaim(source: string, connectorId: number): void;
  readonly sessions: SessionStore;
  readonly db: Db;
  readonly clock: Clock & { setFromTrustedSource(wallMs: number, source: string): void; on(e: 'sync', l: (ev: SyncEvent) => void): void };
  /** Core stops sessions (SoftReset/HardReset) and restarts the daemon. */
  requestReset(kind: 'Soft' | 'Hard'): void;
  /** Adds a section to GET /api/status. */
  registerStatus(name: string, provider: () => unknown): void;
}
