import type { PilotReading, PilotState } from '../types.js';
import type { FaultKind } from '../../domain/types.js';
import type { BoardState, PilotBoardModel, VehicleState } from './model.js';

/**
 * The board's status registers decoded, and what they mean for evsed: the pilot reading and the
 * faults the board reports. Pure: words in, values out.
 */

export interface BoardStatus {
  /** configuredCurrent as the register holds it (A, or 0.01 A in high resolution). */
  currentRaw: number;
  vehicle: VehicleState | 'unknown';
  vehicleRaw: number;
  /** commands bit 0: the board is told to turn charging off. */
  turnOff: boolean;
  firmware: number;
  board: BoardState | 'unknown';
  boardRaw: number;
  relayOn: boolean;
  diodeCheckFail: boolean;
  ventilationRequiredFail: boolean;
  rcdCheckError: boolean;
  rcdTestInProgress: boolean;
  waitingForPilotRelease: boolean;
}

export interface BoardConfig {
  /** currentAfterBoot (2000), in A. */
  currentAfterBootA: number;
  /** configuredCurrent counts 0.01 A. */
  highResolution: boolean;
  /** Saved "EVSE disabled": the board never charges whatever evsed writes. */
  disabled: boolean;
  disableAfterCharge: boolean;
  chargeInStateD: boolean;
  /** Read from the board (false: it refused the read and these are assumed). */
  known: boolean;
}

const bitSet = (word: number, bit: number) => ((word >> bit) & 1) === 1;

export function decodeStatus(m: PilotBoardModel, words: readonly number[]): BoardStatus {
  const at = (addr: number) => words[addr - m.statusBlock.start] ?? 0;
  const vehicleRaw = at(m.reg.vehicleState);
  const boardRaw = at(m.reg.evseState);
  const bits = at(m.reg.statusBits);
  return {
    currentRaw: at(m.reg.configuredCurrent),
    vehicle: m.vehicleStates.get(vehicleRaw) ?? 'unknown',
    vehicleRaw,
    turnOff: bitSet(at(m.reg.commands), m.bit.turnOffCharging),
    firmware: at(m.reg.firmware),
    board: m.boardStates.get(boardRaw) ?? 'unknown',
    boardRaw,
    relayOn: bitSet(bits, m.bit.relayOn),
    diodeCheckFail: bitSet(bits, m.bit.diodeCheckFail),
    ventilationRequiredFail: bitSet(bits, m.bit.ventilationRequiredFail),
    rcdCheckError: bitSet(bits, m.bit.rcdCheckError),
    rcdTestInProgress: bitSet(bits, m.bit.rcdTestInProgress),
    waitingForPilotRelease: bitSet(bits, m.bit.waitingForPilotRelease),
  };
}

export function decodeConfig(m: PilotBoardModel, words: readonly number[]): BoardConfig {
  const at = (addr: number) => words[addr - m.configBlock.start] ?? 0;
  const bits = at(m.reg.configBits);
  return {
    currentAfterBootA: at(m.reg.currentAfterBoot),
    highResolution: bitSet(bits, m.bit.highResolution),
    disabled: bitSet(bits, m.bit.disabled),
    disableAfterCharge: bitSet(bits, m.bit.disableAfterCharge),
    chargeInStateD: bitSet(bits, m.bit.chargeInStateD),
    known: true,
  };
}

const inBCD = (s: PilotState) => s === 'B' || s === 'C' || s === 'D';

/**
 * The pilot reading from the board's report. The board measures the pilot and checks the EV's
 * diode itself; evsed sees only its verdicts:
 * - `state`: the vehicle state register; while the board reports a failure (5) it does not say
 *   where the EV is, so the last state stays (the cause is a fault or the diode verdict);
 * - `diodeOk`: false while the board's diode-check-failed bit is set;
 * - `diodeChecked`: the board is generating PWM (it checks the diode only then), the EV is in
 *   B/C/D, no failure, and this poll was sent after evsed's last write to the board (a verdict
 *   from before an offer changed does not count, as with the gpio driver's output mode changes).
 */
export function pilotReadingFrom(s: BoardStatus, last: PilotReading, sentAfterLastWrite: boolean): PilotReading {
  const state: PilotState = s.vehicle === 'failure' || s.vehicle === 'unknown' ? last.state : s.vehicle;
  const diodeOk = !s.diodeCheckFail;
  const diodeChecked = sentAfterLastWrite && s.board === 'pwm' && s.vehicle !== 'failure' && s.vehicle !== 'unknown' && inBCD(state) && diodeOk;
  return { state, diodeOk, diodeChecked };
}

/**
 * Faults the board reports, with the reason for the log. The diode is not among them: it is the
 * reading's `diodeOk`, as on every board.
 */
export function boardFaults(s: BoardStatus): Map<FaultKind, string> {
  const out = new Map<FaultKind, string>();
  if (s.rcdCheckError) out.set('rcd', 'the board reports an RCD check error');
  if (s.ventilationRequiredFail) out.set('other', 'the EV asks for ventilation (state D) and the board does not charge in D');
  if (s.vehicle === 'unknown') out.set('pilot', `the board reports vehicle state ${s.vehicleRaw}, which its map does not name`);
  else if (s.vehicle === 'failure' && !s.diodeCheckFail && !s.rcdCheckError && !s.ventilationRequiredFail) {
    out.set('pilot', 'the board reports a failure (vehicle state 5) without a cause bit');
  }
  return out;
}
