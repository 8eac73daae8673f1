import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../csms.js';
import { assertSchema } from '../handlers/fixture.js';
import { TestCa, x509, type Issued } from '../../support/test-pki.js';
import { loggedTypes, secureStation, tlsCsms, type Cleanups, type SecureStation, type TlsCsms } from './tls-rig.js';

/**
 * The certificate messages end to end, as the OCTT cases exercise them (TC_074-TC_082): install,
 * list and delete roots; SignCertificate → CertificateSigned → reconnect with the new certificate.
 */
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

let ca: TestCa;
let rogue: TestCa;
let manufacturer: TestCa;
let server: Issued;
let client: Issued;
beforeAll(async () => {
  ca = await TestCa.create('evsed test CSMS root');
  rogue = await TestCa.create('rogue CA');
  manufacturer = await TestCa.create('evsed test manufacturer root');
  server = await ca.server();
  client = await ca.client('CP-TEST');
});

const mode = (p: string) => statSync(p).mode & 0o777;

/** Every directory and file under `dir`, with its mode. */
function modes(dir: string): { path: string; mode: number; dir: boolean }[] {
  const out: { path: string; mode: number; dir: boolean }[] = [{ path: dir, mode: mode(dir), dir: true }];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...modes(p));
    else out.push({ path: p, mode: mode(p), dir: false });
  }
  return out;
}

async function profile3(): Promise<{ t: TlsCsms; s: SecureStation }> {
  const t = await tlsCsms(cleanups, server, [ca]);
  const s = await secureStation(cleanups, (x) => ({ url: t.url, caFile: x.file('ca.pem', ca.pem), clientCert: x.file('client.pem', client.pem), clientKey: x.file('client.key', client.keyPem) }));
  await waitFor(() => s.cp.online, 'accepted over mutual TLS');
  return { t, s };
}

async function call(t: TlsCsms, action: string, params: unknown): Promise<any> {
  const conf = await t.csms.call(action, params);
  assertSchema(action, 'conf', conf);
  return conf;
}

/** Has the station ask for a certificate (ExtendedTriggerMessage) and returns the CSR it sent. */
async function csrOf(t: TlsCsms): Promise<string> {
  expect(await call(t, 'ChangeConfiguration', { key: 'CpoName', value: 'Test CPO' })).toEqual({ status: 'Accepted' });
  const n = t.csms.of('SignCertificate').length;
  expect(await call(t, 'ExtendedTriggerMessage', { requestedMessage: 'SignChargePointCertificate' })).toEqual({ status: 'Accepted' });
  await waitFor(() => t.csms.of('SignCertificate').length > n, 'SignCertificate.req');
  return t.csms.of('SignCertificate').at(-1).csr;
}

describe('root certificates (InstallCertificate, GetInstalledCertificateIds, DeleteCertificate)', () => {
  it('installs both kinds, lists them by hash data, deletes one by its hash data; files 0600 in 0700 directories', async () => {
    const { t, s } = await profile3();
    expect(await call(t, 'GetInstalledCertificateIds', { certificateType: 'CentralSystemRootCertificate' })).toEqual({ status: 'NotFound' });
    expect(await call(t, 'InstallCertificate', { certificateType: 'CentralSystemRootCertificate', certificate: ca.pem })).toEqual({ status: 'Accepted' });
    expect(await call(t, 'InstallCertificate', { certificateType: 'ManufacturerRootCertificate', certificate: manufacturer.pem })).toEqual({ status: 'Accepted' });
    expect(await call(t, 'InstallCertificate', { certificateType: 'ManufacturerRootCertificate', certificate: 'not a certificate' })).toEqual({ status: 'Rejected' });

    const listed = await call(t, 'GetInstalledCertificateIds', { certificateType: 'CentralSystemRootCertificate' });
    expect(listed.status).toBe('Accepted');
    expect(listed.certificateHashData).toHaveLength(1);
    const h = listed.certificateHashData[0];
    // the serial and the name hash as a CSMS computes them from the certificate it sent
    const node = new X509Certificate(ca.pem);
    expect(h.serialNumber).toBe(node.serialNumber.toLowerCase().replace(/^0+/, ''));
    const { createHash } = await import('node:crypto');
    expect(h.issuerNameHash).toBe(createHash('sha256').update(Buffer.from(ca.cert.issuerName.toArrayBuffer())).digest('hex'));
    expect(h.hashAlgorithm).toBe('SHA256');
    expect(s.cp.securityExtension.manufacturerRoots()).toHaveLength(1);
    expect(new X509Certificate(s.cp.securityExtension.manufacturerRoots()[0]!).subject).toContain('manufacturer root');

    for (const e of modes(join(s.dir, 'certificates'))) expect([e.path, e.mode]).toEqual([e.path, e.dir ? 0o700 : 0o600]);

    expect(await call(t, 'DeleteCertificate', { certificateHashData: { ...h, serialNumber: 'abcdef' } })).toEqual({ status: 'NotFound' });
    expect(await call(t, 'DeleteCertificate', { certificateHashData: { ...h, serialNumber: h.serialNumber.toUpperCase() } })).toEqual({ status: 'Accepted' });
    expect(await call(t, 'GetInstalledCertificateIds', { certificateType: 'CentralSystemRootCertificate' })).toEqual({ status: 'NotFound' });
    expect((await call(t, 'GetInstalledCertificateIds', { certificateType: 'ManufacturerRootCertificate' })).status).toBe('Accepted');
  });

  it('CertificateStoreMaxLength bounds the store: one more is Failed', async () => {
    const { t } = await profile3();
    const max = Number((await call(t, 'GetConfiguration', { key: ['CertificateStoreMaxLength'] })).configurationKey[0].value);
    for (let i = 0; i < max; i++) {
      const c = await TestCa.create(`root ${i}`);
      expect(await call(t, 'InstallCertificate', { certificateType: 'ManufacturerRootCertificate', certificate: c.pem })).toEqual({ status: 'Accepted' });
    }
    const extra = await TestCa.create('one too many');
    expect(await call(t, 'InstallCertificate', { certificateType: 'ManufacturerRootCertificate', certificate: extra.pem })).toEqual({ status: 'Failed' });
  });
});

describe('SignCertificate and CertificateSigned', () => {
  it('a CSR with O=CpoName, CN=serial, made for a new key; the signed certificate is installed and the station reconnects with it', async () => {
    const { t, s } = await profile3();
    const csrPem = await csrOf(t);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subject).toBe('O=Test CPO, CN=SN1');
    expect(mode(join(s.dir, 'certificates', 'charge-point', 'pending-key.pem'))).toBe(0o600);

    const signed = await ca.signCsr(csrPem);
    const connects = s.cp.link.counters.connects;
    expect(await call(t, 'CertificateSigned', { certificateChain: signed.toString('pem') })).toEqual({ status: 'Accepted' });
    await waitFor(() => s.cp.link.counters.connects > connects && s.cp.online, 'reconnected');
    const serial = signed.serialNumber.toLowerCase().replace(/^0+/, '');
    await waitFor(() => t.peers.at(-1)?.serial === serial, 'the new certificate presented');
    expect(t.peers.at(-1)).toMatchObject({ cn: 'SN1', authorized: true });
    for (const e of modes(join(s.dir, 'certificates'))) expect([e.path, e.mode]).toEqual([e.path, e.dir ? 0o700 : 0o600]);
    expect(readdirSync(join(s.dir, 'certificates', 'charge-point')).sort()).toEqual(['certificate.pem', 'key.pem']);

    // it survives a restart
    await s.restart();
    await waitFor(() => s.cp.online, 'accepted after the restart');
    expect(t.peers.at(-1)?.serial).toBe(serial);
  });

  it('a chain from a CA the station does not trust is Rejected with InvalidChargePointCertificate; the old certificate stays', async () => {
    const { t, s } = await profile3();
    const csrPem = await csrOf(t);
    const bad = await rogue.signCsr(csrPem);
    expect(await call(t, 'CertificateSigned', { certificateChain: bad.toString('pem') })).toEqual({ status: 'Rejected' });
    expect(loggedTypes(s.cp)).toContain('InvalidChargePointCertificate');
    expect(await call(t, 'CertificateSigned', { certificateChain: 'garbage' })).toEqual({ status: 'Rejected' });
    // a certificate for another key (not the one of the CSR) is refused as well
    const other = await ca.client('SN1');
    expect(await call(t, 'CertificateSigned', { certificateChain: other.pem })).toEqual({ status: 'Rejected' });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.peers.every((p) => p.cn === 'CP-TEST')).toBe(true);
  });

  it('the new certificate fails the TLS connection: back to the previous one, which connects', async () => {
    const { t, s } = await profile3();
    const csrPem = await csrOf(t);
    const signed = await ca.signCsr(csrPem);
    const serial = signed.serialNumber.toLowerCase().replace(/^0+/, '');
    t.admit = (p) => p.serial !== serial; // the CSMS does not take the new one (e.g. revoked on its side)
    expect(await call(t, 'CertificateSigned', { certificateChain: signed.toString('pem') })).toEqual({ status: 'Accepted' });
    await waitFor(() => t.peers.filter((p) => p.serial === serial).length >= 3, 'three tries with the new certificate');
    await waitFor(() => s.cp.online && t.peers.at(-1)?.cn === 'CP-TEST', 'back on the old certificate');
    expect(loggedTypes(s.cp)).toContain('InvalidChargePointCertificate');
    expect(readdirSync(join(s.dir, 'certificates', 'charge-point'))).toEqual([]);
  });

  it('without CpoName the trigger is Rejected; FirmwareStatusNotification and LogStatusNotification are triggered', async () => {
    const { t } = await profile3();
    expect(await call(t, 'ExtendedTriggerMessage', { requestedMessage: 'SignChargePointCertificate' })).toEqual({ status: 'Rejected' });
    expect(await call(t, 'ExtendedTriggerMessage', { requestedMessage: 'FirmwareStatusNotification' })).toEqual({ status: 'Accepted' });
    expect(await call(t, 'ExtendedTriggerMessage', { requestedMessage: 'LogStatusNotification' })).toEqual({ status: 'Accepted' });
    const n = t.csms.of('Heartbeat').length;
    expect(await call(t, 'ExtendedTriggerMessage', { requestedMessage: 'Heartbeat' })).toEqual({ status: 'Accepted' });
    await waitFor(() => t.csms.of('Heartbeat').length > n, 'heartbeat');
    expect(await call(t, 'ExtendedTriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 3 })).toEqual({ status: 'Rejected' });
  });
});
