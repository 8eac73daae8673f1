import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isoSeconds } from '../../../src/hal/clock.js';
import type { FirmwareDeps } from '../../../src/ocpp/v16/charge-point.js';
import { startFtpServer, startHttpFileServer, type FtpFileServer, type HttpFileServer } from '../../support/file-servers.js';
import { issue, makeCa } from '../../support/test-pki.js';
import { accepted, rig, waitFor, type Rig } from '../harness.js';
import { bundleBytes, FakeInstaller, signBytes } from './support.js';
import { stallingServer } from '../../support/firmware-rig.js';

/**
 * Firmware updates end to end: the charge point against the ocpp-rpc CSMS fixture in strict mode,
 * the bundle fetched by the real transfer code from real http and ftp servers on loopback, a fake
 * installer that records its calls (the real one joins in the lead's process-level tests). The
 * "restart" the job asks for is the harness's: the charge point stops and a new one opens the same
 * database, as a new process would.
 */
let r: Rig | undefined;
let http: HttpFileServer | undefined;
let ftp: FtpFileServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await r?.cleanup();
  if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
  dir = undefined;
  await http?.close();
  await ftp?.close();
  r = http = ftp = undefined;
});

interface FwRig {
  r: Rig;
  installer: FakeInstaller;
  roots: string[];
  restarts: string[];
}

async function start(): Promise<FwRig> {
  const installer = new FakeInstaller();
  const roots: string[] = [];
  const restarts: string[] = [];
  // storage.dir/firmware as on a fresh station: not there yet (the job makes it).
  dir = join(mkdtempSync(join(tmpdir(), 'evsed-fw-')), 'firmware');
  const firmware: FirmwareDeps = { installer, roots: { pems: () => roots }, dir, restart: (why) => void restarts.push(why) };
  const rr = await rig({ firmware });
  r = rr;
  await accepted(rr);
  return { r: rr, installer, roots, restarts };
}

/** The restart the job asked for: the next process finds the release the installer switched to. */
async function restartAsAsked(f: FwRig): Promise<void> {
  await waitFor(() => f.restarts.length > 0, 'the job asks for a restart');
  f.installer.reboot();
  await f.r.restart();
}

const statuses = (rr: Rig, action = 'FirmwareStatusNotification') => rr.csms.received.filter((m) => m.action === action).map((m) => m.params.status);

describe('firmware update end to end (strict CSMS, real http and ftp downloads)', () => {
  it('UpdateFirmware over http: Downloading, Downloaded, Installing; after the restart the new version boots, then Installed', async () => {
    http = await startHttpFileServer();
    http.files.set('/fw/evsed-1.1.0.bundle', bundleBytes('1.1.0'));
    const f = await start();
    const { r: rr } = f;
    expect(rr.csms.of('BootNotification')[0].firmwareVersion).toBe('1.0.0');
    expect(await rr.csms.call('UpdateFirmware', { location: `${http.url}/fw/evsed-1.1.0.bundle`, retrieveDate: isoSeconds(Date.now()), retries: 2, retryInterval: 1 })).toEqual({});
    await waitFor(() => f.restarts.length > 0, 'restart asked');
    expect(rr.cp.status().firmware).toEqual({ kind: 'plain', phase: 'rebooting', lastStatus: 'Installing', version: '1.1.0' });
    await restartAsAsked(f);
    await waitFor(() => statuses(rr).includes('Installed'), 'Installed');
    expect(rr.cp.status().firmware).toBeNull();
    expect(statuses(rr)).toEqual(['Downloading', 'Downloaded', 'Installing', 'Installed']);
    const boots = rr.csms.received.filter((m) => m.action === 'BootNotification');
    expect(boots.map((b) => b.params.firmwareVersion)).toEqual(['1.0.0', '1.1.0']);
    // Installed only after the new release's BootNotification was Accepted
    const order = rr.csms.received.map((m) => (m.action === 'BootNotification' ? `boot ${m.params.firmwareVersion}` : m.action === 'FirmwareStatusNotification' ? m.params.status : null)).filter(Boolean);
    expect(order).toEqual(['boot 1.0.0', 'Downloading', 'Downloaded', 'Installing', 'boot 1.1.0', 'Installed']);
    expect(f.installer.calls).toEqual(['verify', 'verify', 'stage 1.1.0', 'activate 1.1.0', 'confirm']);
    expect(http.requests.filter((q) => q.method === 'GET').map((q) => q.path)).toEqual(['/fw/evsed-1.1.0.bundle']);
    // TriggerMessage after it all: Idle
    expect(await rr.csms.call('TriggerMessage', { requestedMessage: 'FirmwareStatusNotification' })).toEqual({ status: 'Accepted' });
    await waitFor(() => statuses(rr).at(-1) === 'Idle', 'Idle');
    // the bundle is removed once the job ended
    expect(readdirSync(dir!)).toEqual([]);
  });

  it('a server that fails first: the download is retried after retryInterval and then succeeds', async () => {
    http = await startHttpFileServer();
    http.files.set('/fw/b', bundleBytes('1.2.0'));
    http.failNext(1, 503);
    const f = await start();
    await f.r.csms.call('UpdateFirmware', { location: `${http.url}/fw/b`, retrieveDate: isoSeconds(Date.now()), retries: 1, retryInterval: 1 });
    await waitFor(() => statuses(f.r).includes('Installing'), 'Installing');
    expect(statuses(f.r)).toEqual(['Downloading', 'Downloaded', 'Installing']);
    expect(http.requests.filter((q) => q.method === 'GET')).toHaveLength(2);
  });

  it('a power cut in the middle of the download: the next process continues the file (HTTP Range) and the job goes on', async () => {
    const bytes = bundleBytes('1.3.0');
    const server = await stallingServer(bytes, 1000);
    try {
      const f = await start();
      const rr = f.r;
      await rr.csms.call('UpdateFirmware', { location: server.url, retrieveDate: isoSeconds(Date.now()), retries: 3, retryInterval: 3600 });
      const part = () => readdirSync(dir!).filter((n) => n.endsWith('.part')).map((n) => statSync(join(dir!, n)).size)[0] ?? 0;
      await waitFor(() => part() === 1000, 'the first 1000 bytes on disk');
      await rr.restart();
      await waitFor(() => statuses(rr).includes('Installing'), 'Installing');
      expect(server.ranges).toEqual([undefined, 'bytes=1000-']);
      expect(statuses(rr)).toEqual(['Downloading', 'Downloaded', 'Installing']);
      expect(f.installer.calls).toContain('stage 1.3.0');
      expect(rr.cp.firmware?.current()?.attemptsLeft).toBe(4);
    } finally {
      await server.close();
    }
  });

  it('SignedUpdateFirmware over ftp with a ManufacturerRootCertificate installed: every signed status with the requestId; plain UpdateFirmware is NotSupported', async () => {
    ftp = await startFtpServer();
    const bytes = bundleBytes('2.0.0');
    writeFileSync(join(ftp.root, 'evsed-2.0.0.bundle'), bytes);
    const root = await makeCa('CN=evsed test manufacturer');
    const signer = await issue(root, { subject: 'CN=evsed firmware signer', usage: 'codeSigning' });
    const f = await start();
    f.roots.push(root.certPem);
    const rr = f.r;
    await expect(rr.csms.call('UpdateFirmware', { location: `${ftp.url}/evsed-2.0.0.bundle`, retrieveDate: isoSeconds(Date.now()) })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
    const conf = await rr.csms.call('SignedUpdateFirmware', {
      requestId: 42,
      retries: 1,
      retryInterval: 1,
      firmware: { location: `${ftp.url}/evsed-2.0.0.bundle`, retrieveDateTime: isoSeconds(Date.now()), signingCertificate: signer.certPem, signature: signBytes(bytes, signer) },
    });
    expect(conf).toEqual({ status: 'Accepted' });
    await restartAsAsked(f);
    await waitFor(() => statuses(rr, 'SignedFirmwareStatusNotification').includes('Installed'), 'Installed');
    const signed = rr.csms.of('SignedFirmwareStatusNotification');
    expect(signed.map((p) => p.status)).toEqual(['Downloading', 'Downloaded', 'SignatureVerified', 'Installing', 'InstallRebooting', 'Installed']);
    expect(new Set(signed.map((p) => p.requestId))).toEqual(new Set([42]));
    expect(statuses(rr)).toEqual([]);
    expect(rr.csms.of('BootNotification').at(-1).firmwareVersion).toBe('2.0.0');
  });

  it('SignedUpdateFirmware with a signature that does not match: InvalidSignature, nothing installed', async () => {
    http = await startHttpFileServer();
    http.files.set('/fw/b', bundleBytes('2.0.0'));
    const root = await makeCa('CN=evsed test manufacturer');
    const signer = await issue(root, { subject: 'CN=evsed firmware signer', usage: 'codeSigning' });
    const f = await start();
    f.roots.push(root.certPem);
    await f.r.csms.call('SignedUpdateFirmware', {
      requestId: 9,
      firmware: { location: `${http.url}/fw/b`, retrieveDateTime: isoSeconds(Date.now()), signingCertificate: signer.certPem, signature: signBytes(Buffer.from('a different file'), signer) },
    });
    await waitFor(() => statuses(f.r, 'SignedFirmwareStatusNotification').includes('InvalidSignature'), 'InvalidSignature');
    expect(statuses(f.r, 'SignedFirmwareStatusNotification')).toEqual(['Downloading', 'Downloaded', 'InvalidSignature']);
    expect(f.installer.calls).toEqual([]);
    expect(f.restarts).toEqual([]);
  });
});
