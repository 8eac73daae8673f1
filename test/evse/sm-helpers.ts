import { expect } from 'vitest';
import type { PilotState } from '../../src/hal/types.js';
import { ConnectorStateMachine, type SmAction, type SmEvent, type StateMachineOptions } from '../../src/evse/state-machine.js';

/** A pilot reading; `diodeChecked` defaults to a fresh measured verdict (PWM running) in B/C/D. */
export const pilot = (state: PilotState, diodeOk = true, diodeChecked = true): SmEvent => ({ type: 'pilot', state, diodeOk, diodeChecked });
export const authorize = (idTag: string | null = 'TAG1'): SmEvent => ({ type: 'authorize', idTag, source: 'local' });
export const offer = (amps: number): SmEvent => ({ type: 'offer', amps });
export const fault = (kind: import('../../src/domain/types.js').FaultKind, active = true): SmEvent => ({ type: 'fault', kind, active });
export const tick: SmEvent = { type: 'tick' };
export const started: SmEvent = { type: 'session-started' };

export function machine(opts: Partial<StateMachineOptions> = {}): ConnectorStateMachine {
  return new ConnectorStateMachine(opts);
}

/** The actions without the log lines: what the controller executes. */
export function cmds(actions: SmAction[]): SmAction[] {
  return actions.filter((a) => a.type !== 'log');
}

export function contactorActions(actions: SmAction[]): boolean[] {
  return actions.flatMap((a) => (a.type === 'contactor' ? [a.closed] : []));
}

export function pilotActions(actions: SmAction[]) {
  return actions.flatMap((a) => (a.type === 'pilot' ? [a.output] : []));
}

export function ends(actions: SmAction[]) {
  return actions.flatMap((a) => (a.type === 'end-session' ? [a] : []));
}

/**
 * Brings a fresh machine to Charging at time t: offer 16 A, EV plugged (B), tag, session
 * recorded, EV asks for energy (C). Asserts the contactor closed on the C step.
 */
export function toCharging(sm: ConnectorStateMachine, t = 0, amps = 16): void {
  sm.handle(offer(amps), t);
  sm.handle(pilot('B'), t);
  sm.handle(authorize(), t);
  sm.handle(started, t);
  const a = sm.handle(pilot('C'), t);
  expect(contactorActions(a)).toEqual([true]);
  expect(sm.snapshot().status).toBe('Charging');
}

/** Tick the machine at every deadline it reports up to and including `until`, as the controller's timer does. */
export function runDeadlines(sm: ConnectorStateMachine, until: number): SmAction[] {
  const all: SmAction[] = [];
  let n = 0;
  for (let d = sm.nextDeadline(); d !== null && d <= until; d = sm.nextDeadline()) {
    if (++n > 100) throw new Error(`deadline ${d} is reported again after being ticked: the machine would spin`);
    all.push(...sm.handle(tick, d));
  }
  return all;
}
