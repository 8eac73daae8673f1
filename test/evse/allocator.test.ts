import { describe, expect, it } from 'vitest';
import { Allocator, sitePhasesOf, type Allocation, type ConnectorInput, type SharingSettings } from '../../src/evse/allocator.js';
import type { StationBudget } from '../../src/evse/port.js';

const SETTINGS: SharingSettings = { mode: 'fair', increaseIntervalMs: 5000, minIncreaseA: 1, resumeMarginA: 1, resumeHoldMs: 30_000, settleMs: 15_000 };

function conn(id: number, o: Partial<ConnectorInput> = {}): ConnectorInput {
  return { id, capA: 16, wants: true, phases: 3, rotation: 'L1L2L3', priority: 0, measuredA: null, ...o };
}

function budget(source: string, a: number | [number, number, number]): StationBudget {
  return { source, phaseA: typeof a === 'number' ? [a, a, a] : a };
}

const amps = (r: Allocation) => Object.fromEntries(r.allowances.map((a) => [a.id, a.amps]));
const of = (r: Allocation, id: number) => r.allowances.find((a) => a.id === id)!;

/** What the allowances load on each site phase. */
function load(r: Allocation): number[] {
  const sum = [0, 0, 0];
  for (const a of r.allowances) for (const p of a.sitePhases) sum[p]! += a.amps;
  return sum;
}

describe('allocator: fair share per phase', () => {
  it('two 3-phase connectors on 20 A get 10 A each', () => {
    const r = new Allocator(SETTINGS).allocate([conn(1), conn(2)], [budget('site', 20)], 0);
    expect(amps(r)).toEqual({ 1: 10, 2: 10 });
    expect(load(r)).toEqual([20, 20, 20]);
    expect(of(r, 1).source).toBe('site');
  });

  it('three connectors on 20 A: the whole amps left by rounding down go to the earliest', () => {
    const a = new Allocator(SETTINGS);
    a.allocate([conn(1)], [budget('site', 20)], 0);
    a.allocate([conn(1), conn(2)], [budget('site', 20)], 100);
    const r = a.allocate([conn(1), conn(2), conn(3)], [budget('site', 20)], 200);
    expect(amps(r)).toEqual({ 1: 7, 2: 7, 3: 6 });
    expect(load(r)).toEqual([20, 20, 20]);
  });

  it('what one connector cannot use (its own cap) goes to the others', () => {
    const r = new Allocator(SETTINGS).allocate([conn(1, { capA: 8 }), conn(2, { capA: 32 }), conn(3, { capA: 32 })], [budget('site', 40)], 0);
    expect(amps(r)).toEqual({ 1: 8, 2: 16, 3: 16 });
  });

  it('a connector that does not want current gets nothing and takes nothing', () => {
    const r = new Allocator(SETTINGS).allocate([conn(1, { wants: false }), conn(2, { capA: 32 })], [budget('site', 20)], 0);
    expect(amps(r)).toEqual({ 1: 0, 2: 20 });
    expect(of(r, 1).suspended).toBe(false);
  });

  it('a 1-phase EV on a rotated connector loads only the site phase its L1 is wired to', () => {
    // Connector 2 is wired L2L3L1: its L1 is the site's L2. Its EV draws on L1 only: a 1-phase EV.
    const one = conn(2, { rotation: 'L2L3L1', capA: 32, measuredA: [10, 0.1, 0] });
    expect(sitePhasesOf(one)).toEqual([1]);
    const r = new Allocator(SETTINGS).allocate([conn(1, { capA: 32 }), one], [budget('site', [16, 32, 16])], 0);
    // Connector 1 is bound by L1 (16 A); connector 2 shares L2 with it and gets the other 16 A there.
    expect(amps(r)).toEqual({ 1: 16, 2: 16 });
    expect(load(r)).toEqual([16, 32, 16]);
    // Until it draws, the same EV counts on all three phases.
    const r2 = new Allocator(SETTINGS).allocate([conn(1, { capA: 32 }), conn(2, { rotation: 'L2L3L1', capA: 32 })], [budget('site', [16, 32, 16])], 0);
    expect(amps(r2)).toEqual({ 1: 8, 2: 8 });
  });

  it('a 1-phase connector (phases: 1) on L3L1L2 loads the site L3', () => {
    const c = conn(2, { phases: 1, rotation: 'L3L1L2', capA: 32 });
    expect(sitePhasesOf(c)).toEqual([2]);
    const r = new Allocator(SETTINGS).allocate([conn(1, { capA: 32 }), c], [budget('site', [20, 20, 20])], 0);
    expect(amps(r)).toEqual({ 1: 10, 2: 10 });
    expect(load(r)).toEqual([10, 10, 20]);
  });
});

describe('allocator: budgets of several sources', () => {
  it('the tightest per phase wins and names the source of each connector', () => {
    const budgets = [budget('site', 20), budget('ocpp:ChargePointMaxProfile', 16), budget('pv', [30, 6, 30])];
    const r = new Allocator(SETTINGS).allocate(
      [conn(1, { capA: 32 }), conn(2, { phases: 1, rotation: 'L3L1L2', capA: 32 })],
      budgets,
      0,
    );
    expect(r.phaseA).toEqual([16, 6, 16]);
    expect(r.phaseSource).toEqual(['ocpp:ChargePointMaxProfile', 'pv', 'ocpp:ChargePointMaxProfile']);
    // Connector 1 (3-phase) is bound by pv's 6 A on L2; connector 2 (site L3) gets L3's rest.
    expect(amps(r)).toEqual({ 1: 6, 2: 10 });
    expect(of(r, 1).source).toBe('pv');
    expect(of(r, 2).source).toBe('ocpp:ChargePointMaxProfile');
  });

  it('a negative budget (more house load than fuse) counts as none left', () => {
    const r = new Allocator(SETTINGS).allocate([conn(1)], [budget('site', [-3, 20, 20])], 0);
    expect(amps(r)).toEqual({ 1: 0 });
    expect(of(r, 1).suspended).toBe(true);
  });
});

describe('allocator: priority vs fair', () => {
  const two = () => [conn(1, { priority: 0 }), conn(2, { priority: 1 })];

  it('fair splits equally whatever the priority', () => {
    expect(amps(new Allocator(SETTINGS).allocate(two(), [budget('site', 24)], 0))).toEqual({ 1: 12, 2: 12 });
  });

  it('priority serves the higher first; the lower gets the rest', () => {
    expect(amps(new Allocator({ ...SETTINGS, mode: 'priority' }).allocate(two(), [budget('site', 24)], 0))).toEqual({ 1: 8, 2: 16 });
  });

  it('priority: a rest below 6 A suspends the lower one', () => {
    const r = new Allocator({ ...SETTINGS, mode: 'priority' }).allocate(two(), [budget('site', 20)], 0);
    expect(amps(r)).toEqual({ 1: 0, 2: 16 });
    expect(of(r, 1).suspended).toBe(true);
  });

  it('fair: the lower priority is suspended first when both cannot get 6 A', () => {
    const r = new Allocator(SETTINGS).allocate(two(), [budget('site', 11)], 0);
    expect(amps(r)).toEqual({ 1: 0, 2: 11 });
  });
});

describe('allocator: the 6 A floor', () => {
  it('a connector that cannot get 6 A is suspended, the one already charging keeps its current', () => {
    const a = new Allocator(SETTINGS);
    expect(amps(a.allocate([conn(1)], [budget('site', 11)], 0))).toEqual({ 1: 11 });
    const r = a.allocate([conn(1), conn(2)], [budget('site', 11)], 1000);
    expect(amps(r)).toEqual({ 1: 11, 2: 0 });
    expect(of(r, 2).suspended).toBe(true);
    expect(of(r, 1).suspended).toBe(false);
  });

  it('never an allowance between 0 and 6 A', () => {
    const a = new Allocator(SETTINGS);
    for (let b = 0; b <= 40; b++) {
      for (const x of a.allocate([conn(1), conn(2), conn(3, { capA: 7 })], [budget('site', b)], b * 100_000).allowances) {
        expect(x.amps === 0 || x.amps >= 6, `budget ${b}: ${JSON.stringify(x)}`).toBe(true);
      }
    }
  });
});

describe('allocator: the increase interval and immediate decreases', () => {
  it('an increase waits increaseIntervalMs after the last change and says when', () => {
    const a = new Allocator(SETTINGS);
    expect(amps(a.allocate([conn(1)], [budget('site', 10)], 0))).toEqual({ 1: 10 });
    const r = a.allocate([conn(1)], [budget('site', 20)], 1000);
    expect(amps(r)).toEqual({ 1: 10 });
    expect(of(r, 1).targetA).toBe(16);
    expect(r.nextAtMs).toBe(5000);
    expect(amps(a.allocate([conn(1)], [budget('site', 20)], 4999))).toEqual({ 1: 10 });
    const r2 = a.allocate([conn(1)], [budget('site', 20)], 5000);
    expect(amps(r2)).toEqual({ 1: 16 });
    expect(r2.nextAtMs).toBeNull();
  });

  it('a decrease applies at once, also right after an increase', () => {
    const a = new Allocator(SETTINGS);
    a.allocate([conn(1)], [budget('site', 10)], 0);
    a.allocate([conn(1)], [budget('site', 16)], 5000);
    expect(amps(a.allocate([conn(1)], [budget('site', 7)], 5100))).toEqual({ 1: 7 });
    expect(amps(a.allocate([conn(1)], [budget('site', 0)], 5200))).toEqual({ 1: 0 });
  });

  it('an increase smaller than minIncreaseA is not made', () => {
    const a = new Allocator({ ...SETTINGS, minIncreaseA: 2 });
    a.allocate([conn(1)], [budget('site', 10)], 0);
    const r = a.allocate([conn(1)], [budget('site', 11)], 60_000);
    expect(amps(r)).toEqual({ 1: 10 });
    expect(r.nextAtMs).toBeNull();
    expect(amps(a.allocate([conn(1)], [budget('site', 12)], 61_000))).toEqual({ 1: 12 });
  });

  it('a newcomer gets its share at once (X1 to PWM is no duty change); the others drop at once', () => {
    const a = new Allocator(SETTINGS);
    a.allocate([conn(1)], [budget('site', 20)], 0);
    expect(amps(a.allocate([conn(1), conn(2)], [budget('site', 20)], 1000))).toEqual({ 1: 10, 2: 10 });
  });
});

describe('allocator: resuming after a suspension (hysteresis)', () => {
  it('resumes only with 6 A + margin available for the whole hold time; a dip restarts the hold', () => {
    const a = new Allocator(SETTINGS);
    const cs = [conn(1), conn(2)];
    a.allocate([conn(1)], [budget('site', 11)], 0);
    expect(amps(a.allocate(cs, [budget('site', 11)], 1000))).toEqual({ 1: 11, 2: 0 });
    // 13 A: 6.5 A each would be legal, but not 6 A + 1 A margin: no hold starts.
    let r = a.allocate(cs, [budget('site', 13)], 2000);
    expect(amps(r)).toEqual({ 1: 11, 2: 0 }); // connector 1's increase waits for the interval
    expect(r.nextAtMs).toBe(5000);
    expect(amps(a.allocate(cs, [budget('site', 13)], 9000))).toEqual({ 1: 13, 2: 0 });
    // 14 A: 7 A each is enough: the hold starts.
    r = a.allocate(cs, [budget('site', 14)], 20_000);
    expect(amps(r)).toEqual({ 1: 14, 2: 0 });
    expect(r.nextAtMs).toBe(50_000);
    // A dip below 7 A each in between restarts it.
    a.allocate(cs, [budget('site', 13)], 30_000);
    a.allocate(cs, [budget('site', 14)], 31_000);
    r = a.allocate(cs, [budget('site', 14)], 40_000);
    expect(r.nextAtMs).toBe(61_000);
    expect(amps(a.allocate(cs, [budget('site', 14)], 60_999))).toEqual({ 1: 14, 2: 0 });
    r = a.allocate(cs, [budget('site', 14)], 61_000);
    expect(amps(r)).toEqual({ 1: 7, 2: 7 });
    expect(of(r, 2).suspended).toBe(false);
  });

  it('a budget hovering just above 12 A for two never resumes the suspended one: no flapping', () => {
    const a = new Allocator(SETTINGS);
    const cs = [conn(1), conn(2)];
    a.allocate([conn(1)], [budget('site', 11)], 0);
    expect(amps(a.allocate(cs, [budget('site', 11)], 500))).toEqual({ 1: 11, 2: 0 });
    // 12-13.9 A would allow 6 A each, never 6 A + margin: connector 2 stays suspended throughout.
    for (let t = 1000; t < 600_000; t += 1000) {
      const r = a.allocate(cs, [budget('site', 12 + (t % 3000) / 1000 * 0.9)], t);
      expect(of(r, 2), `t=${t}`).toMatchObject({ amps: 0, suspended: true });
      expect(of(r, 1).amps).toBeGreaterThanOrEqual(11);
    }
  });
});

describe('allocator: unused share', () => {
  it('an EV drawing less than offered keeps its draw plus headroom; the rest goes to the other', () => {
    const a = new Allocator({ ...SETTINGS, settleMs: 15_000 });
    const budgets = [budget('site', 20)];
    a.allocate([conn(1), conn(2)], budgets, 0);
    // Connector 1's EV takes 5 A of its 10 A; before the allowance has settled, nothing moves.
    const drawsFive = conn(1, { measuredA: [5, 5, 5] });
    const full = conn(2, { measuredA: [10, 10, 10] });
    expect(amps(a.allocate([drawsFive, full], budgets, 10_000))).toEqual({ 1: 10, 2: 10 });
    let r = a.allocate([drawsFive, full], budgets, 15_000);
    expect(amps(r)).toEqual({ 1: 7, 2: 13 });
    // The cut is stable: it still draws 5 A of 7.
    r = a.allocate([drawsFive, conn(2, { measuredA: [13, 13, 13] })], budgets, 40_000);
    expect(amps(r)).toEqual({ 1: 7, 2: 13 });
    // It draws what it has again: it may want more, and gets its fair share back after the interval.
    r = a.allocate([conn(1, { measuredA: [6.5, 6.5, 6.5] }), conn(2, { measuredA: [13, 13, 13] })], budgets, 50_000);
    expect(amps(r)).toEqual({ 1: 10, 2: 10 });
  });

  it('an EV in B (drawing nothing) keeps 6 A, the other takes the rest', () => {
    const a = new Allocator(SETTINGS);
    const budgets = [budget('site', 20)];
    a.allocate([conn(1), conn(2)], budgets, 0);
    const r = a.allocate([conn(1, { measuredA: [0, 0, 0] }), conn(2, { measuredA: [10, 10, 10] })], budgets, 20_000);
    expect(amps(r)).toEqual({ 1: 6, 2: 14 });
  });

  it('when one of them must be suspended, the idle one goes before the one charging', () => {
    const a = new Allocator(SETTINGS);
    a.allocate([conn(1)], [budget('site', 20)], 0);
    a.allocate([conn(1), conn(2)], [budget('site', 20)], 1000);
    a.allocate([conn(1, { measuredA: [0, 0, 0] }), conn(2, { measuredA: [10, 10, 10] })], [budget('site', 20)], 20_000);
    const r = a.allocate([conn(1, { measuredA: [0, 0, 0] }), conn(2, { measuredA: [14, 14, 14] })], [budget('site', 10)], 21_000);
    expect(amps(r)).toEqual({ 1: 0, 2: 10 });
  });
});

describe('allocator: invariants under random inputs (fake clock)', () => {
  it('per site phase the allowances never exceed the budget; 0 or >= 6 A; no increase within the interval', () => {
    let seed = 0xa110c;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (const mode of ['fair', 'priority'] as const) {
      const a = new Allocator({ ...SETTINGS, mode });
      const lastChange = new Map<number, { amps: number; at: number }>();
      const rotations = ['L1L2L3', 'L2L3L1', 'L3L1L2'] as const;
      const cs: ConnectorInput[] = [1, 2, 3].map((id) => conn(id, { rotation: rotations[id - 1]!, priority: id % 2 }));
      for (let t = 0; t < 2_000_000; t += 500 + Math.floor(rnd() * 2000)) {
        for (const c of cs) {
          if (rnd() < 0.05) c.wants = !c.wants;
          if (rnd() < 0.02) c.capA = [0, 10, 16, 32][Math.floor(rnd() * 4)]!;
          if (rnd() < 0.02) c.phases = rnd() < 0.5 ? 1 : 3;
          c.measuredA = rnd() < 0.2 ? null : rnd() < 0.3 ? [8 * rnd(), 0, 0] : [16 * rnd(), 16 * rnd(), 16 * rnd()];
        }
        const b: [number, number, number] = [Math.floor(rnd() * 40), Math.floor(rnd() * 40), Math.floor(rnd() * 40)];
        const r = a.allocate(cs, [budget('site', b), budget('pv', rnd() < 0.5 ? 25 : 60)], t);
        const ctx = `${mode} t=${t} ${JSON.stringify(r)}`;
        load(r).forEach((sum, p) => expect(sum, ctx).toBeLessThanOrEqual(r.phaseA[p]!));
        for (const x of r.allowances) {
          expect(x.amps === 0 || x.amps >= 6, ctx).toBe(true);
          expect(x.amps, ctx).toBeLessThanOrEqual(Math.max(0, cs.find((c) => c.id === x.id)!.capA));
          const before = lastChange.get(x.id);
          if (before && before.amps > 0 && x.amps > before.amps) expect(t - before.at, ctx).toBeGreaterThanOrEqual(5000);
          if (!before || before.amps !== x.amps) lastChange.set(x.id, { amps: x.amps, at: t });
        }
      }
    }
  });
});
