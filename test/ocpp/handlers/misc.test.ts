import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import rpc from 'ocpp-rpc';
import { dataTransfer } from '../../../src/ocpp/v16/handlers/data-transfer.js';
import { reset, RESET_DELAY_MS } from '../../../src/ocpp/v16/handlers/reset.js';
import { registerHandlers, HANDLERS } from '../../../src/ocpp/v16/handlers/index.js';
import { UNSUPPORTED_ACTIONS } from '../../../src/ocpp/v16/messages.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

describe('DataTransfer', () => {
  it('no vendor extensions: UnknownVendorId', () => {
    const conf = dataTransfer(r.ctx, { vendorId: 'com.example', messageId: 'x', data: '{}' });
    assertSchema('DataTransfer', 'conf', conf);
    expect(conf).toEqual({ status: 'UnknownVendorId' });
  });
});

describe('Reset', () => {
  it('answered Accepted; the station is asked to reset only after the answer had time to leave', () => {
    const conf = reset(r.ctx, { type: 'Hard' });
    assertSchema('Reset', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.station.resets).toEqual([]);
    r.clock.advance(RESET_DELAY_MS - 1);
    expect(r.station.resets).toEqual([]);
    r.clock.advance(1);
    expect(r.station.resets).toEqual(['Hard']);
    expect(r.securityEvents).toEqual([{ type: 'ResetOrReboot', techInfo: 'Hard reset requested by the CSMS' }]);
  });
});

describe('dispatch (registerHandlers)', () => {
  function registered() {
    const table = new Map<string, (call: { params?: unknown }) => Promise<unknown>>();
    registerHandlers({ handle: (action, fn) => void table.set(action, fn) }, r.ctx);
    return table;
  }

  it('registers every typed handler and answers the actions of unimplemented profiles with a NotSupported CALLERROR', async () => {
    const table = registered();
    expect([...table.keys()].sort()).toEqual([...Object.keys(HANDLERS), ...UNSUPPORTED_ACTIONS].sort());
    await expect(table.get('GetLocalListVersion')!({})).resolves.toEqual({ listVersion: 0 });
    for (const action of UNSUPPORTED_ACTIONS) {
      await expect(table.get(action)!({ params: {} })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
    }
  });

  it('boot Rejected: no reply to anything (NOREPLY), and nothing is done', async () => {
    r.boot = 'Rejected';
    const table = registered();
    await expect(table.get('Reset')!({ params: { type: 'Soft' } })).resolves.toBe(rpc.NOREPLY);
    await expect(table.get('ReserveNow')!({ params: {} })).resolves.toBe(rpc.NOREPLY);
    r.clock.advance(10_000);
    expect(r.station.resets).toEqual([]);
  });
});
