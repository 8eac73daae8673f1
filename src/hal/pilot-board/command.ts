import type { PilotOutput } from '../types.js';
import { currentForDuty, dutyForCurrent, MIN_CURRENT_A } from '../../domain/pwm.js';

/**
 * What evsed wants in the board's two writable registers, from its pilot output and contactor
 * command. Pure.
 *
 * The board closes its relay by itself when it generates PWM and the EV is in C (or D): evsed
 * cannot close it, only allow or forbid. So the board is enabled (turn-off bit clear) while
 * evsed holds the contactor closed, or offers current and has not refused the board's close;
 * otherwise it is told to turn charging off. `refused`: evsed commanded the contactor open while
 * the EV was in C/D, or did not confirm the board's close within a poll (see the driver).
 */
export interface BoardCommand {
  /** configuredCurrent register value: 0 = no offer (steady +12 V). */
  currentRaw: number;
  turnOff: boolean;
}

/**
 * The configuredCurrent value for a duty: in whole amperes the current evsed meant when it made
 * the duty (dutyForCurrent of a whole current rounds down, so 16 A is 26.6 % which an EV reads as
 * 15.96 A; the board makes its own duty from 16 A); in 0.01 A the duty's current itself.
 */
export function boardCurrentForDuty(dutyPermille: number, highResolution: boolean): number {
  const amps = currentForDuty(dutyPermille);
  if (amps < MIN_CURRENT_A) return 0;
  if (highResolution) return Math.floor(amps * 100 + 1e-9);
  const whole = Math.round(amps);
  return dutyForCurrent(whole) === dutyPermille ? whole : Math.floor(amps);
}

export function desiredCommand(i: {
  output: PilotOutput;
  contactorCommanded: boolean;
  refused: boolean;
  /** The board's current resolution; undefined until its configuration was read (then no offer). */
  highResolution: boolean | undefined;
}): BoardCommand {
  const offering = i.output.mode === 'pwm' && i.highResolution !== undefined;
  const currentRaw = offering && i.output.mode === 'pwm' ? boardCurrentForDuty(i.output.dutyPermille, i.highResolution!) : 0;
  const enabled = i.contactorCommanded || (offering && currentRaw > 0 && !i.refused);
  return { currentRaw, turnOff: !enabled };
}
