/**
 * The hardware abstraction: what the station logic needs from the board and the meter.
 * Drivers (src/sim, src/hal/gpio, src/meter/modbus) implement these; nothing above this
 * layer knows about sysfs, PWM chips or Modbus frames.
 */

import type { PilotReading } from '../domain/pilot.js';

/** The pilot reading types live in domain (the supervisor rule reads them); the HAL interface speaks them. */
export type { PilotState, PilotReading } from '../domain/pilot.js';

/**
 * What the EVSE drives onto the pilot line.
 * - `x1`: steady +12 V, no PWM: no current offered (this is "PWM off"; never 0 % duty).
 * - `pwm`: 1 kHz PWM with the given duty (per mille, 80..970) encoding the current offer.
 * - `f`: steady -12 V (state F: EVSE not available, used briefly after faults and to wake EVs).
 *   `cpInterrupt: true` asks for a CP interruption (the wake-up): a driver with a CP relay
 *   (gpio.cpRelay) also disconnects CP from the EV for as long as this output lasts; without one
 *   it is plain state F. Fault signalling uses plain `f` (hardware/README.md, CP relay).
 * - `digital`: 1 kHz PWM at 5 % (DIGITAL_COMMUNICATION_PERMILLE): "high-level communication
 *   required" (ISO 15118 / DIN 70121). A mode of its own, so no current-to-duty encoding can ever
 *   produce it (`pwm` refuses duties below 80 per mille). The state machine never uses it: evsed
 *   has no PLC modem and no ISO 15118 stack, and an EV told 5 % takes its current from that
 *   communication, not from the duty, so it would wait forever (ISO 15118-3 also forbids 5 % when
 *   the authorisation happened before plug-in). It exists for a future HLC module and for tests.
 */
export type PilotOutput =
  | { mode: 'x1' }
  | { mode: 'pwm'; dutyPermille: number }
  | { mode: 'f'; cpInterrupt?: boolean }
  | { mode: 'digital' };

/** The 5 % duty of `{ mode: 'digital' }`, per mille. */
export const DIGITAL_COMMUNICATION_PERMILLE = 50;

export interface ControlPilot {
  setOutput(output: PilotOutput): void;
  read(): PilotReading;
  /** Called on every (debounced) change of the pilot reading. */
  onChange(listener: (reading: PilotReading) => void): void;
}

export interface Contactor {
  /** Command the contactor. Must take effect synchronously in the driver (no awaiting I/O before the pin is set). */
  set(closed: boolean): void;
  /** Last commanded state. */
  commanded(): boolean;
  /** Auxiliary (mirror) contact reading when wired, else undefined. */
  feedback(): boolean | undefined;
  onFeedback(listener: (closed: boolean) => void): void;
  /**
   * The safety core overrode the last command: it refused a close (`refused`) or opened on its
   * own (`opened`), with the rule that forbade it. Drivers without a safety core never call it.
   */
  onOverride?(listener: (o: { action: 'refused' | 'opened'; why: string }) => void): void;
}

export interface CableLock {
  /** Drives the lock; rejects when it does not confirm locked within the actuator's time. */
  lock(): Promise<void>;
  unlock(): Promise<void>;
  /** Locked as read back (feedback input), else as last driven; undefined before the first drive. */
  isLocked(): boolean | undefined;
  /**
   * Called when the reading of isLocked() changes on its own (a feedback input): a lock that reads
   * unlocked while the contactor is closed opens it. Drivers without a feedback may leave it out.
   */
  onChange?(listener: (locked: boolean) => void): void;
}

import type { FaultKind } from '../domain/types.js';


/** The simulated EV's controls, on a simulated board only (hardware.driver sim). */
export interface SimulatorControls {
  readonly plugged: boolean;
  plug(): void;
  unplug(): void;
  /** The EV asks for energy (state C); only while plugged. */
  ready(): void;
  pause(): void;
  /** A fault input of the board, or the EV's diode ('diode'). */
  setFault(kind: FaultKind, active: boolean): void;
}

export interface FaultInputs {
  /** Faults currently asserted by the hardware inputs. */
  active(): ReadonlySet<FaultKind>;
  onChange(listener: (kind: FaultKind, active: boolean) => void): void;
}

export type HealthResult = { ok: true } | { ok: false; reason: string };

/** Phases a 1p/3p relay connects to the EV. */
export type RelayPhases = 1 | 3;

/** The outcome of a phase relay command: a safety core refuses one that breaks its rule. */
export type PhaseRelayResult = { ok: true } | { ok: false; why: string };

/**
 * The 1-phase / 3-phase relay of a connector (a second contactor for L2/L3, hardware/README.md).
 * Drivers write the pin synchronously in set(); the safety core in front of them refuses a change
 * unless the contactor is commanded open and its feedback (when wired) reads open and no fault is
 * active, and refuses a close while a change is within `settleMs`.
 */
export interface PhaseRelay {
  /** The phases connected now (as last driven). */
  get(): RelayPhases;
  set(phases: RelayPhases): Promise<PhaseRelayResult>;
  /** After a change, the contactor may close only once this much time has passed (contacts settled). */
  readonly settleMs: number;
  /** The board can disconnect CP (gpio.cpRelay): the switching pause is then a CP interruption, else X1. */
  readonly cpInterrupt: boolean;
}

/** The board side of one connector. */
export interface ConnectorHardware {
  pilot: ControlPilot;
  contactor: Contactor;
  lock?: CableLock;
  faults: FaultInputs;
  /** The 1p/3p relay, where the board has one (gpio: hardware.phaseRelay; sim: hardware.phaseRelay: true). */
  phaseRelay?: PhaseRelay;
  /** The EV's state of charge (%) when the hardware can know it (e.g. ISO 15118, or the simulated battery). */
  socPercent?(): number | null;
  /** The EV battery's usable capacity (Wh) when known; sharpens the time-to-finish estimate. */
  batteryCapacityWh?(): number | null;
  /**
   * A technician clears a welded contactor: drivers that latch the weld themselves (gpio) release
   * the latch only if the feedback now reads open. Returns false (latch kept) while it reads closed.
   */
  clearWeld?(): boolean;
  /**
   * Liveness of the driver's own loops for the systemd watchdog (gpio: the pilot sampler and the
   * heartbeat run). Not the health of what they measure: a failing sensor is a fault, not a restart.
   */
  health?(): HealthResult;
  /** The simulated EV's controls; only simulated boards have them. */
  simulator?(): SimulatorControls;
  /**
   * The RCD / RDC-DD self-test, where the board has the test and fault lines (contactor open).
   * The safety core runs it before every close.
   */
  rcdSelfTest?(): Promise<{ ok: boolean; reason?: string }>;
  /**
   * Safety-core members (src/hal/safety-core): the main side's claim that an authorised, recorded
   * session exists (a close is refused without it, a closed contactor opens when it is withdrawn).
   */
  authorise?(authorised: boolean): void;
  /** Latch a fault the main side detected (overcurrent, stall) before it opens the contactor. */
  latch?(kind: FaultKind): void;
  /**
   * A technician clears the latches whose inputs are inactive (a weld only once the feedback reads
   * open). Returns the kinds still latched.
   */
  clearLatches?(): FaultKind[];
  /**
   * true when the safety decisions of this board do not run on the main event loop (a worker
   * thread, or the board's own microcontroller): a stalled main loop then needs no safe stop.
   */
  readonly safetyOffMainLoop?: boolean;
  /** Drive every output to its safe level: contactor open, pilot x1. Synchronous. */
  safe(): void;
  close(): Promise<void>;
}

/** One complete reading of the meter. Energy is the meter's own register, in integer Wh. */
export interface MeterSnapshot {
  /** Total active import energy register (Wh, integer). Billing uses only this. */
  energyImportWh: number;
  /** Total active export register when the meter has one. */
  energyExportWh?: number;
  /** Total active power (W), import positive. */
  powerW: number;
  /** Per-phase values; index 0 = L1. Length = phases the meter measures. */
  voltageV: number[];
  currentA: number[];
  powerPhaseW: number[];
  frequencyHz?: number;
  /** Monotonic milliseconds when the reading was taken (performance.now() domain). */
  monoMs: number;
}

export type MeterHealth = 'ok' | 'degraded' | 'offline';

export interface MeterStatus {
  health: MeterHealth;
  /** Consecutive failed polls. */
  failures: number;
  /** Counters since start. */
  okReads: number;
  failedReads: number;
  rejectedReads: number;
  lastError?: string;
  /** Monotonic ms of the last good snapshot. */
  lastOkMonoMs?: number;
}

export interface Meter {
  /** Read a fresh snapshot from the device. Rejects on any failure (timeout, CRC, exception...). */
  read(): Promise<MeterSnapshot>;
  close(): Promise<void>;
}
