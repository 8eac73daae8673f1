import { describe, expect, it } from 'vitest';
import { fReadbackGraceMs, type SmAction, type SmEvent } from '../../src/evse/state-machine.js';
import { authorize, cmds, contactorActions, ends, machine, offer, pilot, started, tick } from './sm-helpers.js';

/** S9: a socket's cable lock in the pure state machine (the pin-level proofs are in test/hal/gpio-e2e.test.ts). */

const lockState = (locked: boolean | null): SmEvent => ({ type: 'lock-state', locked });
const locks = (a: SmAction[]) => a.flatMap((x) => (x.type === 'lock' ? [x.locked] : []));

/** A socket with the EV plugged in (B), tag, session recorded: the lock has been commanded. */
function socketInSession(opts = {}) {
  const sm = machine(opts);
  sm.handle(lockState(false), 0);
  sm.handle(offer(16), 0);
  sm.handle(pilot('B'), 0);
  const a = sm.handle(authorize(), 0);
  expect(a.map((x) => x.type)).toContain('start-session');
  expect(locks(a)).toEqual([true]); // locked as the session starts, before anything can close
  sm.handle(started, 10);
  return sm;
}

describe('S9: the cable lock of a socket', () => {
  it('a fixed cable (no lock-state, or null) never gets a lock command', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    expect(locks(sm.handle(authorize(), 0))).toEqual([]);
    sm.handle(started, 10);
    expect(contactorActions(sm.handle(pilot('C'), 20))).toEqual([true]);
    expect(sm.snapshot().cableLocked).toBeNull();
  });

  it('no close until the lock reads locked; then the close in the same step', () => {
    const sm = socketInSession();
    expect(contactorActions(sm.handle(pilot('C'), 20))).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ contactor: false, cableLocked: false });
    expect(contactorActions(sm.handle(lockState(true), 650))).toEqual([true]);
    expect(sm.snapshot()).toMatchObject({ contactor: true, status: 'Charging', cableLocked: true });
  });

  it('the lock actuator fails: fault lock, Faulted, never a close; unplugging clears it and unlocks', () => {
    const sm = socketInSession();
    sm.handle(pilot('C'), 20);
    const a = sm.handle({ type: 'lock-failed', why: 'cable lock did not confirm locked' }, 650);
    expect(contactorActions(a)).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ faults: ['lock'], status: 'Faulted', contactor: false });
    expect(contactorActions(sm.handle(lockState(true), 700))).toEqual([]); // latched while plugged
    const u = sm.handle(pilot('A'), 2000);
    expect(ends(u)).toHaveLength(1);
    expect(locks(u)).toEqual([false]);
    expect(sm.snapshot().faults).toEqual([]);
  });

  it('a lock command that never settles: fault lock at lockTimeoutMs (backstop)', () => {
    const sm = socketInSession({ lockTimeoutMs: 3000 });
    sm.handle(pilot('C'), 20);
    expect(sm.nextDeadline()).toBe(3000);
    sm.handle(tick, 2999);
    expect(sm.snapshot().faults).toEqual([]);
    sm.handle(tick, 3000);
    expect(sm.snapshot()).toMatchObject({ faults: ['lock'], status: 'Faulted', contactor: false });
  });

  it('the lock reads unlocked while closed: the contactor opens first in that step, fault lock', () => {
    const sm = socketInSession();
    sm.handle(lockState(true), 100);
    sm.handle(pilot('C'), 200);
    expect(sm.snapshot().contactor).toBe(true);
    const a = sm.handle(lockState(false), 1000);
    expect(cmds(a)[0]).toMatchObject({ type: 'contactor', closed: false });
    expect(sm.snapshot()).toMatchObject({ faults: ['lock'], status: 'Faulted' });
  });

  it('unlocked only once the session has ended and the contactor is open', () => {
    const sm = socketInSession();
    sm.handle(lockState(true), 100);
    sm.handle(pilot('C'), 200);
    const stop = sm.handle({ type: 'stop', reason: 'Local' }, 1000); // X1: the EV gets its time
    expect(locks(stop)).toEqual([]);
    const b = sm.handle(pilot('B'), 1300);
    const order = cmds(b).map((x) => x.type);
    expect(order.indexOf('contactor')).toBeLessThan(order.indexOf('end-session'));
    expect(order.indexOf('end-session')).toBeLessThan(order.indexOf('lock'));
    expect(locks(b)).toEqual([false]);
    expect(sm.snapshot().status).toBe('Finishing');
    expect(sm.handle(lockState(false), 1400).filter((x) => x.type === 'log' && x.level === 'error')).toEqual([]); // no fault
    expect(sm.snapshot().faults).toEqual([]);
  });

  it('a connector whose lock disappears (lock-state null) stops waiting for it', () => {
    const sm = socketInSession();
    sm.handle(pilot('C'), 20);
    expect(sm.snapshot().contactor).toBe(false);
    expect(contactorActions(sm.handle(lockState(null), 30))).toEqual([true]);
  });
});

describe('E after our own F', () => {
  it('an E that begins within the read-back grace after our F is a fault once the grace is over', () => {
    const sm = machine({ wakeAfterMs: 0 });
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    sm.handle(started, 10);
    sm.handle({ type: 'wake' }, 1000); // F until 5000, then X1
    sm.handle(pilot('F', false), 1010);
    sm.handle(tick, 5000);
    expect(sm.snapshot().output.mode).toBe('x1');
    sm.handle(pilot('E', false), 5040); // shorted to PE, read 40 ms after our F ended
    expect(sm.snapshot().faults).toEqual([]); // may still be our own F on a slow sense...
    expect(sm.nextDeadline()).toBe(5500);
    sm.handle(tick, 5500); // ...but not any more
    expect(sm.snapshot()).toMatchObject({ faults: ['pilot'], status: 'Faulted' });
  });

  it('an F still read when our F ends is judged after the grace too', () => {
    const sm = machine({ wakeAfterMs: 0 });
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    sm.handle(started, 10);
    sm.handle({ type: 'wake' }, 1000);
    sm.handle(pilot('E', false), 1010); // E while we drive F: taken for our own signal
    sm.handle(tick, 5000);
    sm.handle(tick, 5500);
    expect(sm.snapshot().faults).toEqual(['pilot']);
  });

  it('the EV read again within the grace: no fault', () => {
    const sm = machine({ wakeAfterMs: 0 });
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    sm.handle(started, 10);
    sm.handle({ type: 'wake' }, 1000);
    sm.handle(pilot('F', false), 1010);
    sm.handle(tick, 5000);
    sm.handle(pilot('B'), 5260);
    expect(sm.nextDeadline()).not.toBe(5500);
    sm.handle(tick, 5500);
    expect(sm.snapshot().faults).toEqual([]);
  });

  it('the grace follows the pilot sense: our F is read back through its debounce (fReadbackGraceMs)', () => {
    expect(fReadbackGraceMs()).toBe(500);
    expect(fReadbackGraceMs({ debounceMs: 250, samplePeriodMs: 10 })).toBe(500);
    expect(fReadbackGraceMs({ debounceMs: 600, samplePeriodMs: 10 })).toBe(730);
    const sm = machine({ wakeAfterMs: 0, fReadbackGraceMs: 730 });
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    sm.handle(started, 10);
    sm.handle({ type: 'wake' }, 1000);
    sm.handle(pilot('F', false), 1610); // a slow sense reports our F late
    sm.handle(tick, 5000);
    expect(sm.nextDeadline()).toBe(5730);
    sm.handle(pilot('B'), 5620); // and the EV again 620 ms after our F ended
    sm.handle(tick, 5730);
    expect(sm.snapshot().faults).toEqual([]);
  });
});
