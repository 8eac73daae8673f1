import { describe, expect, it } from 'vitest';
import type { SmAction, SmEvent } from '../../src/evse/state-machine.js';
import { authorize, contactorActions, fault, machine, offer, pilot, pilotActions, runDeadlines, started, tick, toCharging } from './sm-helpers.js';

/**
 * 1p/3p switching in the pure state machine, on a fake clock: the only allowed sequence (withdraw
 * the offer, wait for the EV to stop drawing, open, CP off for the pause, switch, settle, offer
 * again) and every way out of it.
 */

const PAUSE = 10_000;
const SETTLE = 100;
const opts = { phasePauseMs: PAUSE, phaseSettleMs: SETTLE, phaseMaxPerSession: 4 };
const request = (phases: 1 | 3): SmEvent => ({ type: 'phase-switch', phases });
const done = (phases: 1 | 3, ok = true, why?: string): SmEvent => ({ type: 'phase-relay-done', phases, ok, ...(why ? { why } : {}) });
const relayCmds = (a: SmAction[]) => a.flatMap((x) => (x.type === 'phase-relay' ? [x.phases] : []));
const endings = (a: SmAction[]) => a.flatMap((x) => (x.type === 'phase-switch-ended' ? [{ result: x.result, why: x.why }] : []));

describe('phase switch sequence (pure, fake clock)', () => {
  it('while charging: X1, EV goes to B, open, X1 pause, switch, settle, offer again; the EV closes again with the normal rules', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    const all: SmAction[] = [];
    let a = sm.handle(request(1), 1000);
    all.push(...a);
    expect(pilotActions(a)).toEqual([{ mode: 'x1' }]);
    expect(contactorActions(a)).toEqual([]); // not under load: the EV is told first
    expect(sm.snapshot()).toMatchObject({ status: 'SuspendedEVSE', contactor: true, phaseSwitch: { phases: 1, step: 'withdraw' } });
    a = sm.handle(pilot('B'), 1200); // the EV stops drawing
    all.push(...a);
    expect(contactorActions(a)).toEqual([false]);
    expect(sm.snapshot()).toMatchObject({ status: 'SuspendedEVSE', phaseSwitch: { step: 'pause' } });
    expect(sm.nextDeadline()).toBe(1200 + PAUSE);
    a = sm.handle(tick, 1200 + PAUSE - 1);
    expect(relayCmds(a)).toEqual([]);
    a = sm.handle(tick, 1200 + PAUSE);
    all.push(...a);
    expect(relayCmds(a)).toEqual([1]);
    expect(sm.snapshot().phaseSwitch).toMatchObject({ step: 'switch' });
    a = sm.handle(done(1), 11_210);
    all.push(...a);
    expect(sm.snapshot()).toMatchObject({ phaseSwitch: { step: 'settle' }, switchesThisSession: 1, output: { mode: 'x1' } });
    a = runDeadlines(sm, 11_310);
    all.push(...a);
    expect(pilotActions(a)).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
    expect(endings(a)).toEqual([{ result: 'Accepted', why: 'switched to 1 phase' }]);
    expect(sm.snapshot()).toMatchObject({ phaseSwitch: null, session: true, status: 'SuspendedEV' });
    // Nothing closed during the whole sequence.
    expect(contactorActions(all)).toEqual([false]);
    a = sm.handle(pilot('C'), 11_500);
    expect(contactorActions(a)).toEqual([true]);
    expect(sm.snapshot().status).toBe('Charging');
  });

  it('with a CP relay the pause is a CP interruption (F, cpInterrupt), read back as our own signal, not a fault', () => {
    const sm = machine({ ...opts, phaseCpInterrupt: true });
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    const a = sm.handle(pilot('B'), 1200);
    expect(pilotActions(a)).toEqual([{ mode: 'f', cpInterrupt: true }]);
    sm.handle(pilot('F', false), 1210);
    expect(sm.snapshot().faults).toEqual([]);
    runDeadlines(sm, 1200 + PAUSE);
    sm.handle(done(1), 11_300);
    const b = runDeadlines(sm, 11_400);
    expect(pilotActions(b)).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
    sm.handle(pilot('B'), 11_450);
    expect(sm.snapshot().faults).toEqual([]);
  });

  it('an EV that stays in C but draws below 1 A: the contactor opens without waiting for B', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    expect(contactorActions(sm.handle({ type: 'drawing', amps: 4 }, 1500))).toEqual([]);
    expect(contactorActions(sm.handle({ type: 'drawing', amps: 0.4 }, 2000))).toEqual([false]);
    expect(sm.snapshot().phaseSwitch).toMatchObject({ step: 'pause' });
    expect(sm.nextDeadline()).toBe(2000 + PAUSE);
  });

  it('an EV that keeps drawing: opened at the stop timeout (as any stop), then the pause', () => {
    const sm = machine({ ...opts, stopTimeoutMs: 6000 });
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    expect(sm.nextDeadline()).toBe(7000);
    const a = runDeadlines(sm, 7000);
    expect(contactorActions(a)).toEqual([false]);
    expect(sm.snapshot().phaseSwitch).toMatchObject({ step: 'pause' });
    expect(sm.nextDeadline()).toBe(7000 + PAUSE);
  });

  it('a fault while the offer is withdrawn: opens at once, aborts, the relay is never commanded', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    const a = sm.handle(fault('rcd'), 1100);
    expect(contactorActions(a)).toEqual([false]);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'aborted: fault active: rcd' }]);
    expect(sm.snapshot().phaseSwitch).toBeNull();
    expect(relayCmds(runDeadlines(sm, 60_000))).toEqual([]);
  });

  it('a fault during the pause aborts; the relay is never commanded', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    sm.handle(pilot('B'), 1200);
    const a = sm.handle(fault('overtemperature'), 5000);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'aborted: fault active: overtemperature' }]);
    expect(pilotActions(a)).toEqual([{ mode: 'f' }]); // the fault's own signal
    expect(relayCmds(runDeadlines(sm, 60_000))).toEqual([]);
  });

  it('a fault while the relay command is out: aborted; a late answer changes nothing', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    sm.handle(pilot('B'), 1200);
    runDeadlines(sm, 1200 + PAUSE);
    const a = sm.handle(fault('rcd'), 11_205);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'aborted: fault active: rcd' }]);
    const b = sm.handle(done(1), 11_210);
    expect(endings(b)).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ phaseSwitch: null, switchesThisSession: 0 });
  });

  it('the session stops during the pause: aborted, the session ends, no switch', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    sm.handle(pilot('B'), 1200);
    const a = sm.handle({ type: 'stop', reason: 'Local' }, 3000);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'aborted: the session is stopping' }]);
    expect(a.some((x) => x.type === 'end-session')).toBe(true);
    expect(relayCmds(runDeadlines(sm, 60_000))).toEqual([]);
  });

  it('the EV is unplugged during the pause: aborted, no switch', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(3), 1000);
    sm.handle(pilot('B'), 1200);
    const a = sm.handle(pilot('A'), 3000);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'aborted: the session is stopping' }]);
    expect(relayCmds(runDeadlines(sm, 60_000))).toEqual([]);
  });

  it('the safety core refuses the relay: Rejected with its reason, the offer returns on the old phases', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    sm.handle(pilot('B'), 1200);
    runDeadlines(sm, 1200 + PAUSE);
    const a = sm.handle(done(1, false, 'the contactor feedback reads closed'), 11_210);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'the safety core refused the relay: the contactor feedback reads closed' }]);
    expect(pilotActions(a)).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
    expect(sm.snapshot().switchesThisSession).toBe(0);
  });

  it('bounded per session: past phaseMaxPerSession Rejected at once (offer untouched); a new session starts again from 0', () => {
    const sm = machine({ ...opts, phaseMaxPerSession: 2 });
    toCharging(sm, 0);
    let t = 1000;
    for (const p of [1, 3] as const) {
      sm.handle(request(p), t);
      sm.handle(pilot('B'), t + 200);
      runDeadlines(sm, t + 200 + PAUSE);
      sm.handle(done(p), t + 200 + PAUSE + 5);
      const a = runDeadlines(sm, t + 200 + PAUSE + 5 + SETTLE);
      expect(endings(a)).toEqual([{ result: 'Accepted', why: `switched to ${p} phase${p === 1 ? '' : 's'}` }]);
      sm.handle(pilot('C'), t + 20_000);
      t += 30_000;
    }
    expect(sm.snapshot()).toMatchObject({ switchesThisSession: 2, contactor: true });
    const a = sm.handle(request(1), t);
    expect(endings(a)).toEqual([{ result: 'Rejected', why: 'already 2 phase switches in this session (connectors[].phaseSwitch.maxPerSession)' }]);
    expect(pilotActions(a)).toEqual([]);
    expect(sm.snapshot().contactor).toBe(true);
    // The next session may switch again.
    sm.handle({ type: 'stop', reason: 'Local' }, t + 1);
    sm.handle(pilot('B'), t + 200);
    sm.handle(pilot('A'), t + 300);
    sm.handle(pilot('B'), t + 400);
    sm.handle(authorize(), t + 400);
    sm.handle(started, t + 410);
    expect(sm.snapshot()).toMatchObject({ session: true, switchesThisSession: 0 });
    expect(sm.snapshot().phaseSwitch).toBeNull();
    sm.handle(request(1), t + 500);
    expect(sm.snapshot().phaseSwitch).toMatchObject({ step: 'pause' }); // in B, contactor open: straight to the pause
  });

  it('refused at once with a fault, while stopping, or while another switch runs', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    expect(endings(sm.handle(request(3), 1001))).toEqual([{ result: 'Rejected', why: 'a phase switch is already under way' }]);
    const f = machine(opts);
    f.handle(offer(16), 0);
    f.handle(pilot('B'), 0);
    f.handle(fault('rcd'), 10);
    expect(endings(f.handle(request(1), 20))).toEqual([{ result: 'Rejected', why: 'fault active: rcd' }]);
    const s = machine({ ...opts, stopTimeoutMs: 6000 });
    toCharging(s, 0);
    s.handle({ type: 'stop', reason: 'Local' }, 100); // EV still in C: stopping for up to 6 s
    expect(endings(s.handle(request(1), 200))).toEqual([{ result: 'Rejected', why: 'the session is stopping' }]);
  });

  it('without a session: the relay switches at once (nothing to suspend), nothing counted', () => {
    const sm = machine(opts);
    sm.handle(offer(16), 0);
    const a = sm.handle(request(1), 10);
    expect(relayCmds(a)).toEqual([1]);
    expect(pilotActions(a)).toEqual([]);
    const b = sm.handle(done(1), 12);
    expect(endings(b)).toEqual([{ result: 'Accepted', why: 'switched to 1 phase' }]);
    expect(sm.snapshot()).toMatchObject({ phaseSwitch: null, switchesThisSession: 0, status: 'Available' });
  });

  it('no close while a switch runs, even if the EV asks (C) during the pause', () => {
    const sm = machine(opts);
    toCharging(sm, 0);
    sm.handle(request(1), 1000);
    sm.handle(pilot('B'), 1200);
    expect(contactorActions(sm.handle(pilot('C'), 2000))).toEqual([]);
    expect(sm.contactorViolation(2000, true)).not.toBeNull();
  });
});
