import type { PilotReading } from './pilot.js';
import type { FaultKind } from './types.js';

/**
 * The safety supervisor's rule, kept apart from the session logic: from the raw inputs alone,
 * may the contactor be closed? The connector controller consults it before every close command
 * (a veto: the pin is not written when it objects) and after every step while the contactor is
 * closed (it opens it), so a bug in the state machine cannot close or hold the contactor against
 * the inputs (defence in depth). Pure: no I/O, no time.
 */
export interface SupervisorInputs {
  /** The driver's own pilot reading now, not the state machine's copy of it. */
  pilot: PilotReading;
  /** Fault inputs the board asserts now. */
  boardFaults: ReadonlySet<FaultKind>;
  /** Faults active or latched in the state machine. */
  latchedFaults: readonly FaultKind[];
  /** An authorisation with a session recorded in the store. */
  authorised: boolean;
  /**
   * The cable lock of a socket as read now (its feedback, else as last driven and confirmed):
   * true locked; false unlocked, moving or unknown; null: no lock (a fixed cable).
   */
  cableLocked: boolean | null;
}

/**
 * The violated rule, or null. `closing`: about to close (the diode verdict must also be fresh);
 * else: may it stay closed (a withdrawn offer in X1 keeps a closed contactor for the stop timeout,
 * when no fresh verdict can exist).
 */
export function supervisorViolation(i: SupervisorInputs, closing: boolean): string | null {
  if (i.pilot.state !== 'C' && i.pilot.state !== 'D') return `pilot state ${i.pilot.state}`;
  if (!i.pilot.diodeOk) return 'EV diode missing';
  if (closing && !i.pilot.diodeChecked) return 'EV diode not checked with PWM running';
  if (i.boardFaults.size > 0) return `fault input active: ${[...i.boardFaults].join(', ')}`;
  if (i.latchedFaults.length > 0) return `fault latched: ${i.latchedFaults.join(', ')}`;
  // A socket's plug is locked before the close and while closed: pulled under load, it arcs.
  if (i.cableLocked === false) return 'cable lock not confirmed locked';
  if (!i.authorised) return 'no authorised, recorded session';
  return null;
}

/** What the phase relay rule reads (the driver's own state, not the state machine's). */
export interface PhaseRelayInputs {
  /** The contactor is commanded closed (or a close waits for its RCD self-test). */
  contactorCommanded: boolean;
  /** The contactor's aux contact: true closed, false open, undefined not wired. */
  contactorFeedback: boolean | undefined;
  /** Fault inputs active and faults latched. */
  faults: ReadonlySet<string>;
}

/**
 * May the 1p/3p relay change now? Never under load: the contactor must be commanded open and,
 * where its aux contact is wired, read open; never with a fault active (a fault may mean the
 * contactor cannot be trusted). The violated rule, or null.
 */
export function phaseRelayViolation(i: PhaseRelayInputs): string | null {
  if (i.contactorCommanded) return 'the contactor is commanded closed';
  if (i.contactorFeedback === true) return 'the contactor feedback reads closed';
  if (i.faults.size > 0) return `fault active: ${[...i.faults].join(', ')}`;
  return null;
}

/**
 * A close within the phase relay's settle time after a change (its contacts may still bounce,
 * and the contactor would make on a bouncing relay): the violated rule, or null.
 */
export function relaySettleViolation(changedAtMs: number | null, settleMs: number, nowMs: number): string | null {
  if (changedAtMs === null || nowMs >= changedAtMs + settleMs) return null;
  return `the phase relay changed ${Math.round(nowMs - changedAtMs)} ms ago (settle time ${settleMs} ms)`;
}
