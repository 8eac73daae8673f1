import type { FaultKind } from '../../domain/types.js';
import type { GpioHardwareConfig } from '../../config/gpio.js';
import type { HealthResult, PilotOutput, PilotReading, RelayPhases } from '../types.js';

/** What the main thread gives the safety-core worker at start. */
export interface CoreWorkerData {
  connectorId: number;
  hardware: GpioHardwareConfig;
  /** The latch file (null: in memory only). */
  latchPath: string | null;
  /** The phase relay state file (null: in memory only). */
  phasePath?: string | null;
  stopTimeoutMs: number;
  logLevel: string;
  /** Tests only: every ADC read takes this long (a busy wait in the worker), to model the conversion time. */
  testAdcReadMs?: number;
}

/** Main → worker. Requests with an `id` get a `reply` with the same id. */
export type ToCore =
  | { t: 'output'; output: PilotOutput }
  | { t: 'contactor'; closed: boolean }
  | { t: 'authorise'; authorised: boolean }
  | { t: 'latch'; kind: FaultKind }
  | { t: 'safe' }
  | { t: 'lock'; id: number; op: 'lock' | 'unlock' }
  | { t: 'clear-latches'; id: number }
  | { t: 'rcd-test'; id: number }
  /** Change the phase relay; the reply's value is a PhaseRelayResult. */
  | { t: 'phases'; id: number; phases: RelayPhases }
  | { t: 'close'; id: number };

/** The state the main side mirrors for its synchronous reads. */
export interface CoreState {
  reading: PilotReading;
  faults: FaultKind[];
  commanded: boolean;
  feedback: boolean | undefined;
  locked: boolean | undefined;
  hasLock: boolean;
  health: HealthResult;
  /** The phase relay, where the board has one. */
  phaseRelay?: { phases: RelayPhases; settleMs: number; cpInterrupt: boolean };
}

/** Worker → main. */
export type FromCore =
  | { t: 'ready'; state: CoreState }
  | { t: 'failed'; message: string }
  | { t: 'reading'; reading: PilotReading }
  | { t: 'fault'; kind: FaultKind; active: boolean }
  | { t: 'feedback'; closed: boolean }
  | { t: 'lock'; locked: boolean | undefined }
  | { t: 'commanded'; closed: boolean; locked: boolean | undefined }
  | { t: 'override'; action: 'refused' | 'opened'; why: string }
  /** Every ALIVE_INTERVAL_MS: the worker's loop runs; its driver's own health. */
  | { t: 'alive'; health: HealthResult; locked: boolean | undefined }
  | { t: 'reply'; id: number; ok: boolean; value?: unknown; error?: string }
  | { t: 'log'; line: string };

export const ALIVE_INTERVAL_MS = 100;
