/**
 * Words every layer shares (store, hal, evse, ocpp, api): the ground of the import graph, importing
 * nothing. The status and stop-reason names are OCPP 1.6's so the protocol layer maps them 1:1.
 */

/** Connector status; the names are OCPP 1.6 ChargePointStatus. */
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

/**
 * Why a session ended. The names are OCPP 1.6 StopTransaction reasons, and the owner's stop
 * conditions as OCPP 2.0.1 spells them (1.6 has no such reasons: its layer sends them as Other).
 */
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
  | 'EnergyLimitReached'
  | 'TimeLimitReached'
  | 'SOCLimitReached'
  | 'Other';

/** Each stop reason in words, for people (API rows, dashboard, history). */
export const STOP_REASON_TEXT: Record<StopReason, string> = {
  Local: 'stopped at the station (tag, button or API)',
  Remote: 'stopped remotely',
  EVDisconnected: 'EV unplugged',
  PowerLoss: 'power loss',
  Reboot: 'station restarted',
  SoftReset: 'soft reset',
  HardReset: 'hard reset',
  DeAuthorized: 'authorisation withdrawn',
  EmergencyStop: 'emergency stop',
  UnlockCommand: 'unlocked remotely',
  EnergyLimitReached: 'energy limit reached',
  TimeLimitReached: 'time limit reached',
  SOCLimitReached: 'state-of-charge limit reached',
  Other: 'other reason',
};

/** Who authorised a session. */
export type AuthSource = 'free' | 'local' | 'ocpp' | 'cache' | 'local-list' | 'offline' | 'remote';

export type AuthStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

export interface AuthResult {
  status: AuthStatus;
  source: AuthSource;
  parentIdTag?: string;
}

/** What stops a connector from charging. Properties of each kind: faults.ts. */
export type FaultKind =
  | 'rcd' // residual current (RCD / RDC-DD 6 mA DC) tripped
  | 'diode' // EV diode missing/shorted
  | 'overcurrent'
  | 'welded' // contactor feedback closed while commanded open
  | 'lock' // cable lock did not confirm locked (socket stations)
  | 'contactor' // contactor failed to close (feedback open while commanded closed)
  | 'pilot' // pilot state E/F or an unreadable pilot
  | 'meter' // meter lost while required for charging
  | 'overtemperature'
  | 'stall' // control loop stalled
  | 'store' // the session store cannot be written: charging would not be recorded
  | 'other';
