import { afterEach, describe, expect, it } from 'vitest';
import { accepted, rig, waitFor, type Rig } from './harness.js';

let r: Rig;
afterEach(async () => {
  await r?.cleanup();
});

const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe('boot and status', () => {
  it('sends BootNotification first, then StatusNotification for connector 0 and each connector', async () => {
    r = await rig();
    await accepted(r);
    const actions = r.csms.received.map((x) => x.action);
    expect(actions[0]).toBe('BootNotification');
    expect(r.csms.of('BootNotification')[0]).toEqual({ chargePointVendor: 'evsed', chargePointModel: 'test', chargePointSerialNumber: 'SN1', firmwareVersion: '0.1.0' });
    const status = r.csms.of('StatusNotification');
    expect(status.map((s) => [s.connectorId, s.status, s.errorCode])).toEqual([[0, 'Available', 'NoError'], [1, 'Available', 'NoError'], [2, 'Available', 'NoError']]);
    expect(status[0].timestamp).toMatch(ISO_Z);
    expect(r.csms.auths[0]).toEqual({ identity: 'CP-TEST', password: undefined });
  });

  it('Pending: sends nothing else, answers the CSMS, rejects RemoteStart, boots again after the interval', async () => {
    r = await rig({ csmsDown: false });
    let n = 0;
    r.csms.responders.set('BootNotification', () => {
      const first = n++ === 0;
      return { status: first ? 'Pending' : 'Accepted', currentTime: new Date().toISOString(), interval: first ? 1 : 45 };
    });
    await waitFor(() => r.cp.bootStatus === 'Pending', 'pending');
    expect(await r.csms.call('GetConfiguration', { key: ['HeartbeatInterval'] })).toEqual({ configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }], unknownKey: [] });
    expect(await r.csms.call('RemoteStartTransaction', { idTag: 'T1', connectorId: 1 })).toEqual({ status: 'Rejected' });
    expect(r.csms.received.map((x) => x.action)).toEqual(['BootNotification']);
    await accepted(r);
    expect(r.csms.received.map((x) => x.action).slice(0, 2)).toEqual(['BootNotification', 'BootNotification']);
    // the interval given with Accepted becomes HeartbeatInterval (heartbeats: handlers.test.ts; its floor: csms-bounds.test.ts)
    expect(await r.csms.call('GetConfiguration', { key: ['HeartbeatInterval'] })).toMatchObject({ configurationKey: [{ value: '45' }] });
  });

  it('Rejected: does not answer CSMS calls and sends nothing until the interval passed', async () => {
    r = await rig();
    let n = 0;
    r.csms.responders.set('BootNotification', () => ({ status: n++ === 0 ? 'Rejected' : 'Accepted', currentTime: new Date().toISOString(), interval: 2 }));
    await waitFor(() => r.cp.bootStatus === 'Rejected', 'rejected');
    const client = r.csms.client();
    await expect(client.call('GetConfiguration', {}, { callTimeoutMs: 500 })).rejects.toThrow(/timeout/i);
    expect(r.csms.received.map((x) => x.action)).toEqual(['BootNotification']);
    await accepted(r);
  });

  it('Rejected/Pending interval survives a reconnect: no BootNotification before it expired', async () => {
    r = await rig();
    r.csms.responders.set('BootNotification', () => ({ status: 'Rejected', currentTime: new Date().toISOString(), interval: 60 }));
    await waitFor(() => r.cp.bootStatus === 'Rejected', 'rejected');
    const connects = r.cp.link.counters.connects;
    r.csms.client()._ws.terminate();
    await waitFor(() => r.cp.link.counters.connects > connects && r.cp.link.isOpen, 'reconnected');
    await new Promise((res) => setTimeout(res, 2000));
    expect(r.csms.of('BootNotification')).toHaveLength(1);
    // the same for Pending
    await r.cleanup();
    r = await rig();
    r.csms.responders.set('BootNotification', () => ({ status: 'Pending', currentTime: new Date().toISOString(), interval: 60 }));
    await waitFor(() => r.cp.bootStatus === 'Pending', 'pending');
    r.csms.client()._ws.terminate();
    await waitFor(() => r.cp.link.counters.connects > 1 && r.cp.link.isOpen, 'reconnected');
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.csms.of('BootNotification')).toHaveLength(1);
  });

  it('TriggerMessage(BootNotification) while Pending sends one BootNotification through the same boot loop (no second loop)', async () => {
    r = await rig();
    let n = 0;
    // 1st answer: Pending, next in 2 s; the triggered one: Pending, next in 60 s
    r.csms.responders.set('BootNotification', () => ({ status: 'Pending', currentTime: new Date().toISOString(), interval: n++ === 0 ? 2 : 60 }));
    await waitFor(() => r.cp.bootStatus === 'Pending', 'pending');
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'BootNotification' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('BootNotification').length === 2, 'the triggered BootNotification');
    // a second loop would still send at the first answer's 2 s
    await new Promise((res) => setTimeout(res, 2800));
    expect(r.csms.of('BootNotification')).toHaveLength(2);
  });

  it('sends a status change with the fault as error code, and connector 0', async () => {
    r = await rig();
    await accepted(r);
    r.station.setStatus(1, 'Faulted', ['rcd']);
    await waitFor(() => r.csms.of('StatusNotification').find((s) => s.status === 'Faulted'), 'faulted');
    expect(r.csms.of('StatusNotification').find((s) => s.status === 'Faulted')).toMatchObject({ connectorId: 1, errorCode: 'GroundFailure', info: 'rcd' });
  });

  it('connector 0 Faulted (every connector faulted) carries the fault\'s error code, not NoError', async () => {
    r = await rig();
    await accepted(r);
    r.station.setStatus(1, 'Faulted', ['rcd']);
    r.station.setStatus(2, 'Faulted', ['overtemperature']);
    const c0 = await waitFor(() => r.csms.of('StatusNotification').find((s) => s.connectorId === 0 && s.status === 'Faulted'), 'connector 0 faulted');
    expect(c0).toMatchObject({ errorCode: 'GroundFailure', info: 'rcd,overtemperature' });
    r.station.setStatus(1, 'Available');
    await waitFor(() => r.csms.of('StatusNotification').filter((s) => s.connectorId === 0).at(-1)?.status === 'Available', 'connector 0 back');
    expect(r.csms.of('StatusNotification').filter((s) => s.connectorId === 0).at(-1)).toMatchObject({ errorCode: 'NoError' });
  });

  it('takes the clock from BootNotification.conf', async () => {
    r = await rig({ trust: 'never' });
    const t = Date.UTC(2030, 0, 1);
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: new Date(t).toISOString(), interval: 300 }));
    await accepted(r);
    expect(r.station.clock.quality()).toBe('synced');
    expect(Math.abs(r.station.clock.wallMs() - t)).toBeLessThan(60_000);
  });
});

describe('transactions', () => {
  it('Authorize, StartTransaction, MeterValues, StopTransaction with the CSMS transactionId', async () => {
    r = await rig({ keys: { MeterValueSampleInterval: 1, MeterValuesSampledData: 'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage' } });
    await accepted(r);
    r.csms.nextTxId = 4711;
    expect(await r.station.presentTag(1, 'TAG1')).toMatchObject({ status: 'Accepted', source: 'ocpp' });
    expect(r.csms.of('Authorize')).toEqual([{ idTag: 'TAG1' }]);
    await waitFor(() => r.csms.of('StartTransaction').length, 'start');
    expect(r.csms.of('StartTransaction')[0]).toMatchObject({ connectorId: 1, idTag: 'TAG1', meterStart: 10_000 });
    expect(r.csms.of('StartTransaction')[0].timestamp).toMatch(ISO_Z);
    await waitFor(() => r.cp.ledger.transactionIdFor(r.station.sessionOn(1)!.id) === 4711, 'transaction id known');
    await new Promise((res) => setTimeout(res, 1100));
    r.station.sample(1, 123);
    await waitFor(() => r.csms.of('MeterValues').length, 'meter values');
    const mv = r.csms.of('MeterValues')[0];
    expect(mv.transactionId).toBe(4711);
    const sv = mv.meterValue[0].sampledValue;
    expect(sv[0]).toEqual({ value: '10123', context: 'Sample.Periodic', location: 'Outlet', measurand: 'Energy.Active.Import.Register', unit: 'Wh' });
    expect(sv.map((v: any) => `${v.measurand}/${v.phase ?? ''}/${v.unit}/${typeof v.value}`)).toEqual([
      'Energy.Active.Import.Register//Wh/string', 'Power.Active.Import//W/string', 'Current.Import/L1/A/string', 'Voltage/L1-N/V/string',
    ]);
    await r.station.stopSession(1, 'Local', 'TAG1');
    await waitFor(() => r.csms.of('StopTransaction').length, 'stop');
    expect(r.csms.of('StopTransaction')[0]).toMatchObject({ transactionId: 4711, meterStop: 10_123, reason: 'Local', idTag: 'TAG1' });
    await waitFor(() => r.cp.queue.stats().length === 0, 'queue empty');
  });

  it('StopTxnSampledData puts Transaction.Begin/End readings into StopTransaction', async () => {
    r = await rig({ keys: { StopTxnSampledData: 'Energy.Active.Import.Register,Power.Active.Import' } });
    await accepted(r);
    r.station.startSession(2, 'TAG2');
    r.station.sample(2, 500);
    await r.station.stopSession(2, 'EVDisconnected');
    const stop = await waitFor(() => r.csms.of('StopTransaction')[0], 'stop');
    expect(stop.reason).toBe('EVDisconnected');
    expect(stop.idTag).toBeUndefined();
    expect(stop.transactionData.map((m: any) => m.sampledValue.map((v: any) => `${v.context}:${v.measurand}=${v.value}`))).toEqual([
      ['Transaction.Begin:Energy.Active.Import.Register=20000'],
      ['Transaction.End:Energy.Active.Import.Register=20500', 'Transaction.End:Power.Active.Import=7360.5'],
    ]);
  });

  it('StopTxnAlignedData puts the clock-aligned readings of the transaction into StopTransaction, between Begin and End', async () => {
    r = await rig({ keys: { ClockAlignedDataInterval: 1, StopTxnAlignedData: 'Energy.Active.Import.Register,Power.Active.Import', StopTxnSampledData: 'Energy.Active.Import.Register' } });
    await accepted(r);
    const s = r.station.startSession(1, 'AL');
    for (let i = 0; i < 5; i++) {
      r.station.sample(1, 100);
      await new Promise((res) => setTimeout(res, 500));
    }
    // persisted while the transaction runs
    expect(r.db.prepare('SELECT count(*) FROM ocpp_tx_aligned WHERE session_id = ?').pluck().get(s.id)).toBeGreaterThanOrEqual(2);
    await r.station.stopSession(1, 'Local');
    const stop = await waitFor(() => r.csms.of('StopTransaction')[0], 'stop');
    const contexts = stop.transactionData.map((m: any) => m.sampledValue[0].context);
    expect(contexts[0]).toBe('Transaction.Begin');
    expect(contexts.at(-1)).toBe('Transaction.End');
    const clock = stop.transactionData.filter((m: any) => m.sampledValue[0].context === 'Sample.Clock');
    expect(clock.length).toBeGreaterThanOrEqual(2);
    for (const m of clock) {
      expect(m.sampledValue.map((v: any) => v.measurand)).toEqual(['Energy.Active.Import.Register', 'Power.Active.Import']);
      expect(m.timestamp).toMatch(ISO_Z);
    }
    const times = clock.map((m: any) => Date.parse(m.timestamp));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(r.db.prepare('SELECT count(*) FROM ocpp_tx_aligned').pluck().get()).toBe(0);
  });

  it('an offline session (CSMS down throughout) is replayed in order with the right transactionId', async () => {
    r = await rig({ csmsDown: true, keys: { MeterValueSampleInterval: 1, AllowOfflineTxForUnknownId: true } });
    expect(await r.station.presentTag(1, 'OFF1')).toMatchObject({ status: 'Accepted', source: 'offline' });
    for (let i = 0; i < 3; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      r.station.sample(1, 100);
    }
    await r.station.stopSession(1, 'Local');
    r.station.startSession(2, 'OFF2');
    await r.station.stopSession(2, 'Local');
    // 7 transaction messages and the StartupOfTheDevice security event
    expect(r.cp.queue.stats().length).toBe(8);
    await r.csms.listen(r.port);
    r.csms.nextTxId = 900;
    await waitFor(() => r.cp.queue.stats().length === 0, 'queue drained');
    const tx = r.csms.received.filter((x) => ['StartTransaction', 'StopTransaction', 'MeterValues'].includes(x.action));
    expect(tx.map((x) => `${x.action}:${x.params.transactionId ?? '-'}`)).toEqual([
      'StartTransaction:-', 'MeterValues:900', 'MeterValues:900', 'MeterValues:900', 'StopTransaction:900',
      'StartTransaction:-', 'StopTransaction:901',
    ]);
    const boot = r.csms.received.findIndex((x) => x.action === 'BootNotification');
    expect(boot).toBe(0);
    const energies = r.csms.of('MeterValues').map((m) => m.meterValue[0].sampledValue[0].value);
    expect(energies).toEqual(['10100', '10200', '10300']);
  });
});
