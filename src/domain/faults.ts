import type { ConnectorStatus, FaultKind } from './types.js';

/** OCPP 1.6 ChargePointErrorCode values a fault maps to. */
export type Ocpp16ErrorCode =
  | 'GroundFailure'
  | 'OverCurrentFailure'
  | 'PowerSwitchFailure'
  | 'PowerMeterFailure'
  | 'HighTemperature'
  | 'ConnectorLockFailure'
  | 'OtherError';

/**
 * How a fault is cleared:
 * - `self`: clears when its input clears, even with an EV connected (the cause is outside the
 *   vehicle circuit: a meter, the temperature, the store);
 * - `unplug`: latched while an EV is connected; clears on unplug once its input has cleared;
 * - `technician`: survives unplugging and restarts (stored as a lockout) until a technician clears it.
 */
export type FaultClearing = 'self' | 'unplug' | 'technician';

export interface FaultPolicy {
  clearing: FaultClearing;
  /**
   * A latch that survives a restart: written before the output changes (the safety core's latch
   * file) and kept in the store (connector_lockouts), restored before the outputs are released.
   * A crash loop with an EV plugged in must never re-close on it.
   */
  persisted: boolean;
  /** StatusNotification errorCode (OCPP 1.6). */
  ocpp16ErrorCode: Ocpp16ErrorCode;
  /** The connector status while the fault is active. */
  status: ConnectorStatus;
}

/** The one table of fault policy: every layer asks it, none keeps its own list. */
export const FAULTS: { readonly [K in FaultKind]: FaultPolicy } = {
  rcd: { clearing: 'unplug', persisted: true, ocpp16ErrorCode: 'GroundFailure', status: 'Faulted' },
  diode: { clearing: 'unplug', persisted: true, ocpp16ErrorCode: 'OtherError', status: 'Faulted' },
  overcurrent: { clearing: 'unplug', persisted: true, ocpp16ErrorCode: 'OverCurrentFailure', status: 'Faulted' },
  welded: { clearing: 'technician', persisted: true, ocpp16ErrorCode: 'PowerSwitchFailure', status: 'Faulted' },
  lock: { clearing: 'unplug', persisted: true, ocpp16ErrorCode: 'ConnectorLockFailure', status: 'Faulted' },
  contactor: { clearing: 'unplug', persisted: false, ocpp16ErrorCode: 'PowerSwitchFailure', status: 'Faulted' },
  pilot: { clearing: 'unplug', persisted: false, ocpp16ErrorCode: 'OtherError', status: 'Faulted' },
  meter: { clearing: 'self', persisted: false, ocpp16ErrorCode: 'PowerMeterFailure', status: 'Faulted' },
  overtemperature: { clearing: 'self', persisted: false, ocpp16ErrorCode: 'HighTemperature', status: 'Faulted' },
  stall: { clearing: 'unplug', persisted: true, ocpp16ErrorCode: 'OtherError', status: 'Faulted' },
  store: { clearing: 'self', persisted: false, ocpp16ErrorCode: 'OtherError', status: 'Faulted' },
  other: { clearing: 'unplug', persisted: false, ocpp16ErrorCode: 'OtherError', status: 'Faulted' },
};

export const FAULT_KINDS: readonly FaultKind[] = Object.keys(FAULTS) as FaultKind[];

export const selfClears = (k: FaultKind): boolean => FAULTS[k].clearing === 'self';
export const needsTechnician = (k: FaultKind): boolean => FAULTS[k].clearing === 'technician';
export const PERSISTED_FAULTS: readonly FaultKind[] = FAULT_KINDS.filter((k) => FAULTS[k].persisted);

/**
 * How long the contactor's auxiliary contact may lag a command before the mismatch is a fault
 * ('welded' after an open, 'contactor' after a close). One timing for every driver and the core.
 */
export const CONTACTOR_FEEDBACK_TIMEOUT_MS = 500;
