import type { FaultKind, PilotReading } from '../hal/types.js';

/**
 * The safety supervisor's rule, kept apart from the session logic: from the raw inputs alone,
 * may the contactor be closed? The connector controller checks it after every input change and
 * every command batch; a violation opens the contactor even if the state machine disagrees
 * (defence in depth against a bug in the state machine).
 */
export interface SupervisorInputs {
  pilot: PilotReading;
  faults: ReadonlySet<FaultKind>;
  authorised: boolean;
}

export function supervisorViolation(i: SupervisorInputs): string | null {
  if (i.pilot.state !== 'C' && i.pilot.state !== 'D') return `pilot state ${i.pilot.state}`;
  if (!i.pilot.diodeOk) return 'EV diode missing';
  if (i.faults.size > 0) return `fault input active: ${[...i.faults].join(', ')}`;
  if (!i.authorised) return 'not authorised';
  return null;
}
