import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import { siteConfigSchema } from '../../src/config/site.js';
import { SimGridMeter, type SimGridLoad } from '../../src/sim/grid-meter.js';
import { LoadService, type SiteStatus } from '../../src/energy/load-service.js';
import type { ConnectorView, StationBudget, StationPort } from '../../src/evse/port.js';

/** The part of the station the service uses: connector meters as the test sets them, budgets recorded. */
function fakeStation() {
  const meters = new Map<number, { currentA: number[]; stale: boolean }>();
  const budgets: StationBudget[] = [];
  const status = new Map<string, () => unknown>();
  const listeners = new Set<(v: ConnectorView) => void>();
  const station = {
    on: ((_e: string, l: (v: ConnectorView) => void) => listeners.add(l)) as unknown as StationPort['on'],
    off: ((_e: string, l: (v: ConnectorView) => void) => listeners.delete(l)) as unknown as StationPort['off'],
    /** A connector's offer or contactor changed (the station's 'status' event). */
    emitStatus: (v: Partial<ConnectorView> & { id: number }) => {
      for (const l of listeners) l({ currentLimitA: 16, contactorClosed: true, ...v } as ConnectorView);
    },
    meters,
    budgets,
    status,
    registerStatus: (name: string, p: () => unknown) => void status.set(name, p),
    connectorIds: () => [...meters.keys()],
    /** What a fresh read of a connector meter shows; unset = what it showed last. */
    truth: new Map<number, number[]>(),
    readMeter: async (id: number) => {
      if (!meters.has(id)) throw new Error('no connector');
      const t = station.truth.get(id);
      if (t) meters.set(id, { currentA: t, stale: false });
      const m = meters.get(id)!;
      // A stale meter is one that does not answer.
      if (m.stale) throw new Error('the meter does not answer');
      return { connectorId: id, currentA: m.currentA } as never;
    },
    connectorView: (id: number) => (meters.has(id) ? ({ id, meter: meters.get(id) } as unknown as ConnectorView) : undefined),
    setBudget: (b: StationBudget) => void budgets.push({ source: b.source, phaseA: [...b.phaseA] as [number, number, number] }),
  };
  return station;
}

async function setup(evs: SimGridLoad[] = []) {
  const clock = new FakeClock();
  const site = siteConfigSchema.parse({ fuseA: 25, marginA: 1, fallbackA: 6, gridMeter: { model: 'sim', houseLoadA: [4, 2, 2], pollIntervalMs: 1000, staleAfterS: 3 } });
  const meter = new SimGridMeter(clock, site.gridMeter as never, evs);
  const station = fakeStation();
  const svc = new LoadService({ station, site, meter, rotations: new Map([[2, 'L2L3L1']]), clock, log: silentLogger() });
  const flush = async () => {
    clock.advance(0);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  const step = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await flush();
    }
  };
  const status = () => station.status.get('site')!() as SiteStatus;
  const budget = () => station.budgets.at(-1)!.phaseA;
  return { clock, site, meter, station, svc, step, flush, status, budget };
}

describe('load service (grid meter poller -> site budget), fake clock', () => {
  it('fallback until the first reading, then fuse - margin - house load on every reading', async () => {
    const t = await setup();
    t.svc.start();
    expect(t.station.budgets[0]).toEqual({ source: 'site', phaseA: [6, 6, 6] });
    expect(t.status()).toMatchObject({ fallbackActive: true, fallbackReason: 'no reading from the grid meter yet', budgetA: [6, 6, 6] });
    await t.flush();
    expect(t.budget()).toEqual([20, 22, 22]);
    expect(t.status()).toMatchObject({ fallbackActive: false, gridA: [4, 2, 2], houseA: [4, 2, 2], budgetA: [20, 22, 22], meter: { model: 'sim', health: 'ok', stale: false } });

    t.meter.setHouseLoad([15, 2, 2]);
    const n = t.station.budgets.length;
    await t.step(1000);
    expect(t.station.budgets.length).toBeGreaterThan(n);
    expect(t.budget()).toEqual([9, 22, 22]);
    await t.svc.stop();
  });

  it('the EVs measured by their connector meters are not house load (rotation applied); a stale EV meter counts as 0', async () => {
    const ev1 = { a: 10, currentA() { return this.a; }, phases: () => 3, rotation: 'L1L2L3' as const };
    const ev2 = { a: 16, currentA() { return this.a; }, phases: () => 1, rotation: 'L2L3L1' as const };
    const t = await setup([ev1, ev2]);
    t.station.meters.set(1, { currentA: [10, 10, 10], stale: false });
    t.station.meters.set(2, { currentA: [16, 0, 0], stale: false });
    t.svc.start();
    await t.flush();
    // grid = house [4,2,2] + ev1 [10,10,10] + ev2 on site L2 [0,16,0]
    expect(t.status()).toMatchObject({ gridA: [14, 28, 12], evA: [10, 26, 10], houseA: [4, 2, 2], budgetA: [20, 22, 22] });
    t.station.meters.set(2, { currentA: [16, 0, 0], stale: true });
    await t.step(1000);
    expect(t.status()).toMatchObject({ evA: [10, 10, 10], houseA: [4, 18, 2], budgetA: [20, 6, 22] });
    await t.svc.stop();
  });

  it('house = grid - EVs from readings taken together: an EV that just started is not taken for house load', async () => {
    const ev = { a: 0, currentA() { return this.a; }, phases: () => 3, rotation: 'L1L2L3' as const };
    const t = await setup([ev]);
    t.station.meters.set(1, { currentA: [0, 0, 0], stale: false });
    t.svc.start();
    await t.flush();
    expect(t.budget()).toEqual([20, 22, 22]);
    // The EV starts drawing 16 A; its connector meter's last poll still says 0.
    ev.a = 16;
    t.station.truth.set(1, [16, 16, 16]);
    await t.step(1000);
    expect(t.status()).toMatchObject({ gridA: [20, 18, 18], evA: [16, 16, 16], houseA: [4, 2, 2] });
    expect(t.budget()).toEqual([20, 22, 22]);
    await t.svc.stop();
  });

  it('a pair of readings between which an offer changed is not used (the EV\'s draw jumped between them)', async () => {
    const ev = { a: 16, currentA() { return this.a; }, phases: () => 3, rotation: 'L1L2L3' as const };
    const t = await setup([ev]);
    t.station.meters.set(1, { currentA: [16, 16, 16], stale: false });
    t.station.emitStatus({ id: 1, currentLimitA: 16 });
    t.svc.start();
    await t.flush();
    expect(t.status()).toMatchObject({ houseA: [4, 2, 2], budgetA: [20, 22, 22] });
    // The grid meter has just been read with the EV at 16 A; while the connector meter is read, its offer drops to 10 A and it follows at once.
    const readMeter = t.station.readMeter;
    t.station.readMeter = async (id: number) => {
      t.station.readMeter = readMeter;
      ev.a = 10;
      t.station.truth.set(1, [10, 10, 10]);
      t.station.emitStatus({ id: 1, currentLimitA: 10 });
      return readMeter(id);
    };
    await t.step(1000);
    expect(t.status()).toMatchObject({ gridA: [20, 18, 18], budgetA: [20, 22, 22] }); // the previous pair still
    await t.step(1000);
    // Not grid 20 - EV 10 = house 10: that pair was dropped; the next one is consistent.
    expect(t.status()).toMatchObject({ gridA: [14, 12, 12], evA: [10, 10, 10], houseA: [4, 2, 2], budgetA: [20, 22, 22] });
    expect(t.station.budgets.every((b) => b.phaseA[0] === 20 || b.phaseA[0] === 6)).toBe(true);
    await t.svc.stop();
  });

  it('a connector whose contactor is open is not read for a pair (no bus traffic for idle connectors); it is again once it closes', async () => {
    const t = await setup();
    t.station.meters.set(1, { currentA: [0, 0, 0], stale: false });
    t.station.meters.set(2, { currentA: [10, 10, 10], stale: false });
    const reads: number[] = [];
    const read = t.station.readMeter;
    t.station.readMeter = (id: number) => (reads.push(id), read(id));
    t.svc.start();
    t.station.emitStatus({ id: 1, contactorClosed: false, currentLimitA: 0 });
    await t.step(3000);
    expect(reads.filter((id) => id === 1).length).toBeLessThanOrEqual(1); // at most the reading under way
    expect(reads.filter((id) => id === 2).length).toBeGreaterThanOrEqual(3);
    t.station.emitStatus({ id: 1, contactorClosed: true });
    const before = reads.length;
    await t.step(2000);
    expect(reads.slice(before)).toContain(1);
    await t.svc.stop();
  });

  it('slow connector meters (slower than the grid poll) do not starve the budget: each reading counts, none replaces a newer one', async () => {
    const clock = new FakeClock();
    const site = siteConfigSchema.parse({ fuseA: 25, fallbackA: 0, gridMeter: { model: 'sim', houseLoadA: 2, pollIntervalMs: 100, staleAfterS: 2 } });
    const meter = new SimGridMeter(clock, site.gridMeter as never, []);
    const station = fakeStation();
    station.meters.set(1, { currentA: [0, 0, 0], stale: false });
    // Every connector meter read takes 300 ms: three grid readings arrive meanwhile.
    station.readMeter = (id: number) => new Promise((resolve) => clock.setTimeout(() => resolve({ connectorId: id, currentA: [0, 0, 0] } as never), 300));
    const svc = new LoadService({ station, site, meter, rotations: new Map(), clock, log: silentLogger() });
    svc.start();
    for (let i = 0; i < 30; i++) {
      clock.advance(100);
      for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
    }
    expect(station.budgets.at(-1)!.phaseA).toEqual([22, 22, 22]);
    expect((station.status.get('site')!() as SiteStatus).fallbackActive).toBe(false);
    await svc.stop();
  });

  it('a meter that stops answering: fallback once its reading is stale (and when offline), back when it answers', async () => {
    const t = await setup();
    t.svc.start();
    await t.flush();
    expect(t.budget()).toEqual([20, 22, 22]);
    t.meter.failing = true;
    await t.step(2900);
    expect(t.status().fallbackActive).toBe(false); // degraded, the last reading still young enough
    await t.step(300);
    expect(t.budget()).toEqual([6, 6, 6]);
    expect(t.status()).toMatchObject({ fallbackActive: true, gridA: null, houseA: null, meter: { stale: true } });
    expect(t.status().fallbackReason).toMatch(/stale|offline/);
    t.meter.failing = false;
    t.meter.setHouseLoad([10, 10, 10]);
    await t.step(10_000);
    expect(t.budget()).toEqual([14, 14, 14]);
    expect(t.status()).toMatchObject({ fallbackActive: false, meter: { health: 'ok', stale: false } });
    await t.svc.stop();
  });

  it('offline before stale: 3 failed polls are a failed meter even while the last reading is young', async () => {
    const clock = new FakeClock();
    const site = siteConfigSchema.parse({ fuseA: 25, fallbackA: [0, 6, 6], gridMeter: { model: 'sim', houseLoadA: 2, pollIntervalMs: 100, staleAfterS: 60 } });
    const meter = new SimGridMeter(clock, site.gridMeter as never, []);
    const station = fakeStation();
    const svc = new LoadService({ station, site, meter, rotations: new Map(), clock, log: silentLogger() });
    svc.start();
    clock.advance(0);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(station.budgets.at(-1)!.phaseA).toEqual([22, 22, 22]);
    meter.failing = true;
    for (let i = 0; i < 20; i++) {
      clock.advance(100);
      for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
    }
    expect(station.budgets.at(-1)!.phaseA).toEqual([0, 6, 6]);
    expect((station.status.get('site')!() as SiteStatus).fallbackReason).toMatch(/^grid meter offline: simulated grid meter: no answer/);
    await svc.stop();
  });
});
