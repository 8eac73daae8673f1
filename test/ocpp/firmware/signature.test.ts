import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { constants, createPrivateKey, sign, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSigningCertificate, verifyFileSignature } from '../../../src/ocpp/v16/firmware/signature.js';
import { issue, makeCa, type TestCert } from '../../support/test-pki.js';
import { signBytes } from './support.js';

const DAY = 86_400_000;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/** An RSA signing certificate issued by `ca` (its key as PEM), for the RSA-PSS signature. */
async function rsaSigner(ca: TestCert): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0a01', subject: 'CN=rsa firmware signer', issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY),
    publicKey: keys.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

let dir: string;
let file: string;
const body = Buffer.from('evsed release bundle bytes '.repeat(1000));
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'evsed-fw-sig-'));
  file = join(dir, 'bundle');
  writeFileSync(file, body);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SignedUpdateFirmware signature and signing certificate', () => {
  it('ECDSA P-256 over SHA-256 of the file: the right file verifies, another does not, garbage does not', async () => {
    const ca = await makeCa();
    const signer = await issue(ca, { subject: 'CN=fw', usage: 'codeSigning' });
    expect(await verifyFileSignature(file, signer.certPem, signBytes(body, signer))).toBe(true);
    expect(await verifyFileSignature(file, signer.certPem, signBytes(Buffer.from('other'), signer))).toBe(false);
    expect(await verifyFileSignature(file, signer.certPem, 'bm90IGEgc2lnbmF0dXJl')).toBe(false);
    expect(await verifyFileSignature(file, signer.certPem, '')).toBe(false);
    expect(await verifyFileSignature(file, 'no certificate', signBytes(body, signer))).toBe(false);
  });

  it('RSA: RSA-PSS verifies; PKCS#1 v1.5 is not accepted (the whitepaper names RSA-PSS)', async () => {
    const signer = await rsaSigner(await makeCa());
    const key = createPrivateKey(signer.keyPem);
    const pss = sign('sha256', body, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64');
    const v15 = sign('sha256', body, key).toString('base64');
    expect(await verifyFileSignature(file, signer.certPem, pss)).toBe(true);
    expect(await verifyFileSignature(file, signer.certPem, v15)).toBe(false);
  });

  it('signing certificate: issued by an installed root (directly or through an intermediate it carries), valid now', async () => {
    const root = await makeCa('CN=manufacturer root');
    const other = await makeCa('CN=someone else');
    const direct = await issue(root, { subject: 'CN=fw', usage: 'codeSigning' });
    const now = Date.now();
    expect(checkSigningCertificate(direct.certPem, [root.certPem], now)).toEqual({ ok: true });
    expect(checkSigningCertificate(direct.certPem, [other.certPem, root.certPem], now)).toEqual({ ok: true });
    expect(checkSigningCertificate(direct.certPem, [other.certPem], now).ok).toBe(false);
    expect(checkSigningCertificate(direct.certPem, [root.certPem], now + 60 * DAY).ok).toBe(false);
    expect(checkSigningCertificate('not a certificate', [root.certPem], now).ok).toBe(false);

    const intermediateKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const intermediateCert = await x509.X509CertificateGenerator.create({
      serialNumber: '0b01', subject: 'CN=manufacturer firmware CA', issuer: root.cert.subject,
      notBefore: new Date(now - DAY), notAfter: new Date(now + DAY),
      publicKey: intermediateKeys.publicKey, signingKey: root.keys.privateKey, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    const intermediate = { certPem: intermediateCert.toString('pem'), keyPem: '', cert: intermediateCert, keys: intermediateKeys };
    const leaf = await issue(intermediate, { subject: 'CN=fw via intermediate', usage: 'codeSigning' });
    expect(checkSigningCertificate(leaf.certPem + intermediate.certPem, [root.certPem], now)).toEqual({ ok: true });
    expect(checkSigningCertificate(leaf.certPem, [root.certPem], now).ok).toBe(false);
  });

  it('no root installed: any certificate valid now passes, an expired one does not', async () => {
    const ca = await makeCa();
    const signer = await issue(ca, { subject: 'CN=fw', usage: 'codeSigning' });
    expect(checkSigningCertificate(signer.certPem, [], Date.now())).toEqual({ ok: true });
    expect(checkSigningCertificate(signer.certPem, [], Date.now() + 60 * DAY).ok).toBe(false);
  });
});
