import { afterEach, describe, expect, it } from 'vitest';
import { accepted, rig, waitFor, type Rig } from './harness.js';
import { KEY_DEFS } from '../../src/config/ocpp16-keys.js';

let r: Rig;
afterEach(async () => {
  await r?.cleanup();
});

async function online(opts: Parameters<typeof rig>[0] = {}): Promise<Rig> {
  r = await rig(opts);
  await accepted(r);
  return r;
}

describe('GetConfiguration / ChangeConfiguration', () => {
  it('lists every supported key with its access; AuthorizationKey is known but never shows its value', async () => {
    await online();
    const all = await r.csms.call('GetConfiguration', {});
    const keys = all.configurationKey.map((k: any) => k.key);
    expect(keys).toEqual([...KEY_DEFS.values()].map((d) => d.key));
    expect(all.configurationKey.find((k: any) => k.key === 'AuthorizationKey')).toEqual({ key: 'AuthorizationKey', readonly: false });
    expect(all.configurationKey.find((k: any) => k.key === 'NumberOfConnectors')).toEqual({ key: 'NumberOfConnectors', readonly: true, value: '2' });
    expect(all.configurationKey.find((k: any) => k.key === 'ConnectorPhaseRotation').value).toBe('1.NotApplicable,2.RST');
    expect(await r.csms.call('GetConfiguration', { key: ['Testing', 'AuthorizationKey', 'MeterValuesSampledData'] })).toEqual({
      configurationKey: [{ key: 'AuthorizationKey', readonly: false }, { key: 'MeterValuesSampledData', readonly: false, value: 'Energy.Active.Import.Register' }],
      unknownKey: ['Testing'],
    });
  });

  it('GetConfiguration with more keys than GetConfigurationMaxKeys: CALLERROR OccurenceConstraintViolation, none silently dropped', async () => {
    await online();
    const max = Number((await r.csms.call('GetConfiguration', { key: ['GetConfigurationMaxKeys'] })).configurationKey[0].value);
    const keys = Array.from({ length: max }, (_, i) => (i === max - 1 ? 'HeartbeatInterval' : `Unknown${i}`));
    const atMax = await r.csms.call('GetConfiguration', { key: keys });
    expect(atMax.configurationKey.map((k: any) => k.key)).toEqual(['HeartbeatInterval']);
    expect(atMax.unknownKey).toHaveLength(max - 1);
    await expect(r.csms.call('GetConfiguration', { key: [...keys, 'MeterValuesSampledData'] })).rejects.toMatchObject({ rpcErrorCode: 'OccurenceConstraintViolation' });
  });

  it('answers NotSupported for unknown keys, Rejected for read-only or invalid values, Accepted and persisted otherwise', async () => {
    await online();
    expect(await r.csms.call('ChangeConfiguration', { key: 'Testing', value: '1' })).toEqual({ status: 'NotSupported' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'NumberOfConnectors', value: '5' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'HeartbeatInterval', value: 'soon' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'WebSocketPingInterval', value: '-1' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'MeterValuesSampledData', value: 'Energy.Active.Import.Register,SoC' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'AuthorizationKey', value: 'abc' })).toEqual({ status: 'Rejected' });
    // evcc probes one measurand at a time, then sets the list
    for (const m of ['Power.Active.Import', 'Current.Import', 'Voltage', 'Current.Offered', 'Frequency']) {
      expect(await r.csms.call('ChangeConfiguration', { key: 'MeterValuesSampledData', value: m })).toEqual({ status: 'Accepted' });
    }
    expect(await r.csms.call('ChangeConfiguration', { key: 'MeterValuesSampledData', value: 'Power.Active.Import, Current.Import' })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'LocalPreAuthorize', value: 'TRUE' })).toEqual({ status: 'Accepted' });
    await r.restart();
    await accepted(r);
    expect(await r.csms.call('GetConfiguration', { key: ['MeterValuesSampledData', 'LocalPreAuthorize'] })).toMatchObject({
      configurationKey: [{ value: 'Power.Active.Import,Current.Import' }, { value: 'true' }],
    });
  });

  it('AuthorizationKey under security profile 0 is Rejected: nothing is stored, nothing reconnects', async () => {
    await online();
    const key = Buffer.from('0123456789abcdef0123').toString('hex');
    expect(await r.csms.call('ChangeConfiguration', { key: 'AuthorizationKey', value: key })).toEqual({ status: 'Rejected' });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.csms.auths).toHaveLength(1);
    expect(r.db.prepare("SELECT count(*) FROM ocpp_keys WHERE key = 'AuthorizationKey'").pluck().get()).toBe(0);
  });

  it('HeartbeatInterval takes effect at once', async () => {
    // 1 s from the config file (the CSMS may not set less than 10 s: csms-bounds.test.ts); Boot interval 0 keeps it.
    r = await rig({ csmsDown: true, keys: { HeartbeatInterval: 1 } });
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 0 }));
    await r.csms.listen(r.port);
    await accepted(r);
    await waitFor(() => r.csms.of('Heartbeat').length >= 2, 'two heartbeats');
    expect(await r.csms.call('ChangeConfiguration', { key: 'HeartbeatInterval', value: '3600' })).toEqual({ status: 'Accepted' });
    const sent = r.csms.of('Heartbeat').length;
    await new Promise((res) => setTimeout(res, 2500));
    expect(r.csms.of('Heartbeat').length).toBeLessThanOrEqual(sent + 1); // at most one already under way
  });

  it('WebSocketPingInterval takes effect at once (pings reach the CSMS)', async () => {
    await online();
    let pings = 0;
    r.csms.client()._ws.on('ping', () => pings++);
    expect(await r.csms.call('ChangeConfiguration', { key: 'WebSocketPingInterval', value: '1' })).toEqual({ status: 'Accepted' });
    await waitFor(() => pings >= 1, 'a ping');
  });

  it('MeterValueSampleInterval 0 stops periodic meter values', async () => {
    await online({ keys: { MeterValueSampleInterval: 1 } });
    expect(await r.csms.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '0' })).toEqual({ status: 'Accepted' });
    r.station.startSession(1, 'T');
    await new Promise((res) => setTimeout(res, 1100));
    r.station.sample(1, 10);
    await r.station.stopSession(1, 'Local');
    await waitFor(() => r.csms.of('StopTransaction').length, 'stop');
    expect(r.csms.of('MeterValues')).toHaveLength(0);
  });

  it('ClockAlignedDataInterval sends Sample.Clock values on the clock grid, also for an idle connector', async () => {
    // 1 s from the config file: the CSMS may not set less than 60 s (csms-bounds.test.ts)
    await online({ keys: { ClockAlignedDataInterval: 1, MeterValuesAlignedData: 'Energy.Active.Import.Register,Current.Offered' } });
    r.station.sample(1, 0);
    const mv = await waitFor(() => r.csms.of('MeterValues')[0], 'aligned values');
    expect(mv.transactionId).toBeUndefined();
    expect(mv.meterValue[0].timestamp).toMatch(/:\d\dZ$/);
    expect(mv.meterValue[0].sampledValue.map((v: any) => `${v.context}:${v.measurand}:${v.unit}`)).toEqual(['Sample.Clock:Energy.Active.Import.Register:Wh', 'Sample.Clock:Current.Offered:A']);
  });

  it('AuthorizationKey is hex-decoded into the Basic-auth password and the station reconnects with it', async () => {
    await online({ ocpp: { password: 'initial-secret' } });
    expect(r.csms.auths[0]!.password).toBe('initial-secret');
    const key = Buffer.from('0123456789abcdef0123').toString('hex');
    expect(await r.csms.call('ChangeConfiguration', { key: 'AuthorizationKey', value: key })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.auths.length >= 2, 'reconnect');
    expect(r.csms.auths[1]!.password).toBe('0123456789abcdef0123');
    // The reply went out before the socket closed, with a close frame (not dropped: 1006).
    expect(r.csms.closes.map((c) => c.code)).toEqual([1000]);
    // a reconnect is not a reboot: no second BootNotification
    await waitFor(() => r.csms.client(), 'connected again');
    expect(r.csms.of('BootNotification')).toHaveLength(1);
  });
});

describe('authorization', () => {
  it('uses the cache offline (LocalAuthorizeOffline) and refuses unknown tags unless AllowOfflineTxForUnknownId', async () => {
    await online();
    expect(await r.station.presentTag(1, 'KNOWN')).toMatchObject({ status: 'Accepted', source: 'ocpp' });
    await r.station.stopSession(1, 'Local');
    await r.csms.close();
    await waitFor(() => !r.cp.online, 'offline');
    expect(await r.station.presentTag(1, 'known')).toMatchObject({ status: 'Accepted', source: 'cache' });
    await r.station.stopSession(1, 'Local');
    expect(await r.station.presentTag(1, 'STRANGER')).toMatchObject({ status: 'Invalid' });
    // the cache survives a restart
    await r.restart();
    expect(await r.station.presentTag(2, 'KNOWN')).toMatchObject({ status: 'Accepted', source: 'cache' });
  });

  it('LocalAuthorizeOffline=false: offline, a cached or locally listed tag is not accepted', async () => {
    await online({ keys: { LocalAuthorizeOffline: false } });
    await r.csms.call('SendLocalList', { listVersion: 1, updateType: 'Full', localAuthorizationList: [{ idTag: 'LISTED', idTagInfo: { status: 'Accepted' } }] });
    expect(await r.station.presentTag(1, 'CACHED')).toMatchObject({ status: 'Accepted', source: 'ocpp' });
    await r.station.stopSession(1, 'Local');
    await waitFor(() => r.cp.queue.stats().length === 0, 'delivered');
    expect(r.cp.auth.fromCache('CACHED')?.status).toBe('Accepted');
    await r.csms.close();
    await waitFor(() => !r.cp.online, 'offline');
    expect(await r.station.presentTag(1, 'CACHED')).toMatchObject({ status: 'Invalid', source: 'offline' });
    expect(await r.station.presentTag(1, 'LISTED')).toMatchObject({ status: 'Invalid', source: 'offline' });
    expect(r.station.sessionOn(1)).toBeUndefined();
  });

  it('AuthorizationCacheEnabled=false: nothing cached, and switching it off clears the cache', async () => {
    await online();
    await r.station.presentTag(1, 'K1');
    await r.station.stopSession(1, 'Local');
    await waitFor(() => r.cp.queue.stats().length === 0, 'delivered');
    expect(r.cp.auth.fromCache('K1')).toBeDefined();
    expect(await r.csms.call('ChangeConfiguration', { key: 'AuthorizationCacheEnabled', value: 'false' })).toEqual({ status: 'Accepted' });
    await waitFor(() => !r.cp.auth.fromCache('K1'), 'cache cleared');
    await r.station.presentTag(1, 'K2');
    await r.station.stopSession(1, 'Local');
    await waitFor(() => r.cp.queue.stats().length === 0, 'delivered');
    expect(r.cp.auth.fromCache('K2')).toBeUndefined();
  });

  it('LocalAuthListEnabled=false: the local list is ignored', async () => {
    await online({ keys: { LocalPreAuthorize: true } });
    await r.csms.call('SendLocalList', { listVersion: 1, updateType: 'Full', localAuthorizationList: [{ idTag: 'L1', idTagInfo: { status: 'Accepted' } }] });
    expect(await r.csms.call('ChangeConfiguration', { key: 'LocalAuthListEnabled', value: 'false' })).toEqual({ status: 'Accepted' });
    expect(await r.station.presentTag(1, 'L1')).toMatchObject({ status: 'Accepted', source: 'ocpp' });
    expect(r.csms.of('Authorize')).toEqual([{ idTag: 'L1' }]);
  });

  it('LocalPreAuthorize starts from the local list without Authorize.req; blocked tags are refused even offline with AllowOfflineTxForUnknownId', async () => {
    await online({ keys: { LocalPreAuthorize: true, AllowOfflineTxForUnknownId: true } });
    expect(await r.csms.call('SendLocalList', { listVersion: 3, updateType: 'Full', localAuthorizationList: [{ idTag: 'LIST1', idTagInfo: { status: 'Accepted' } }, { idTag: 'BAD', idTagInfo: { status: 'Blocked' } }] })).toEqual({ status: 'Accepted' });
    expect(await r.station.presentTag(1, 'LIST1')).toMatchObject({ status: 'Accepted', source: 'local-list' });
    expect(r.csms.of('Authorize')).toHaveLength(0);
    await r.csms.close();
    await waitFor(() => !r.cp.online, 'offline');
    expect(await r.station.presentTag(2, 'BAD')).toMatchObject({ status: 'Blocked' });
    expect(await r.station.presentTag(2, 'NEW')).toMatchObject({ status: 'Accepted', source: 'offline' });
  });

  it('an expired local entry asks the CSMS online', async () => {
    await online({ keys: { LocalPreAuthorize: true } });
    await r.csms.call('SendLocalList', { listVersion: 1, updateType: 'Full', localAuthorizationList: [{ idTag: 'OLD', idTagInfo: { status: 'Accepted', expiryDate: '2001-01-01T00:00:00Z' } }] });
    r.csms.responders.set('Authorize', () => ({ idTagInfo: { status: 'Blocked' } }));
    expect(await r.station.presentTag(1, 'OLD')).toMatchObject({ status: 'Blocked', source: 'ocpp' });
  });

  it('StartTransaction.conf Invalid stops the session with DeAuthorized (StopTransactionOnInvalidId=true)', async () => {
    await online();
    r.csms.responders.set('StartTransaction', () => ({ transactionId: 7, idTagInfo: { status: 'Invalid' } }));
    r.station.startSession(1, 'NOPE');
    const stop = await waitFor(() => r.csms.of('StopTransaction')[0], 'stop');
    expect(stop).toMatchObject({ transactionId: 7, reason: 'DeAuthorized' });
  });

  it('a tag Accepted in the local list but Blocked in StartTransaction.conf: StatusNotification connector 0 LocalListConflict (S16 §3.5.2)', async () => {
    await online({ keys: { LocalPreAuthorize: true } });
    await r.csms.call('SendLocalList', { listVersion: 1, updateType: 'Full', localAuthorizationList: [{ idTag: 'LISTED', idTagInfo: { status: 'Accepted' } }] });
    r.csms.responders.set('StartTransaction', () => ({ transactionId: 9, idTagInfo: { status: 'Blocked' } }));
    expect(await r.station.presentTag(1, 'LISTED')).toMatchObject({ status: 'Accepted', source: 'local-list' });
    r.station.startSession(1, 'LISTED');
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ transactionId: 9, reason: 'DeAuthorized' });
    const conflict = await waitFor(() => r.csms.of('StatusNotification').find((s) => s.errorCode === 'LocalListConflict'), 'LocalListConflict');
    expect(conflict).toMatchObject({ connectorId: 0, errorCode: 'LocalListConflict' });
    // and the same when Authorize.conf contradicts the list (LocalPreAuthorize off: the CSMS is asked)
    r.csms.received.length = 0;
    await r.csms.call('ChangeConfiguration', { key: 'LocalPreAuthorize', value: 'false' });
    r.csms.responders.set('Authorize', () => ({ idTagInfo: { status: 'Invalid' } }));
    expect(await r.station.presentTag(2, 'LISTED')).toMatchObject({ status: 'Invalid' });
    await waitFor(() => r.csms.of('StatusNotification').find((s) => s.errorCode === 'LocalListConflict'), 'LocalListConflict after Authorize');
  });

  it('StartTransaction.conf Invalid with StopTransactionOnInvalidId=false only suspends the energy', async () => {
    await online({ keys: { StopTransactionOnInvalidId: false } });
    r.csms.responders.set('StartTransaction', () => ({ transactionId: 8, idTagInfo: { status: 'Invalid' } }));
    r.station.startSession(1, 'NOPE');
    await waitFor(() => r.station.claimed.length, 'claim');
    expect(r.station.claimed).toEqual([{ source: 'ocpp:invalid-id', connectorId: 1, maxA: 0 }]);
    expect(r.station.sessionOn(1)).toBeDefined();
  });

  it('ClearCache empties the cache', async () => {
    await online();
    await r.station.presentTag(1, 'C1');
    await r.station.stopSession(1, 'Local');
    await waitFor(() => r.cp.queue.stats().length === 0, 'start/stop delivered (their confs fill the cache too)');
    expect(r.cp.auth.fromCache('C1')?.status).toBe('Accepted');
    expect(await r.csms.call('ClearCache', {})).toEqual({ status: 'Accepted' });
    await r.csms.close();
    await waitFor(() => !r.cp.online, 'offline');
    expect(await r.station.presentTag(1, 'C1')).toMatchObject({ status: 'Invalid' });
  });
});

describe('local list management', () => {
  it('Full and Differential updates with versions, VersionMismatch, survive a restart', async () => {
    await online();
    expect(await r.csms.call('GetLocalListVersion', {})).toEqual({ listVersion: 0 });
    expect(await r.csms.call('SendLocalList', { listVersion: 5, updateType: 'Full', localAuthorizationList: [{ idTag: 'A', idTagInfo: { status: 'Accepted' } }, { idTag: 'B', idTagInfo: { status: 'Accepted' } }] })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('SendLocalList', { listVersion: 5, updateType: 'Differential', localAuthorizationList: [] })).toEqual({ status: 'VersionMismatch' });
    expect(await r.csms.call('SendLocalList', { listVersion: 6, updateType: 'Differential', localAuthorizationList: [{ idTag: 'A' }, { idTag: 'C', idTagInfo: { status: 'Accepted' } }] })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('SendLocalList', { listVersion: 7, updateType: 'Full', localAuthorizationList: [{ idTag: 'X' }] })).toEqual({ status: 'Failed' });
    await r.restart();
    await accepted(r);
    expect(await r.csms.call('GetLocalListVersion', {})).toEqual({ listVersion: 6 });
    expect(r.cp.auth.fromList('A')).toBeUndefined();
    expect(r.cp.auth.fromList('c')?.status).toBe('Accepted');
  });
});

describe('remote control', () => {
  it('RemoteStartTransaction starts without Authorize (AuthorizeRemoteTxRequests=false); connector 0 is rejected', async () => {
    await online();
    expect(await r.csms.call('RemoteStartTransaction', { idTag: 'R1', connectorId: 0 })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('RemoteStartTransaction', { idTag: 'R1', connectorId: 9 })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('RemoteStartTransaction', { idTag: 'R1', connectorId: 2 })).toEqual({ status: 'Accepted' });
    const start = await waitFor(() => r.csms.of('StartTransaction')[0], 'start');
    expect(start).toMatchObject({ connectorId: 2, idTag: 'R1' });
    expect(r.csms.of('Authorize')).toHaveLength(0);
  });

  it('RemoteStartTransaction with AuthorizeRemoteTxRequests=true authorizes first', async () => {
    await online({ keys: { AuthorizeRemoteTxRequests: true } });
    r.csms.responders.set('Authorize', () => ({ idTagInfo: { status: 'Blocked' } }));
    expect(await r.csms.call('RemoteStartTransaction', { idTag: 'R2', connectorId: 1 })).toEqual({ status: 'Rejected' });
    expect(r.csms.of('Authorize')).toEqual([{ idTag: 'R2' }]);
  });

  it('RemoteStopTransaction stops the running transaction with reason Remote; unknown id is rejected', async () => {
    await online();
    r.csms.nextTxId = 55;
    r.station.startSession(1, 'T');
    await waitFor(() => r.cp.ledger.byTransactionId(55), 'tx known');
    expect(await r.csms.call('RemoteStopTransaction', { transactionId: 56 })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('RemoteStopTransaction', { transactionId: 55 })).toEqual({ status: 'Accepted' });
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ transactionId: 55, reason: 'Remote' });
  });

  it('Reset is answered Accepted and then handed to the station', async () => {
    await online();
    expect(await r.csms.call('Reset', { type: 'Soft' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.station.resets.length, 'reset');
    expect(r.station.resets).toEqual(['Soft']);
    expect(await r.csms.call('Reset', { type: 'Hard' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.station.resets.length === 2, 'hard reset');
  });

  it('UnlockConnector with a cable lock stops a running transaction (UnlockCommand) then unlocks; unknown connector NotSupported', async () => {
    await online();
    r.station.startSession(1, 'T');
    expect(await r.csms.call('UnlockConnector', { connectorId: 1 })).toEqual({ status: 'Unlocked' });
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ reason: 'UnlockCommand' });
    expect(await r.csms.call('UnlockConnector', { connectorId: 7 })).toEqual({ status: 'NotSupported' });
    expect((await r.csms.call('GetConfiguration', { key: ['UnlockConnectorOnEVSideDisconnect'] })).configurationKey[0]).toEqual({ key: 'UnlockConnectorOnEVSideDisconnect', readonly: true, value: 'true' });
  });

  it('UnlockConnector on a fixed cable (no lock): NotSupported and no side effect, the transaction goes on', async () => {
    await online({ locks: false });
    r.station.startSession(1, 'T');
    await waitFor(() => r.cp.queue.stats().length === 0, 'start delivered');
    expect(await r.csms.call('UnlockConnector', { connectorId: 1 })).toEqual({ status: 'NotSupported' });
    await new Promise((res) => setTimeout(res, 200));
    expect(r.station.sessionOn(1)).toBeDefined();
    expect(r.csms.of('StopTransaction')).toHaveLength(0);
    // no lock: it cannot unlock on EV-side disconnect (E16 §3.84)
    expect((await r.csms.call('GetConfiguration', { key: ['UnlockConnectorOnEVSideDisconnect'] })).configurationKey[0]).toEqual({ key: 'UnlockConnectorOnEVSideDisconnect', readonly: true, value: 'false' });
  });

  it('ChangeAvailability: Scheduled during a transaction, Accepted otherwise, persisted across restart', async () => {
    await online();
    r.station.startSession(1, 'T');
    expect(await r.csms.call('ChangeAvailability', { connectorId: 1, type: 'Inoperative' })).toEqual({ status: 'Scheduled' });
    expect(await r.csms.call('ChangeAvailability', { connectorId: 2, type: 'Inoperative' })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('ChangeAvailability', { connectorId: 3, type: 'Inoperative' })).toEqual({ status: 'Rejected' });
    await waitFor(() => r.csms.of('StatusNotification').find((s) => s.connectorId === 2 && s.status === 'Unavailable'), 'unavailable status');
    await r.station.stopSession(1, 'Local');
    await waitFor(() => r.csms.of('StatusNotification').find((s) => s.connectorId === 1 && s.status === 'Unavailable'), 'scheduled change applied');
    await r.restart();
    expect([...r.station.connectors.values()].map((c) => c.status)).toEqual(['Unavailable', 'Unavailable']);
  });

  it('ChangeAvailability: connector 0 then a later change of one connector, both as they were after a restart', async () => {
    await online();
    expect(await r.csms.call('ChangeAvailability', { connectorId: 0, type: 'Inoperative' })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('ChangeAvailability', { connectorId: 1, type: 'Operative' })).toEqual({ status: 'Accepted' });
    expect([...r.station.connectors.values()].map((c) => c.status)).toEqual(['Available', 'Unavailable']);
    await r.restart();
    expect([...r.station.connectors.values()].map((c) => c.status)).toEqual(['Available', 'Unavailable']);
    // and the station-wide change afterwards overrides the connector's own again
    await accepted(r);
    expect(await r.csms.call('ChangeAvailability', { connectorId: 0, type: 'Inoperative' })).toEqual({ status: 'Accepted' });
    await r.restart();
    expect([...r.station.connectors.values()].map((c) => c.status)).toEqual(['Unavailable', 'Unavailable']);
    await accepted(r);
    expect(await r.csms.call('ChangeAvailability', { connectorId: 0, type: 'Operative' })).toEqual({ status: 'Accepted' });
    await r.restart();
    expect([...r.station.connectors.values()].map((c) => c.status)).toEqual(['Available', 'Available']);
  });

  it('DataTransfer answers UnknownVendorId; the Reservation profile is answered', async () => {
    await online();
    expect(await r.csms.call('DataTransfer', { vendorId: 'com.example', messageId: 'x', data: 'y' })).toEqual({ status: 'UnknownVendorId' });
    expect(await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: '2030-01-01T00:00:00Z', idTag: 'X', reservationId: 1 })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('CancelReservation', { reservationId: 1 })).toEqual({ status: 'Accepted' });
  });
});

describe('TriggerMessage', () => {
  it('answers first, then sends Heartbeat / StatusNotification / MeterValues; rejects BootNotification after Accepted', async () => {
    await online();
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'BootNotification' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'Heartbeat' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('Heartbeat').length, 'heartbeat');
    const before = r.csms.of('StatusNotification').length;
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 2 })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('StatusNotification').length === before + 1, 'status');
    expect(r.csms.of('StatusNotification')[before].connectorId).toBe(2);
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 5 })).toEqual({ status: 'Rejected' });
    // no diagnostics upload runs: Idle (only ever sent when triggered)
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'DiagnosticsStatusNotification' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('DiagnosticsStatusNotification').length, 'diagnostics status');
    expect(r.csms.of('DiagnosticsStatusNotification')).toEqual([{ status: 'Idle' }]);
  });

  it('StatusNotification without connectorId: connector 0 and every connector', async () => {
    await online();
    r.station.setStatus(2, 'Faulted', ['overcurrent']);
    await waitFor(() => r.csms.of('StatusNotification').length === 4, 'the change');
    const before = r.csms.of('StatusNotification').length;
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'StatusNotification' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('StatusNotification').length === before + 3, 'three statuses');
    expect(r.csms.of('StatusNotification').slice(before).map((s) => [s.connectorId, s.status, s.errorCode])).toEqual([
      [0, 'Available', 'NoError'], [1, 'Available', 'NoError'], [2, 'Faulted', 'OverCurrentFailure'],
    ]);
  });

  it('while Pending, triggered messages are sent (S16 §4.2.1: requests only when triggered); nothing else is', async () => {
    r = await rig();
    r.csms.responders.set('BootNotification', () => ({ status: 'Pending', currentTime: new Date().toISOString(), interval: 60 }));
    await waitFor(() => r.cp.bootStatus === 'Pending', 'pending');
    r.station.startSession(1, 'T'); // a transaction message is queued, not sent while Pending
    r.station.sample(1, 5);
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'StatusNotification' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('StatusNotification').length === 3, 'status of 0, 1, 2');
    expect(r.csms.of('StatusNotification').map((s) => [s.connectorId, s.status])).toEqual([[0, 'Available'], [1, 'Charging'], [2, 'Available']]);
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'Heartbeat' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('Heartbeat').length === 1, 'heartbeat');
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 1 })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('MeterValues').length === 1, 'meter values');
    await new Promise((res) => setTimeout(res, 300));
    expect(r.csms.received.map((x) => x.action)).toEqual(['BootNotification', 'StatusNotification', 'StatusNotification', 'StatusNotification', 'Heartbeat', 'MeterValues']);
    // the StartTransaction and the StartupOfTheDevice security event, both waiting for Accepted
    expect(r.cp.queue.stats().length).toBe(2);
  });

  it('TriggerMessage(MeterValues) repeated quickly leaves no backlog and carries context Trigger', async () => {
    await online();
    r.station.startSession(1, 'T');
    r.station.sample(1, 5);
    await waitFor(() => r.cp.queue.stats().length === 0, 'start delivered');
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    r.csms.responders.set('MeterValues', async () => {
      await gate;
      return {};
    });
    for (let i = 0; i < 5; i++) expect(await r.csms.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 1 })).toEqual({ status: 'Accepted' });
    release();
    await waitFor(() => r.csms.of('MeterValues').length, 'meter values');
    await new Promise((res) => setTimeout(res, 300));
    expect(r.csms.of('MeterValues')).toHaveLength(1);
    const mv = r.csms.of('MeterValues')[0];
    expect(mv.transactionId).toBe(100);
    expect(mv.meterValue[0].sampledValue[0]).toMatchObject({ context: 'Trigger', measurand: 'Energy.Active.Import.Register', unit: 'Wh', value: '10005' });
  });

  it('TriggerMessage(MeterValues) before any sample reads the meter now: Accepted always means a MeterValues follows', async () => {
    await online();
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 1 })).toEqual({ status: 'Accepted' });
    const mv = await waitFor(() => r.csms.of('MeterValues')[0], 'meter values');
    expect(mv.connectorId).toBe(1);
    expect(mv.meterValue[0].sampledValue[0]).toMatchObject({ context: 'Trigger', measurand: 'Energy.Active.Import.Register', value: '10000' });
    // no reading at all (never sampled, meter not answering): Rejected, nothing sent
    r.station.setMeterOffline(2, true);
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 2 })).toEqual({ status: 'Rejected' });
    // without connectorId: the connectors that have a value
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'MeterValues' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('MeterValues').length === 2, 'second');
    await new Promise((res) => setTimeout(res, 200));
    expect(r.csms.of('MeterValues').map((m) => m.connectorId)).toEqual([1, 1]);
  });
});

describe('stale meter readings', () => {
  it('TriggerMessage(MeterValues) with the meter offline sends the last reading stamped with its own time, not now', async () => {
    await online();
    r.station.sample(1, 7);
    const sampledAt = Date.now();
    await new Promise((res) => setTimeout(res, 2200));
    r.station.setMeterOffline(1, true);
    const reads = r.station.readMeterCalls;
    expect(await r.csms.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 1 })).toEqual({ status: 'Accepted' });
    const mv = await waitFor(() => r.csms.of('MeterValues')[0], 'meter values');
    expect(r.station.readMeterCalls).toBe(reads + 1); // a fresh reading was tried first
    expect(mv.meterValue[0].sampledValue[0].value).toBe('10007');
    const ts = Date.parse(mv.meterValue[0].timestamp);
    expect(ts).toBeLessThanOrEqual(sampledAt);
    expect(ts).toBeGreaterThan(sampledAt - 1500);
  });

  it('clock-aligned values skip a connector whose meter is stale or offline', async () => {
    await online({ keys: { ClockAlignedDataInterval: 1 } });
    r.station.sample(1, 0);
    r.station.sample(2, 0);
    r.station.setMeterOffline(1, true);
    await new Promise((res) => setTimeout(res, 1200)); // values taken before the meter went offline are delivered
    const from = r.csms.of('MeterValues').length;
    await waitFor(() => r.csms.of('MeterValues').length >= from + 3, 'three aligned values', 6000);
    expect(new Set(r.csms.of('MeterValues').slice(from).map((m) => m.connectorId))).toEqual(new Set([2]));
    r.station.setMeterOffline(1, false);
    r.station.sample(1, 1);
    await waitFor(() => r.csms.of('MeterValues').some((m) => m.connectorId === 1), 'connector 1 again once its meter answers', 4000);
  });
});
