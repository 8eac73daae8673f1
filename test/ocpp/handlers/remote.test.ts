import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { remoteStartTransaction, remoteStopTransaction } from '../../../src/ocpp/v16/handlers/remote.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

describe('RemoteStartTransaction', () => {
  it('starts on the given connector without Authorize (AuthorizeRemoteTxRequests=false)', async () => {
    const conf = await remoteStartTransaction(r.ctx, { connectorId: 2, idTag: 'REMOTE' });
    assertSchema('RemoteStartTransaction', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.station.sessionOn(2)).toMatchObject({ idTag: 'REMOTE', authSource: 'remote' });
    expect(r.authorized).toEqual([]);
  });

  it('Rejected: before the boot is Accepted, connector 0, an unknown connector, a busy connector', async () => {
    r.boot = 'Pending';
    expect(await remoteStartTransaction(r.ctx, { connectorId: 1, idTag: 'T' })).toEqual({ status: 'Rejected' });
    r.boot = 'Accepted';
    expect(await remoteStartTransaction(r.ctx, { connectorId: 0, idTag: 'T' })).toEqual({ status: 'Rejected' });
    expect(await remoteStartTransaction(r.ctx, { connectorId: 9, idTag: 'T' })).toEqual({ status: 'Rejected' });
    r.station.startSession(1, 'OTHER');
    expect(await remoteStartTransaction(r.ctx, { connectorId: 1, idTag: 'T' })).toEqual({ status: 'Rejected' });
    expect(r.station.sessions.active()).toHaveLength(1);
  });

  it('AuthorizeRemoteTxRequests=true: authorised first; a refused tag is Rejected and nothing starts', async () => {
    r.keys.change('AuthorizeRemoteTxRequests', 'true');
    r.authorizeAs = 'Blocked';
    expect(await remoteStartTransaction(r.ctx, { idTag: 'BAD' })).toEqual({ status: 'Rejected' });
    expect(r.station.sessions.active()).toEqual([]);
    r.authorizeAs = 'Accepted';
    expect(await remoteStartTransaction(r.ctx, { idTag: 'GOOD' })).toEqual({ status: 'Accepted' });
    expect(r.authorized).toEqual(['BAD', 'GOOD']);
    expect(r.station.sessionOn(1)?.idTag).toBe('GOOD');
  });
});

describe('RemoteStopTransaction', () => {
  it('the running transaction: Accepted, and stopped (Remote) only after the answer', async () => {
    const sessionId = r.transaction(1, 'TAG', 4711);
    const conf = remoteStopTransaction(r.ctx, { transactionId: 4711 });
    assertSchema('RemoteStopTransaction', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.station.sessionOn(1)?.id).toBe(sessionId);
    await r.afterReply();
    expect(r.station.sessions.get(sessionId)).toMatchObject({ status: 'completed', stopReason: 'Remote' });
  });

  it('Rejected: an unknown id, a transaction already stopped, before the boot is Accepted', async () => {
    expect(remoteStopTransaction(r.ctx, { transactionId: 1 })).toEqual({ status: 'Rejected' });
    r.transaction(1, 'TAG', 4711);
    r.boot = 'Pending';
    expect(remoteStopTransaction(r.ctx, { transactionId: 4711 })).toEqual({ status: 'Rejected' });
    r.boot = 'Accepted';
    await r.station.stopSession(1, 'Local');
    expect(remoteStopTransaction(r.ctx, { transactionId: 4711 })).toEqual({ status: 'Rejected' });
    expect(r.deferred).toEqual([]);
  });
});
