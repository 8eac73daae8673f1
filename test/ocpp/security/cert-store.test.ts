import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertificateStore } from '../../../src/ocpp/v16/security/cert-store.js';
import { chainProblem, hashDataOf, sameHashData } from '../../../src/ocpp/v16/security/x509.js';
import { tempDir } from '../helpers.js';
import { TestCa } from '../../support/test-pki.js';

/** The certificate store and the chain check on their own (files in a temporary storage directory). */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function store(): CertificateStore {
  const t = tempDir('evsed-certs-');
  cleanups.push(t.cleanup);
  return new CertificateStore(t.dir);
}

let root: TestCa;
let successor: TestCa;
let stranger: TestCa;
let intermediate: TestCa;
beforeAll(async () => {
  root = await TestCa.create('old root');
  successor = await TestCa.create('new root', { issuer: root });
  stranger = await TestCa.create('stranger');
  intermediate = await TestCa.create('intermediate', { issuer: root });
});

const now = () => Date.now();

describe('CertificateStore', () => {
  it('AdditionalRootCertificateCheck: a new CSMS root must be signed by the installed one, which stays as the fallback', () => {
    const s = store();
    const o = { maxLength: 20, additionalRootCheck: true, nowMs: now() };
    expect(s.install('CentralSystemRootCertificate', root.pem, o)).toBe('Accepted');
    expect(s.install('CentralSystemRootCertificate', stranger.pem, o)).toBe('Rejected');
    expect(s.install('CentralSystemRootCertificate', successor.pem, o)).toBe('Accepted');
    expect(s.roots('CentralSystemRootCertificate')).toHaveLength(2);
    // without the check any number of roots (up to the bound) may be installed
    const free = store();
    for (const c of [root, stranger, successor]) expect(free.install('CentralSystemRootCertificate', c.pem, { ...o, additionalRootCheck: false })).toBe('Accepted');
    expect(free.roots('CentralSystemRootCertificate')).toHaveLength(3);
  });

  it('an expired certificate, two certificates in one, or the same one twice', async () => {
    const s = store();
    const o = { maxLength: 20, additionalRootCheck: false, nowMs: now() };
    const expired = await TestCa.create('expired', { notAfter: new Date(Date.now() - 1000) });
    expect(s.install('ManufacturerRootCertificate', expired.pem, o)).toBe('Rejected');
    expect(s.install('ManufacturerRootCertificate', root.pem + stranger.pem, o)).toBe('Rejected');
    expect(s.install('ManufacturerRootCertificate', root.pem, o)).toBe('Accepted');
    await new Promise((r) => setTimeout(r, 5)); // file names carry the time of install
    expect(s.install('ManufacturerRootCertificate', root.pem, o)).toBe('Accepted');
    expect(s.roots('ManufacturerRootCertificate')).toHaveLength(1);
  });

  it('hash data: a certificate issued by another names its issuer; roots are told apart by serial and key', () => {
    const h = hashDataOf(intermediate.pem, root.pem);
    expect(h.issuerNameHash).toBe(hashDataOf(root.pem).issuerNameHash); // both name "old root" as issuer
    expect(h.issuerKeyHash).toBe(hashDataOf(root.pem).issuerKeyHash);
    expect(sameHashData(h, hashDataOf(root.pem))).toBe(false);
    expect(sameHashData(hashDataOf(root.pem), { ...hashDataOf(root.pem), serialNumber: `000${hashDataOf(root.pem).serialNumber.toUpperCase()}` })).toBe(true);
  });
});

describe('chainProblem', () => {
  it('leaf → intermediate → root; a missing link, a stranger root, an expired leaf', async () => {
    const leaf = await intermediate.client('SN1');
    expect(chainProblem([leaf.pem, intermediate.pem], [root.pem], now())).toBeUndefined();
    expect(chainProblem([leaf.pem], [root.pem], now())).toMatch(/issuer not in the chain/);
    expect(chainProblem([leaf.pem, intermediate.pem], [stranger.pem], now())).toMatch(/issuer not in the chain/);
    expect(chainProblem([leaf.pem, intermediate.pem], [root.pem], Date.now() + 10 * 86_400_000)).toMatch(/not valid now/);
    expect(chainProblem([leaf.pem, intermediate.pem], [], now())).toMatch(/no root/);
  });
});
