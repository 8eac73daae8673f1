import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Station } from '../../src/evse/station.js';
import type { AuthResult, Reservation, ReservationEnd, StationEvents } from '../../src/evse/port.js';
import { SystemClock } from '../../src/hal/clock.js';
import { Reservations } from '../../src/evse/reservations.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { SimMeter } from '../../src/sim/meter.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { openDb, type Db } from '../../src/store/db.js';
import { LockoutStore } from '../../src/store/lockouts.js';
import { ReservationStore } from '../../src/store/reservations.js';
import { SessionStore } from '../../src/store/sessions.js';
import { TestClock } from '../ocpp/handlers/fixture.js';
import { tempDir, writeSimConfig } from '../support/station.js';

/**
 * Reservations on the real station core (state machines, connectors, sim boards and meters), on
 * fake time: who may start, the Reserved status, expiry on the monotonic clock, the store.
 */
const STEP_MS = 5;
const HOUR = 3_600_000;

interface Rig {
  station: Station;
  clock: TestClock;
  db: Db;
  dir: string;
  hw: SimHardware[];
  ended: [Reservation, ReservationEnd | null][];
  status: (id: number) => string;
  pass: (ms: number) => Promise<void>;
  until: (fn: () => boolean, what: string) => Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.station.shutdown('Other');
    r.db.close();
    rmSync(r.dir, { recursive: true, force: true });
  }
});

interface RigOptions {
  connectors?: number;
  authMode?: 'free' | 'local';
  tags?: string[];
  /** reuse the store of this directory (a restart) */
  dir?: string;
  clock?: TestClock;
  authorizer?: (idTag: string) => AuthResult;
}

async function rig(o: RigOptions = {}): Promise<Rig> {
  const dir = o.dir ?? tempDir('evsed-reservations-');
  const file = writeSimConfig(dir, { connectors: o.connectors ?? 2, authMode: o.authMode ?? 'local', tags: o.tags ?? ['RES', 'OTHER', 'CHILD'] });
  const { config } = loadConfig(file);
  const clock = o.clock ?? new TestClock();
  const db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
  const hw = config.connectors.map(() => {
    const h = new SimHardware({ maxCurrentA: 32, phases: 3, voltageV: 230 }, clock);
    h.ev.reactionMs = 50;
    return h;
  });
  const parts = config.connectors.map((cfg, i) => ({ cfg, hardware: hw[i]!, meter: new SimMeter(clock, hw[i]!.ev, 1000, 230) }));
  const station = new Station({ config, parts, sessions: new SessionStore(db), lockouts: new LockoutStore(db), reservations: new ReservationStore(db), clock: clock as unknown as SystemClock, log: silentLogger() });
  if (o.authorizer) station.setAuthorizer({ authorize: async (t) => o.authorizer!(t) });
  const ended: Rig['ended'] = [];
  station.on('reservation', (...a: StationEvents['reservation']) => void ended.push(a));
  const pass = async (ms: number) => {
    // long stretches in coarser steps (nothing happens in them but the reservation's timer)
    const step = ms > 10_000 ? 500 : STEP_MS;
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      await new Promise((r) => setImmediate(r));
    }
  };
  const r: Rig = {
    station, clock, db, dir, hw, ended, pass,
    status: (id) => station.connectorView(id)!.status,
    until: async (fn, what) => {
      const end = clock.monoMs() + 10_000;
      while (!fn()) {
        if (clock.monoMs() > end) throw new Error(`timed out waiting for ${what}`);
        await pass(STEP_MS);
      }
    },
  };
  rigs.push(r);
  await station.start();
  await pass(50);
  return r;
}

const reservation = (r: Rig, o: Partial<Reservation> = {}): Reservation => ({ reservationId: 7, connectorId: 1, idTag: 'RES', expiresAtMs: r.clock.wallMs() + HOUR, ...o });

describe('a reserved connector', () => {
  it('is Reserved; another tag is refused (also with its EV plugged in); the reserved tag starts, with the reservationId, and the reservation ends', async () => {
    const r = await rig();
    expect(r.station.reserve(reservation(r))).toBe('Accepted');
    expect(r.status(1)).toBe('Reserved');
    expect(r.status(2)).toBe('Available');
    expect(r.station.connectorView(1)!.reservation).toMatchObject({ reservationId: 7, idTag: 'RES', station: false });

    expect(await r.station.presentTag(1, 'OTHER')).toMatchObject({ action: 'rejected', reserved: true });
    r.hw[0]!.ev.plug();
    await r.pass(100);
    expect(r.status(1)).toBe('Reserved');
    expect(await r.station.presentTag(1, 'OTHER')).toMatchObject({ action: 'rejected', reserved: true });
    expect(r.station.sessionOn(1)).toBeUndefined();
    // the other connector is not reserved
    expect(await r.station.presentTag(2, 'OTHER')).toMatchObject({ status: 'Accepted', action: 'pending' });

    expect(await r.station.presentTag(1, 'res')).toMatchObject({ status: 'Accepted' });
    await r.until(() => r.station.sessionOn(1) !== undefined, 'session');
    expect(r.station.sessionOn(1)).toMatchObject({ idTag: 'res', reservationId: 7 });
    expect(r.station.reservations()).toEqual([]);
    expect(r.ended.map(([x, why]) => [x.reservationId, why])).toEqual([[7, null], [7, 'used']]);
    expect(new ReservationStore(r.db).list()).toEqual([]);
    expect(r.status(1)).not.toBe('Reserved');
  });

  it('free mode: a plug-in does not start on a reserved connector; the reserved tag at the reader does', async () => {
    const r = await rig({ authMode: 'free' });
    r.station.reserve(reservation(r));
    r.hw[0]!.ev.plug();
    await r.pass(200);
    expect(r.station.sessionOn(1)).toBeUndefined();
    expect(r.status(1)).toBe('Reserved');
    // the unreserved connector starts on plug-in as always
    r.hw[1]!.ev.plug();
    await r.until(() => r.station.sessionOn(2) !== undefined, 'free session on 2');
    expect(await r.station.presentTag(1, 'RES')).toMatchObject({ status: 'Accepted' });
    await r.until(() => r.station.sessionOn(1) !== undefined, 'reserved session');
    expect(r.station.sessionOn(1)).toMatchObject({ idTag: 'RES', reservationId: 7 });
  });

  it('a tag of the same parent may use it (the authoriser names the parent); a tag of another parent may not', async () => {
    const asked: string[] = [];
    const parents: Record<string, string> = { CHILD: 'FLEET', STRANGER: 'ELSEWHERE' };
    const r = await rig({ authorizer: (t) => (asked.push(t), { status: 'Accepted', source: 'ocpp', ...(parents[t] ? { parentIdTag: parents[t] } : {}) }) });
    r.station.reserve(reservation(r, { parentIdTag: 'FLEET' }));
    expect(await r.station.presentTag(1, 'STRANGER')).toMatchObject({ action: 'rejected', reserved: true });
    expect(await r.station.presentTag(1, 'CHILD')).toMatchObject({ status: 'Accepted', action: 'pending' });
    expect(asked).toEqual(['STRANGER', 'CHILD']);
    r.hw[0]!.ev.plug();
    await r.until(() => r.station.sessionOn(1) !== undefined, 'session');
    expect(r.station.sessionOn(1)).toMatchObject({ idTag: 'CHILD', reservationId: 7 });
  });

  it('without a parent in the reservation, another tag is refused without asking the authoriser', async () => {
    const asked: string[] = [];
    const r = await rig({ authorizer: (t) => (asked.push(t), { status: 'Accepted', source: 'ocpp' }) });
    r.station.reserve(reservation(r));
    expect(await r.station.presentTag(1, 'OTHER')).toMatchObject({ action: 'rejected', reserved: true });
    expect(asked).toEqual([]);
  });

  it('a remote start takes only the reserved tag there; without a connector it picks one the tag may use', async () => {
    const r = await rig();
    r.station.reserve(reservation(r));
    expect(await r.station.remoteStart(1, 'OTHER')).toBe(false);
    expect(await r.station.remoteStart(undefined, 'OTHER')).toBe(true);
    expect(r.station.connectorView(2)!.status).toBe('Preparing');
    expect(await r.station.remoteStart(undefined, 'RES')).toBe(true);
    r.hw[0]!.ev.plug();
    await r.until(() => r.station.sessionOn(1) !== undefined, 'session');
    expect(r.station.sessionOn(1)).toMatchObject({ idTag: 'RES', authSource: 'remote', reservationId: 7 });
  });

  it('ends at its expiry, on the monotonic clock: a jump of the wall clock does not move it', async () => {
    const r = await rig();
    r.station.reserve(reservation(r, { expiresAtMs: r.clock.wallMs() + 60_000 }));
    // someone sets the date a day ahead (not a trusted source): the reservation still has its minute
    r.clock.setWall(r.clock.wallMs() + 24 * HOUR);
    await r.pass(59_000);
    expect(r.status(1)).toBe('Reserved');
    await r.pass(1_100);
    expect(r.status(1)).toBe('Available');
    expect(r.ended.at(-1)).toEqual([expect.objectContaining({ reservationId: 7 }), 'expired']);
    expect(new ReservationStore(r.db).list()).toEqual([]);
    // anyone may charge now
    expect(await r.station.presentTag(1, 'OTHER')).toMatchObject({ status: 'Accepted', action: 'pending' });
  });

  it('expired while its tag waits for the plug: the session starts without the ended reservation', async () => {
    const r = await rig();
    r.station.reserve(reservation(r, { expiresAtMs: r.clock.wallMs() + 10_000 }));
    expect(await r.station.presentTag(1, 'RES')).toMatchObject({ action: 'pending' });
    await r.pass(10_100);
    expect(r.ended.at(-1)?.[1]).toBe('expired');
    r.hw[0]!.ev.plug();
    await r.until(() => r.station.sessionOn(1) !== undefined, 'session');
    expect(r.station.sessionOn(1)).toMatchObject({ idTag: 'RES', reservationId: null });
  });

  it('ends when its connector becomes Faulted or Unavailable', async () => {
    const r = await rig();
    r.station.reserve(reservation(r, { reservationId: 1, connectorId: 1 }));
    r.station.reserve(reservation(r, { reservationId: 2, connectorId: 2 }));
    r.hw[0]!.ev.plug();
    r.station.simulator(1)!.setFault('rcd', true);
    await r.pass(100);
    expect(r.status(1)).toBe('Faulted');
    expect(r.station.setAvailability(2, false)).toBe('Accepted');
    expect(r.status(2)).toBe('Unavailable');
    expect(r.ended.filter(([, why]) => why).map(([x, why]) => [x.reservationId, why])).toEqual([[1, 'faulted'], [2, 'unavailable']]);
    expect(r.station.reservations()).toEqual([]);
    // back in service: nothing is kept any more
    r.station.setAvailability(2, true);
    expect(r.status(2)).toBe('Available');
  });

  it('answers Occupied, Faulted, Unavailable, Rejected as the rules say; the same reservationId replaces and may move', async () => {
    const r = await rig();
    expect(r.station.reserve(reservation(r, { connectorId: 3 }))).toBe('Rejected');
    expect(r.station.reserve(reservation(r, { expiresAtMs: r.clock.wallMs() - 1 }))).toBe('Rejected');
    expect(r.station.reserve(reservation(r, { reservationId: 1 }))).toBe('Accepted');
    expect(r.station.reserve(reservation(r, { reservationId: 2 }))).toBe('Occupied');
    // replaced: moved to connector 2
    expect(r.station.reserve(reservation(r, { reservationId: 1, connectorId: 2, idTag: 'NEW' }))).toBe('Accepted');
    expect(r.status(1)).toBe('Available');
    expect(r.status(2)).toBe('Reserved');
    expect(r.station.reservations()).toEqual([expect.objectContaining({ reservationId: 1, connectorId: 2, idTag: 'NEW' })]);
    r.hw[0]!.ev.plug();
    await r.pass(50);
    expect(r.station.reserve(reservation(r, { reservationId: 3 }))).toBe('Occupied');
    expect(r.station.cancelReservation(1)).toBe(true);
    expect(r.station.cancelReservation(1)).toBe(false);
    expect(r.status(2)).toBe('Available');
    r.station.setAvailability(2, false);
    expect(r.station.reserve(reservation(r, { reservationId: 4, connectorId: 2 }))).toBe('Unavailable');
    r.station.simulator(1)!.setFault('rcd', true);
    await r.pass(50);
    expect(r.station.reserve(reservation(r, { reservationId: 5 }))).toBe('Faulted');
  });
});

describe('a reserved station (connector 0)', () => {
  it('keeps the last free connector for its tag; the tag may use any connector; the reservation ends with its session', async () => {
    const r = await rig();
    expect(r.station.reserve(reservation(r, { connectorId: 0 }))).toBe('Accepted');
    // two free connectors, one reservation: both still Available, anyone may use one
    expect([r.status(1), r.status(2)]).toEqual(['Available', 'Available']);
    expect(r.station.connectorView(1)!.reservation).toBeNull();
    expect(await r.station.presentTag(1, 'OTHER')).toMatchObject({ status: 'Accepted', action: 'pending' });
    // now 2 is the last free connector: kept for the reservation
    expect(r.status(2)).toBe('Reserved');
    expect(r.station.connectorView(2)!.reservation).toMatchObject({ reservationId: 7, station: true });
    expect(await r.station.presentTag(2, 'CHILD')).toMatchObject({ action: 'rejected', reserved: true });
    expect(r.station.reserve(reservation(r, { reservationId: 8, connectorId: 2 }))).toBe('Occupied');
    expect(await r.station.presentTag(2, 'RES')).toMatchObject({ status: 'Accepted' });
    r.hw[1]!.ev.plug();
    await r.until(() => r.station.sessionOn(2) !== undefined, 'session on 2');
    expect(r.station.sessionOn(2)).toMatchObject({ idTag: 'RES', reservationId: 7 });
    expect(r.station.reservations()).toEqual([]);
  });

  it('once its tag waits for the plug on one connector, no other connector is kept for it', async () => {
    const r = await rig();
    r.station.reserve(reservation(r, { connectorId: 0 }));
    expect(await r.station.presentTag(1, 'RES')).toMatchObject({ action: 'pending' });
    expect(r.status(2)).toBe('Available');
    expect(await r.station.presentTag(2, 'OTHER')).toMatchObject({ status: 'Accepted', action: 'pending' });
    r.hw[0]!.ev.plug();
    await r.until(() => r.station.sessionOn(1) !== undefined, 'session');
    expect(r.station.sessionOn(1)!.reservationId).toBe(7);
  });

  it('its tag on any free connector uses it, even while others are free', async () => {
    const r = await rig();
    r.station.reserve(reservation(r, { connectorId: 0 }));
    r.hw[0]!.ev.plug();
    await r.station.presentTag(1, 'RES');
    await r.until(() => r.station.sessionOn(1) !== undefined, 'session');
    expect(r.station.sessionOn(1)!.reservationId).toBe(7);
    expect(r.status(2)).toBe('Available');
    expect(r.station.reservations()).toEqual([]);
  });
});

describe('reservations across a restart', () => {
  it('are restored Reserved before anything runs; one that expired while the station was off ends at start', async () => {
    const dir = tempDir('evsed-reservations-');
    let r = await rig({ dir });
    r.station.reserve(reservation(r, { reservationId: 1, connectorId: 1, expiresAtMs: r.clock.wallMs() + HOUR }));
    r.station.reserve(reservation(r, { reservationId: 2, connectorId: 2, idTag: 'OTHER', expiresAtMs: r.clock.wallMs() + 10 * 60_000 }));
    const wall = r.clock.wallMs();
    await r.station.shutdown('Other');
    r.db.close();
    rigs.splice(rigs.indexOf(r), 1);

    // off for 30 minutes
    const firstStatus = new Map<number, string>();
    const clock = new TestClock({ wallMs: wall + 30 * 60_000, bootId: 'boot-2' });
    r = await rig({ dir, clock });
    for (const id of [1, 2]) firstStatus.set(id, r.status(id));
    expect(firstStatus).toEqual(new Map([[1, 'Reserved'], [2, 'Available']]));
    expect(r.station.reservations()).toEqual([expect.objectContaining({ reservationId: 1, idTag: 'RES' })]);
    expect(await r.station.presentTag(1, 'OTHER')).toMatchObject({ reserved: true });
    // what is left of the hour
    await r.pass(29 * 60_000);
    expect(r.status(1)).toBe('Reserved');
    await r.pass(61_000);
    expect(r.status(1)).toBe('Available');
  });

  it('restored with a clock not yet set: the deadline is derived again when the clock becomes trustworthy', async () => {
    const dir = tempDir('evsed-reservations-');
    let r = await rig({ dir });
    const wall = r.clock.wallMs();
    r.station.reserve(reservation(r, { expiresAtMs: wall + HOUR }));
    await r.station.shutdown('Other');
    r.db.close();
    rigs.splice(rigs.indexOf(r), 1);

    // A Pi without an RTC boots with the time it saved at shutdown; it was really off for 50 minutes.
    const clock = new TestClock({ wallMs: wall + 1000, quality: 'unsynced', bootId: 'boot-2' });
    r = await rig({ dir, clock });
    expect(r.status(1)).toBe('Reserved');
    clock.setFromTrustedSource(wall + 50 * 60_000, 'csms');
    await r.pass(9 * 60_000);
    expect(r.status(1)).toBe('Reserved');
    await r.pass(61_000);
    expect(r.status(1)).toBe('Available');
  });
});

describe('a reservation far ahead, on the real clock', () => {
  it('is still held: a timer beyond what Node can wait (about 24.8 days) must not fire at once', async () => {
    const dir = tempDir('evsed-reservations-');
    const db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
    try {
      const clock = new SystemClock('always');
      const ended: string[] = [];
      const keeper = new Reservations({
        clock, store: new ReservationStore(db), log: silentLogger(),
        occupancy: () => [{ id: 1, available: true, faulted: false, busy: false, plugged: false }],
        claimed: () => [],
        changed: (_r, why) => void (why && ended.push(why)),
      });
      expect(keeper.reserve({ reservationId: 1, connectorId: 1, idTag: 'RES', expiresAtMs: clock.wallMs() + 60 * 24 * HOUR })).toBe('Accepted');
      await new Promise((r) => setTimeout(r, 100));
      expect(ended).toEqual([]);
      expect(keeper.list()).toHaveLength(1);
      keeper.stop();
      clock.close();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
