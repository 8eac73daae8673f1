import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearChargingProfile, getCompositeSchedule, setChargingProfile } from '../../../src/ocpp/v16/handlers/smart-charging.js';
import { remoteStartTransaction } from '../../../src/ocpp/v16/handlers/remote.js';
import type { ChargingProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

const start = new Date(Date.UTC(2026, 10, 1, 11, 0, 0)).toISOString();
const profile = (id: number, purpose: ChargingProfile['chargingProfilePurpose'], limit: number, kind: ChargingProfile['chargingProfileKind'] = 'Absolute'): ChargingProfile => ({
  chargingProfileId: id, stackLevel: 0, chargingProfilePurpose: purpose, chargingProfileKind: kind,
  chargingSchedule: { ...(kind === 'Relative' ? {} : { startSchedule: start }), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
});

describe('SetChargingProfile', () => {
  it('Accepted for a TxDefaultProfile; every answer valid against the schema', () => {
    const req = { connectorId: 1, csChargingProfiles: profile(1, 'TxDefaultProfile', 10) };
    assertSchema('SetChargingProfile', 'req', req);
    const conf = setChargingProfile(r.ctx, req);
    assertSchema('SetChargingProfile', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
  });

  it('a connector the station does not have: CALLERROR PropertyConstraintViolation, nothing installed', () => {
    expect(() => setChargingProfile(r.ctx, { connectorId: 3, csChargingProfiles: profile(1, 'TxDefaultProfile', 10) })).toThrow(expect.objectContaining({ rpcErrorCode: 'PropertyConstraintViolation' }));
    expect(r.smart.profiles()).toEqual([]);
  });

  it('TxProfile without a transaction: Rejected', () => {
    const conf = setChargingProfile(r.ctx, { connectorId: 1, csChargingProfiles: profile(1, 'TxProfile', 10, 'Relative') });
    assertSchema('SetChargingProfile', 'conf', conf);
    expect(conf).toEqual({ status: 'Rejected' });
  });
});

describe('ClearChargingProfile', () => {
  it('Accepted when something was removed, Unknown otherwise', () => {
    setChargingProfile(r.ctx, { connectorId: 1, csChargingProfiles: profile(1, 'TxDefaultProfile', 10) });
    const miss = clearChargingProfile(r.ctx, { id: 2 });
    assertSchema('ClearChargingProfile', 'conf', miss);
    expect(miss).toEqual({ status: 'Unknown' });
    // id given: the other fields are ignored
    expect(clearChargingProfile(r.ctx, { id: 1, connectorId: 2, stackLevel: 5 })).toEqual({ status: 'Accepted' });
    expect(r.smart.profiles()).toEqual([]);
  });
});

describe('GetCompositeSchedule', () => {
  it('a schema-valid answer without startSchedule; unknown connector and zero duration Rejected', () => {
    setChargingProfile(r.ctx, { connectorId: 0, csChargingProfiles: profile(1, 'TxDefaultProfile', 10) });
    const conf = getCompositeSchedule(r.ctx, { connectorId: 1, duration: 3600 });
    assertSchema('GetCompositeSchedule', 'conf', conf);
    expect(conf).toMatchObject({ status: 'Accepted', connectorId: 1, scheduleStart: expect.any(String), chargingSchedule: { chargingRateUnit: 'A' } });
    expect(conf.chargingSchedule!.startSchedule).toBeUndefined();
    expect(conf.chargingSchedule!.chargingSchedulePeriod[0]!.limit).toBe(10);
    const inW = getCompositeSchedule(r.ctx, { connectorId: 0, duration: 60, chargingRateUnit: 'W' });
    assertSchema('GetCompositeSchedule', 'conf', inW);
    expect(getCompositeSchedule(r.ctx, { connectorId: 7, duration: 60 })).toEqual({ status: 'Rejected' });
    expect(getCompositeSchedule(r.ctx, { connectorId: 1, duration: 0 })).toEqual({ status: 'Rejected' });
  });
});

describe('RemoteStartTransaction with a chargingProfile', () => {
  it('only a TxProfile: another purpose is Rejected and nothing starts', async () => {
    const req = { connectorId: 1, idTag: 'TAG-1', chargingProfile: profile(1, 'TxDefaultProfile', 8, 'Relative') };
    assertSchema('RemoteStartTransaction', 'req', req);
    expect(await remoteStartTransaction(r.ctx, req)).toEqual({ status: 'Rejected' });
    expect(r.station.sessionOn(1)).toBeUndefined();
  });

  it('a TxProfile is Accepted and limits the session it started', async () => {
    expect(await remoteStartTransaction(r.ctx, { connectorId: 1, idTag: 'TAG-1', chargingProfile: profile(1, 'TxProfile', 8, 'Relative') })).toEqual({ status: 'Accepted' });
    expect(r.station.sessionOn(1)).toBeDefined();
    expect(r.station.claims(1).find((c) => c.source === 'ocpp:profile')?.maxA).toBe(8);
  });
});
