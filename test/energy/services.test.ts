import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/hal/clock.js';
import { ChargingTimers, RECHECK_MS, TIMER_PRIORITY } from '../../src/energy/charging-timers.js';
import { SessionLimits } from '../../src/energy/session-limits.js';
import { chargingTimersSchema } from '../../src/config/timers.js';
import type { CurrentClaim, StopReason } from '../../src/evse/port.js';

/** The part of the station port the owner services use, on a fake clock. */
function fakeStation(wallMs: number, connectors = [1]) {
  const clock = Object.assign(new FakeClock({ wallMs }), { events: new EventEmitter() });
  const claims = new Map<string, CurrentClaim>();
  const events = new EventEmitter();
  const stops: { connectorId: number; reason: StopReason }[] = [];
  let session: { id: number; connectorId: number; meterStartWh: number; checkpointEnergyWh: number | null; startMono: number } | undefined;
  let soc: number | null = null;
  const station = {
    clock: Object.assign(clock, {
      on: (e: string, l: () => void) => clock.events.on(e, l),
      off: (e: string, l: () => void) => clock.events.off(e, l),
    }),
    connectorIds: () => connectors,
    setClaim: (c: CurrentClaim) => void claims.set(`${c.connectorId}/${c.source}`, c),
    clearClaim: (source: string, id: number) => void claims.delete(`${id}/${source}`),
    on: (e: string, l: (...a: any[]) => void) => events.on(e, l),
    off: (e: string, l: (...a: any[]) => void) => events.off(e, l),
    sessionOn: (id: number) => (session && session.connectorId === id ? (session as any) : undefined),
    liveDurations: (id: number) => (session && session.connectorId === id ? { durationMs: clock.monoMs() - session.startMono, chargingMs: 0, idleMs: 0, meterGapMs: 0 } : null),
    vehicle: () => ({ socPercent: soc, batteryCapacityWh: null }),
    stopSession: async (connectorId: number, reason: StopReason) => {
      stops.push({ connectorId, reason });
      const s = session!;
      session = undefined;
      events.emit('session-stopped', { ...s, stopReason: reason });
      return true;
    },
  };
  return {
    station: station as any,
    clock,
    claims,
    stops,
    timerClaim: (id = 1) => claims.get(`${id}/timer`),
    startSession(meterStartWh = 1000) {
      session = { id: (session?.id ?? 0) + 1, connectorId: 1, meterStartWh, checkpointEnergyWh: null, startMono: clock.monoMs() };
      events.emit('session-started', session);
    },
    sample(energyWh: number) {
      events.emit('sample', { connectorId: 1, sessionId: session?.id ?? null, energyWh, powerW: 11000, voltageV: [], currentA: [], powerPhaseW: [], frequencyHz: null, wallMs: clock.wallMs() });
    },
    setSoc(v: number) {
      soc = v;
    },
  };
}

const utc = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

describe('charging timers drive a claim on the station clock', () => {
  it('suspends outside the window, lifts the claim at 22:00 local and sets it again at 06:00, with no real time passing', () => {
    // Wednesday 2026-01-14 20:00 Berlin = 19:00Z.
    const f = fakeStation(utc(2026, 1, 14, 19));
    const t = new ChargingTimers(f.station, { timers: chargingTimersSchema.parse([{ days: ['weekdays'], start: '22:00', end: '06:00' }]), timeZone: 'Europe/Berlin' });
    t.start();
    expect(f.timerClaim()).toEqual({ source: 'timer', connectorId: 1, maxA: 0, priority: TIMER_PRIORITY });
    f.clock.advance(2 * 3_600_000 - 1);
    expect(f.timerClaim()?.maxA).toBe(0);
    f.clock.advance(1);
    expect(f.timerClaim()).toBeUndefined();
    expect(t.status().connectors[0]).toMatchObject({ open: true, until: '2026-01-15T05:00:00.000Z' });
    f.clock.advance(8 * 3_600_000);
    expect(f.timerClaim()?.maxA).toBe(0);
    t.stop();
  });

  it('a wall clock that jumps (sync) is followed at once; one that jumps without it within RECHECK_MS', () => {
    // An RTC-less Pi starts in 1970 (here at noon: outside the window).
    const f = fakeStation(12 * 3_600_000);
    const t = new ChargingTimers(f.station, { timers: chargingTimersSchema.parse([{ days: ['daily'], start: '22:00', end: '06:00' }]), timeZone: 'UTC' });
    t.start();
    expect(f.timerClaim()?.maxA).toBe(0);
    f.clock.setWall(utc(2026, 1, 14, 23));
    f.clock.events.emit('sync', { monoToWallMs: 0, source: 'ntp' });
    expect(f.timerClaim()).toBeUndefined();
    f.clock.setWall(utc(2026, 1, 15, 12));
    f.clock.advance(RECHECK_MS - 1);
    expect(f.timerClaim()).toBeUndefined();
    f.clock.advance(1);
    expect(f.timerClaim()?.maxA).toBe(0);
    t.stop();
  });

  it('timers set at run time are stored and come back from the store; null returns to the config', () => {
    const f = fakeStation(utc(2026, 1, 14, 12));
    let stored: unknown = undefined;
    const store = { load: () => stored, save: (v: unknown) => void (stored = v) };
    const t = new ChargingTimers(f.station, { timers: [], timeZone: 'UTC', store });
    t.start();
    expect(f.timerClaim()).toBeUndefined();
    t.set(chargingTimersSchema.parse([{ start: '13:00', end: '14:00', maxA: 10 }]));
    expect(f.timerClaim()?.maxA).toBe(0);
    t.stop();
    const again = new ChargingTimers(f.station, { timers: [], timeZone: 'UTC', store });
    expect(again.status().source).toBe('api');
    again.start();
    f.clock.advance(3_600_000);
    expect(f.timerClaim()?.maxA).toBe(10);
    again.set(null);
    expect(stored).toBeNull();
    expect(f.timerClaim()).toBeUndefined();
    again.stop();
  });
});

describe('session stop conditions', () => {
  const limits = (f: ReturnType<typeof fakeStation>, defaults: Record<string, number> = {}, target: number | null = null, stops = false) =>
    new SessionLimits(f.station, { defaults: new Map([[1, defaults]]), targetStops: new Map([[1, stops]]), energyTargetWh: () => target });

  it('a duration limit ends the session on the monotonic clock with TimeLimitReached, not a moment before', () => {
    const f = fakeStation(utc(2026, 1, 14, 12));
    const l = limits(f, { durationS: 3600 });
    f.startSession();
    f.clock.advance(3_600_000 - 1);
    expect(f.stops).toEqual([]);
    f.clock.advance(1);
    expect(f.stops).toEqual([{ connectorId: 1, reason: 'TimeLimitReached' }]);
    l.stop();
  });

  it('a duration set during the session counts from its start; the defaults apply again to the next session', () => {
    const f = fakeStation(0);
    const l = limits(f);
    f.startSession();
    f.clock.advance(120_000);
    l.setLimits(1, { durationS: 60 });
    expect(f.stops.map((s) => s.reason)).toEqual(['TimeLimitReached']);
    f.startSession();
    f.clock.advance(10 * 3_600_000);
    expect(f.stops).toHaveLength(1);
    expect(l.limits(1)).toEqual({ energyWh: null, durationS: null, socPercent: null });
    l.stop();
  });

  it('energy and SoC limits end the session with their reasons; the energy target stops only in mode stop', () => {
    const f = fakeStation(0);
    const l = limits(f, { energyWh: 5000 }, 3000);
    f.startSession(1000);
    f.sample(3999);
    expect(f.stops).toEqual([]);
    l.setTargetMode(1, 'stop');
    expect(l.effective(1)).toMatchObject({ energyWh: 3000, targetMode: 'stop' });
    f.sample(4000);
    expect(f.stops.map((s) => s.reason)).toEqual(['EnergyLimitReached']);

    f.startSession(10_000);
    expect(l.targetMode(1)).toBe('estimate');
    l.setLimits(1, { socPercent: 80, energyWh: null });
    f.setSoc(79.9);
    f.sample(20_000);
    expect(f.stops).toHaveLength(1);
    f.setSoc(80);
    f.sample(20_001);
    expect(f.stops.map((s) => s.reason)).toEqual(['EnergyLimitReached', 'SOCLimitReached']);
    l.stop();
  });
});
