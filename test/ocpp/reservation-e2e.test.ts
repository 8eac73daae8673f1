import { describe, expect, it } from 'vitest';
import { waitFor } from './csms.js';
import { daemonRigs, type DaemonRig } from './daemon-rig.js';

/**
 * The Reservation profile end to end, the way the OCA compliance cases exercise it (TC_046–TC_053):
 * the real daemon in-process (station core, sim hardware and meter, store) against the CSMS fixture
 * (ocpp-rpc, strict schemas) over a real WebSocket.
 */
const rigs = daemonRigs('evsed-ocpp-reservations-');
const start = rigs.start;
type Rig = DaemonRig;

/** StatusNotifications the CSMS got for a connector, in order. */
const statuses = (r: Rig, id: number): string[] => r.csms.of('StatusNotification').filter((s) => s.connectorId === id).map((s) => s.status as string);

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const lastStatus = (r: Rig, id: number) => statuses(r, id).at(-1);

describe('ReserveNow on a connector (TC_046, TC_047, TC_048)', () => {
  it('Reserved; another tag is refused, also with its EV plugged in; the reserved tag starts with the reservationId; then Occupied', async () => {
    const r = await start();
    expect(await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 41 })).toEqual({ status: 'Accepted' });
    await waitFor(() => lastStatus(r, 1) === 'Reserved', 'StatusNotification Reserved');

    expect(await r.d.station.presentTag(1, 'OTHER')).toMatchObject({ action: 'rejected', reserved: true });
    r.hw(1).ev.plug();
    await new Promise((res) => setTimeout(res, 200));
    expect(await r.d.station.presentTag(1, 'OTHER')).toMatchObject({ action: 'rejected', reserved: true });
    expect(r.csms.of('StartTransaction')).toEqual([]);
    expect(r.csms.of('Authorize').map((a) => a.idTag)).not.toContain('OTHER');
    expect(lastStatus(r, 1)).toBe('Reserved');

    expect(await r.d.station.presentTag(1, 'RES-1')).toMatchObject({ status: 'Accepted' });
    const startTx = await waitFor(() => r.csms.of('StartTransaction')[0], 'StartTransaction');
    expect(startTx).toMatchObject({ connectorId: 1, idTag: 'RES-1', reservationId: 41 });
    // the reservation has ended: a new one on the busy connector is Occupied (TC_048_2)
    expect(await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-2', reservationId: 42 })).toEqual({ status: 'Occupied' });
    expect(await r.csms.call('CancelReservation', { reservationId: 41 })).toEqual({ status: 'Rejected' });
  });

  it('expires: StatusNotification Available at the expiryDate, then any tag may charge (TC_047)', async () => {
    const r = await start();
    expect(await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(700), idTag: 'RES-1', reservationId: 43 })).toEqual({ status: 'Accepted' });
    await waitFor(() => lastStatus(r, 1) === 'Reserved', 'Reserved');
    await waitFor(() => lastStatus(r, 1) === 'Available', 'Available at expiry', 6000);
    r.hw(1).ev.plug();
    expect(await r.d.station.presentTag(1, 'OTHER')).toMatchObject({ status: 'Accepted' });
    expect(await waitFor(() => r.csms.of('StartTransaction')[0], 'StartTransaction')).not.toHaveProperty('reservationId');
  });

  it('Faulted and Unavailable connectors are not reserved (TC_048_1, TC_048_3); a reservation ends when its connector becomes Unavailable', async () => {
    const r = await start({ connectors: 2 });
    expect(await r.csms.call('ReserveNow', { connectorId: 2, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 44 })).toEqual({ status: 'Accepted' });
    await waitFor(() => lastStatus(r, 2) === 'Reserved', 'Reserved');
    expect(await r.csms.call('ChangeAvailability', { connectorId: 2, type: 'Inoperative' })).toEqual({ status: 'Accepted' });
    await waitFor(() => lastStatus(r, 2) === 'Unavailable', 'Unavailable');
    expect(r.d.station.reservations()).toEqual([]);
    expect(await r.csms.call('ReserveNow', { connectorId: 2, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 45 })).toEqual({ status: 'Unavailable' });

    r.d.station.simulator(1)!.setFault('rcd', true);
    await waitFor(() => lastStatus(r, 1) === 'Faulted', 'Faulted');
    expect(await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 46 })).toEqual({ status: 'Faulted' });
  });

  it('CancelReservation: Accepted and Available again (TC_051); unknown: Rejected (TC_052)', async () => {
    const r = await start();
    await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 47 });
    await waitFor(() => lastStatus(r, 1) === 'Reserved', 'Reserved');
    expect(await r.csms.call('CancelReservation', { reservationId: 47 })).toEqual({ status: 'Accepted' });
    await waitFor(() => lastStatus(r, 1) === 'Available', 'Available after the cancel');
    expect(await r.csms.call('CancelReservation', { reservationId: 99 })).toEqual({ status: 'Rejected' });
  });

  it('a tag of the reservation\'s parentIdTag uses it: Authorize names the parent, StartTransaction carries the reservationId (TC_053)', async () => {
    const r = await start();
    r.csms.responders.set('Authorize', (p) => ({ idTagInfo: { status: 'Accepted', ...(p.idTag === 'CHILD' ? { parentIdTag: 'FLEET' } : {}) } }));
    await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-1', parentIdTag: 'FLEET', reservationId: 48 });
    await waitFor(() => lastStatus(r, 1) === 'Reserved', 'Reserved');
    expect(await r.d.station.presentTag(1, 'STRANGER')).toMatchObject({ action: 'rejected', reserved: true });
    expect(await r.d.station.presentTag(1, 'CHILD')).toMatchObject({ status: 'Accepted', action: 'pending' });
    r.hw(1).ev.plug();
    expect(await waitFor(() => r.csms.of('StartTransaction')[0], 'StartTransaction')).toMatchObject({ idTag: 'CHILD', reservationId: 48 });
    expect(r.csms.of('Authorize').map((a) => a.idTag)).toEqual(['STRANGER', 'CHILD']);
  });

  it('RemoteStartTransaction with the reserved tag uses the reservation (TC_046_2); with another tag it is Rejected', async () => {
    const r = await start();
    await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 49 });
    expect(await r.csms.call('RemoteStartTransaction', { connectorId: 1, idTag: 'OTHER' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('RemoteStartTransaction', { connectorId: 1, idTag: 'RES-1' })).toEqual({ status: 'Accepted' });
    r.hw(1).ev.plug();
    expect(await waitFor(() => r.csms.of('StartTransaction')[0], 'StartTransaction')).toMatchObject({ idTag: 'RES-1', reservationId: 49 });
  });
});

describe('ReserveNow on connector 0 (TC_049, TC_050)', () => {
  it('Rejected unless ReserveConnectorZeroSupported', async () => {
    const r = await start({ connectors: 2 });
    expect(await r.csms.call('ReserveNow', { connectorId: 0, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 50 })).toEqual({ status: 'Rejected' });
  });

  it('with the key: the last free connector is kept (Reserved) for the tag, which may charge on it', async () => {
    const r = await start({ connectors: 2, keys: { ReserveConnectorZeroSupported: true } });
    expect(await r.csms.call('ReserveNow', { connectorId: 0, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 51 })).toEqual({ status: 'Accepted' });
    r.hw(1).ev.plug();
    expect(await r.d.station.presentTag(1, 'OTHER')).toMatchObject({ status: 'Accepted' });
    await waitFor(() => r.csms.of('StartTransaction')[0], 'StartTransaction of OTHER');
    await waitFor(() => lastStatus(r, 2) === 'Reserved', 'connector 2 Reserved');
    expect(await r.d.station.presentTag(2, 'THIRD')).toMatchObject({ action: 'rejected', reserved: true });
    r.hw(2).ev.plug();
    expect(await r.d.station.presentTag(2, 'RES-1')).toMatchObject({ status: 'Accepted' });
    expect(await waitFor(() => r.csms.of('StartTransaction')[1], 'StartTransaction of RES-1')).toMatchObject({ connectorId: 2, idTag: 'RES-1', reservationId: 51 });
  });
});

describe('a reservation across a restart', () => {
  it('survives it: the first StatusNotification after the new boot is Reserved, and it is the same reservation (expiry after a restart: test/evse/reservations.test.ts, on fake time)', async () => {
    let r = await start();
    await r.csms.call('ReserveNow', { connectorId: 1, expiryDate: inMs(3_600_000), idTag: 'RES-1', reservationId: 52 });
    await waitFor(() => lastStatus(r, 1) === 'Reserved', 'Reserved');
    const before = r.csms.of('StatusNotification').length;
    r = await rigs.restart(r);
    const after = r.csms.of('StatusNotification').slice(before).filter((s) => s.connectorId === 1);
    expect(after[0]?.status).toBe('Reserved');
    expect(await r.d.station.presentTag(1, 'OTHER')).toMatchObject({ reserved: true });
    expect(await r.csms.call('CancelReservation', { reservationId: 52 })).toEqual({ status: 'Accepted' });
    await waitFor(() => lastStatus(r, 1) === 'Available', 'Available after the cancel');
  });
});
