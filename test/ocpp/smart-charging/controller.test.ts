import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorView } from '../../../src/evse/port.js';
import { silentLogger } from '../../../src/log.js';
import { Timers } from '../../../src/ocpp/timers.js';
import { KeyStore } from '../../../src/ocpp/v16/key-store.js';
import { JUMP_CHECK_MS, PROFILE_CLAIM, SmartCharging, STATION_BUDGET } from '../../../src/ocpp/v16/smart-charging/controller.js';
import type { ChargingProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { handlerRig, type HandlerRig } from '../handlers/fixture.js';

/**
 * The smart-charging controller on a fake clock, over a FakeStation and the real profile store:
 * what reaches the station (claims, the budget, phase switches) and when (period boundaries, clock
 * jumps with and without a 'sync', transaction start and stop, a restart).
 */
let r: HandlerRig;
afterEach(() => r?.cleanup());

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function txDefault(id: number, periods: { startPeriod: number; limit: number; numberPhases?: number }[], o: Partial<ChargingProfile> & { startMs?: number; unit?: 'A' | 'W' } = {}): ChargingProfile {
  return {
    chargingProfileId: id,
    stackLevel: o.stackLevel ?? 0,
    chargingProfilePurpose: o.chargingProfilePurpose ?? 'TxDefaultProfile',
    chargingProfileKind: o.chargingProfileKind ?? 'Absolute',
    ...(o.transactionId !== undefined ? { transactionId: o.transactionId } : {}),
    chargingSchedule: {
      ...(o.chargingProfileKind === 'Relative' ? {} : { startSchedule: iso(o.startMs ?? T0) }),
      chargingRateUnit: o.unit ?? 'A',
      chargingSchedulePeriod: periods,
    },
  };
}

const claimA = (id: number) => r.station.claims(id).find((c) => c.source === PROFILE_CLAIM && c.connectorId === id)?.maxA;

describe('the limit on the station over time', () => {
  it('changes at each period boundary (a timer on the station clock)', () => {
    r = handlerRig();
    expect(r.smart.setProfile(1, txDefault(1, [{ startPeriod: 0, limit: 16 }, { startPeriod: 600, limit: 8 }, { startPeriod: 1200, limit: 12 }])).status).toBe('Accepted');
    expect(claimA(1)).toBe(16);
    expect(claimA(2)).toBeUndefined();
    r.clock.advance(599_000);
    expect(claimA(1)).toBe(16);
    r.clock.advance(1000);
    expect(claimA(1)).toBe(8);
    r.clock.advance(600_000);
    expect(claimA(1)).toBe(12);
  });

  it('a wall clock that jumps without a sync (a Pi without RTC, NTP) is noticed within JUMP_CHECK_MS', () => {
    r = handlerRig();
    r.smart.setProfile(1, txDefault(1, [{ startPeriod: 0, limit: 9 }], { startMs: T0 + 3_600_000 }));
    expect(claimA(1)).toBeUndefined();
    r.clock.setWall(T0 + 3_601_000);
    expect(claimA(1)).toBeUndefined();
    r.clock.advance(JUMP_CHECK_MS);
    expect(claimA(1)).toBe(9);
    // and back: the profile has not begun at the earlier time
    r.clock.setWall(T0);
    r.clock.advance(JUMP_CHECK_MS);
    expect(claimA(1)).toBeUndefined();
  });

  it("the clock's 'sync' (set by the CSMS) re-evaluates at once", () => {
    r = handlerRig();
    r.clock.setQuality('unsynced');
    r.smart.setProfile(0, txDefault(1, [{ startPeriod: 0, limit: 11 }], { startMs: T0 + 86_400_000 }));
    expect(claimA(1)).toBeUndefined();
    r.clock.setFromTrustedSource(T0 + 86_400_000 + 5000, 'ocpp');
    expect(claimA(1)).toBe(11);
    expect(claimA(2)).toBe(11);
  });

  it('ChargePointMaxProfile becomes the station budget, per phase; a W limit with the station phases', () => {
    r = handlerRig();
    expect(r.smart.setProfile(0, txDefault(9, [{ startPeriod: 0, limit: 24 }], { chargingProfilePurpose: 'ChargePointMaxProfile' })).status).toBe('Accepted');
    expect(r.station.budgets()).toEqual([{ source: STATION_BUDGET, phaseA: [24, 24, 24] }]);
    expect(claimA(1)).toBeUndefined();
    r.smart.setProfile(0, txDefault(9, [{ startPeriod: 0, limit: 3 * 230 * 20 }], { chargingProfilePurpose: 'ChargePointMaxProfile', unit: 'W' }));
    expect(r.station.budgets()[0]!.phaseA[0]).toBeCloseTo(20, 1);
    expect(r.smart.clear({ chargingProfilePurpose: 'ChargePointMaxProfile' })).toBe(1);
    expect(r.station.budgets()).toEqual([]);
  });
});

describe('transactions', () => {
  it('a TxProfile over the TxDefaultProfile while its transaction runs; removed (and its claim back to the default) when it stops', async () => {
    r = handlerRig();
    r.smart.setProfile(0, txDefault(1, [{ startPeriod: 0, limit: 16 }]));
    expect(r.smart.setProfile(1, txDefault(2, [{ startPeriod: 0, limit: 6 }], { chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative' })).status).toBe('Rejected');
    r.transaction(1, 'TAG', 77);
    expect(r.smart.setProfile(1, txDefault(2, [{ startPeriod: 0, limit: 6 }], { chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative', transactionId: 78 })).status).toBe('Rejected');
    expect(r.smart.setProfile(1, txDefault(2, [{ startPeriod: 0, limit: 6 }], { chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative' })).status).toBe('Accepted');
    expect(claimA(1)).toBe(6);
    expect(claimA(2)).toBe(16);
    expect(r.repos.chargingProfiles.all().find((p) => p.profile.chargingProfileId === 2)?.profile.transactionId).toBe(77);
    await r.station.stopSession(1, 'Local');
    expect(claimA(1)).toBe(16);
    expect(r.repos.chargingProfiles.all().map((p) => p.profile.chargingProfileId)).toEqual([1]);
  });

  it("RemoteStartTransaction's TxProfile applies from the session's start, before its transactionId is known, and takes the id once answered", () => {
    r = handlerRig();
    expect(r.smart.checkRemoteStartProfile(1, txDefault(5, [{ startPeriod: 0, limit: 7 }], { chargingProfileKind: 'Relative' })).status).toBe('Rejected');
    const tx = txDefault(5, [{ startPeriod: 0, limit: 7 }], { chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative' });
    expect(r.smart.checkRemoteStartProfile(1, tx).status).toBe('Accepted');
    r.smart.holdForRemoteStart(1, 'tag-a', tx);
    r.station.startSession(1, 'TAG-A');
    expect(claimA(1)).toBe(7);
    const row = r.repos.queue.head()!;
    r.ledger.startAnswered(row.id, row.sessionId!, 4242, 'Accepted');
    r.smart.transactionKnown(row.sessionId!, 4242);
    expect(r.repos.chargingProfiles.all()[0]!.profile.transactionId).toBe(4242);
    expect(claimA(1)).toBe(7);
  });

  it("a RemoteStartTransaction profile lapses with the authorisation (ConnectionTimeOut) when no session starts", () => {
    r = handlerRig();
    const tx = txDefault(5, [{ startPeriod: 0, limit: 7 }], { chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative' });
    r.smart.holdForRemoteStart(1, 'TAG-A', tx);
    r.clock.advance(r.keys.int('ConnectionTimeOut') * 1000 + 1000);
    r.station.startSession(1, 'TAG-A');
    expect(claimA(1)).toBeUndefined();
    expect(r.smart.profiles()).toEqual([]);
  });
});

describe('restart', () => {
  it('profiles are restored from the store before anything is offered; a TxProfile whose transaction is gone is dropped', async () => {
    r = handlerRig();
    r.smart.setProfile(1, txDefault(1, [{ startPeriod: 0, limit: 10 }]));
    r.transaction(2, 'TAG', 5);
    r.smart.setProfile(2, txDefault(2, [{ startPeriod: 0, limit: 6 }], { chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative' }));
    r.smart.stop();
    // the session on 2 ends while nothing listens (closed while the daemon was down)
    await r.station.stopSession(2, 'PowerLoss');
    r.station.claimed.splice(0);
    const again = new SmartCharging({ station: r.station, store: r.repos.chargingProfiles, keys: r.keys, phases: new Map([[1, 1], [2, 3]]), connectorMaxA: 32, timers: new Timers(r.clock), log: silentLogger(), transactionIdOf: (id) => r.ledger.transactionIdFor(id) });
    again.start();
    expect(claimA(1)).toBe(10);
    expect(claimA(2)).toBeUndefined();
    expect(again.profiles().map((p) => p.profile.chargingProfileId)).toEqual([1]);
    again.stop();
  });
});

describe('numberPhases', () => {
  function withRelay(switchable: boolean, active: 1 | 3 = 3): void {
    const view = r.station.connectorView.bind(r.station);
    r.station.connectorView = (id: number) => {
      const v = view(id);
      return v ? ({ ...v, phases: { installed: 3, active, switchable, switching: false, switchesThisSession: 0 } } as ConnectorView) : undefined;
    };
  }
  function keysWithRelay(relay: boolean): KeyStore {
    return new KeyStore(r.repos.keys, { connectorIds: [1, 2], phases: new Map([[1, 3], [2, 3]]), securityProfile: 0, cableLock: true, phaseSwitching: relay }, {});
  }
  function controller(keys: KeyStore): SmartCharging {
    const c = new SmartCharging({ station: r.station, store: r.repos.chargingProfiles, keys, phases: new Map([[1, 3], [2, 3]]), connectorMaxA: 32, timers: new Timers(r.clock), log: silentLogger(), transactionIdOf: (id) => r.ledger.transactionIdFor(id) });
    c.start();
    return c;
  }

  it('a period with numberPhases 1 asks the station to switch once, where ConnectorSwitch3to1PhaseSupported is true', () => {
    r = handlerRig();
    r.smart.stop();
    withRelay(true);
    const keys = keysWithRelay(true);
    expect(keys.bool('ConnectorSwitch3to1PhaseSupported')).toBe(true);
    const c = controller(keys);
    c.setProfile(1, txDefault(1, [{ startPeriod: 0, limit: 10, numberPhases: 1 }]));
    c.setProfile(1, txDefault(1, [{ startPeriod: 0, limit: 12, numberPhases: 1 }]));
    expect(r.station.phaseRequests).toEqual([{ connectorId: 1, phases: 1, source: 'ocpp' }]);
    c.stop();
  });

  it('no switch without a relay (the key says false), the limit applies as given', () => {
    r = handlerRig();
    r.smart.stop();
    withRelay(false);
    const keys = keysWithRelay(false);
    expect(keys.get('ConnectorSwitch3to1PhaseSupported')).toBe('false');
    const c = controller(keys);
    c.setProfile(1, txDefault(1, [{ startPeriod: 0, limit: 10, numberPhases: 1 }]));
    expect(r.station.phaseRequests).toEqual([]);
    expect(claimA(1)).toBe(10);
    c.stop();
  });
});
