import { describe, expect, it } from 'vitest';
import { BudgetSharing } from '../../src/evse/budget-sharing.js';
import { CurrentArbiter } from '../../src/evse/current-arbiter.js';
import { DEFAULT_SHARING } from '../../src/config/sharing.js';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import type { ConnectorInput } from '../../src/evse/allocator.js';

function setup() {
  const clock = new FakeClock();
  const arbiter = new CurrentArbiter();
  for (const id of [1, 2]) arbiter.set({ source: 'config', connectorId: id, maxA: 32 });
  const wanting = new Set<number>([1]);
  const offers: number[] = [];
  const sharing = new BudgetSharing({
    config: DEFAULT_SHARING,
    arbiter,
    clock,
    log: silentLogger(),
    connectors: () =>
      [1, 2].map((id): Omit<ConnectorInput, 'capA'> => ({ id, wants: wanting.has(id), phases: 3, rotation: 'L1L2L3', priority: 0, measuredA: null })),
    applyOffer: (id) => offers.push(id),
  });
  return { clock, arbiter, wanting, offers, sharing };
}

describe('BudgetSharing: allowances as claims, on the station clock', () => {
  it('each allowance is a hard claim named after the deciding budget; a held increase comes by the timer', () => {
    const { clock, arbiter, wanting, sharing } = setup();
    sharing.set({ source: 'site', phaseA: [10, 10, 10] });
    expect(arbiter.decide(1)).toEqual({ amps: 10, source: 'site' });
    // Connector 2 has no session: 0 A from the budget until it has one.
    expect(arbiter.decide(2)).toEqual({ amps: 0, source: 'site' });

    sharing.set({ source: 'site', phaseA: [24, 24, 24] });
    expect(arbiter.decide(1).amps).toBe(10); // the increase waits 5 s
    clock.advance(4999);
    expect(arbiter.decide(1).amps).toBe(10);
    clock.advance(1);
    expect(arbiter.decide(1)).toEqual({ amps: 24, source: 'site' });

    // A tighter budget of another source replaces the claim (no stale 'site' claim left behind).
    sharing.set({ source: 'pv', phaseA: [8, 8, 8] });
    expect(arbiter.list(1).map((c) => [c.source, c.maxA])).toEqual([['config', 32], ['pv', 8]]);
    expect(sharing.isAllowance('pv', 1)).toBe(true);

    wanting.add(2);
    sharing.update();
    expect(sharing.view().allowances.map((a) => [a.connectorId, a.amps, a.suspended])).toEqual([[1, 8, false], [2, 0, true]]);

    // No budget left: every allowance claim goes, the connectors are offered their own limits again.
    sharing.clear('site');
    sharing.clear('pv');
    expect(arbiter.list(1).map((c) => c.source)).toEqual(['config']);
    expect(arbiter.list(2).map((c) => c.source)).toEqual(['config']);
    expect(sharing.view()).toMatchObject({ budgets: [], phaseA: [null, null, null], allowances: [] });
  });

  it('the connector\'s own limit is what the arbiter decides without the allowance', () => {
    const { arbiter, sharing } = setup();
    arbiter.set({ source: 'api', connectorId: 1, maxA: 12 });
    sharing.set({ source: 'site', phaseA: [20, 20, 20] });
    expect(sharing.view().allowances[0]).toMatchObject({ amps: 12, targetA: 12 });
    expect(arbiter.decide(1).source).toBe('api');
  });

  it('refuses a budget that is not three finite currents', () => {
    const { sharing } = setup();
    expect(() => sharing.set({ source: 'x', phaseA: [10, Number.NaN, 10] })).toThrow(/three finite currents/);
    expect(sharing.list()).toEqual([]);
  });
});
