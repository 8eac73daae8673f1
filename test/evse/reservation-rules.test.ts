import { describe, expect, it } from 'vitest';
import { matches, requiredOn, reserveResult, showsReserved, usableOn, type Occupancy } from '../../src/evse/reservation-rules.js';
import type { Reservation } from '../../src/evse/port.js';

const free = (id: number, o: Partial<Occupancy> = {}): Occupancy => ({ id, available: true, faulted: false, busy: false, plugged: false, ...o });
const res = (reservationId: number, connectorId: number, idTag = 'RES', parentIdTag?: string): Reservation => ({ reservationId, connectorId, idTag, expiresAtMs: 1e13, ...(parentIdTag ? { parentIdTag } : {}) });

describe('reservation rules: answers to a new reservation (OCPP ReserveNow statuses)', () => {
  it('a free connector: Accepted; unknown: Rejected; Unavailable before Faulted; anyone on it: Occupied', () => {
    const cs = [free(1), free(2)];
    expect(reserveResult(res(1, 1), [], cs)).toBe('Accepted');
    expect(reserveResult(res(1, 3), [], cs)).toBe('Rejected');
    expect(reserveResult(res(1, 1), [], [free(1, { available: false, faulted: true })])).toBe('Unavailable');
    expect(reserveResult(res(1, 1), [], [free(1, { faulted: true })])).toBe('Faulted');
    expect(reserveResult(res(1, 1), [], [free(1, { busy: true })])).toBe('Occupied');
    // an EV plugged in without a tag (Preparing), or still plugged after its session (Finishing)
    expect(reserveResult(res(1, 1), [], [free(1, { plugged: true })])).toBe('Occupied');
  });

  it('a connector reserved already (for the same or another tag): Occupied; the same reservationId replaces', () => {
    const cs = [free(1), free(2)];
    expect(reserveResult(res(2, 1, 'RES'), [res(1, 1, 'RES')], cs)).toBe('Occupied');
    expect(reserveResult(res(2, 1, 'OTHER'), [res(1, 1, 'RES')], cs)).toBe('Occupied');
    expect(reserveResult(res(1, 1, 'NEW'), [res(1, 1, 'RES')], cs)).toBe('Accepted');
    // moved to another connector by the same id: judged without the old one
    expect(reserveResult(res(1, 2), [res(1, 1)], cs)).toBe('Accepted');
  });

  it('connector 0: Accepted while a connector is free; Occupied when the station is reserved already or all are taken; Unavailable / Faulted when every connector is', () => {
    expect(reserveResult(res(1, 0), [], [free(1), free(2, { busy: true })])).toBe('Accepted');
    expect(reserveResult(res(2, 0), [res(1, 0)], [free(1), free(2)])).toBe('Occupied');
    expect(reserveResult(res(1, 0), [], [free(1, { busy: true }), free(2, { plugged: true })])).toBe('Occupied');
    // the one free connector is reserved for someone else
    expect(reserveResult(res(2, 0), [res(1, 2)], [free(1, { busy: true }), free(2)])).toBe('Occupied');
    expect(reserveResult(res(1, 0), [], [free(1, { available: false }), free(2, { available: false })])).toBe('Unavailable');
    expect(reserveResult(res(1, 0), [], [free(1, { available: false }), free(2, { faulted: true })])).toBe('Faulted');
  });

  it('a connector reservation may not take the last connector a station reservation needs', () => {
    expect(reserveResult(res(2, 1), [res(1, 0)], [free(1), free(2)])).toBe('Accepted');
    expect(reserveResult(res(2, 1), [res(1, 0)], [free(1), free(2, { busy: true })])).toBe('Occupied');
  });
});

describe('reservation rules: who may use a connector', () => {
  it("a connector's own reservation binds it; others are free", () => {
    const rs = [res(1, 1)];
    expect(requiredOn(1, rs, [free(1), free(2)])).toEqual(rs);
    expect(requiredOn(2, rs, [free(1), free(2)])).toBeNull();
  });

  it('a station reservation binds a connector only when it is the last free one', () => {
    const rs = [res(1, 0)];
    expect(requiredOn(1, rs, [free(1), free(2)])).toBeNull();
    expect(requiredOn(2, rs, [free(1), free(2)])).toBeNull();
    expect(requiredOn(2, rs, [free(1, { busy: true }), free(2)])).toEqual(rs);
    // a car parked on 2 without a tag: 1 is the last free one and is kept; 2 may still be used by its driver
    expect(requiredOn(1, rs, [free(1), free(2, { plugged: true })])).toEqual(rs);
    expect(requiredOn(2, rs, [free(1), free(2, { plugged: true })])).toBeNull();
  });

  it('shows Reserved while it binds and nobody is on it (also with an EV of another driver plugged in)', () => {
    const cs = [free(1, { plugged: true }), free(2, { busy: true })];
    expect(showsReserved(cs[0]!, [res(1, 1)], cs)).toBe(true);
    expect(showsReserved(cs[1]!, [res(1, 2)], cs)).toBe(false);
    expect(showsReserved(free(1, { faulted: true }), [res(1, 1)], [free(1, { faulted: true })])).toBe(false);
  });

  it('matches the tag, or the parent of either side (ASCII case-insensitive, as OCPP CiString)', () => {
    expect(matches(res(1, 1, 'abc'), 'ABC')).toBe(true);
    expect(matches(res(1, 1, 'RES', 'FLEET'), 'CHILD', 'fleet')).toBe(true);
    expect(matches(res(1, 1, 'RES', 'FLEET'), 'CHILD', 'OTHER')).toBe(false);
    expect(matches(res(1, 1, 'RES'), 'CHILD')).toBe(false);
    expect(matches(res(1, 1, 'RES'), 'CHILD', 'RES')).toBe(true);
  });

  it("a session may use the connector's own reservation and the station's", () => {
    const rs = [res(1, 1), res(2, 2), res(3, 0)];
    expect(usableOn(1, rs).map((r) => r.reservationId)).toEqual([1, 3]);
  });
});
