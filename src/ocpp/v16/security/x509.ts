import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createHash, createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** CertificateHashDataType of the whitepaper (§2.4): how the CSMS names an installed certificate. */
export interface CertificateHashData {
  hashAlgorithm: 'SHA256' | 'SHA384' | 'SHA512';
  issuerNameHash: string;
  issuerKeyHash: string;
  serialNumber: string;
}

/** The PEM blocks of a text (a chain: leaf first). */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

/** A parsed certificate, or undefined for anything that is not one PEM certificate. */
export function parseCertificate(pem: string): X509Certificate | undefined {
  const blocks = pemBlocks(pem);
  if (blocks.length !== 1) return undefined;
  try {
    return new X509Certificate(blocks[0]!);
  } catch {
    return undefined;
  }
}

/**
 * The key bits the issuerKeyHash is taken over (the subjectPublicKey BIT STRING's contents, as in
 * OCSP's CertID): the PKCS#1 RSAPublicKey for RSA, the uncompressed point for EC, the raw key for EdDSA.
 */
function publicKeyBits(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'rsa') return key.export({ type: 'pkcs1', format: 'der' });
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType === 'ec') return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return Buffer.from(jwk.x!, 'base64url');
}

/** Serial numbers compared as the CSMS may write them: hex, any case, leading zeros or not. */
export function normaliseSerial(s: string): string {
  return s.toLowerCase().replace(/^0+(?=.)/, '');
}

/** The hash data of `cert`, issued by `issuer` (itself for a root). SHA256 only (what evsed reports). */
export function hashDataOf(certPem: string, issuerPem: string = certPem): CertificateHashData {
  const cert = new x509.X509Certificate(certPem);
  const issuer = new X509Certificate(issuerPem);
  const sha = (b: Buffer | ArrayBuffer) => createHash('sha256').update(Buffer.from(b as ArrayBuffer)).digest('hex');
  return {
    hashAlgorithm: 'SHA256',
    issuerNameHash: sha(cert.issuerName.toArrayBuffer()),
    issuerKeyHash: sha(publicKeyBits(issuer.publicKey)),
    serialNumber: normaliseSerial(cert.serialNumber),
  };
}

export function sameHashData(a: CertificateHashData, b: CertificateHashData): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && a.issuerNameHash.toLowerCase() === b.issuerNameHash.toLowerCase()
    && a.issuerKeyHash.toLowerCase() === b.issuerKeyHash.toLowerCase() && normaliseSerial(a.serialNumber) === normaliseSerial(b.serialNumber);
}

const within = (c: X509Certificate, nowMs: number) => Date.parse(c.validFrom) <= nowMs && nowMs <= Date.parse(c.validTo);

/**
 * Why `chain` (leaf first, then intermediates) does not lead to one of `roots` (undefined: it does):
 * each certificate issued and signed by the next or by a root, each within its validity.
 */
export function chainProblem(chain: string[], roots: string[], nowMs: number): string | undefined {
  if (!chain.length) return 'no certificate';
  let certs: X509Certificate[];
  let anchors: X509Certificate[];
  try {
    certs = chain.map((p) => new X509Certificate(p));
    anchors = roots.map((p) => new X509Certificate(p));
  } catch (err) {
    return `not a certificate: ${(err as Error).message}`;
  }
  if (!anchors.length) return 'no root certificate to check it against';
  let cur = certs[0]!;
  for (let depth = 0; depth < 6; depth++) {
    if (!within(cur, nowMs)) return `${cur.subject.replace(/\n/g, ', ')}: not valid now (${cur.validFrom} to ${cur.validTo})`;
    const root = anchors.find((a) => cur.checkIssued(a) && cur.verify(a.publicKey));
    if (root) return within(root, nowMs) ? undefined : 'the root certificate is not valid now';
    const next = certs.find((c) => c !== cur && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!next) return `${cur.subject.replace(/\n/g, ', ')}: issuer not in the chain nor an installed root`;
    cur = next;
  }
  return 'chain too long';
}

/** Whether `leafPem`'s public key is the one of `keyPem`. */
export function matchesKey(leafPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(leafPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/**
 * A new key pair (ECDSA P-256, whitepaper §4.2: RSA ≥ 2048 or EC ≥ 224) and a PKCS#10 CSR for it,
 * subject O=`organization`, CN=`commonName`, made by @peculiar/x509. The key comes back as PKCS#8 PEM.
 */
export async function newKeyAndCsr(organization: string, commonName: string): Promise<{ csrPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ O: [organization] }, { CN: [commonName] }] as unknown as x509.JsonName,
    keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
    signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { csrPem: csr.toString('pem'), keyPem };
}

