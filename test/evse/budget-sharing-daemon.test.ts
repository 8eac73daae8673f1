import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { api, tempDir, until, writeSimConfig, type SimConfigOptions } from '../support/station.js';

/**
 * Two simulated connectors sharing one supply: the station budget is shared out by the core and
 * what the simulated EVs draw (the sim meters' currents) stays within it per site phase.
 */
let d: Daemon | undefined;
afterEach(async () => {
  await d?.stop();
  d = undefined;
});

async function station(o: SimConfigOptions = {}): Promise<Daemon> {
  d = await startDaemon(loadConfig(writeSimConfig(tempDir('evsed-sharing-'), { authMode: 'free', connectors: 2, ...o })), silentLogger());
  return d;
}

/** What an EV draws is what it decodes from the duty: 10 A is 9.96 A (duty 16.6 %). */
const near = (a: number, b: number) => Math.abs(a - b) < 0.1;

const ev = (id: number) => (d!.hardware(id) as SimHardware).ev;

/** What the EVs draw on each site phase now (connector phases L1..L3 as wired: rotation L1L2L3 unless given). */
function drawn(rotations: Record<number, number[]> = {}): number[] {
  const sum = [0, 0, 0];
  for (const id of [1, 2]) {
    const e = ev(id);
    const map = rotations[id] ?? [0, 1, 2];
    for (let k = 0; k < e.phases(); k++) sum[map[k]!]! += e.currentA();
  }
  return sum;
}

/** Checks the budget at every change of either EV's draw (synchronously, as the sim meter integrates it). */
function watchDraw(limit: number[], rotations?: Record<number, number[]>): { worst: () => number; stop: () => void } {
  let worst = -Infinity;
  const check = () => {
    drawn(rotations).forEach((a, p) => (worst = Math.max(worst, a - limit[p]!)));
  };
  for (const id of [1, 2]) ev(id).on('draw', check);
  return { worst: () => worst, stop: () => [1, 2].forEach((id) => ev(id).off('draw', check)) };
}

async function chargeBoth(): Promise<void> {
  for (const id of [1, 2]) {
    ev(id).plug();
    ev(id).ready();
    await until(() => d!.station.connectorView(id)!.contactorClosed, `connector ${id} charging`);
  }
}

async function meterCurrents(id: number): Promise<number[]> {
  return (await d!.station.readMeter(id)).currentA;
}

describe('station budget shared by two simulated connectors', () => {
  it('20 A for two charging EVs: the sum per phase stays within 20 A, each gets 10 A', async () => {
    await station();
    d!.station.setBudget({ source: 'site', phaseA: [20, 20, 20] });
    const watch = watchDraw([20, 20, 20]);
    await chargeBoth();
    // Connector 1 took 16 A alone (its EV's maximum); the second EV's arrival halved it first.
    await until(() => near(ev(1).currentA(), 10) && near(ev(2).currentA(), 10), 'both EVs at 10 A');
    watch.stop();
    expect(watch.worst()).toBeLessThanOrEqual(0);
    const [m1, m2] = [await meterCurrents(1), await meterCurrents(2)];
    for (let p = 0; p < 3; p++) expect(m1[p]! + m2[p]!).toBeLessThanOrEqual(20);
    for (const id of [1, 2]) {
      expect(d!.station.connectorView(id)).toMatchObject({ status: 'Charging', currentLimitA: 10, limitSource: 'site' });
    }
    const status = (await api(`http://127.0.0.1:${d!.address.port}`, '/api/status')).body;
    expect(status.sharing).toMatchObject({
      mode: 'fair',
      budgets: [{ source: 'site', phaseA: [20, 20, 20] }],
      phaseA: [20, 20, 20],
      allowances: [
        { connectorId: 1, amps: 10, source: 'site', suspended: false, sitePhases: ['L1', 'L2', 'L3'] },
        { connectorId: 2, amps: 10, source: 'site', suspended: false, sitePhases: ['L1', 'L2', 'L3'] },
      ],
    });
  });

  it('a budget that drops takes effect at once: one EV suspended (SuspendedEVSE), the other within it; clearing restores the offers', async () => {
    await station();
    d!.station.setBudget({ source: 'site', phaseA: [20, 20, 20] });
    await chargeBoth();
    await until(() => near(ev(1).currentA(), 10) && near(ev(2).currentA(), 10), 'both EVs at 10 A');

    // 10 A cannot feed two EVs at 6 A: the later one is suspended, the first keeps 10 A. In the same step.
    d!.station.setBudget({ source: 'site', phaseA: [10, 10, 10] });
    expect(Math.max(...drawn())).toBeLessThanOrEqual(10);
    expect(ev(2).currentA()).toBe(0);
    await until(() => d!.station.connectorView(2)!.status === 'SuspendedEVSE', 'connector 2 SuspendedEVSE');
    expect(d!.station.connectorView(2)).toMatchObject({ currentLimitA: 0, limitSource: 'site', faults: [] });
    expect(d!.station.connectorView(1)).toMatchObject({ status: 'Charging', currentLimitA: 10 });
    expect(d!.station.view().sharing!.allowances.find((a) => a.connectorId === 2)).toMatchObject({ amps: 0, suspended: true });

    // A second, tighter budget from another source on L2 only: it decides on every 3-phase EV.
    d!.station.setBudget({ source: 'ocpp:ChargePointMaxProfile', phaseA: [32, 8, 32] });
    expect(ev(1).currentA()).toBeCloseTo(8, 1);
    expect(d!.station.connectorView(1)).toMatchObject({ currentLimitA: 8, limitSource: 'ocpp:ChargePointMaxProfile' });

    // No budget left: the config's limit again, the suspended EV charges at once.
    d!.station.clearBudget('ocpp:ChargePointMaxProfile');
    d!.station.clearBudget('site');
    expect(d!.station.budgets()).toEqual([]);
    await until(() => d!.station.connectorView(2)!.status === 'Charging', 'connector 2 charging again');
    for (const id of [1, 2]) expect(d!.station.connectorView(id)).toMatchObject({ currentLimitA: 32, limitSource: 'config' });
    expect(d!.station.claims(1).map((c) => c.source)).toEqual(['config']);
    expect(ev(2).currentA()).toBeCloseTo(16, 1);
  });

  it('a 1-phase EV on a rotated connector loads one site phase: the 3-phase EV gets the other phases whole', async () => {
    // Connector 2 is wired L2L3L1 (its L1 is the site's L2) and has a 1-phase EV.
    await station({ evPhases: [3, 1], connectorExtra: ['', 'phaseRotation: L2L3L1'], evMaxCurrentA: 32 });
    d!.station.setBudget({ source: 'site', phaseA: [16, 32, 16] });
    const rotations = { 1: [0, 1, 2], 2: [1, 2, 0] };
    const watch = watchDraw([16, 32, 16], rotations);
    await chargeBoth();
    // Until its meter shows one phase, connector 2 counts on all three: 8 A each on L1 and L3.
    expect(ev(1).currentA()).toBeCloseTo(8, 1);
    expect(ev(2).currentA()).toBeCloseTo(8, 1);
    // Once the meter shows it on its L1 alone, it loads the site's L2 only: 16 A each is the aim
    // (raised after the increase interval).
    const seen = await until(() => {
      const a = d!.station.view().sharing!.allowances;
      return a[1]!.sitePhases.join() === 'L2' && a[0]!.targetA === 16 && a[1]!.targetA === 16 ? a : null;
    }, 'the 1-phase EV seen on the site L2');
    expect(seen[0]!.sitePhases).toEqual(['L1', 'L2', 'L3']);
    watch.stop();
    expect(watch.worst()).toBeLessThanOrEqual(0);
  });
  it('priority: a higher-priority arrival takes the budget, the lower one is suspended; it resumes when the other leaves', async () => {
    await station({ connectorExtra: ['priority: 0', 'priority: 1'], extra: 'sharing: { mode: priority, resumeHoldS: 0 }\n' });
    d!.station.setBudget({ source: 'site', phaseA: [20, 20, 20] });
    const watch = watchDraw([20, 20, 20]);
    ev(1).plug();
    ev(1).ready();
    await until(() => near(ev(1).currentA(), 16), 'connector 1 at 16 A alone');
    ev(2).plug();
    ev(2).ready();
    // Connector 2 is served first (20 A, its EV takes 16): no 6 A left, so connector 1 is suspended rather than offered less.
    await until(() => near(ev(2).currentA(), 16) && d!.station.connectorView(1)!.status === 'SuspendedEVSE', 'connector 2 charging, 1 suspended');
    expect(ev(1).currentA()).toBe(0);
    expect(d!.station.view().sharing!.allowances.map((a) => [a.connectorId, a.amps, a.suspended])).toEqual([[1, 0, true], [2, 20, false]]); // its EV takes 16 A of them
    // The session on connector 2 ends: connector 1 has the budget again (no resume hold configured).
    ev(2).unplug();
    await until(() => d!.station.connectorView(1)!.status === 'Charging' && near(ev(1).currentA(), 16), 'connector 1 charging again');
    watch.stop();
    expect(watch.worst()).toBeLessThanOrEqual(0);
  });
});
