import { afterEach, describe, expect, it } from 'vitest';
import { unlockConnector } from '../../../src/ocpp/v16/handlers/unlock-connector.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
afterEach(() => r.cleanup());

describe('UnlockConnector', () => {
  it('an unknown connector: NotSupported', async () => {
    r = handlerRig();
    expect(await unlockConnector(r.ctx, { connectorId: 3 })).toEqual({ status: 'NotSupported' });
  });

  it('with a cable lock: the running session ends (UnlockCommand), then Unlocked', async () => {
    r = handlerRig();
    const id = r.station.startSession(1, 'TAG').id;
    const conf = await unlockConnector(r.ctx, { connectorId: 1 });
    assertSchema('UnlockConnector', 'conf', conf);
    expect(conf).toEqual({ status: 'Unlocked' });
    expect(r.station.sessions.get(id)).toMatchObject({ status: 'completed', stopReason: 'UnlockCommand' });
  });

  it('a fixed cable (no lock): NotSupported and the session goes on', async () => {
    r = handlerRig({ locks: false });
    r.station.startSession(1, 'TAG');
    expect(await unlockConnector(r.ctx, { connectorId: 1 })).toEqual({ status: 'NotSupported' });
    expect(r.station.sessionOn(1)).toBeDefined();
  });
});
