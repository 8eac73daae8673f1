import { describe, expect, it } from 'vitest';
import { api } from '../support/station.js';
import { waitFor } from './csms.js';
import { charge, daemonRigs, txQueueEmpty, type DaemonRig as Rig } from './daemon-rig.js';

/**
 * OCPP 1.6 Smart Charging end to end: the daemon (state machine, sim hardware and meter) in-process
 * against the ocpp-rpc CSMS fixture in strict mode. What the CSMS sends becomes the current the
 * station offers (the connector view and the pilot output), the status the CSMS is told, the
 * station budget, and survives a restart. Last: the sequence evcc sends, replayed.
 */
const { start, restart } = daemonRigs('evsed-ocpp-sc-');

const isoNow = (offsetS = 0) => new Date(Math.floor(Date.now() / 1000) * 1000 + offsetS * 1000).toISOString().replace('.000Z', 'Z');

function profile(p: { id: number; purpose: string; stackLevel?: number; unit?: 'A' | 'W'; periods: { startPeriod: number; limit: number; numberPhases?: number }[]; kind?: string; startSchedule?: string; transactionId?: number; duration?: number }) {
  const kind = p.kind ?? 'Absolute';
  return {
    chargingProfileId: p.id,
    ...(p.transactionId !== undefined ? { transactionId: p.transactionId } : {}),
    stackLevel: p.stackLevel ?? 0,
    chargingProfilePurpose: p.purpose,
    chargingProfileKind: kind,
    chargingSchedule: {
      ...(p.duration !== undefined ? { duration: p.duration } : {}),
      ...(kind === 'Relative' ? {} : { startSchedule: p.startSchedule ?? isoNow(-60) }),
      chargingRateUnit: p.unit ?? 'A',
      chargingSchedulePeriod: p.periods,
    },
  };
}

const offered = (r: Rig, id = 1) => r.view(id).currentLimitA;

describe('SetChargingProfile, GetCompositeSchedule, ClearChargingProfile on the station', () => {
  it('TxDefaultProfile applied to an ongoing transaction (TC_082), shown by GetCompositeSchedule, cleared by id and by criteria', async () => {
    const r = await start();
    await charge(r, 1, 'TAG-1');
    const before = offered(r);
    expect(before).toBeGreaterThan(10);

    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 7, purpose: 'TxDefaultProfile', periods: [{ startPeriod: 0, limit: 10 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === 10, 'offer follows the TxDefaultProfile');
    expect(r.view(1).limitSource).toBe('ocpp:profile');
    expect(r.view(1).contactorClosed).toBe(true);

    const comp = await r.csms.call('GetCompositeSchedule', { connectorId: 1, duration: 300 });
    expect(comp).toMatchObject({ status: 'Accepted', connectorId: 1, chargingSchedule: { chargingRateUnit: 'A', duration: 300 } });
    expect(comp.chargingSchedule.chargingSchedulePeriod[0]).toMatchObject({ startPeriod: 0, limit: 10 });
    expect(comp.chargingSchedule.startSchedule).toBeUndefined();
    expect(Math.abs(Date.parse(comp.scheduleStart) - Date.now())).toBeLessThan(5000);
    const inW = await r.csms.call('GetCompositeSchedule', { connectorId: 1, duration: 60, chargingRateUnit: 'W' });
    expect(inW.chargingSchedule.chargingRateUnit).toBe('W');
    expect(inW.chargingSchedule.chargingSchedulePeriod[0].limit).toBeGreaterThan(10 * 3 * 200);
    expect(await r.csms.call('GetCompositeSchedule', { connectorId: 9, duration: 60 })).toEqual({ status: 'Rejected' });

    // connector 1's own TxDefaultProfile overrides connector 0's, whatever its stack level
    expect(await r.csms.call('SetChargingProfile', { connectorId: 0, csChargingProfiles: profile({ id: 9, purpose: 'TxDefaultProfile', stackLevel: 5, periods: [{ startPeriod: 0, limit: 6 }] }) })).toEqual({ status: 'Accepted' });
    // a higher stack level wins; clearing it by purpose + stackLevel falls back to the lower one
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 8, purpose: 'TxDefaultProfile', stackLevel: 2, periods: [{ startPeriod: 0, limit: 8 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === 8, 'stack level 2');
    expect(await r.csms.call('ClearChargingProfile', { chargingProfilePurpose: 'TxDefaultProfile', stackLevel: 2 })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === 10, 'back to stack level 0');

    expect(await r.csms.call('ClearChargingProfile', { id: 7 })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === 6, "connector 0's TxDefaultProfile");
    expect(await r.csms.call('ClearChargingProfile', { connectorId: 0, chargingProfilePurpose: 'TxDefaultProfile' })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === before, 'no profile: the offer is back');
    expect(r.d.station.claims(1).some((c) => c.source === 'ocpp:profile')).toBe(false);
    expect(await r.csms.call('ClearChargingProfile', { id: 7 })).toEqual({ status: 'Unknown' });
  });

  it('refused profiles change nothing: TxProfile without a transaction, a stack level or period count over the keys, ChargePointMax not on 0, an unknown connector', async () => {
    const r = await start();
    const set = (connectorId: number, p: unknown) => r.csms.call('SetChargingProfile', { connectorId, csChargingProfiles: p });
    const before = offered(r);
    expect(await set(1, profile({ id: 1, purpose: 'TxProfile', kind: 'Relative', periods: [{ startPeriod: 0, limit: 6 }] }))).toEqual({ status: 'Rejected' });
    expect(await set(1, profile({ id: 2, purpose: 'TxDefaultProfile', stackLevel: 99, periods: [{ startPeriod: 0, limit: 6 }] }))).toEqual({ status: 'Rejected' });
    const many = Array.from({ length: 49 }, (_, i) => ({ startPeriod: i * 60, limit: 6 + (i % 2) }));
    expect(await set(1, profile({ id: 3, purpose: 'TxDefaultProfile', periods: many }))).toEqual({ status: 'Rejected' });
    expect(await set(1, profile({ id: 4, purpose: 'ChargePointMaxProfile', periods: [{ startPeriod: 0, limit: 6 }] }))).toEqual({ status: 'Rejected' });
    await expect(set(5, profile({ id: 5, purpose: 'TxDefaultProfile', periods: [{ startPeriod: 0, limit: 6 }] }))).rejects.toMatchObject({ rpcErrorCode: 'PropertyConstraintViolation' });
    expect(offered(r)).toBe(before);
    expect((r.d.station.extraStatus().ocpp as any).smartCharging.profiles).toEqual([]);
    expect(await r.csms.call('ClearChargingProfile', {})).toEqual({ status: 'Unknown' });
  });

  it('a limit below 6 A suspends: SuspendedEVSE reported, no PWM offer; raising it resumes charging', async () => {
    const r = await start();
    await charge(r, 1, 'TAG-1');
    const sn = r.csms.of('StatusNotification').length;
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 1, purpose: 'TxDefaultProfile', periods: [{ startPeriod: 0, limit: 4.5 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.csms.of('StatusNotification').slice(sn).some((s) => s.connectorId === 1 && s.status === 'SuspendedEVSE'), 'SuspendedEVSE reported');
    expect(r.view(1).status).toBe('SuspendedEVSE');
    expect(r.view(1).currentLimitA).toBe(0);
    expect(r.view(1).pilotOutput.mode).not.toBe('pwm');
    await waitFor(() => !r.view(1).contactorClosed, 'contactor opens once the EV stopped drawing');
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 1, purpose: 'TxDefaultProfile', periods: [{ startPeriod: 0, limit: 6 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.view(1).status === 'Charging' && r.view(1).currentLimitA === 6, 'charging again at 6 A');
    expect(r.view(1).pilotOutput).toMatchObject({ mode: 'pwm' });
  });

  it('a CSMS that sets W: converted with the phases in use and the measured voltage', async () => {
    const r = await start();
    await charge(r, 1, 'TAG-1');
    await waitFor(() => r.view(1).meter.voltageV.length > 0, 'a meter reading');
    const v = r.view(1).meter.voltageV;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 1, purpose: 'TxDefaultProfile', unit: 'W', periods: [{ startPeriod: 0, limit: 7000 }] }) })).toEqual({ status: 'Accepted' });
    const expected = 7000 / (3 * mean);
    await waitFor(() => Math.abs(offered(r) - expected) <= 1, `about ${expected.toFixed(1)} A offered`);
    const claim = r.d.station.claims(1).find((c) => c.source === 'ocpp:profile')!;
    expect(claim.maxA).toBeLessThanOrEqual(expected + 0.05);
    expect(claim.maxA).toBeGreaterThan(expected - 0.5);
  });

  it('the offer changes at a period boundary on the wall clock', async () => {
    const r = await start();
    await charge(r, 1, 'TAG-1');
    const startSchedule = isoNow();
    const boundary = Date.parse(startSchedule) + 4000;
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 1, purpose: 'TxDefaultProfile', startSchedule, periods: [{ startPeriod: 0, limit: 13 }, { startPeriod: 4, limit: 7 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === 13 || offered(r) === 7, 'first period applied');
    const seen: { at: number; a: number }[] = [];
    await waitFor(() => {
      seen.push({ at: Date.now(), a: offered(r) });
      return offered(r) === 7;
    }, 'second period applied', 15_000);
    // never the second period's limit before its start
    expect(seen.filter((s) => s.a === 7 && s.at < boundary - 50)).toEqual([]);
  });

  it('ChargePointMaxProfile on connector 0 sets the station budget (GET /api/status, station.budgets()); cleared, it is gone', async () => {
    const r = await start();
    expect(await r.csms.call('SetChargingProfile', { connectorId: 0, csChargingProfiles: profile({ id: 100, purpose: 'ChargePointMaxProfile', periods: [{ startPeriod: 0, limit: 20 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.d.station.budgets().some((b) => b.source === 'ocpp:ChargePointMaxProfile'), 'budget set');
    expect(r.d.station.budgets().find((b) => b.source === 'ocpp:ChargePointMaxProfile')!.phaseA).toEqual([20, 20, 20]);
    const status = await api(`http://127.0.0.1:${r.d.address.port}`, '/api/status');
    expect(status.body.ocpp.smartCharging.stationBudgetA).toBe(20);
    const comp = await r.csms.call('GetCompositeSchedule', { connectorId: 0, duration: 60 });
    expect(comp).toMatchObject({ status: 'Accepted', connectorId: 0 });
    expect(comp.chargingSchedule.chargingSchedulePeriod[0].limit).toBeLessThanOrEqual(20);
    expect(await r.csms.call('ClearChargingProfile', { chargingProfilePurpose: 'ChargePointMaxProfile' })).toEqual({ status: 'Accepted' });
    await waitFor(() => !r.d.station.budgets().some((b) => b.source === 'ocpp:ChargePointMaxProfile'), 'budget cleared');
  });

  it('profiles survive a daemon restart and apply before the first offer', async () => {
    let r = await start();
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 3, purpose: 'TxDefaultProfile', periods: [{ startPeriod: 0, limit: 9 }] }) })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('SetChargingProfile', { connectorId: 0, csChargingProfiles: profile({ id: 4, purpose: 'ChargePointMaxProfile', periods: [{ startPeriod: 0, limit: 25 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.d.station.claims(1).find((c) => c.source === 'ocpp:profile')?.maxA === 9, 'applied');
    r = await restart(r);
    expect(r.d.station.claims(1).find((c) => c.source === 'ocpp:profile')?.maxA).toBe(9);
    expect(r.d.station.budgets().find((b) => b.source === 'ocpp:ChargePointMaxProfile')?.phaseA).toEqual([25, 25, 25]);
    await charge(r, 1, 'TAG-1');
    expect(offered(r)).toBe(9);
    const comp = await r.csms.call('GetCompositeSchedule', { connectorId: 1, duration: 60 });
    expect(comp.chargingSchedule.chargingSchedulePeriod[0].limit).toBe(9);
  });
});

describe('RemoteStartTransaction with a charging profile', () => {
  it('a TxProfile limits the session it starts from its first moment and ends with its transaction; another purpose is Rejected', async () => {
    const r = await start();
    expect(await r.csms.call('RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-1', chargingProfile: profile({ id: 1, purpose: 'TxDefaultProfile', kind: 'Relative', periods: [{ startPeriod: 0, limit: 8 }] }) })).toEqual({ status: 'Rejected' });
    expect(r.d.station.sessionOn(1)).toBeUndefined();

    r.hw(1).ev.plug();
    expect(await r.csms.call('RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-1', chargingProfile: profile({ id: 2, purpose: 'TxProfile', kind: 'Relative', periods: [{ startPeriod: 0, limit: 8 }] }) })).toEqual({ status: 'Accepted' });
    r.hw(1).ev.ready();
    await waitFor(() => r.view(1).contactorClosed, 'charging');
    expect(offered(r)).toBe(8);
    await waitFor(() => r.csms.of('StartTransaction').length > 0 && txQueueEmpty(r), 'StartTransaction delivered');
    const txId = (await waitFor(() => (r.d.station.extraStatus().ocpp as any).smartCharging.profiles.find((p: any) => p.id === 2 && p.transactionId >= 0), 'the TxProfile is bound to the transaction')).transactionId;
    expect(r.csms.of('StartTransaction').length).toBe(1);
    expect(txId).toBeGreaterThanOrEqual(100);

    // a TxProfile set by SetChargingProfile for this transaction replaces it (same stack level)
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 3, purpose: 'TxProfile', transactionId: txId, periods: [{ startPeriod: 0, limit: 11 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => offered(r) === 11, 'new TxProfile');
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 4, purpose: 'TxProfile', transactionId: txId + 1, periods: [{ startPeriod: 0, limit: 6 }] }) })).toEqual({ status: 'Rejected' });

    await r.d.station.stopSession(1, 'Remote');
    await waitFor(() => (r.d.station.extraStatus().ocpp as any).smartCharging.profiles.length === 0, 'TxProfiles removed at the stop');
    expect(r.d.station.claims(1).some((c) => c.source === 'ocpp:profile')).toBe(false);
  });
});

describe("evcc's OCPP sequence, replayed", () => {
  it('setup, measurand probe, TxDefaultProfile current control, enable/disable, composite schedule read-back, triggered MeterValues', async () => {
    const r = await start();
    const c = r.csms;
    // Setup (charger/ocpp/cp_setup.go)
    expect(await c.call('ChangeAvailability', { connectorId: 0, type: 'Operative' })).toEqual({ status: 'Accepted' });
    const conf = await c.call('GetConfiguration', {});
    const key = (k: string) => conf.configurationKey.find((x: any) => x.key === k);
    expect(key('SupportedFeatureProfiles').value.split(',')).toEqual(expect.arrayContaining(['Core', 'SmartCharging', 'RemoteTrigger']));
    // evcc switches to W only for exactly "Power" (or "W"); "Current,Power" keeps it on A
    expect(key('ChargingScheduleAllowedChargingRateUnit')).toEqual({ key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current,Power' });
    // no phase relay on this station: evcc must not offer phase switching
    expect(key('ConnectorSwitch3to1PhaseSupported')).toEqual({ key: 'ConnectorSwitch3to1PhaseSupported', readonly: true, value: 'false' });
    const stackLevel = Number(key('ChargeProfileMaxStackLevel').value);
    const profileId = Number(key('MaxChargingProfilesInstalled').value);
    const maxLength = Number(key('MeterValuesSampledDataMaxLength').value);
    expect(key('MeterValuesSampledData').readonly).toBe(false);
    expect(Number(key('NumberOfConnectors').value)).toBe(1);
    expect(stackLevel).toBeGreaterThan(0);
    expect(profileId).toBeGreaterThan(0);

    // the probe: one measurand at a time; an error or anything but Accepted means "not supported"
    const desired = ['Power.Active.Import', 'Energy.Active.Import.Register', 'Current.Import', 'Voltage', 'Current.Offered', 'Power.Offered', 'SoC'];
    const accepted: string[] = [];
    for (const m of desired) {
      const res = await c.call('ChangeConfiguration', { key: 'MeterValuesSampledData', value: m });
      if (res.status === 'Accepted') accepted.push(m);
    }
    expect(accepted).toEqual(['Power.Active.Import', 'Energy.Active.Import.Register', 'Current.Import', 'Voltage', 'Current.Offered']);
    expect(await c.call('ChangeConfiguration', { key: 'MeterValuesSampledData', value: accepted.slice(0, maxLength).join(',') })).toEqual({ status: 'Accepted' });
    const mv = c.of('MeterValues').length;
    expect(await c.call('TriggerMessage', { requestedMessage: 'MeterValues' })).toEqual({ status: 'Accepted' });
    await waitFor(() => c.of('MeterValues').length > mv, 'triggered MeterValues');
    const measurands = new Set(c.of('MeterValues').slice(mv).flatMap((m) => m.meterValue.flatMap((v: any) => v.sampledValue.map((s: any) => s.measurand ?? 'Energy.Active.Import.Register'))));
    for (const m of accepted) expect(measurands.has(m)).toBe(true);
    expect(await c.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '10' })).toEqual({ status: 'Accepted' });
    expect(await c.call('ChangeConfiguration', { key: 'WebSocketPingInterval', value: '30' })).toEqual({ status: 'Accepted' });
    // connector init (charger/ocpp/connector.go)
    expect(await c.call('TriggerMessage', { requestedMessage: 'StatusNotification' })).toEqual({ status: 'Accepted' });

    // current control (charger/ocpp.go createTxDefaultChargingProfile): connector 1, TxDefaultProfile,
    // id = MaxChargingProfilesInstalled, stackLevel = ChargeProfileMaxStackLevel, Absolute from a minute ago
    const evccProfile = (current: number) => ({
      chargingProfileId: profileId,
      stackLevel,
      chargingProfilePurpose: 'TxDefaultProfile',
      chargingProfileKind: 'Absolute',
      chargingSchedule: { chargingRateUnit: 'A', startSchedule: isoNow(-60), chargingSchedulePeriod: [{ startPeriod: 0, limit: Math.trunc(10 * current) / 10 }] },
    });
    const setCurrent = (a: number) => c.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: evccProfile(a) });
    const scheduleLimit = async () => (await c.call('GetCompositeSchedule', { connectorId: 1, duration: 60 })).chargingSchedule.chargingSchedulePeriod[0].limit;

    expect(await setCurrent(0)).toEqual({ status: 'Accepted' }); // disabled until the loadpoint wants to charge
    r.hw(1).ev.plug();
    expect(await r.d.station.presentTag(1, 'TAG-1')).toMatchObject({ status: 'Accepted' });
    r.hw(1).ev.ready();
    await waitFor(() => r.view(1).status === 'SuspendedEVSE', 'disabled: SuspendedEVSE (what evcc reads as not enabled)');
    await waitFor(() => c.of('StatusNotification').some((s) => s.connectorId === 1 && s.status === 'SuspendedEVSE'), 'SuspendedEVSE reported');
    expect(await scheduleLimit()).toBe(0);

    expect(await setCurrent(16)).toEqual({ status: 'Accepted' }); // enable
    await waitFor(() => r.view(1).status === 'Charging' && offered(r) === 16, 'charging at 16 A');
    expect(await scheduleLimit()).toBe(16);
    expect(await setCurrent(7.25)).toEqual({ status: 'Accepted' }); // MaxCurrentMillis, truncated to 7.2
    await waitFor(() => offered(r) === 7 || offered(r) === 7.2, 'reduced');
    expect(await scheduleLimit()).toBe(7.2);
    // the watchdog's TriggerMessage on its connector while charging
    const mv2 = c.of('MeterValues').length;
    expect(await c.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 1 })).toEqual({ status: 'Accepted' });
    await waitFor(() => c.of('MeterValues').length > mv2, 'MeterValues on connector 1');
    expect(c.of('MeterValues').slice(mv2).some((m) => m.connectorId === 1 && m.transactionId !== undefined)).toBe(true);

    expect(await setCurrent(0)).toEqual({ status: 'Accepted' }); // disable
    await waitFor(() => r.view(1).status === 'SuspendedEVSE', 'disabled again');
    // only the one profile: each SetChargingProfile replaced the previous (same id)
    expect((r.d.station.extraStatus().ocpp as any).smartCharging.profiles).toHaveLength(1);
  });
});

describe('Smart Charging across the station', () => {
  it('ChargePointMaxProfile caps the sum of two charging connectors per phase, each at 6 A or more (or suspended)', async () => {
    const r = await start({ connectors: 2 });
    await charge(r, 1, 'TAG-A');
    await charge(r, 2, 'TAG-B');
    expect(offered(r, 1) + offered(r, 2)).toBe(64); // each connector's own 32 A
    expect(await r.csms.call('SetChargingProfile', { connectorId: 0, csChargingProfiles: profile({ id: 200, purpose: 'ChargePointMaxProfile', periods: [{ startPeriod: 0, limit: 20 }] }) })).toEqual({ status: 'Accepted' });
    // A decrease applies at once.
    await waitFor(() => offered(r, 1) + offered(r, 2) <= 20, 'the sum within the station maximum');
    for (const id of [1, 2]) expect(offered(r, id) === 0 || offered(r, id) >= 6).toBe(true);
    expect([r.view(1).limitSource, r.view(2).limitSource]).toContain('ocpp:ChargePointMaxProfile');
    // What the EVs draw follows within their reaction time.
    await waitFor(() => r.hw(1).ev.currentA() + r.hw(2).ev.currentA() <= 20 + 0.5, 'the EVs draw within the station maximum', 10_000);
    // 8 A for the station: only one can get the 6 A minimum; the other is suspended (SuspendedEVSE).
    expect(await r.csms.call('SetChargingProfile', { connectorId: 0, csChargingProfiles: profile({ id: 200, purpose: 'ChargePointMaxProfile', periods: [{ startPeriod: 0, limit: 8 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => [offered(r, 1), offered(r, 2)].sort().join() === '0,8', 'one at 8 A, one suspended');
    await waitFor(() => r.csms.of('StatusNotification').some((s) => s.status === 'SuspendedEVSE'), 'SuspendedEVSE reported');
  });

  it('numberPhases 1 in a TxDefaultProfile switches a connector with a phase relay to one phase (ConnectorSwitch3to1PhaseSupported)', async () => {
    const r = await start({ phaseRelay: true });
    const keys = await r.csms.call('GetConfiguration', { key: ['ConnectorSwitch3to1PhaseSupported'] });
    expect(keys.configurationKey[0].value).toBe('true');
    await charge(r, 1, 'TAG-P');
    expect(r.view(1).phases?.active).toBe(3);
    expect(await r.csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile({ id: 300, purpose: 'TxDefaultProfile', periods: [{ startPeriod: 0, limit: 16, numberPhases: 1 }] }) })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.view(1).phases?.active === 1 && r.view(1).contactorClosed, 'charging again on one phase', 15_000);
    expect(r.d.station.sessionOn(1)).toBeDefined(); // one session through the switch
    expect(r.csms.of('StopTransaction')).toHaveLength(0);
    // never switched under load
    for (const e of r.hw(1).phaseLog) expect(e.contactorCommanded).toBe(false);
  });
});

