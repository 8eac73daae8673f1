import { describe, expect, it } from 'vitest';
import type { PilotOutput, PilotState } from '../../src/hal/types.js';
import type { FaultKind } from '../../src/domain/types.js';
import { FAULT_KINDS } from '../../src/domain/faults.js';
import type { ConnectorStateMachine, SmAction, SmEvent } from '../../src/evse/state-machine.js';
import { supervisorViolation, type SupervisorInputs } from '../../src/domain/supervisor.js';
import { authorize, cmds, contactorActions, ends, fault, machine, offer, pilot, pilotActions, runDeadlines, started, tick, toCharging } from './sm-helpers.js';

/** Everything that could make a machine close, thrown at it in one go (it must still refuse). */
function temptations(sm: ConnectorStateMachine, t: number): SmAction[] {
  const evs: SmEvent[] = [offer(32), { type: 'resume' }, tick, offer(16), tick];
  return evs.flatMap((e, i) => sm.handle(e, t + i));
}

/** A session recorded, offer present, EV in B: one step from closing. */
function readyInB(amps = 16): ConnectorStateMachine {
  const sm = machine();
  sm.handle(offer(amps), 0);
  sm.handle(pilot('B'), 0);
  sm.handle(authorize(), 0);
  sm.handle(started, 0);
  expect(sm.snapshot()).toMatchObject({ session: true, output: { mode: 'pwm' }, contactor: false });
  return sm;
}

/** The first action that is not a log line. */
function firstCommand(actions: SmAction[]): SmAction | undefined {
  return cmds(actions)[0];
}

describe('S1: the contactor closes only in pilot state C or D', () => {
  for (const st of ['A', 'B', 'E', 'F'] as const) {
    it(`S1: it does not close with the pilot in state ${st}, whatever else is offered`, () => {
      const sm = readyInB();
      const a = [...sm.handle(pilot(st), 100), ...temptations(sm, 200)];
      expect(contactorActions(a)).toEqual([]);
      expect(sm.snapshot().contactor).toBe(false);
    });
  }

  it('S1: it closes in D (ventilation requested) like C', () => {
    const sm = readyInB();
    expect(contactorActions(sm.handle(pilot('D'), 100))).toEqual([true]);
  });

  it('S1: the gate names the pilot state as the violation', () => {
    const sm = readyInB();
    expect(sm.contactorViolation(100, true)).toMatch(/state B/);
  });
});

describe('S2: the contactor closes only with no fault (active or latched) and the EV diode present', () => {
  for (const kind of FAULT_KINDS) {
    it(`S2: it does not close while fault '${kind}' is active`, () => {
      const sm = readyInB();
      sm.handle(fault(kind), 100);
      runDeadlines(sm, 1000);
      const a = [...sm.handle(pilot('C'), 1000), ...temptations(sm, 1100), ...sm.handle({ type: 'clear-faults' }, 1200)];
      expect(contactorActions(a)).toEqual([]);
      expect(sm.snapshot()).toMatchObject({ contactor: false, status: 'Faulted' });
      expect(sm.snapshot().faults).toContain(kind);
    });
  }

  for (const kind of ['rcd', 'overcurrent', 'contactor', 'pilot', 'diode', 'stall', 'other'] as FaultKind[]) {
    it(`S2: it does not close with fault '${kind}' latched after its input cleared (EV still plugged)`, () => {
      const sm = readyInB();
      sm.handle(fault(kind), 100);
      sm.handle(fault(kind, false), 200);
      runDeadlines(sm, 1000);
      expect(sm.snapshot().faults).toEqual([kind]);
      const a = [...sm.handle(pilot('C'), 1000), ...temptations(sm, 1100)];
      expect(contactorActions(a)).toEqual([]);
      expect(sm.snapshot().status).toBe('Faulted');
      expect(sm.contactorViolation(1200, true)).toMatch(new RegExp(`fault active: ${kind}`));
    });
  }

  it('S2: it does not close when the EV diode is missing (pilot C with a failed diode check), and that latches', () => {
    const sm = readyInB();
    const a = sm.handle(pilot('C', false), 100);
    expect(contactorActions(a)).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ diodeOk: false, faults: ['diode'], status: 'Faulted' });
    // The diode comes back: still latched while plugged.
    expect(contactorActions([...sm.handle(pilot('C', true), 200), ...temptations(sm, 300)])).toEqual([]);
    expect(sm.snapshot().faults).toEqual(['diode']);
  });

  it('S2: a diode failure seen in B already forbids the next C', () => {
    const sm = readyInB();
    sm.handle(pilot('B', false), 100);
    expect(contactorActions(sm.handle(pilot('C', true), 200))).toEqual([]);
  });

  it('S2: an EV already in C at X1 when the offer arrives: PWM starts, the close waits for a diode verdict measured with it', () => {
    const sm = machine();
    sm.handle(pilot('B', true, false), 0);
    sm.handle(authorize(), 0);
    sm.handle(started, 0); // no offer yet: X1
    expect(sm.snapshot().output).toEqual({ mode: 'x1' });
    sm.handle(pilot('C', true, false), 100); // X1: no negative half, no verdict
    const a = sm.handle(offer(16), 200);
    expect(pilotActions(a)).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
    expect(contactorActions(a)).toEqual([]); // not in the step that starts the PWM
    expect(sm.contactorViolation(200, true)).toMatch(/diode not yet checked/);
    expect(contactorActions([...sm.handle(pilot('C', true, false), 210), ...temptations(sm, 215)])).toEqual([]);
    expect(contactorActions(sm.handle(pilot('C', true, true), 220))).toEqual([true]);
  });

  it('S2: a verdict from before the output changed does not count (PWM -> X1 -> PWM)', () => {
    const sm = readyInB();
    sm.handle(pilot('B', true, true), 50); // verdict with PWM: good
    sm.handle({ type: 'pause' }, 60); // X1
    sm.handle(pilot('C', true, true), 70); // a stale "checked" reading in X1 is not believed
    expect(contactorActions(sm.handle({ type: 'resume' }, 80))).toEqual([]);
    expect(sm.snapshot().diodeChecked).toBe(false);
    expect(contactorActions(sm.handle(pilot('C', true, true), 100))).toEqual([true]);
  });

  it('S2: a tag presented while faulted is refused', () => {
    const sm = machine();
    sm.handle(pilot('B'), 0);
    sm.handle(fault('rcd'), 10);
    const a = sm.handle(authorize(), 20);
    expect(a.filter((x) => x.type === 'start-session')).toEqual([]);
    expect(sm.snapshot().auth).toBeNull();
  });
});

describe('S3: the contactor closes only while authorised with a recorded session', () => {
  it('S3: an EV in C with an offer but no tag gets no session and no contactor', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    const a = [...sm.handle(pilot('B'), 0), ...sm.handle(pilot('C'), 100), ...temptations(sm, 200)];
    expect(a.filter((x) => x.type === 'start-session' || x.type === 'contactor')).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ contactor: false, session: false, output: { mode: 'x1' } });
  });

  it('S3: authorised but the session not yet recorded (start-session pending): PWM may be on, the contactor stays open', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    expect(cmds(sm.handle(authorize(), 0))[0]).toMatchObject({ type: 'start-session' });
    const a = [...sm.handle(pilot('C'), 100), ...temptations(sm, 200), ...sm.handle(tick, 60_000)];
    expect(contactorActions(a)).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ contactor: false, session: false, output: { mode: 'pwm' } });
    expect(sm.contactorViolation(60_000, true)).toBe('no recorded session');
    // Recording it is what allows the close.
    expect(contactorActions(sm.handle(started, 60_001))).toEqual([true]);
  });

  it('S3: after the session ended (no authorisation left) an EV still in C does not get the contactor back', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle({ type: 'stop', reason: 'Local' }, 100);
    runDeadlines(sm, 10_000); // forced open at 6100, session ended
    expect(sm.snapshot()).toMatchObject({ session: false, auth: null, contactor: false });
    const a = [...sm.handle(pilot('B'), 10_000), ...sm.handle(pilot('C'), 10_100), ...temptations(sm, 10_200)];
    expect(contactorActions(a)).toEqual([]);
  });

  it('S3: deauthorised before the session is recorded: the recorded session ends at once and never closes', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('C'), 0);
    sm.handle(authorize(), 0);
    sm.handle({ type: 'deauthorize', reason: 'DeAuthorized' }, 10);
    const a = sm.handle(started, 20);
    expect(contactorActions(a)).toEqual([]);
    expect(ends(a)).toEqual([{ type: 'end-session', reason: 'DeAuthorized', stopIdTag: null }]);
  });
});

describe('S4: the contactor closes only with an offer, available, not paused, not stopping', () => {
  it('S4: no offer (0 A, and below 6 A) -> X1 and no close', () => {
    for (const amps of [0, 5.99]) {
      const sm = machine();
      sm.handle(offer(amps), 0);
      sm.handle(pilot('B'), 0);
      sm.handle(authorize(), 0);
      sm.handle(started, 0);
      const a = [...sm.handle(pilot('C'), 100), ...sm.handle(tick, 200), ...sm.handle({ type: 'resume' }, 300)];
      expect(contactorActions(a), `${amps} A`).toEqual([]);
      expect(sm.snapshot()).toMatchObject({ output: { mode: 'x1' }, status: 'SuspendedEVSE' });
      expect(sm.contactorViolation(300, true)).toBe('no current offered');
    }
  });

  it('S4: paused -> no close until resumed', () => {
    const sm = readyInB();
    sm.handle({ type: 'pause' }, 50);
    const a = [...sm.handle(pilot('C'), 100), ...sm.handle(offer(32), 200), ...sm.handle(tick, 300)];
    expect(contactorActions(a)).toEqual([]);
    // Resuming starts the PWM: the close waits for a diode verdict measured with it running.
    expect(contactorActions(sm.handle({ type: 'resume' }, 400))).toEqual([]);
    expect(contactorActions(sm.handle(pilot('C'), 420))).toEqual([true]);
  });

  it('S4: unavailable -> no session, no offer, no close', () => {
    const sm = machine();
    sm.handle({ type: 'availability', available: false }, 0);
    sm.handle(offer(16), 0);
    const a = [...sm.handle(pilot('B'), 0), ...sm.handle(authorize(), 10), ...sm.handle(pilot('C'), 20), ...temptations(sm, 30)];
    expect(a.filter((x) => x.type === 'contactor' || x.type === 'start-session')).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ status: 'Unavailable', contactor: false, output: { mode: 'x1' } });
  });

  it('S4: stopping -> the EV going back to C does not re-close', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle({ type: 'stop', reason: 'Local' }, 100);
    // EV opens S2, then tries C again before the session end is processed by anyone.
    const a = [...sm.handle(pilot('B'), 200), ...sm.handle(pilot('C'), 210), ...temptations(sm, 220)];
    expect(contactorActions(a)).toEqual([false]);
  });

  it('S4: a stop requested while starting keeps the contactor open even with the EV in C when the session is recorded', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('C'), 0);
    sm.handle(authorize(), 0);
    sm.handle({ type: 'stop', reason: 'Remote' }, 5);
    expect(contactorActions(sm.handle(started, 10))).toEqual([]);
  });
});

describe('S5: the contactor opens in the same step as the input that forbids it', () => {
  for (const st of ['A', 'B', 'E', 'F'] as const) {
    it(`S5: contactor opens in the same step when the pilot goes C -> ${st}`, () => {
      const sm = machine();
      toCharging(sm);
      const a = sm.handle(pilot(st), 1000);
      expect(firstCommand(a)).toMatchObject({ type: 'contactor', closed: false });
      expect(sm.snapshot().contactor).toBe(false);
    });
  }

  for (const kind of FAULT_KINDS) {
    it(`S5: contactor opens in the same step when fault '${kind}' is raised`, () => {
      const sm = machine();
      toCharging(sm);
      const a = sm.handle(fault(kind), 1000);
      expect(firstCommand(a)).toMatchObject({ type: 'contactor', closed: false });
      expect(sm.snapshot().contactor).toBe(false);
    });
  }

  it('S5: contactor opens in the same step when an RCD fault is raised, before the pilot is driven to F', () => {
    const sm = machine();
    toCharging(sm);
    expect(cmds(sm.handle(fault('rcd'), 1000))).toEqual([
      { type: 'contactor', closed: false, why: expect.stringContaining('rcd') },
      { type: 'pilot', output: { mode: 'f' } },
      { type: 'status', status: 'Faulted', previous: 'Charging' },
    ]);
  });

  it('S5: contactor opens in the same step when the diode check fails in C', () => {
    const sm = machine();
    toCharging(sm);
    const a = sm.handle(pilot('C', false), 1000);
    expect(firstCommand(a)).toMatchObject({ type: 'contactor', closed: false });
  });

  it('S5: contactor opens in the same step when the authorisation is withdrawn', () => {
    const sm = machine();
    toCharging(sm);
    const a = sm.handle({ type: 'deauthorize', reason: 'EmergencyStop' }, 1000);
    expect(firstCommand(a)).toMatchObject({ type: 'contactor', closed: false, why: 'not authorised' });
    expect(ends(a)).toEqual([{ type: 'end-session', reason: 'EmergencyStop', stopIdTag: null }]);
  });

  it('S5: a stop (offer withdrawn) is NOT an emergency: the contactor waits for the EV (S6)', () => {
    const sm = machine();
    toCharging(sm);
    expect(contactorActions(sm.handle({ type: 'stop', reason: 'Local' }, 1000))).toEqual([]);
  });
});

describe('S6: offer withdrawn with the contactor closed: stopTimeoutMs for the EV to go to B, then open under load', () => {
  for (const [name, withdraw] of [
    ['stop', { type: 'stop', reason: 'Local' }],
    ['offer 0', offer(0)],
    ['pause', { type: 'pause' }],
  ] as [string, SmEvent][]) {
    it(`S6: after '${name}' with the EV ignoring X1 the contactor opens at exactly +stopTimeoutMs`, () => {
      const sm = machine({ stopTimeoutMs: 6000 });
      toCharging(sm);
      expect(pilotActions(sm.handle(withdraw, 2000))).toEqual([{ mode: 'x1' }]);
      expect(sm.nextDeadline()).toBe(8000);
      // Any input before the deadline leaves it closed.
      const early = [...sm.handle(pilot('C'), 3000), ...sm.handle(tick, 7999)];
      expect(contactorActions(early)).toEqual([]);
      expect(sm.snapshot().contactor).toBe(true);
      const a = sm.handle(tick, 8000);
      expect(firstCommand(a)).toMatchObject({ type: 'contactor', closed: false, why: expect.stringMatching(/6000 ms .*under load/) });
      expect(sm.snapshot().contactor).toBe(false);
      expect(sm.nextDeadline()).toBeNull();
    });
  }

  it('S6: a custom stopTimeoutMs is honoured', () => {
    const sm = machine({ stopTimeoutMs: 1500 });
    toCharging(sm);
    sm.handle({ type: 'stop', reason: 'Local' }, 0);
    expect(contactorActions(sm.handle(tick, 1499))).toEqual([]);
    expect(contactorActions(sm.handle(tick, 1500))).toEqual([false]);
  });

  it('S6: a late tick (event loop busy) opens at once', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle({ type: 'stop', reason: 'Local' }, 0);
    expect(contactorActions(sm.handle(offer(16), 9000))).toEqual([false]);
  });

  it('S6: an offer that is back when a late step is handled keeps the contactor closed (no open-and-reclose under load)', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle(offer(0), 0);
    const a = sm.handle(offer(10), 9000); // the 6000 ms tick never came (event loop busy)
    expect(contactorActions(a)).toEqual([]);
    expect(pilotActions(a)).toEqual([{ mode: 'pwm', dutyPermille: 166 }]);
    expect(sm.snapshot().contactor).toBe(true);
    expect(sm.nextDeadline()).toBeNull();
  });

  it('S6: the offer coming back before the timeout cancels the forced open', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle(offer(0), 1000);
    sm.handle(offer(16), 3000);
    expect(sm.nextDeadline()).toBeNull();
    expect(contactorActions(sm.handle(tick, 20_000))).toEqual([]);
    expect(sm.snapshot().contactor).toBe(true);
    // A second withdrawal gets its own full timeout.
    sm.handle(offer(0), 21_000);
    expect(sm.nextDeadline()).toBe(27_000);
  });
});

describe('S7: faults drive F for faultFMs then X1, and latch until unplug (welding until a technician clears it)', () => {
  it("S7: a fault while charging drives 'f' for exactly faultFMs, then 'x1' — never a 0 % duty", () => {
    const sm = machine({ faultFMs: 300 });
    toCharging(sm);
    expect(pilotActions(sm.handle(fault('overcurrent'), 1000))).toEqual([{ mode: 'f' }]);
    expect(sm.nextDeadline()).toBe(1300);
    // Reading our own F is not a new pilot fault.
    sm.handle(pilot('F'), 1001);
    expect(sm.snapshot().faults).toEqual(['overcurrent']);
    expect(pilotActions(sm.handle(tick, 1299))).toEqual([]);
    expect(sm.snapshot().output).toEqual({ mode: 'f' });
    expect(pilotActions(sm.handle(tick, 1300))).toEqual([{ mode: 'x1' }]);
    expect(sm.nextDeadline()).toBe(1800); // the F still read is judged again once the read-back grace is over
    sm.handle(pilot('B'), 1310);
    expect(sm.nextDeadline()).toBeNull();
    expect(sm.snapshot()).toMatchObject({ output: { mode: 'x1' }, status: 'Faulted', faults: ['overcurrent'] });
  });

  it('S7: with no EV plugged a fault goes straight to X1 (no F pulse)', () => {
    const sm = machine();
    expect(pilotActions(sm.handle(fault('rcd'), 0))).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ output: { mode: 'x1' }, status: 'Faulted' });
    expect(sm.nextDeadline()).toBeNull();
  });

  it('S7: faultFMs = 0 disables the F pulse (for EVs that latch on F)', () => {
    const sm = machine({ faultFMs: 0 });
    toCharging(sm);
    expect(pilotActions(sm.handle(fault('rcd'), 1000))).toEqual([{ mode: 'x1' }]);
  });

  it('S7: a latched fault is cleared by unplugging; charging needs a new tag', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle(fault('rcd'), 1000);
    sm.handle(fault('rcd', false), 1100);
    runDeadlines(sm, 2000);
    sm.handle(pilot('B'), 2000);
    expect(sm.snapshot()).toMatchObject({ faults: ['rcd'], status: 'Faulted', session: true });
    const a = sm.handle(pilot('A'), 3000);
    expect(ends(a)).toEqual([{ type: 'end-session', reason: 'EVDisconnected', stopIdTag: null }]);
    expect(sm.snapshot()).toMatchObject({ faults: [], status: 'Available' });
  });

  it('S7: unplugging does not clear a fault whose input is still active', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle(fault('rcd'), 1000);
    sm.handle(pilot('A'), 2000);
    expect(sm.snapshot()).toMatchObject({ faults: ['rcd'], status: 'Faulted' });
    sm.handle(fault('rcd', false), 3000); // input released with nothing connected: cleared
    expect(sm.snapshot()).toMatchObject({ faults: [], status: 'Available' });
  });

  it("S7: 'welded' survives unplugging and needs 'clear-faults'", () => {
    const sm = machine();
    toCharging(sm);
    sm.handle(fault('welded'), 1000);
    sm.handle(fault('welded', false), 1000);
    runDeadlines(sm, 2000);
    sm.handle(pilot('A'), 2000);
    expect(sm.snapshot()).toMatchObject({ faults: ['welded'], status: 'Faulted' });
    // Replug and tag: refused.
    sm.handle(offer(16), 3000);
    sm.handle(pilot('B'), 3000);
    const a = [...sm.handle(authorize(), 3100), ...sm.handle(pilot('C'), 3200)];
    expect(a.filter((x) => x.type === 'start-session' || x.type === 'contactor')).toEqual([]);
    sm.handle({ type: 'clear-faults' }, 4000);
    expect(sm.snapshot()).toMatchObject({ faults: [], status: 'Preparing' });
    sm.handle(pilot('B'), 4100);
    expect(cmds(sm.handle(authorize(), 4200))[0]).toMatchObject({ type: 'start-session' });
    sm.handle(started, 4300);
    expect(contactorActions(sm.handle(pilot('C'), 4400))).toEqual([true]);
  });

  it("S7: 'clear-faults' keeps the faults it is told to keep (a weld whose feedback still reads closed)", () => {
    const sm = machine();
    sm.handle(fault('welded'), 0);
    sm.handle(fault('welded', false), 0);
    sm.handle(fault('rcd'), 0);
    sm.handle(fault('rcd', false), 0);
    sm.handle(pilot('B'), 5);
    sm.handle(fault('rcd'), 6);
    sm.handle(fault('rcd', false), 7);
    sm.handle({ type: 'clear-faults', keep: ['welded'] }, 10);
    expect(sm.snapshot().faults).toEqual(['welded']);
    sm.handle({ type: 'clear-faults', keep: [] }, 20);
    expect(sm.snapshot().faults).toEqual([]);
  });

  it("S7: 'clear-faults' does not clear a fault whose input is still active", () => {
    const sm = machine();
    sm.handle(fault('welded'), 0);
    sm.handle({ type: 'clear-faults' }, 10);
    expect(sm.snapshot().faults).toEqual(['welded']);
  });

  for (const kind of ['meter', 'overtemperature'] as FaultKind[]) {
    it(`S7: self-clearing fault '${kind}' ends with its input and charging resumes in the same session`, () => {
      const sm = machine();
      toCharging(sm);
      sm.handle(fault(kind), 1000);
      sm.handle(pilot('F'), 1001);
      runDeadlines(sm, 1300);
      sm.handle(pilot('B'), 1310); // the sense reads the EV again soon after our F ended
      runDeadlines(sm, 2000);
      expect(sm.snapshot()).toMatchObject({ status: 'Faulted', contactor: false, output: { mode: 'x1' } });
      const a = sm.handle(fault(kind, false), 3000);
      expect(pilotActions(a)).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
      expect(contactorActions(sm.handle(pilot('C'), 3200))).toEqual([true]);
      expect(sm.snapshot()).toMatchObject({ status: 'Charging', faults: [] });
    });
  }

  it('S7: the pilot reading E or F that we did not drive is a latched pilot fault', () => {
    const sm = readyInB();
    sm.handle(pilot('E'), 100);
    sm.handle(pilot('B'), 200);
    expect(sm.snapshot()).toMatchObject({ faults: ['pilot'], status: 'Faulted' });
  });
});

describe('S8: no offer is X1, never 0 % duty; the duty rises at most every pwmMinChangeIntervalMs', () => {
  it('S8: every way of withdrawing the offer produces X1', () => {
    const ways: [string, (sm: ConnectorStateMachine) => SmAction[]][] = [
      ['offer 0', (sm) => sm.handle(offer(0), 100)],
      ['offer 3', (sm) => sm.handle(offer(3), 100)],
      ['pause', (sm) => sm.handle({ type: 'pause' }, 100)],
      ['stop', (sm) => sm.handle({ type: 'stop', reason: 'Local' }, 100)],
      ['deauthorize', (sm) => sm.handle({ type: 'deauthorize', reason: 'DeAuthorized' }, 100)],
      ['unplug', (sm) => sm.handle(pilot('A'), 100)],
    ];
    for (const [name, act] of ways) {
      const sm = machine();
      toCharging(sm);
      expect(pilotActions(act(sm)), name).toEqual([{ mode: 'x1' }]);
    }
  });

  it('S8: a higher PWM duty is held until pwmMinChangeIntervalMs after the last change; a lower one goes out at once', () => {
    const sm = machine({ pwmMinChangeIntervalMs: 5000 });
    toCharging(sm, 0, 6);
    expect(pilotActions(sm.handle(offer(32), 1))).toEqual([]);
    expect(sm.nextDeadline()).toBe(5000);
    expect(pilotActions(sm.handle(tick, 5000))).toEqual([{ mode: 'pwm', dutyPermille: 533 }]);
    expect(pilotActions(sm.handle(offer(6), 5001))).toEqual([{ mode: 'pwm', dutyPermille: 100 }]);
  });

  it('S8 (randomised): under any input sequence the invariants S1-S9 hold after every step', () => {
    const kinds = FAULT_KINDS;
    const states: PilotState[] = ['A', 'B', 'B', 'C', 'C', 'C', 'D', 'E', 'F'];
    let seed = 0x5eed;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const o = { stopTimeoutMs: 6000, faultFMs: 300, pwmMinChangeIntervalMs: 5000, connectionTimeoutMs: 60_000 };
    let closes = 0;
    let forced = 0;
    let faultOpens = 0;
    let socketCloses = 0;
    let lockOpens = 0;
    let totalSessions = 0;
    for (let run = 0; run < 600; run++) {
      const closesBefore = closes;
      const sm = machine(o);
      let now = 0;
      // Odd runs: a socket with a cable lock (S9), its reading and failures random too.
      const socket = run % 2 === 1;
      let lockCommanded = false;
      if (socket) sm.handle({ type: 'lock-state', locked: false }, 0);
      let pendingStart = false;
      let withdrawnSince: number | null = null;
      let lastDutyChange = -Infinity;
      let sessions = 0;
      const history: string[] = [];
      for (let step = 0; step < 80; step++) {
        now += pick([0, 1, 50, 200, 1000, 3000, 7000]);
        const due = sm.nextDeadline();
        let ev: SmEvent;
        const r = rnd();
        if (due !== null && r < 0.15) {
          now = Math.max(now, due);
          ev = tick;
        } else if (pendingStart && r < 0.35) {
          ev = rnd() < 0.9 ? started : { type: 'session-start-failed' };
        } else {
          ev = pick<SmEvent>([
            pilot(pick(states), rnd() > 0.05),
            pilot(pick(states)),
            pilot(pick(['B', 'C'] as PilotState[])),
            pilot('C'),
            pilot('C', true, rnd() < 0.5), // a reading before/after the diode verdict is fresh
            pilot('C'),
            rnd() < 0.3 ? fault(pick(kinds), rnd() < 0.5) : pilot('A'),
            authorize(),
            authorize(),
            { type: 'deauthorize', reason: 'DeAuthorized' },
            { type: 'stop', reason: 'Local' },
            offer(pick([0, 5, 6, 10, 16, 32.5, 80, 120])),
            { type: 'pause' },
            { type: 'resume' },
            { type: 'availability', available: rnd() < 0.7 },
            { type: 'clear-faults' },
            tick,
          ]);
          if (socket && rnd() < 0.2) ev = rnd() < 0.95 ? { type: 'lock-state', locked: rnd() < 0.85 ? lockCommanded : !lockCommanded } : { type: 'lock-failed', why: 'jammed' };
        }
        if (ev.type === 'session-started' || ev.type === 'session-start-failed') pendingStart = false;
        const before = sm.snapshot();
        const actions = sm.handle(ev, now);
        const s = sm.snapshot();
        history.push(`t=${now} ${JSON.stringify(ev)} -> ${JSON.stringify(cmds(actions))}`);
        const ctx = `run ${run} step ${step} t=${now} ${JSON.stringify(ev)} -> ${JSON.stringify(cmds(actions))} state ${JSON.stringify(s)}\nlast steps:\n${history.slice(-8).join('\n')}`;
        if (actions.some((a) => a.type === 'start-session')) {
          expect(pendingStart, `two start-session without an answer: ${ctx}`).toBe(false);
          pendingStart = true;
          sessions++;
        }
        // S1-S3 (and S5: a forbidding input leaves it open at the end of the very same step)
        if (s.contactor) {
          expect(['C', 'D'], ctx).toContain(s.pilot);
          expect(s.faults, ctx).toEqual([]);
          expect(s.diodeOk, ctx).toBe(true);
          expect(s.auth, ctx).not.toBeNull();
          expect(s.session, ctx).toBe(true);
        }
        // S9: with a lock, closed only while it reads locked, after a lock command
        const locks = actions.flatMap((a) => (a.type === 'lock' ? [a.locked] : []));
        if (!socket) expect(locks, `a lock command without a lock: ${ctx}`).toEqual([]);
        if (locks.length) lockCommanded = locks.at(-1)!;
        if (socket && s.contactor) {
          expect(s.cableLocked, ctx).toBe(true);
          expect(lockCommanded, ctx).toBe(true);
        }
        const cs = contactorActions(actions);
        if (cs.includes(true)) {
          closes++;
          if (socket) socketCloses++;
          // S2: a fresh diode verdict (measured with PWM running since the output last changed mode)
          expect(s.diodeChecked, ctx).toBe(true);
          // S4
          expect(before.contactor, ctx).toBe(false);
          expect(s, ctx).toMatchObject({ contactor: true, paused: false, available: true, stopping: false, output: { mode: 'pwm' } });
        }
        if (cs.includes(false)) {
          // S5: opening is the first thing done in its step
          expect(firstCommand(actions), ctx).toMatchObject({ type: 'contactor', closed: false });
          if (s.faults.length === 0 && ['C', 'D'].includes(s.pilot) && s.auth && s.session) forced++;
          if (s.faults.length > 0) faultOpens++;
          if (socket && s.faults.includes('lock')) lockOpens++;
        }
        // S6
        if (s.contactor && s.output.mode !== 'pwm') {
          withdrawnSince ??= now;
          expect(now, ctx).toBeLessThan(withdrawnSince + o.stopTimeoutMs);
          expect(sm.nextDeadline(), ctx).not.toBeNull();
        } else withdrawnSince = null;
        // S7 + S8: outputs
        for (const out of pilotActions(actions) as PilotOutput[]) {
          expect(out.mode, `5 % (digital) is never used by the state machine: ${ctx}`).not.toBe('digital');
          if (out.mode === 'f' && out.cpInterrupt) expect(s.waking || before.waking, `CP interruption outside a wake-up: ${ctx}`).toBe(true);
          if (out.mode === 'pwm') {
            expect(out.dutyPermille, ctx).toBeGreaterThanOrEqual(100);
            expect(out.dutyPermille, ctx).toBeLessThanOrEqual(960);
          }
        }
        if (s.output.mode === 'f' && !s.waking) expect(s.faults.length, ctx).toBeGreaterThan(0);
        if (s.output.mode === 'pwm') expect(s.faults, ctx).toEqual([]);
        if (before.output.mode === 'pwm' && s.output.mode === 'pwm' && before.output.dutyPermille < s.output.dutyPermille) {
          expect(now - lastDutyChange, ctx).toBeGreaterThanOrEqual(o.pwmMinChangeIntervalMs);
        }
        if (s.output.mode === 'pwm' && (before.output.mode !== 'pwm' || before.output.dutyPermille !== s.output.dutyPermille)) lastDutyChange = now;
        // the status tells the truth
        if (s.status === 'Available') expect(s, ctx).toMatchObject({ pilot: 'A', auth: null, session: false, faults: [] });
        if (s.status === 'Charging') expect(s.session, ctx).toBe(true);
        if (s.status === 'Faulted') expect(s.faults.length, ctx).toBeGreaterThan(0);
        if (s.faults.length > 0 && s.status !== 'Unavailable') expect(s.status, ctx).toBe('Faulted');
        // every session ends once
        expect(ends(actions).length, ctx).toBeLessThanOrEqual(1);
        const d = sm.nextDeadline();
        if (d !== null) expect(d, `deadline in the past after a step: ${ctx}`).toBeGreaterThan(now);
      }
      // Every close needs a recorded session, and every session began with a start-session command.
      if (closes > closesBefore) expect(sessions, `run ${run} closed the contactor without any start-session`).toBeGreaterThan(0);
      totalSessions += sessions;
    }
    expect(totalSessions).toBeGreaterThan(600);
    // The random walk really reached the interesting states.
    console.log(`randomised safety walk: ${totalSessions} sessions, ${closes} closes (${socketCloses} with a cable lock), ${forced} forced opens under load, ${faultOpens} opens by fault (${lockOpens} by the lock)`);
    expect(closes).toBeGreaterThan(150);
    expect(socketCloses).toBeGreaterThan(30);
    expect(lockOpens).toBeGreaterThan(0);
    expect(forced).toBeGreaterThan(0);
    expect(faultOpens).toBeGreaterThan(20);
  });
});

describe('the safety supervisor (src/evse/safety.ts): raw inputs only, consulted before every close', () => {
  const ok: SupervisorInputs = { pilot: { state: 'C', diodeOk: true, diodeChecked: true }, boardFaults: new Set(), latchedFaults: [], authorised: true, cableLocked: null };

  it('allows a close only with pilot C/D, a fresh good diode, no fault input, no latched fault, an authorised session', () => {
    expect(supervisorViolation(ok, true)).toBeNull();
    expect(supervisorViolation({ ...ok, pilot: { ...ok.pilot, state: 'D' } }, true)).toBeNull();
    for (const st of ['A', 'B', 'E', 'F'] as const) {
      expect(supervisorViolation({ ...ok, pilot: { ...ok.pilot, state: st } }, true)).toBe(`pilot state ${st}`);
    }
    expect(supervisorViolation({ ...ok, pilot: { ...ok.pilot, diodeOk: false } }, true)).toBe('EV diode missing');
    expect(supervisorViolation({ ...ok, pilot: { ...ok.pilot, diodeChecked: false } }, true)).toMatch(/not checked/);
    expect(supervisorViolation({ ...ok, boardFaults: new Set(['rcd']) }, true)).toMatch(/fault input active: rcd/);
    expect(supervisorViolation({ ...ok, latchedFaults: ['welded'] }, true)).toMatch(/fault latched: welded/);
    expect(supervisorViolation({ ...ok, authorised: false }, true)).toMatch(/no authorised/);
  });

  it('a socket: a close needs the cable lock reading locked; a fixed cable (null) has none to read', () => {
    expect(supervisorViolation({ ...ok, cableLocked: true }, true)).toBeNull();
    expect(supervisorViolation({ ...ok, cableLocked: null }, true)).toBeNull();
    expect(supervisorViolation({ ...ok, cableLocked: false }, true)).toBe('cable lock not confirmed locked');
    expect(supervisorViolation({ ...ok, cableLocked: false }, false)).toBe('cable lock not confirmed locked'); // opens a closed one
  });

  it('keeping it closed does not need a fresh verdict (the withdrawn offer in X1), everything else does', () => {
    expect(supervisorViolation({ ...ok, pilot: { ...ok.pilot, diodeChecked: false } }, false)).toBeNull();
    expect(supervisorViolation({ ...ok, pilot: { ...ok.pilot, state: 'B' } }, false)).toBe('pilot state B');
    expect(supervisorViolation({ ...ok, latchedFaults: ['stall'] }, false)).toMatch(/stall/);
  });
});
