import { describe, expect, it } from 'vitest';
import type { SimMeter } from '../../src/sim/meter.js';
import { SessionStore } from '../../src/store/sessions.js';
import { waitFor } from './csms.js';
import { charge, daemonRigs, type DaemonRig, type DaemonRig as Rig } from './daemon-rig.js';

/**
 * The OCPP charge point on the real station (state machine, connectors, sim hardware and meter),
 * in-process, against the CSMS fixture: the behaviour that lives in the station, not the OCPP layer.
 */
const rigs = daemonRigs('evsed-ocpp-station-');
const start = (keys: Record<string, unknown> = {}, o: { connectors?: number } = {}) => rigs.start({ ...o, keys });
const restart = (r: DaemonRig) => rigs.restart(r);

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('ConnectionTimeOut', () => {
  it('a tag presented without plugging in expires after ConnectionTimeOut; a change applies at once and survives a restart', async () => {
    let r = await start({ ConnectionTimeOut: 2 });
    expect(await r.d.station.presentTag(1, 'EARLY')).toMatchObject({ status: 'Accepted', action: 'pending' });
    expect(r.status(1)).toBe('Preparing');
    const t0 = Date.now();
    await waitFor(() => r.status(1) === 'Available', 'authorisation expired', 6000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    await waitFor(() => r.csms.of('StatusNotification').some((s) => s.connectorId === 1 && s.status === 'Available' && r.csms!.of('StatusNotification').some((p) => p.status === 'Preparing')), 'Preparing → Available reported');

    expect(await r.csms.call('ChangeConfiguration', { key: 'ConnectionTimeOut', value: '4' })).toEqual({ status: 'Accepted' });
    await r.d.station.presentTag(1, 'EARLY');
    await sleep(2500);
    expect(r.status(1)).toBe('Preparing');
    await waitFor(() => r.status(1) === 'Available', 'expired after the new timeout', 4000);

    r = await restart(r);
    await r.d.station.presentTag(1, 'EARLY');
    await sleep(2500);
    expect(r.status(1)).toBe('Preparing');
    await waitFor(() => r.status(1) === 'Available', 'persisted timeout', 4000);
  });
});

describe('UnlockConnector on the station', () => {
  it('with a lock: the transaction ends first (UnlockCommand), then the cable is unlocked', async () => {
    const r = await start();
    await charge(r, 1, 'U1');
    expect(r.hw(1).lock.isLocked()).toBe(true);
    expect(await r.csms.call('UnlockConnector', { connectorId: 1 })).toEqual({ status: 'Unlocked' });
    expect(r.d.station.sessionOn(1)).toBeUndefined();
    expect(r.hw(1).lock.isLocked()).toBe(false);
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ reason: 'UnlockCommand' });
  });

  it('fixed cable (no lock actuator): NotSupported, the transaction goes on', async () => {
    const r = await start();
    // the sim always has a lock; a fixed-cable connector has none (neither the board nor its safety core)
    delete (r.hw(1) as unknown as { lock?: unknown }).lock;
    delete (r.d.safetyCore(1) as unknown as { lock?: unknown }).lock;
    await charge(r, 1, 'U2');
    expect(await r.csms.call('UnlockConnector', { connectorId: 1 })).toEqual({ status: 'NotSupported' });
    await sleep(300);
    expect(r.d.station.sessionOn(1)).toBeDefined();
    expect(r.d.station.connectorView(1)!.contactorClosed).toBe(true);
    expect(r.csms.of('StopTransaction')).toHaveLength(0);
  });
});


describe('stopping with another tag of the same parent', () => {
  it('a tag whose parentIdTag is the running session\'s parent stops it; another parent is ConcurrentTx', async () => {
    const r = await start();
    const parents: Record<string, string> = { A: 'GROUP', B: 'GROUP', C: 'OTHER' };
    r.csms.responders.set('Authorize', (p) => ({ idTagInfo: { status: 'Accepted', ...(parents[p.idTag] ? { parentIdTag: parents[p.idTag] } : {}) } }));
    await charge(r, 1, 'A');
    expect(await r.d.station.presentTag(1, 'C')).toMatchObject({ status: 'ConcurrentTx', action: 'rejected' });
    expect(r.d.station.sessionOn(1)).toBeDefined();
    expect(await r.d.station.presentTag(1, 'B')).toMatchObject({ status: 'Accepted', action: 'stopped' });
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ idTag: 'B', reason: 'Local' });
  });

  it('the parent given in StartTransaction.conf counts (Authorize.conf had none)', async () => {
    const r = await start();
    r.csms.responders.set('Authorize', (p) => ({ idTagInfo: { status: 'Accepted', ...(p.idTag === 'B' ? { parentIdTag: 'FLEET' } : {}) } }));
    r.csms.responders.set('StartTransaction', () => ({ transactionId: 42, idTagInfo: { status: 'Accepted', parentIdTag: 'FLEET' } }));
    await charge(r, 1, 'A');
    expect(await r.d.station.presentTag(1, 'B')).toMatchObject({ status: 'Accepted', action: 'stopped' });
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ transactionId: 42, idTag: 'B' });
  });
});

/**
 * Plug, tag, EV ready, for a transaction the CSMS refuses in StartTransaction.conf: whether the
 * contactor closed before the refusal arrived is a race (it waits for a fresh diode check), so only
 * the start is awaited here.
 */
async function startRefused(r: Rig, idTag: string): Promise<void> {
  r.hw(1).ev.plug();
  expect(await r.d.station.presentTag(1, idTag)).toMatchObject({ status: 'Accepted' });
  r.hw(1).ev.ready();
  await waitFor(() => r.csms.of('StartTransaction').length > 0, 'StartTransaction');
}

describe('StopTransactionOnInvalidId=true with a cable lock (errata 3.5)', () => {
  it('the transaction stops (DeAuthorized) and the cable stays locked until the same tag is presented', async () => {
    const r = await start();
    r.csms.responders.set('StartTransaction', () => ({ transactionId: 7, idTagInfo: { status: 'Invalid' } }));
    await startRefused(r, 'OWNER');
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ transactionId: 7, reason: 'DeAuthorized' });
    await waitFor(() => r.d.station.sessionOn(1) === undefined, 'session ended');
    await sleep(200);
    expect(r.hw(1).lock.isLocked()).toBe(true);
    r.hw(1).ev.unplug();
    expect(await r.d.station.presentTag(1, 'SOMEONE')).toMatchObject({ action: 'pending' });
    expect(r.hw(1).lock.isLocked()).toBe(true);
    expect(await r.d.station.presentTag(1, 'owner')).toMatchObject({ status: 'Accepted', action: 'unlocked' });
    expect(r.hw(1).lock.isLocked()).toBe(false);
  });

  it('a tag with the same parentIdTag unlocks it too; UnlockConnector from the CSMS ends the hold', async () => {
    const r = await start();
    const parents: Record<string, string> = { OWNER: 'FAMILY', MATE: 'FAMILY', OTHER: 'ELSE' };
    r.csms.responders.set('Authorize', (p) => ({ idTagInfo: { status: 'Accepted', parentIdTag: parents[p.idTag] ?? 'NONE' } }));
    r.csms.responders.set('StartTransaction', () => ({ transactionId: 8, idTagInfo: { status: 'Blocked', parentIdTag: 'FAMILY' } }));
    await startRefused(r, 'OWNER');
    await waitFor(() => r.csms.of('StopTransaction')[0], 'stop');
    r.hw(1).ev.unplug();
    await waitFor(() => r.d.station.sessionOn(1) === undefined, 'session ended');
    expect(await r.d.station.presentTag(1, 'OTHER')).toMatchObject({ action: 'pending' });
    expect(r.hw(1).lock.isLocked()).toBe(true);
    expect(await r.d.station.presentTag(1, 'MATE')).toMatchObject({ status: 'Accepted', action: 'unlocked' });
    expect(r.hw(1).lock.isLocked()).toBe(false);

    // once more, released by the CSMS this time
    await sleep(100);
    r.hw(1).ev.plug();
    await r.d.station.presentTag(1, 'OWNER');
    r.hw(1).ev.ready();
    await waitFor(() => r.csms.of('StopTransaction').length === 2, 'second stop');
    await waitFor(() => r.d.station.sessionOn(1) === undefined, 'session ended');
    await sleep(200);
    expect(r.hw(1).lock.isLocked()).toBe(true);
    expect(await r.csms.call('UnlockConnector', { connectorId: 1 })).toEqual({ status: 'Unlocked' });
    expect(r.hw(1).lock.isLocked()).toBe(false);
  });
});

describe('a provisional meterStop corrected while its StopTransaction waits in the queue', () => {
  it('the StopTransaction the CSMS accepts carries the register, in meterStop and in Transaction.End', async () => {
    const r = await start({ TransactionMessageRetryInterval: 1, TransactionMessageAttempts: 50, StopTxnSampledData: 'Energy.Active.Import.Register' });
    const meter = r.d.meter(1) as SimMeter;
    await charge(r, 1, 'PROV');
    let refuse = true;
    r.csms.responders.set('StopTransaction', () => {
      if (refuse) throw Object.assign(new Error('busy'), { rpcErrorCode: 'InternalError' });
      return {};
    });
    // The meter stops answering while the EV keeps drawing; the session stops before it answers again.
    meter.failing = true;
    await sleep(2500);
    r.hw(1).ev.unplug();
    const refused = await waitFor(() => r.csms.of('StopTransaction')[0], 'first StopTransaction (refused)');
    const stored = () => new SessionStore(r.d.db).list({ order: 'asc' })[0]!;
    expect(stored()).toMatchObject({ status: 'completed', meterStopProvisional: true, meterStopWh: refused.meterStop });

    meter.failing = false;
    await waitFor(() => !stored().meterStopProvisional, 'meterStop corrected from the register');
    const exact = stored().meterStopWh!;
    expect(exact).toBe(meter.registerWh());
    expect(exact).toBeGreaterThan(refused.meterStop); // the EV drew energy while the meter was silent
    refuse = false;
    const accepted = await waitFor(() => r.csms.of('StopTransaction').find((p) => p.meterStop === exact), 'StopTransaction with the corrected meterStop');
    const end = accepted.transactionData.at(-1).sampledValue.find((v: any) => v.context === 'Transaction.End' && v.measurand === 'Energy.Active.Import.Register');
    expect(end).toMatchObject({ value: String(exact), unit: 'Wh' });
    // Every StopTransaction before the correction carried the recorded value; none after it the old one.
    const stops = r.csms.of('StopTransaction').map((p) => p.meterStop);
    expect(stops.slice(stops.indexOf(exact))).toEqual(stops.slice(stops.indexOf(exact)).map(() => exact));
    expect(stops.slice(0, stops.indexOf(exact)).every((wh) => wh === refused.meterStop)).toBe(true);
  }, 40_000);
});

describe('a tag at a connector that cannot charge', () => {
  it('Unavailable: refused at the station, no Authorize goes to the CSMS; Available again: asked', async () => {
    const r = await start();
    expect(await r.csms.call('ChangeAvailability', { connectorId: 1, type: 'Inoperative' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.status(1) === 'Unavailable', 'Unavailable');
    r.hw(1).ev.plug();
    expect(await r.d.station.presentTag(1, 'TAG-U')).toMatchObject({ action: 'unavailable' });
    expect(r.csms.of('Authorize')).toHaveLength(0);
    expect(r.d.station.sessionOn(1)).toBeUndefined();
    expect(await r.csms.call('ChangeAvailability', { connectorId: 1, type: 'Operative' })).toEqual({ status: 'Accepted' });
    await waitFor(() => r.status(1) !== 'Unavailable', 'available again');
    expect(await r.d.station.presentTag(1, 'TAG-U')).toMatchObject({ status: 'Accepted' });
    expect(r.csms.of('Authorize')).toHaveLength(1);
  });
});

