import { describe, expect, it } from 'vitest';
import { CurrentArbiter, decide } from '../../src/evse/current-arbiter.js';

describe('CurrentArbiter', () => {
  it('offers nothing without claims', () => {
    expect(new CurrentArbiter().decide(1)).toEqual({ amps: 0, source: 'none' });
    expect(decide([])).toEqual({ amps: 0, source: 'none' });
  });

  it('the lowest bound wins and is named', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'hardware', connectorId: 1, maxA: 32 });
    a.set({ source: 'config', connectorId: 1, maxA: 16 });
    a.set({ source: 'api', connectorId: 1, maxA: 20 });
    expect(a.decide(1)).toEqual({ amps: 16, source: 'config' });
    a.set({ source: 'ocpp:TxProfile', connectorId: 1, maxA: 10.5 });
    expect(a.decide(1)).toEqual({ amps: 10.5, source: 'ocpp:TxProfile' });
  });

  it('a claim on connector 0 applies to every connector; claims on another connector do not', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'hardware', connectorId: 1, maxA: 32 });
    a.set({ source: 'hardware', connectorId: 2, maxA: 32 });
    a.set({ source: 'grid', connectorId: 0, maxA: 25 });
    a.set({ source: 'api', connectorId: 2, maxA: 6 });
    expect(a.decide(1)).toEqual({ amps: 25, source: 'grid' });
    expect(a.decide(2)).toEqual({ amps: 6, source: 'api' });
    expect(a.list(1).map((c) => c.source).sort()).toEqual(['grid', 'hardware']);
    expect(a.list()).toHaveLength(4);
  });

  it('ties go to the claim set first', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'first', connectorId: 1, maxA: 16 });
    a.set({ source: 'second', connectorId: 1, maxA: 16 });
    expect(a.decide(1).source).toBe('first');
  });

  it('setting the same source again replaces its claim; clear removes it', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'hardware', connectorId: 1, maxA: 32 });
    a.set({ source: 'api', connectorId: 1, maxA: 8 });
    a.set({ source: 'api', connectorId: 1, maxA: 20 });
    expect(a.decide(1)).toEqual({ amps: 20, source: 'api' });
    expect(a.list(1)).toHaveLength(2);
    expect(a.clear('api', 1)).toBe(true);
    expect(a.clear('api', 1)).toBe(false);
    expect(a.clear('hardware', 2)).toBe(false);
    expect(a.decide(1)).toEqual({ amps: 32, source: 'hardware' });
  });

  it('a 0 A claim (a fault, a pause) suspends charging', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'hardware', connectorId: 1, maxA: 32 });
    a.set({ source: 'fault', connectorId: 1, maxA: 0 });
    expect(a.decide(1)).toEqual({ amps: 0, source: 'fault' });
  });

  it('of the preferences only the highest priority applies, in both directions; hard bounds cap it', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'config', connectorId: 1, maxA: 32 });
    a.set({ source: 'schedule', connectorId: 1, maxA: 10, priority: 10 });
    expect(a.decide(1)).toEqual({ amps: 10, source: 'schedule' });
    // A driver's boost overrides the schedule upwards...
    a.set({ source: 'api', connectorId: 1, maxA: 25, priority: 50 });
    expect(a.decide(1)).toEqual({ amps: 25, source: 'api' });
    // ...but never beyond a hard bound.
    a.set({ source: 'api', connectorId: 1, maxA: 40, priority: 50 });
    expect(a.decide(1)).toEqual({ amps: 32, source: 'config' });
    // Equal priorities: the lower wins. A lower priority never loosens a higher one.
    a.set({ source: 'mqtt', connectorId: 1, maxA: 16, priority: 50 });
    a.set({ source: 'ocpp:TxDefaultProfile', connectorId: 0, maxA: 6, priority: 20 });
    expect(a.decide(1)).toEqual({ amps: 16, source: 'mqtt' });
    a.clear('api', 1);
    a.clear('mqtt', 1);
    expect(a.decide(1)).toEqual({ amps: 6, source: 'ocpp:TxDefaultProfile' });
    a.set({ source: 'fault', connectorId: 1, maxA: 0 });
    expect(a.decide(1)).toEqual({ amps: 0, source: 'fault' });
    expect(() => a.set({ source: 'x', connectorId: 1, maxA: 6, priority: Number.NaN })).toThrow(/priority must be a finite number/);
  });

  it('refuses claims that are not a finite current >= 0, and keeps the previous claim', () => {
    const a = new CurrentArbiter();
    a.set({ source: 'api', connectorId: 1, maxA: 10 });
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => a.set({ source: 'api', connectorId: 1, maxA: bad })).toThrow(/api: maxA must be >= 0/);
    }
    expect(a.decide(1)).toEqual({ amps: 10, source: 'api' });
  });

  it('stores a copy: changing the claim object afterwards changes nothing', () => {
    const a = new CurrentArbiter();
    const claim = { source: 'api', connectorId: 1, maxA: 10 };
    a.set(claim);
    claim.maxA = 80;
    expect(a.decide(1).amps).toBe(10);
  });
});
