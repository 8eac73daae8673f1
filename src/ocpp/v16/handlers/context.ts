import type { AuthResult, StationPort } from '../../../evse/port.js';
import type { Logger } from '../../../log.js';
import type { AuthRepository } from '../../../store/ocpp/auth.js';
import type { AvailabilityRepository } from '../../../store/ocpp/availability.js';
import type { KeyStore } from '../key-store.js';
import type { TxLedger } from '../ledger.js';
import type { BootStatus } from '../lifecycle.js';
import type { Sample } from '../sampled-values.js';
import type { SmartChargingPort } from '../smart-charging/controller.js';
import type { SecurityEvents } from '../security/events.js';
import type { SecurityExtensionPort } from '../security/extension.js';
import type { FirmwarePort } from '../firmware/updater.js';
import type { DiagnosticsPort } from '../diagnostics/uploads.js';

/** What TriggerMessage can make the charge point send; each runs after the answer went out. */
export interface Triggers {
  bootNotification(): Promise<void>;
  heartbeat(): Promise<void>;
  statusNotification(connectorId: number | undefined): Promise<void>;
  /** The most recent reading of each connector (read now when none or stale); connectors with none left out. */
  meterReadings(connectorIds: number[]): Promise<Sample[]>;
  meterValues(readings: Sample[]): Promise<void>;
  /** FirmwareStatusNotification (TriggerMessage; ExtendedTriggerMessage too): the firmware job's last status, Idle without one. */
  firmwareStatus(): Promise<void>;
  /** DiagnosticsStatusNotification (TriggerMessage; ExtendedTriggerMessage too): Uploading while a diagnostics upload runs, else Idle. */
  diagnosticsStatus(): Promise<void>;
  /** LogStatusNotification (ExtendedTriggerMessage): Uploading with the requestId while a log upload runs, else Idle. */
  logStatus(): Promise<void>;
}

/**
 * Everything a CSMS → charge point handler may use. Each handler takes only the part it needs
 * (a Pick of this), so a unit test builds just that: a fake StationPort, real repositories on a
 * real SQLite file, a KeyStore, a FakeClock behind `later`.
 */
export interface HandlerContext {
  station: StationPort;
  keys: KeyStore;
  auth: AuthRepository;
  availability: AvailabilityRepository;
  ledger: Pick<TxLedger, 'byTransactionId'>;
  log: Logger;
  bootStatus(): BootStatus;
  /** The OCPP authorizer (local list, cache, Authorize.req, offline rules). */
  authorize(idTag: string): Promise<AuthResult>;
  /** Runs `fn` once the answer is on its way (a change applied after it is confirmed, a triggered message after the answer). */
  afterReply(fn: () => void): void;
  /** Runs `fn` after `ms` on the station's clock, unless the charge point stops first. */
  later(ms: number, fn: () => void): void;
  triggers: Triggers;
  /** The installed charging profiles and what they decide (SetChargingProfile, RemoteStartTransaction's profile). */
  smartCharging: SmartChargingPort;
  /** Security events: the local security log, and SecurityEventNotification for the critical ones. */
  security: SecurityEvents;
  /** The security extension: profile raises, the certificate store, SignCertificate / CertificateSigned. */
  securityExtension: SecurityExtensionPort;
  /** UpdateFirmware / SignedUpdateFirmware; absent when the station has no release installer (NotSupported). */
  firmware?: FirmwarePort;
  /** GetDiagnostics / GetLog; absent when the station has no diagnostics collector (NotSupported). */
  diagnostics?: DiagnosticsPort;
}

export function connectorKnown(station: Pick<StationPort, 'connectorIds'>, id: number): boolean {
  return station.connectorIds().includes(id);
}
