import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { isoSeconds } from '../../../src/hal/clock.js';
import { IDLE_POLL_MS } from '../../../src/ocpp/v16/firmware/updater.js';
import type { SignedUpdateFirmwareReq } from '../../../src/ocpp/v16/firmware/messages.js';
import { issue, makeCa, type TestCert } from '../../support/test-pki.js';
import { assertSchema } from '../handlers/fixture.js';
import { UpdaterRig } from './rig.js';
import { bundleBytes, signBytes } from './support.js';

const URL = 'http://files.example/evsed-1.1.0.bundle';
let r: UpdaterRig;
beforeEach(() => {
  r = new UpdaterRig();
  r.files.set(URL, bundleBytes('1.1.0'));
});
afterEach(() => r.cleanup());

const at = (msFromNow: number) => isoSeconds(r.clock.wallMs() + msFromNow);

/** Every queued notification must be valid for the strict CSMS. */
function assertQueuedValid(): void {
  for (const p of r.payloads()) assertSchema(p.action, 'req', p.payload);
}

describe('firmware job (UpdateFirmware), on a fake clock', () => {
  it('waits for retrieveDate, downloads, installs, restarts; the new process reports Installed after the BootNotification is Accepted', async () => {
    const u = r.updater.update({ location: URL, retrieveDate: at(60_000) });
    expect(u.accepted).toBe(true);
    u.start!();
    await r.advance(59_000);
    expect(r.downloads).toEqual([]);
    expect(r.queued()).toEqual([]);
    await r.advance(1_000);
    expect(r.downloads.map((d) => d.url)).toEqual([URL]);
    expect(r.installer.calls).toEqual(['verify', 'verify', 'stage 1.1.0', 'activate 1.1.0']);
    expect(r.restarts).toEqual(['firmware update to 1.1.0']);
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);

    await r.restart();
    expect(r.installer.currentVersion()).toBe('1.1.0');
    expect(r.installer.calls).not.toContain('confirm');
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);
    await r.updater.online();
    expect(r.installer.calls.at(-1)).toBe('confirm');
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing', 'Installed']);
    expect(r.security.map((e) => e.type)).toEqual(['FirmwareUpdated']);
    expect(r.repos.firmwareJob.load()).toBeUndefined();
    assertQueuedValid();
    // the next Accepted (a reconnect) confirms nothing more
    await r.updater.online();
    expect(r.queued()).toHaveLength(4);
  });

  it('download retries: `retries` more attempts, retryInterval apart; then DownloadFailed and the job ends', async () => {
    r.failures = ['unreachable', 'timeout'];
    r.updater.update({ location: URL, retrieveDate: at(0), retries: 2, retryInterval: 30 }).start!();
    await r.settle();
    expect(r.downloads).toHaveLength(1);
    await r.advance(29_000);
    expect(r.downloads).toHaveLength(1);
    await r.advance(1_000);
    expect(r.downloads).toHaveLength(2);
    await r.advance(30_000);
    expect(r.downloads.map((d) => d.atMs)).toEqual([0, 30_000, 60_000]);
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);

    const again = new UpdaterRig();
    try {
      again.failures = ['unreachable', 'unreachable', 'unreachable'];
      again.updater.update({ location: URL, retrieveDate: isoSeconds(again.clock.wallMs()), retries: 1, retryInterval: 10 }).start!();
      await again.settle();
      await again.advance(60_000);
      expect(again.downloads).toHaveLength(2);
      expect(again.queued()).toEqual(['Downloading', 'DownloadFailed']);
      expect(again.repos.firmwareJob.load()).toBeUndefined();
      expect(again.installer.calls).toEqual([]);
    } finally {
      again.cleanup();
    }
  });

  it('a file over the size bound is not tried again', async () => {
    r.failures = ['too-large'];
    r.updater.update({ location: URL, retrieveDate: at(0), retries: 5, retryInterval: 1 }).start!();
    await r.advance(10_000);
    expect(r.downloads).toHaveLength(1);
    expect(r.downloads[0]!.maxBytes).toBe(1_000_000);
    expect(r.queued()).toEqual(['Downloading', 'DownloadFailed']);
  });

  it('waits until no transaction runs, with the free connectors Unavailable so that none starts; then installs', async () => {
    r.station.startSession(1, 'TAG1');
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    expect(r.queued()).toEqual(['Downloading', 'Downloaded']);
    expect(r.station.connectorView(2)!.status).toBe('Unavailable');
    expect(r.installer.calls).toEqual(['verify']);
    await r.advance(10 * IDLE_POLL_MS);
    expect(r.installer.calls).toEqual(['verify']);
    await r.station.stopSession(1, 'Local');
    expect(r.station.connectorView(1)!.status).toBe('Unavailable');
    await r.advance(IDLE_POLL_MS);
    expect(r.installer.calls).toEqual(['verify', 'verify', 'stage 1.1.0', 'activate 1.1.0']);
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);
    expect(r.restarts).toHaveLength(1);
    // the charge point stops for the restart: the connectors stay Unavailable until the new release starts
    r.updater.stop();
    expect([1, 2].map((id) => r.station.connectorView(id)!.status)).toEqual(['Unavailable', 'Unavailable']);
  });

  it('a power cut during the download: the next process continues the same file and says Downloading only once', async () => {
    r.hang = true;
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    expect(r.downloads).toHaveLength(1);
    r.hang = false;
    await r.restart();
    expect(r.downloads).toHaveLength(2);
    expect(r.downloads[1]!.dest).toBe(r.downloads[0]!.dest);
    expect(r.downloads[1]!.resumed).toBe(true);
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);
  });

  it('a power cut during the unpack (no switch yet) installs again; a second one ends the job InstallationFailed', async () => {
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    expect(r.restarts).toHaveLength(1);
    // as if the process died inside stage(): the job says installing, nothing was activated
    const job = r.repos.firmwareJob.load() as Record<string, unknown>;
    r.repos.firmwareJob.save({ ...job, phase: 'installing' });
    r.installer.reboot(); // clears the fake's activation: the next process finds nothing switched
    r.installer.calls = [];
    await r.restart();
    expect(r.installer.calls).toEqual(['verify', 'stage 1.1.0', 'activate 1.1.0']);
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing', 'Installing']);
    const job2 = r.repos.firmwareJob.load() as Record<string, unknown>;
    expect(job2.installTries).toBe(2);
    r.repos.firmwareJob.save({ ...job2, phase: 'installing' });
    r.installer.reboot();
    await r.restart();
    expect(r.queued().at(-1)).toBe('InstallationFailed');
    expect(r.repos.firmwareJob.load()).toBeUndefined();
  });

  it('the new release fails and the guard rolls back: InstallationFailed, nothing confirmed', async () => {
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    await r.restart({ crash: true });
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing', 'InstallationFailed']);
    await r.updater.online();
    expect(r.installer.calls).not.toContain('confirm');
    expect(r.repos.firmwareJob.load()).toBeUndefined();
  });

  it('a bundle whose release signature is bad: InstallationFailed and the InvalidFirmwareSignature security event; nothing staged', async () => {
    r.files.set(URL, bundleBytes('1.1.0', 'signature'));
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'InstallationFailed']);
    expect(r.security.map((e) => e.type)).toEqual(['InvalidFirmwareSignature']);
    expect(r.installer.calls).toEqual(['verify']);
    expect(r.downloads[0] && existsSync(r.downloads[0].dest)).toBe(false);
  });

  it('a failed stage (self-check) keeps the running release and gives the connectors back', async () => {
    r.installer.failStage = true;
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing', 'InstallationFailed']);
    expect(r.restarts).toEqual([]);
    expect(r.station.connectorView(1)!.status).toBe('Available');
  });

  it('TriggerMessage: Idle without a job, else the last status', async () => {
    await r.updater.sendStatus();
    r.hang = true;
    r.updater.update({ location: URL, retrieveDate: at(0) }).start!();
    await r.settle();
    await r.updater.sendStatus();
    r.hang = false;
    await r.restart();
    await r.updater.sendStatus(); // plain: the last status it sent, not InstallRebooting (signed only)
    await r.restart();
    await r.updater.online();
    await r.updater.sendStatus();
    expect(r.sentNow.map((s) => [s.action, s.payload])).toEqual([
      ['FirmwareStatusNotification', { status: 'Idle' }],
      ['FirmwareStatusNotification', { status: 'Downloading' }],
      ['FirmwareStatusNotification', { status: 'Installing' }],
      ['FirmwareStatusNotification', { status: 'Idle' }],
    ]);
  });
});

describe('firmware job (SignedUpdateFirmware)', () => {
  let root: TestCert;
  let signer: TestCert;
  beforeEach(async () => {
    root = await makeCa('CN=evsed test manufacturer');
    signer = await issue(root, { subject: 'CN=evsed firmware signer', usage: 'codeSigning' });
    r.clock.setWall(Date.now()); // the certificates are valid from yesterday
  });

  function req(o: Partial<SignedUpdateFirmwareReq['firmware']> = {}, requestId = 7): SignedUpdateFirmwareReq {
    return {
      requestId,
      retries: 1,
      retryInterval: 10,
      firmware: { location: URL, retrieveDateTime: at(0), signingCertificate: signer.certPem, signature: signBytes(r.files.get(URL)!, signer), ...o },
    };
  }

  it('statuses in order with the requestId: Downloading, Downloaded, SignatureVerified, Installing, InstallRebooting, (restart) Installed', async () => {
    r.roots.push(root.certPem);
    const s = r.updater.signedUpdate(req());
    expect(s.status).toBe('Accepted');
    s.start!();
    await r.settle();
    expect(r.queued()).toEqual(['signed Downloading #7', 'signed Downloaded #7', 'signed SignatureVerified #7', 'signed Installing #7', 'signed InstallRebooting #7']);
    await r.restart();
    await r.updater.online();
    expect(r.queued().at(-1)).toBe('signed Installed #7');
    assertQueuedValid();
  });

  it('a signature that does not match the file: InvalidSignature and the security event; nothing installed', async () => {
    r.roots.push(root.certPem);
    r.updater.signedUpdate(req({ signature: signBytes(Buffer.from('another file'), signer) })).start!();
    await r.settle();
    expect(r.queued()).toEqual(['signed Downloading #7', 'signed Downloaded #7', 'signed InvalidSignature #7']);
    expect(r.security.map((e) => e.type)).toEqual(['InvalidFirmwareSignature']);
    expect(r.installer.calls).toEqual([]);
  });

  it('a signing certificate not issued by an installed ManufacturerRootCertificate: InvalidCertificate and the security event, no job', async () => {
    r.roots.push(root.certPem);
    const stranger = await makeCa('CN=someone else');
    const other = await issue(stranger, { subject: 'CN=not the manufacturer', usage: 'codeSigning' });
    expect(r.updater.signedUpdate(req({ signingCertificate: other.certPem, signature: signBytes(r.files.get(URL)!, other) })).status).toBe('InvalidCertificate');
    const expired = await issue(root, { subject: 'CN=old signer', usage: 'codeSigning', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    r.clock.setWall(Date.now());
    expect(r.updater.signedUpdate(req({ signingCertificate: expired.certPem })).status).toBe('InvalidCertificate');
    expect(r.security.map((e) => e.type)).toEqual(['InvalidFirmwareSigningCertificate', 'InvalidFirmwareSigningCertificate']);
    expect(r.updater.current()).toBeUndefined();
    await r.settle();
    expect(r.downloads).toEqual([]);
  });

  it('without a ManufacturerRootCertificate the signing certificate is taken as it is (the bundle signature is still checked)', async () => {
    const s = r.updater.signedUpdate(req());
    expect(s.status).toBe('Accepted');
    expect(r.updater.plainAllowed()).toBe(true);
    r.roots.push(root.certPem);
    expect(r.updater.plainAllowed()).toBe(false);
  });

  it('a new request replaces a job that has not installed yet: AcceptedCanceled; the old one never downloads', async () => {
    r.updater.signedUpdate(req({ retrieveDateTime: at(3_600_000) }, 1)).start!();
    await r.settle();
    expect(r.queued()).toEqual(['signed DownloadScheduled #1']);
    const s = r.updater.signedUpdate(req({ retrieveDateTime: at(60_000) }, 2));
    expect(s.status).toBe('AcceptedCanceled');
    s.start!();
    await r.advance(3_600_000);
    expect(r.downloads).toHaveLength(1);
    expect(r.queued()).toEqual(['signed DownloadScheduled #1', 'signed DownloadScheduled #2', 'signed Downloading #2', 'signed Downloaded #2', 'signed SignatureVerified #2', 'signed Installing #2', 'signed InstallRebooting #2']);
  });

  it('installDateTime: InstallScheduled, the install waits for it', async () => {
    r.updater.signedUpdate(req({ installDateTime: at(600_000) })).start!();
    await r.settle();
    expect(r.queued().at(-1)).toBe('signed InstallScheduled #7');
    expect(r.installer.calls).toEqual(['verify']);
    await r.advance(600_000);
    expect(r.queued().slice(-2)).toEqual(['signed Installing #7', 'signed InstallRebooting #7']);
  });

  it('an install under way cannot be replaced: Rejected', async () => {
    r.updater.signedUpdate(req()).start!();
    await r.settle();
    expect(r.updater.current()?.phase).toBe('rebooting');
    expect(r.updater.signedUpdate(req({}, 8)).status).toBe('Rejected');
  });
});

describe('a release installed by the technician (evsed update) while an OCPP job waits', () => {
  it('the trial is confirmed once Accepted; the waiting job is not reported Installed and goes on', async () => {
    r.updater.update({ location: URL, retrieveDate: at(3_600_000) }).start!();
    await r.settle();
    // the technician's install: activated outside the job, then the restart
    await r.installer.activate({ version: '1.0.5', dir: '/releases/1.0.5' });
    await r.restart();
    await r.updater.online();
    expect(r.installer.calls).toContain('confirm');
    expect(r.queued()).toEqual([]);
    expect(r.updater.current()?.phase).toBe('scheduled');
    await r.advance(3_600_000);
    expect(r.queued()).toEqual(['Downloading', 'Downloaded', 'Installing']);
  });
});

describe('firmware job store', () => {
  it('an unreadable stored job is dropped at start, not acted on', async () => {
    r.repos.firmwareJob.save({ id: 1, phase: 'exploding' });
    await r.restart();
    expect(r.repos.firmwareJob.load()).toBeUndefined();
    expect(r.downloads).toEqual([]);
    expect(r.queued()).toEqual([]);
  });
});
