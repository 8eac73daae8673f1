import { describe, expect, it } from 'vitest';
import { authorize, cmds, contactorActions, ends, machine, offer, pilot, pilotActions, runDeadlines, started, tick, toCharging } from './sm-helpers.js';

describe('ConnectorStateMachine: start of a session', () => {
  it('starts Available with the contactor open, X1 on the pilot and no deadline', () => {
    const sm = machine();
    const s = sm.snapshot();
    expect(s).toMatchObject({ status: 'Available', pilot: 'A', output: { mode: 'x1' }, contactor: false, faults: [], auth: null, session: false });
    expect(sm.nextDeadline()).toBeNull();
  });

  it('plug first: Available -> Preparing, tag -> start-session, recorded -> PWM offer, C -> contactor closes -> Charging', () => {
    const sm = machine();
    expect(cmds(sm.handle(offer(16), 0))).toEqual([]);

    expect(cmds(sm.handle(pilot('B'), 100))).toEqual([{ type: 'status', status: 'Preparing', previous: 'Available' }]);

    // The tag starts the durable session write; the offer goes on the pilot while it is written.
    const a = cmds(sm.handle(authorize('TAG1'), 200));
    expect(a).toEqual([
      { type: 'start-session', idTag: 'TAG1', source: 'local', reservationId: null },
      { type: 'pilot', output: { mode: 'pwm', dutyPermille: 266 } },
    ]);
    expect(sm.snapshot()).toMatchObject({ status: 'Preparing', session: false, contactor: false, auth: { idTag: 'TAG1', source: 'local' } });

    // The session is recorded; the EV is still in B and has a moment to react to the offer: it
    // stays Preparing (no SuspendedEV blip between StartTransaction and Charging).
    expect(cmds(sm.handle(started, 300))).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ status: 'Preparing', session: true, output: { mode: 'pwm', dutyPermille: 266 }, contactor: false });

    const c = cmds(sm.handle(pilot('C'), 400));
    expect(c).toEqual([
      { type: 'contactor', closed: true, why: expect.any(String) },
      { type: 'status', status: 'Charging', previous: 'Preparing' },
    ]);
    expect(sm.snapshot()).toMatchObject({ status: 'Charging', contactor: true, pilot: 'C' });
    expect(sm.nextDeadline()).toBeNull();
  });

  it('an EV that stays in B after the first offer is SuspendedEV once it had the time to react (evReactionMs)', () => {
    const sm = machine({ evReactionMs: 3000 });
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 100);
    sm.handle(authorize('TAG1'), 200);
    sm.handle(started, 300);
    expect(sm.snapshot().status).toBe('Preparing');
    expect(sm.nextDeadline()).toBe(200 + 3000); // the offer went on the pilot with the authorisation
    expect(cmds(sm.handle(tick, 3199))).toEqual([]);
    expect(cmds(sm.handle(tick, 3200))).toEqual([{ type: 'status', status: 'SuspendedEV', previous: 'Preparing' }]);
    expect(cmds(sm.handle(pilot('C'), 4000))).toEqual([
      { type: 'contactor', closed: true, why: expect.any(String) },
      { type: 'status', status: 'Charging', previous: 'SuspendedEV' },
    ]);
  });

  it('tag first, then plug: Preparing while waiting for the EV, start-session on plug', () => {
    const sm = machine();
    sm.handle(offer(32), 0);
    expect(cmds(sm.handle(authorize('TAG2'), 0))).toEqual([{ type: 'status', status: 'Preparing', previous: 'Available' }]);
    expect(sm.nextDeadline()).toBe(60_000); // connection timeout
    const a = cmds(sm.handle(pilot('B'), 5000));
    expect(a).toEqual([
      { type: 'start-session', idTag: 'TAG2', source: 'local', reservationId: null },
      { type: 'pilot', output: { mode: 'pwm', dutyPermille: 533 } },
    ]);
    expect(sm.nextDeadline()).toBeNull();
    sm.handle(started, 5100);
    expect(contactorActions(sm.handle(pilot('C'), 5200))).toEqual([true]);
    expect(sm.snapshot().status).toBe('Charging');
  });

  it('an EV already in C when the session is recorded gets the contactor closed in that same step', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('C'), 0);
    sm.handle(authorize(), 0); // PWM starts while the session is being recorded
    sm.handle(pilot('C'), 20); // the diode verdict measured with PWM running
    expect(sm.snapshot().contactor).toBe(false);
    const a = cmds(sm.handle(started, 50));
    expect(contactorActions(a)).toEqual([true]);
    expect(sm.snapshot().status).toBe('Charging');
  });

  it('a second tag while a session runs is ignored', () => {
    const sm = machine();
    toCharging(sm);
    const a = sm.handle(authorize('OTHER'), 10);
    expect(a.some((x) => x.type === 'log' && x.level === 'warn')).toBe(true);
    expect(sm.snapshot().auth?.idTag).toBe('TAG1');
    expect(cmds(a)).toEqual([]);
  });
});

describe('ConnectorStateMachine: suspended states and resume', () => {
  it('SuspendedEV: the EV goes back to B -> contactor opens, the offer stays; C again -> closes', () => {
    const sm = machine();
    toCharging(sm);
    const a = cmds(sm.handle(pilot('B'), 1000));
    expect(a).toEqual([
      { type: 'contactor', closed: false, why: expect.stringContaining('B') },
      { type: 'status', status: 'SuspendedEV', previous: 'Charging' },
    ]);
    expect(sm.snapshot().output).toEqual({ mode: 'pwm', dutyPermille: 266 });
    expect(contactorActions(sm.handle(pilot('C'), 2000))).toEqual([true]);
    expect(sm.snapshot().status).toBe('Charging');
  });

  it('SuspendedEVSE by offer 0: X1 at once, contactor stays closed until the EV leaves C, then resumes on a new offer', () => {
    const sm = machine();
    toCharging(sm);
    const a = cmds(sm.handle(offer(0), 1000));
    expect(a).toEqual([{ type: 'pilot', output: { mode: 'x1' } }]); // never 0 % duty
    expect(sm.snapshot()).toMatchObject({ contactor: true, status: 'Charging', offerA: 0 });
    expect(sm.nextDeadline()).toBe(1000 + 6000);

    const b = cmds(sm.handle(pilot('B'), 1200));
    expect(b).toEqual([
      { type: 'contactor', closed: false, why: expect.any(String) },
      { type: 'status', status: 'SuspendedEVSE', previous: 'Charging' },
    ]);
    expect(sm.nextDeadline()).toBeNull();

    // From X1 to PWM is not a duty change: the offer goes out at once.
    expect(cmds(sm.handle(offer(16), 1300))).toEqual([
      { type: 'pilot', output: { mode: 'pwm', dutyPermille: 266 } },
      { type: 'status', status: 'SuspendedEV', previous: 'SuspendedEVSE' },
    ]);
    expect(contactorActions(sm.handle(pilot('C'), 1500))).toEqual([true]);
    expect(sm.snapshot().status).toBe('Charging');
  });

  it('an offer below 6 A counts as no offer (X1)', () => {
    const sm = machine();
    toCharging(sm);
    expect(pilotActions(sm.handle(offer(5.9), 100))).toEqual([{ mode: 'x1' }]);
    expect(sm.snapshot().offerA).toBe(0);
  });

  it('SuspendedEVSE by pause, then resume', () => {
    const sm = machine();
    toCharging(sm);
    expect(pilotActions(sm.handle({ type: 'pause' }, 1000))).toEqual([{ mode: 'x1' }]);
    sm.handle(pilot('B'), 1300);
    expect(sm.snapshot()).toMatchObject({ status: 'SuspendedEVSE', paused: true, contactor: false, session: true });
    // Paused: the EV asking again gets nothing.
    expect(contactorActions(sm.handle(pilot('C'), 1400))).toEqual([]);
    sm.handle(pilot('B'), 1500);
    expect(pilotActions(sm.handle({ type: 'resume' }, 2000))).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
    expect(sm.snapshot().status).toBe('SuspendedEV');
    expect(contactorActions(sm.handle(pilot('C'), 2200))).toEqual([true]);
    expect(sm.snapshot()).toMatchObject({ status: 'Charging', paused: false });
  });
});

describe('ConnectorStateMachine: stopping', () => {
  it('stop: X1, wait for B, open, end-session with the reason and the stop tag; unplug -> Available', () => {
    const sm = machine();
    toCharging(sm);
    const a = cmds(sm.handle({ type: 'stop', reason: 'Local', stopIdTag: 'TAG1' }, 10_000));
    expect(a).toEqual([
      { type: 'pilot', output: { mode: 'x1' } },
      { type: 'status', status: 'Finishing', previous: 'Charging' },
    ]);
    expect(sm.snapshot()).toMatchObject({ contactor: true, stopping: true, session: true });
    expect(sm.nextDeadline()).toBe(16_000);

    const b = cmds(sm.handle(pilot('B'), 10_400));
    expect(b).toEqual([
      { type: 'contactor', closed: false, why: expect.any(String) },
      { type: 'end-session', reason: 'Local', stopIdTag: 'TAG1' },
    ]);
    expect(sm.snapshot()).toMatchObject({ status: 'Finishing', session: false, stopping: false, auth: null, contactor: false, output: { mode: 'x1' } });
    expect(sm.nextDeadline()).toBeNull();

    // Still plugged after the session: no new session without a new tag.
    expect(cmds(sm.handle(pilot('C'), 11_000))).toEqual([]);
    sm.handle(pilot('B'), 11_100);
    expect(cmds(sm.handle(pilot('A'), 12_000))).toEqual([{ type: 'status', status: 'Available', previous: 'Finishing' }]);
  });

  it('stop with the EV staying in C: the contactor opens exactly stopTimeoutMs after X1, not 1 ms earlier', () => {
    const sm = machine({ stopTimeoutMs: 6000 });
    toCharging(sm);
    sm.handle({ type: 'stop', reason: 'Remote' }, 1000);
    expect(sm.nextDeadline()).toBe(7000);
    expect(cmds(sm.handle(tick, 6999))).toEqual([]);
    expect(sm.snapshot().contactor).toBe(true);
    const a = cmds(sm.handle(tick, 7000));
    expect(a).toEqual([
      { type: 'contactor', closed: false, why: expect.stringContaining('opening under load') },
      { type: 'end-session', reason: 'Remote', stopIdTag: null },
    ]);
    expect(sm.snapshot()).toMatchObject({ contactor: false, session: false, pilot: 'C' });
    // The EV still in C does not get the contactor back.
    expect(cmds(sm.handle(pilot('C'), 8000))).toEqual([]);
    expect(sm.snapshot().contactor).toBe(false);
  });

  it('a stop on an EV in B (contactor open) ends the session in the same step', () => {
    const sm = machine();
    toCharging(sm);
    sm.handle(pilot('B'), 100);
    const a = cmds(sm.handle({ type: 'stop', reason: 'Local' }, 200));
    expect(ends(a)).toEqual([{ type: 'end-session', reason: 'Local', stopIdTag: null }]);
    expect(contactorActions(a)).toEqual([]);
  });

  it('unplug while charging: contactor open and session ended (EVDisconnected) in the same step, contactor first', () => {
    const sm = machine();
    toCharging(sm);
    const a = cmds(sm.handle(pilot('A'), 5000));
    expect(a[0]).toMatchObject({ type: 'contactor', closed: false });
    expect(a).toEqual([
      { type: 'contactor', closed: false, why: expect.stringContaining('A') },
      { type: 'pilot', output: { mode: 'x1' } },
      { type: 'end-session', reason: 'EVDisconnected', stopIdTag: null },
      { type: 'status', status: 'Available', previous: 'Charging' },
    ]);
    expect(sm.snapshot()).toMatchObject({ session: false, auth: null, contactor: false });
  });

  it('stop while the session start is still being written: ends right after it is recorded, never closes', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('C'), 0);
    sm.handle(authorize(), 0);
    const a = cmds(sm.handle({ type: 'stop', reason: 'Local' }, 10));
    expect(a).toEqual([{ type: 'pilot', output: { mode: 'x1' } }]);
    const b = cmds(sm.handle(started, 20));
    expect(contactorActions(b)).toEqual([]);
    expect(ends(b)).toEqual([{ type: 'end-session', reason: 'Local', stopIdTag: null }]);
    expect(sm.snapshot()).toMatchObject({ session: false, contactor: false, status: 'Finishing' });
  });

  it('unplug while the session start is being written: the recorded session ends at once with EVDisconnected', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    sm.handle(pilot('A'), 10);
    expect(sm.snapshot()).toMatchObject({ status: 'Preparing', output: { mode: 'x1' } });
    const b = cmds(sm.handle(started, 20));
    expect(b).toEqual([
      { type: 'end-session', reason: 'EVDisconnected', stopIdTag: null },
      { type: 'status', status: 'Available', previous: 'Preparing' },
    ]);
    expect(sm.snapshot()).toMatchObject({ session: false, auth: null });
  });

  it('session-start-failed: charging refused, offer withdrawn, no retry until a new tag', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    const a = sm.handle({ type: 'session-start-failed' }, 50);
    expect(a.some((x) => x.type === 'log' && x.level === 'error')).toBe(true);
    expect(cmds(a)).toEqual([{ type: 'pilot', output: { mode: 'x1' } }]);
    expect(sm.snapshot()).toMatchObject({ status: 'Preparing', session: false, auth: null });
    expect(cmds(sm.handle(pilot('C'), 60))).toEqual([]);
    expect(cmds(sm.handle(tick, 70_000))).toEqual([]);
    // A new tag tries again.
    expect(cmds(sm.handle(authorize('TAG1'), 80_000))[0]).toEqual({ type: 'start-session', idTag: 'TAG1', source: 'local', reservationId: null });
  });

  it('deauthorize while charging: open at once and end the session with the reason', () => {
    const sm = machine();
    toCharging(sm);
    const a = cmds(sm.handle({ type: 'deauthorize', reason: 'DeAuthorized' }, 100));
    expect(a[0]).toMatchObject({ type: 'contactor', closed: false });
    expect(ends(a)).toEqual([{ type: 'end-session', reason: 'DeAuthorized', stopIdTag: null }]);
  });
});

describe('ConnectorStateMachine: authorisation expiry', () => {
  it('a tag with no EV plugged expires exactly at connectionTimeoutMs', () => {
    const sm = machine({ connectionTimeoutMs: 30_000 });
    sm.handle(authorize(), 1000);
    expect(sm.nextDeadline()).toBe(31_000);
    expect(cmds(sm.handle(tick, 30_999))).toEqual([]);
    expect(sm.snapshot().auth).not.toBeNull();
    const a = sm.handle(tick, 31_000);
    expect(cmds(a)).toEqual([{ type: 'status', status: 'Available', previous: 'Preparing' }]);
    expect(a.some((x) => x.type === 'log' && /expired/.test(x.msg))).toBe(true);
    expect(sm.snapshot().auth).toBeNull();
    expect(sm.nextDeadline()).toBeNull();
    // A late plug does not start a session.
    expect(cmds(sm.handle(pilot('B'), 31_001))).toEqual([{ type: 'status', status: 'Preparing', previous: 'Available' }]);
  });

  it('a plug just before the timeout still starts the session', () => {
    const sm = machine({ connectionTimeoutMs: 30_000 });
    sm.handle(authorize(), 1000);
    expect(cmds(sm.handle(pilot('B'), 30_999))[0]).toMatchObject({ type: 'start-session' });
  });

  it('a plug after the timeout does not start a session even when no tick came in between (late timer)', () => {
    const sm = machine({ connectionTimeoutMs: 30_000 });
    sm.handle(authorize(), 1000);
    const a = cmds(sm.handle(pilot('B'), 45_000));
    expect(a.filter((x) => x.type === 'start-session')).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ auth: null, status: 'Preparing', session: false });
  });

  it('no past deadline while a session start is written with the EV already unplugged (the controller would spin)', () => {
    const sm = machine({ connectionTimeoutMs: 30_000 });
    sm.handle(authorize(), 0);
    sm.handle(pilot('B'), 29_000); // start-session
    sm.handle(pilot('A'), 29_500);
    for (const t of [30_000, 31_000, 45_000]) {
      sm.handle(tick, t);
      const d = sm.nextDeadline();
      if (d !== null) expect(d).toBeGreaterThan(t);
    }
    const a = sm.handle(started, 46_000);
    expect(ends(a)).toEqual([{ type: 'end-session', reason: 'EVDisconnected', stopIdTag: null }]);
    expect(sm.snapshot()).toMatchObject({ status: 'Available', auth: null });
  });

  it('a stop cancels a pending authorisation', () => {
    const sm = machine();
    sm.handle(authorize(), 0);
    sm.handle({ type: 'stop', reason: 'Local' }, 10);
    expect(sm.snapshot()).toMatchObject({ auth: null, status: 'Available' });
    expect(cmds(sm.handle(pilot('B'), 20)).filter((x) => x.type === 'start-session')).toEqual([]);
  });
});

describe('ConnectorStateMachine: availability', () => {
  it('Accepted when idle: Unavailable at once, no session starts, back to Available', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    expect(cmds(sm.handle({ type: 'availability', available: false }, 0))).toEqual([
      { type: 'status', status: 'Unavailable', previous: 'Available' },
    ]);
    expect(sm.snapshot()).toMatchObject({ available: false, pendingAvailable: null });
    sm.handle(pilot('B'), 10);
    expect(cmds(sm.handle(authorize(), 20))).toEqual([]); // no start-session, no offer
    expect(sm.snapshot()).toMatchObject({ status: 'Unavailable', session: false, output: { mode: 'x1' } });
    const a = cmds(sm.handle({ type: 'availability', available: true }, 30));
    expect(a[0]).toMatchObject({ type: 'start-session' }); // the valid tag now starts the session
    expect(sm.snapshot().available).toBe(true);
  });

  it('Scheduled during a session: applied when the session ends', () => {
    const sm = machine();
    toCharging(sm);
    expect(cmds(sm.handle({ type: 'availability', available: false }, 100))).toEqual([]);
    expect(sm.snapshot()).toMatchObject({ available: true, pendingAvailable: false, status: 'Charging', contactor: true });
    sm.handle({ type: 'stop', reason: 'Local' }, 200);
    const a = cmds(sm.handle(pilot('B'), 400));
    expect(a).toEqual([
      { type: 'contactor', closed: false, why: expect.any(String) },
      { type: 'end-session', reason: 'Local', stopIdTag: null },
      { type: 'status', status: 'Unavailable', previous: 'Finishing' },
    ]);
    expect(sm.snapshot()).toMatchObject({ available: false, pendingAvailable: null });
  });

  it('Scheduled while the session start is written, then the start fails: applied at once', () => {
    const sm = machine();
    sm.handle(offer(16), 0);
    sm.handle(pilot('B'), 0);
    sm.handle(authorize(), 0);
    sm.handle({ type: 'availability', available: false }, 10);
    expect(sm.snapshot().pendingAvailable).toBe(false);
    sm.handle({ type: 'session-start-failed' }, 20);
    expect(sm.snapshot()).toMatchObject({ available: false, pendingAvailable: null, status: 'Unavailable' });
  });
});

describe('ConnectorStateMachine: PWM rate limit (a higher duty at most once per pwmMinChangeIntervalMs)', () => {
  it('holds a higher duty until the deadline it reports, then applies it there', () => {
    const sm = machine({ pwmMinChangeIntervalMs: 5000 });
    toCharging(sm, 0, 10); // duty 166 went out at t = 0
    expect(pilotActions(sm.handle(offer(16), 1000))).toEqual([]);
    expect(sm.snapshot().output).toEqual({ mode: 'pwm', dutyPermille: 166 });
    expect(sm.nextDeadline()).toBe(5000);
    expect(pilotActions(sm.handle(tick, 4999))).toEqual([]);
    expect(pilotActions(sm.handle(tick, 5000))).toEqual([{ mode: 'pwm', dutyPermille: 266 }]);
    expect(sm.nextDeadline()).toBeNull();

    // The next increase waits 5 s from this one; the latest wish wins.
    sm.handle(offer(20), 6000);
    sm.handle(offer(32), 7000);
    expect(sm.nextDeadline()).toBe(10_000);
    expect(pilotActions(runDeadlines(sm, 20_000))).toEqual([{ mode: 'pwm', dutyPermille: 533 }]);
    expect(sm.snapshot().contactor).toBe(true);
  });

  it('a lower duty goes out at once, also right after a change (a station budget or the fuse comes first)', () => {
    const sm = machine({ pwmMinChangeIntervalMs: 5000 });
    toCharging(sm, 0, 16); // duty 266 went out at t = 0
    expect(pilotActions(sm.handle(offer(10), 1000))).toEqual([{ mode: 'pwm', dutyPermille: 166 }]);
    expect(pilotActions(sm.handle(offer(8), 1100))).toEqual([{ mode: 'pwm', dutyPermille: 133 }]);
    expect(sm.nextDeadline()).toBeNull();
    // An increase after it still waits 5 s from the last change.
    sm.handle(offer(16), 2000);
    expect(sm.nextDeadline()).toBe(6100);
  });

  it('a wish that returns to the current duty before the deadline cancels the change', () => {
    const sm = machine();
    toCharging(sm, 0, 10);
    sm.handle(offer(16), 1000);
    sm.handle(offer(10), 2000);
    expect(sm.nextDeadline()).toBeNull();
    expect(pilotActions(runDeadlines(sm, 10_000))).toEqual([]);
  });

  it('withdrawing the offer (X1) is never delayed; the offer after X1 is not a duty change', () => {
    const sm = machine();
    toCharging(sm, 0, 16);
    expect(pilotActions(sm.handle(offer(0), 100))).toEqual([{ mode: 'x1' }]);
    expect(pilotActions(sm.handle(offer(10), 200))).toEqual([{ mode: 'pwm', dutyPermille: 166 }]);
    // ...but it counts as the last change: the next duty change waits until 200 + 5000.
    sm.handle(offer(20), 300);
    expect(sm.nextDeadline()).toBe(5200);
  });
});
