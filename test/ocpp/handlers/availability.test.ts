import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeAvailability } from '../../../src/ocpp/v16/handlers/availability.js';
import { restoreAvailability } from '../../../src/ocpp/v16/availability.js';
import { FakeStation } from '../fake-station.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

describe('ChangeAvailability', () => {
  it('an unknown connector is Rejected and nothing is stored', () => {
    expect(changeAvailability(r.ctx, { connectorId: 7, type: 'Inoperative' })).toEqual({ status: 'Rejected' });
    expect(r.repos.availability.all()).toEqual([]);
  });

  it('Accepted when idle, Scheduled during a session; both persisted', () => {
    r.station.startSession(2, 'TAG');
    const a = changeAvailability(r.ctx, { connectorId: 1, type: 'Inoperative' });
    const b = changeAvailability(r.ctx, { connectorId: 2, type: 'Inoperative' });
    assertSchema('ChangeAvailability', 'conf', a);
    expect([a, b]).toEqual([{ status: 'Accepted' }, { status: 'Scheduled' }]);
    expect(r.station.connectors.get(1)!.status).toBe('Unavailable');
    expect(r.repos.availability.all()).toEqual([{ connectorId: 1, available: false }, { connectorId: 2, available: false }]);
  });

  it('connector 0 replaces the connectors\' own rows; restored at start as 0 first, then a later change of one connector', () => {
    changeAvailability(r.ctx, { connectorId: 1, type: 'Inoperative' });
    changeAvailability(r.ctx, { connectorId: 0, type: 'Inoperative' });
    expect(r.repos.availability.all()).toEqual([{ connectorId: 0, available: false }]);
    changeAvailability(r.ctx, { connectorId: 2, type: 'Operative' });
    const restarted = new FakeStation(r.db, { clock: r.clock });
    restoreAvailability(restarted, r.repos.availability);
    expect([...restarted.connectors.values()].map((c) => [c.id, c.available])).toEqual([[1, false], [2, true]]);
  });
});
