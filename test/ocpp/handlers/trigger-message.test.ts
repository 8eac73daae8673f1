import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerMessage } from '../../../src/ocpp/v16/handlers/trigger-message.js';
import { assertSchema, handlerRig, reading, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

describe('TriggerMessage', () => {
  it('answers first, then sends: Heartbeat and StatusNotification (with the connector asked for)', async () => {
    for (const [requestedMessage, connectorId] of [['Heartbeat', undefined], ['StatusNotification', 2], ['StatusNotification', undefined]] as const) {
      const conf = await triggerMessage(r.ctx, { requestedMessage, ...(connectorId !== undefined ? { connectorId } : {}) });
      assertSchema('TriggerMessage', 'conf', conf);
      expect(conf).toEqual({ status: 'Accepted' });
    }
    expect(r.triggered).toEqual([]);
    await r.afterReply();
    expect(r.triggered).toEqual([['heartbeat'], ['statusNotification', 2], ['statusNotification', undefined]]);
  });

  it('an unknown connector is Rejected; connector 0 is the station', async () => {
    expect(await triggerMessage(r.ctx, { requestedMessage: 'StatusNotification', connectorId: 5 })).toEqual({ status: 'Rejected' });
    expect(await triggerMessage(r.ctx, { requestedMessage: 'StatusNotification', connectorId: 0 })).toEqual({ status: 'Accepted' });
    await r.afterReply();
    expect(r.triggered).toEqual([['statusNotification', 0]]);
  });

  it('BootNotification: Rejected once Accepted (E16 §3.35); while Pending, Accepted and handed to the boot loop', async () => {
    expect(await triggerMessage(r.ctx, { requestedMessage: 'BootNotification' })).toEqual({ status: 'Rejected' });
    r.boot = 'Pending';
    expect(await triggerMessage(r.ctx, { requestedMessage: 'BootNotification' })).toEqual({ status: 'Accepted' });
    await r.afterReply();
    expect(r.triggered).toEqual([['bootNotification']]);
  });

  it('MeterValues: Accepted only when a reading exists (then sent after the answer); Rejected otherwise', async () => {
    expect(await triggerMessage(r.ctx, { requestedMessage: 'MeterValues', connectorId: 1 })).toEqual({ status: 'Rejected' });
    r.readings.set(2, reading(2));
    expect(await triggerMessage(r.ctx, { requestedMessage: 'MeterValues' })).toEqual({ status: 'Accepted' });
    expect(r.triggered).toEqual([['meterReadings', [1]], ['meterReadings', [1, 2]]]);
    await r.afterReply();
    expect(r.triggered.at(-1)).toEqual(['meterValues', [2]]);
  });

  it('FirmwareStatusNotification: Accepted, the firmware job sends its status after the answer', async () => {
    const conf = await triggerMessage(r.ctx, { requestedMessage: 'FirmwareStatusNotification' });
    assertSchema('TriggerMessage', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.triggered).toEqual([]);
    await r.afterReply();
    expect(r.triggered).toEqual([['firmwareStatus']]);
  });

  it('DiagnosticsStatusNotification: Accepted, the diagnostics status sent after the answer', async () => {
    const conf = await triggerMessage(r.ctx, { requestedMessage: 'DiagnosticsStatusNotification' });
    assertSchema('TriggerMessage', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.triggered).toEqual([]);
    await r.afterReply();
    expect(r.triggered).toEqual([['diagnosticsStatus']]);
  });
});
