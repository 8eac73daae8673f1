import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelReservation, reserveNow } from '../../../src/ocpp/v16/reservations/handlers.js';
import { getConfiguration, changeConfiguration } from '../../../src/ocpp/v16/handlers/configuration.js';
import { KeyStore } from '../../../src/ocpp/v16/key-store.js';
import { ocppConfigSchema } from '../../../src/config/ocpp.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

const req = (o: Record<string, unknown> = {}) => ({ connectorId: 1, expiryDate: '2030-01-01T00:00:00Z', idTag: 'RES', reservationId: 7, ...o });

describe('ReserveNow', () => {
  it('hands the reservation to the station in its terms and answers its status', () => {
    const q = req({ parentIdTag: 'FLEET' });
    assertSchema('ReserveNow', 'req', q);
    const conf = reserveNow(r.ctx, q as never);
    assertSchema('ReserveNow', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.station.reservations()).toEqual([{ reservationId: 7, connectorId: 1, idTag: 'RES', parentIdTag: 'FLEET', expiresAtMs: Date.UTC(2030, 0, 1) }]);
    for (const status of ['Occupied', 'Faulted', 'Unavailable', 'Rejected'] as const) {
      r.station.reserveAs = status;
      const c = reserveNow(r.ctx, req({ reservationId: 8 }) as never);
      assertSchema('ReserveNow', 'conf', c);
      expect(c).toEqual({ status });
    }
  });

  it('Rejected without asking the station: connector 0 unless ReserveConnectorZeroSupported, an unknown connector, before the boot is Accepted', () => {
    expect(reserveNow(r.ctx, req({ connectorId: 0 }) as never)).toEqual({ status: 'Rejected' });
    expect(reserveNow(r.ctx, req({ connectorId: 3 }) as never)).toEqual({ status: 'Rejected' });
    r.boot = 'Pending';
    expect(reserveNow(r.ctx, req() as never)).toEqual({ status: 'Rejected' });
    expect(r.station.reservations()).toEqual([]);
  });

  it('connector 0 with ReserveConnectorZeroSupported (set by the installer): the station is reserved', () => {
    const keys = new KeyStore(r.repos.keys, { connectorIds: [1, 2], phases: new Map(), securityProfile: 0, cableLock: true }, { ReserveConnectorZeroSupported: 'true' });
    expect(reserveNow({ ...r.ctx, keys }, req({ connectorId: 0 }) as never)).toEqual({ status: 'Accepted' });
    expect(r.station.reservations()[0]).toMatchObject({ connectorId: 0 });
  });
});

describe('CancelReservation', () => {
  it('Accepted for a reservation in force (it ends), else Rejected', () => {
    reserveNow(r.ctx, req() as never);
    const conf = cancelReservation(r.ctx, { reservationId: 7 });
    assertSchema('CancelReservation', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.station.reservations()).toEqual([]);
    expect(cancelReservation(r.ctx, { reservationId: 7 })).toEqual({ status: 'Rejected' });
  });
});

describe('Reservation keys', () => {
  it('ReserveConnectorZeroSupported is read-only (false unless the installer sets it); SupportedFeatureProfiles lists Reservation', () => {
    const conf = getConfiguration(r.ctx, { key: ['ReserveConnectorZeroSupported', 'SupportedFeatureProfiles'] });
    expect(conf.configurationKey).toEqual([
      { key: 'ReserveConnectorZeroSupported', readonly: true, value: 'false' },
      { key: 'SupportedFeatureProfiles', readonly: true, value: expect.stringContaining('Reservation') },
    ]);
    expect(changeConfiguration(r.ctx, { key: 'ReserveConnectorZeroSupported', value: 'true' })).toEqual({ status: 'Rejected' });
  });

  it('the config file may set it (ocpp.keys), a bad value is refused with the key named', () => {
    const base = { version: '1.6', url: 'ws://127.0.0.1:1/ocpp' };
    expect(ocppConfigSchema.parse({ ...base, keys: { ReserveConnectorZeroSupported: true } }).keys).toEqual({ ReserveConnectorZeroSupported: 'true' });
    const bad = ocppConfigSchema.safeParse({ ...base, keys: { ReserveConnectorZeroSupported: 'yes' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['keys', 'ReserveConnectorZeroSupported'], message: 'must be true or false' });
  });
});

describe('StartTransaction of a session that used a reservation', () => {
  it('carries the reservationId (the CSMS learns the reservation ended); other sessions do not', () => {
    const at = r.clock.stamp();
    r.station.sessions.start({ connectorId: 1, idTag: 'RES', authSource: 'ocpp', meterStartWh: 10, at, reservationId: 7 });
    r.station.sessions.start({ connectorId: 2, idTag: 'X', authSource: 'ocpp', meterStartWh: 10, at });
    const first = r.repos.queue.head()!;
    r.repos.queue.delivered(first.id);
    const payloads = [first.payload, r.repos.queue.head()!.payload];
    expect(payloads[0]).toMatchObject({ connectorId: 1, idTag: 'RES', reservationId: 7 });
    expect(payloads[1]).not.toHaveProperty('reservationId');
    assertSchema('StartTransaction', 'req', { ...payloads[0], timestamp: '2026-11-01T12:00:00Z' });
  });
});
