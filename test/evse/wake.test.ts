import { describe, expect, it } from 'vitest';
import { ConnectorStateMachine, type SmAction } from '../../src/evse/state-machine.js';

const pilots = (a: SmAction[]) => a.filter((x) => x.type === 'pilot').map((x) => (x as { output: { mode: string } }).output.mode);

/** A session offering current with the EV sitting in B: plugged, authorised, recorded. */
function offering(sm = new ConnectorStateMachine()) {
  sm.handle({ type: 'offer', amps: 16 }, 0);
  sm.handle({ type: 'pilot', state: 'B', diodeOk: true, diodeChecked: true }, 0);
  sm.handle({ type: 'authorize', idTag: 'T', source: 'local' }, 0);
  sm.handle({ type: 'session-started' }, 10);
  expect(sm.snapshot().output.mode).toBe('pwm');
  // Preparing while the EV may still react to the first offer, SuspendedEV after.
  expect(sm.nextDeadline()).toBe(3000);
  sm.handle({ type: 'tick' }, 3000);
  expect(sm.snapshot().status).toBe('SuspendedEV');
  return sm;
}

describe('EV wake-up (IEC 61851-1 A.5.3 legacy wake-up)', () => {
  it('after 30 s of offer without C: F for 4 s, X1 for 750 ms, then the offer again, once per session', () => {
    const sm = offering();
    expect(sm.nextDeadline()).toBe(30_000);
    expect(pilots(sm.handle({ type: 'tick' }, 29_999))).toEqual([]);
    expect(pilots(sm.handle({ type: 'tick' }, 30_000))).toEqual(['f']);
    expect(sm.snapshot()).toMatchObject({ waking: true, status: 'SuspendedEV', faults: [] });
    // A CP interruption: drivers with a CP relay disconnect CP for it.
    expect(sm.snapshot().output).toEqual({ mode: 'f', cpInterrupt: true });
    // Our own state F reads back as F: not a fault.
    sm.handle({ type: 'pilot', state: 'F', diodeOk: false, diodeChecked: true }, 30_001);
    expect(sm.snapshot().faults).toEqual([]);
    expect(sm.nextDeadline()).toBe(34_000);
    expect(pilots(sm.handle({ type: 'tick' }, 34_000))).toEqual(['x1']);
    sm.handle({ type: 'pilot', state: 'B', diodeOk: true, diodeChecked: true }, 34_001);
    expect(sm.nextDeadline()).toBe(34_750);
    expect(pilots(sm.handle({ type: 'tick' }, 34_750))).toEqual(['pwm']);
    expect(sm.snapshot().waking).toBe(false);
    // Once only: another 30 s in B does not wake again.
    expect(pilots(sm.handle({ type: 'tick' }, 70_000))).toEqual([]);
    expect(sm.nextDeadline()).toBeNull();
  });

  it('never wakes an EV that has already asked for energy in this session', () => {
    const sm = offering();
    sm.handle({ type: 'pilot', state: 'C', diodeOk: true, diodeChecked: true }, 1000);
    expect(sm.snapshot().contactor).toBe(true);
    sm.handle({ type: 'pilot', state: 'B', diodeOk: true, diodeChecked: true }, 2000); // EV paused itself
    expect(pilots(sm.handle({ type: 'tick' }, 60_000))).toEqual([]);
  });

  it('the wake command starts it at once; a fault or unplug cancels it', () => {
    const sm = offering();
    expect(pilots(sm.handle({ type: 'wake' }, 5000))).toEqual(['f']);
    sm.handle({ type: 'pilot', state: 'F', diodeOk: false, diodeChecked: true }, 5001);
    sm.handle({ type: 'pilot', state: 'A', diodeOk: true, diodeChecked: true }, 6000); // unplugged during F (reads A once F ends on real hardware)
    const s = sm.snapshot();
    expect(s.waking).toBe(false);
    expect(s.session).toBe(false);
    expect(s.output.mode).toBe('x1');
  });

  it('the wake command is refused while charging', () => {
    const sm = offering();
    sm.handle({ type: 'pilot', state: 'C', diodeOk: true, diodeChecked: true }, 1000);
    const out = sm.handle({ type: 'wake' }, 2000);
    expect(pilots(out)).toEqual([]);
    expect(out.some((a) => a.type === 'log' && a.msg.startsWith('wake-up ignored'))).toBe(true);
    expect(sm.snapshot().contactor).toBe(true);
  });

  it('wakeAfterMs 0 disables the automatic wake-up', () => {
    const sm = offering(new ConnectorStateMachine({ wakeAfterMs: 0 }));
    expect(sm.nextDeadline()).toBeNull();
    expect(pilots(sm.handle({ type: 'tick' }, 120_000))).toEqual([]);
  });

  it('a fault during the wake-up ends the interruption: fault F is plain F (CP reconnected)', () => {
    const sm = offering();
    sm.handle({ type: 'wake' }, 5000);
    expect(sm.snapshot().output).toEqual({ mode: 'f', cpInterrupt: true });
    const out = sm.handle({ type: 'fault', kind: 'rcd', active: true }, 5100);
    expect(out.filter((a) => a.type === 'pilot').map((a) => (a as { output: unknown }).output)).toEqual([{ mode: 'f' }]);
    expect(sm.snapshot()).toMatchObject({ waking: false, output: { mode: 'f' } });
    expect(sm.snapshot().output).not.toHaveProperty('cpInterrupt');
  });
});
