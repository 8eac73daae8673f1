import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import rpc from 'ocpp-rpc';
import { isoSeconds } from '../../../src/hal/clock.js';
import { HANDLERS } from '../../../src/ocpp/v16/handlers/index.js';
import { signedUpdateFirmware, updateFirmware } from '../../../src/ocpp/v16/firmware/handlers.js';
import { issue, makeCa, type TestCert } from '../../support/test-pki.js';
import { assertSchema, handlerRig, type HandlerRig } from '../handlers/fixture.js';
import { UpdaterRig } from './rig.js';
import { bundleBytes, signBytes } from './support.js';

const { RPCError } = rpc;
const URL = 'ftp://fw:pw@files.example/evsed-1.1.0.bundle';

let h: HandlerRig;
let u: UpdaterRig;
let root: TestCert;
let signer: TestCert;
beforeEach(async () => {
  h = handlerRig();
  u = new UpdaterRig();
  u.clock.setWall(Date.now());
  u.files.set(URL, bundleBytes('1.1.0'));
  root = await makeCa('CN=evsed test manufacturer');
  signer = await issue(root, { subject: 'CN=evsed firmware signer', usage: 'codeSigning' });
});
afterEach(() => {
  h.cleanup();
  u.cleanup();
});

function callError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RPCError);
    return { code: (err as { rpcErrorCode: string }).rpcErrorCode, message: (err as Error).message };
  }
  throw new Error('no CALLERROR');
}

const signedReq = (requestId = 3) => ({
  requestId,
  firmware: { location: URL, retrieveDateTime: isoSeconds(u.clock.wallMs()), signingCertificate: signer.certPem, signature: signBytes(u.files.get(URL)!, signer) },
});

describe('UpdateFirmware / SignedUpdateFirmware handlers (strict 1.6 schemas)', () => {
  it('are in the handler table (no longer answered NotSupported as a whole)', () => {
    expect(HANDLERS.UpdateFirmware).toBe(updateFirmware);
    expect(HANDLERS.SignedUpdateFirmware).toBe(signedUpdateFirmware);
  });

  it('without a release installer: CALLERROR NotSupported for both', () => {
    expect(callError(() => updateFirmware(h.ctx, { location: URL, retrieveDate: isoSeconds(h.clock.wallMs()) })).code).toBe('NotSupported');
    expect(callError(() => signedUpdateFirmware(h.ctx, signedReq())).code).toBe('NotSupported');
  });

  it('no ManufacturerRootCertificate: UpdateFirmware answers {} and the job starts only after the answer', async () => {
    const req = { location: URL, retrieveDate: isoSeconds(u.clock.wallMs()), retries: 1, retryInterval: 5 };
    assertSchema('UpdateFirmware', 'req', req);
    h.ctx.firmware = u.updater;
    const conf = updateFirmware(h.ctx, req);
    assertSchema('UpdateFirmware', 'conf', conf);
    expect(conf).toEqual({});
    await u.settle();
    expect(u.queued()).toEqual([]);
    await h.afterReply();
    await u.settle();
    expect(u.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);
  });

  it('once a ManufacturerRootCertificate is installed, plain UpdateFirmware is NotSupported (L01.FR.20); SignedUpdateFirmware is Accepted', async () => {
    u.roots.push(root.certPem);
    h.ctx.firmware = u.updater;
    const e = callError(() => updateFirmware(h.ctx, { location: URL, retrieveDate: isoSeconds(u.clock.wallMs()) }));
    expect(e.code).toBe('NotSupported');
    expect(e.message).toMatch(/SignedUpdateFirmware/);
    const req = signedReq();
    assertSchema('SignedUpdateFirmware', 'req', req);
    const conf = signedUpdateFirmware(h.ctx, req);
    assertSchema('SignedUpdateFirmware', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    await h.afterReply();
    await u.settle();
    expect(u.queued()).toEqual(['signed Downloading #3', 'signed Downloaded #3', 'signed SignatureVerified #3', 'signed Installing #3', 'signed InstallRebooting #3']);
    for (const p of u.payloads()) assertSchema(p.action, 'req', p.payload);
  });

  it('SignedUpdateFirmware answers: InvalidCertificate, AcceptedCanceled, Rejected (all valid conf)', async () => {
    u.roots.push(root.certPem);
    h.ctx.firmware = u.updater;
    const stranger = await issue(await makeCa('CN=other'), { subject: 'CN=x', usage: 'codeSigning' });
    const bad = signedUpdateFirmware(h.ctx, { ...signedReq(), firmware: { ...signedReq().firmware, signingCertificate: stranger.certPem } });
    const later = { ...signedReq(4), firmware: { ...signedReq(4).firmware, retrieveDateTime: isoSeconds(u.clock.wallMs() + 3_600_000) } };
    const first = signedUpdateFirmware(h.ctx, later);
    const second = signedUpdateFirmware(h.ctx, signedReq(5));
    await h.afterReply();
    await u.settle();
    const busy = signedUpdateFirmware(h.ctx, signedReq(6));
    for (const c of [bad, first, second, busy]) assertSchema('SignedUpdateFirmware', 'conf', c);
    expect([bad, first, second, busy].map((c) => c.status)).toEqual(['InvalidCertificate', 'Accepted', 'AcceptedCanceled', 'Rejected']);
  });
});
