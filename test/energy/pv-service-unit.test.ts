import { describe, expect, it } from 'vitest';
import type { ConnectorView, PhaseSwitchResult, StationBudget, StationPort } from '../../src/evse/port.js';
import type { GridPowerSource, GridReading } from '../../src/energy/grid-source.js';
import { PvService, type PvStatus } from '../../src/energy/pv-service.js';
import { PvModeFile } from '../../src/energy/pv-mode-file.js';
import { pvConfigSchema } from '../../src/config/pv.js';
import { silentLogger } from '../../src/log.js';
import { join } from 'node:path';
import { tempDir } from '../support/station.js';

/** A station port with only what the PV service uses, on a fake clock. */
function fakeStation(o: { phasesView?: { active: 1 | 3; switchable: boolean }; currentA?: number[]; answer?: PhaseSwitchResult }) {
  let nowMs = 0;
  const budgets = new Map<string, StationBudget>();
  const phaseCalls: { id: number; phases: number; source: string }[] = [];
  const status = new Map<string, () => unknown>();
  let phasesView = o.phasesView;
  const view = (): ConnectorView =>
    ({
      id: 1,
      session: { id: 1 },
      meter: { powerW: 0, currentA: o.currentA ?? [0, 0, 0], stale: false },
      phases: phasesView ?? { active: 3, switchable: false },
    }) as unknown as ConnectorView;
  const station = {
    clock: { monoMs: () => nowMs, setTimeout: () => ({ cancel() {} }) },
    view: () => ({ connectors: [view()] }),
    registerStatus: (name: string, p: () => unknown) => status.set(name, p),
    setBudget: (b: StationBudget) => budgets.set(b.source, b),
    clearBudget: (s: string) => budgets.delete(s),
    setPhases: async (id: number, phases: 1 | 3, source: string) => {
      phaseCalls.push({ id, phases, source });
      if (o.answer === 'Accepted') phasesView = { active: phases, switchable: true };
      return o.answer ?? 'NotSupported';
    },
  } as unknown as StationPort;
  return { station, budgets, phaseCalls, status, advance: (ms: number) => (nowMs += ms), now: () => nowMs };
}

class FakeSource implements GridPowerSource {
  private last: GridReading | null = null;
  private readonly ls = new Set<(r: GridReading) => void>();
  emit(powerW: number, atMs: number) {
    this.last = { powerW, atMs };
    for (const l of this.ls) l(this.last);
  }
  latest(nowMs: number) {
    return this.last && nowMs - this.last.atMs <= 5000 ? this.last : null;
  }
  onReading(l: (r: GridReading) => void) {
    this.ls.add(l);
    return () => this.ls.delete(l);
  }
  status() {
    return { kind: 'fake' };
  }
  async close() {}
}

const cfg = pvConfigSchema.parse({ mode: 'pv', startDelayS: 0, source: { mqtt: { url: 'mqtt://h', topic: 't' } } });
const flush = () => new Promise((r) => setImmediate(r));

function service(s: ReturnType<typeof fakeStation>, dir = tempDir('evsed-pvs-')) {
  const source = new FakeSource();
  const svc = new PvService({ station: s.station, cfg, source, modeFile: new PvModeFile(join(dir, 'pv-mode.json')), log: silentLogger() }).start();
  return { svc, source, dir };
}

describe('PV service (fake station and clock)', () => {
  it('asks a station whose relay answers NotSupported once, then stays on its phases', async () => {
    const s = fakeStation({ answer: 'NotSupported', phasesView: { active: 3, switchable: true } });
    const { source } = service(s);
    source.emit(-3000, s.now()); // 3 kW: 1 phase would do, 3 would not
    await flush();
    expect(s.phaseCalls).toEqual([{ id: 1, phases: 1, source: 'pv' }]);
    for (let i = 0; i < 20; i++) {
      s.advance(1000);
      source.emit(-3000, s.now());
      await flush();
    }
    expect(s.phaseCalls).toHaveLength(1);
    expect((s.status.get('pv')!() as PvStatus).state).toBe('idle');
    expect(s.budgets.get('pv')!.phaseA).toEqual([0, 0, 0]);
  });

  it('follows the surplus on the phases the station switched to', async () => {
    const s = fakeStation({ answer: 'Accepted', phasesView: { active: 3, switchable: true } });
    const { source } = service(s);
    source.emit(-3000, s.now());
    await flush();
    expect(s.phaseCalls).toHaveLength(1);
    s.advance(1000);
    source.emit(-3000, s.now());
    await flush();
    expect(s.budgets.get('pv')!.phaseA).toEqual([13, 13, 13]); // 3000 W / 230 V on one phase
    expect((s.status.get('pv')!() as PvStatus)).toMatchObject({ state: 'charging', phases: 1 });
  });

  it('a 1-phase EV on a 3-phase connector: the surplus on one phase, no switching', async () => {
    const s = fakeStation({ currentA: [10, 0.1, 0], phasesView: { active: 3, switchable: true } });
    const { source } = service(s);
    source.emit(-2300, s.now());
    await flush();
    expect(s.phaseCalls).toHaveLength(0);
    expect(s.budgets.get('pv')!.phaseA).toEqual([10, 10, 10]);
  });

  it('the mode set at run time is kept for the next start; off clears the budget; stop clears it too', async () => {
    const s = fakeStation({});
    const { svc, source, dir } = service(s);
    source.emit(-8000, s.now());
    expect(s.budgets.has('pv')).toBe(true);
    svc.setMode('off', 'test');
    expect(s.budgets.has('pv')).toBe(false);
    const again = service(fakeStation({}), dir).svc;
    expect(again.mode()).toBe('off');
    again.setMode('minpv', 'test');
    await again.stop();
    expect(service(fakeStation({}), dir).svc.mode()).toBe('minpv');
    const s2 = fakeStation({});
    const third = service(s2, dir);
    third.source.emit(-8000, s2.now());
    expect(s2.budgets.has('pv')).toBe(true);
    await third.svc.stop();
    expect(s2.budgets.has('pv')).toBe(false);
  });
});
