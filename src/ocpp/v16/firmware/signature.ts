import { constants, createVerify, X509Certificate } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** The installed ManufacturerRootCertificates (the certificate store is another part's; this is all the firmware job needs). */
export interface ManufacturerRoots {
  /** PEM of each installed ManufacturerRootCertificate; none installed: []. */
  pems(): string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text, in order (a signingCertificate may carry its intermediates after it). */
export function parseCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((c) => new X509Certificate(c));
}

function validAt(c: X509Certificate, nowMs: number): boolean {
  return Date.parse(c.validFrom) <= nowMs && nowMs <= Date.parse(c.validTo);
}

function issuedBy(c: X509Certificate, issuer: X509Certificate): boolean {
  return c.checkIssued(issuer) && c.verify(issuer.publicKey);
}

/**
 * SignedUpdateFirmware's signingCertificate against the installed ManufacturerRootCertificates
 * (L01.FR.02): a chain from it (through intermediates it carries) to one of them, every link
 * valid now. With no root installed there is nothing to check it against: it only has to be a
 * certificate valid now (the bundle's own release signature is still checked).
 */
export function checkSigningCertificate(pem: string, roots: string[], nowMs: number): { ok: true } | { ok: false; reason: string } {
  let certs: X509Certificate[];
  let anchors: X509Certificate[];
  try {
    certs = parseCertificates(pem);
    anchors = roots.flatMap(parseCertificates);
  } catch (err) {
    return { ok: false, reason: `unreadable certificate: ${(err as Error).message}` };
  }
  const leaf = certs[0];
  if (!leaf) return { ok: false, reason: 'no certificate in signingCertificate' };
  if (!validAt(leaf, nowMs)) return { ok: false, reason: `signing certificate not valid now (${leaf.validFrom} to ${leaf.validTo})` };
  if (!anchors.length) return { ok: true };
  const pool = certs.slice(1);
  let cur = leaf;
  for (let depth = 0; depth <= pool.length; depth++) {
    const root = anchors.find((a) => issuedBy(cur, a));
    if (root) return validAt(root, nowMs) ? { ok: true } : { ok: false, reason: 'the ManufacturerRootCertificate is not valid now' };
    const next = pool.find((p) => p !== cur && issuedBy(cur, p));
    if (!next || !validAt(next, nowMs)) break;
    cur = next;
  }
  return { ok: false, reason: 'signing certificate not issued by an installed ManufacturerRootCertificate' };
}

/**
 * SignedUpdateFirmware's signature (base64) over the file, SHA-256, with the signing certificate's
 * key: RSA-PSS for an RSA key, ECDSA (DER) for an EC key. Streams the file (a release is large).
 */
export async function verifyFileSignature(file: string, certPem: string, signatureB64: string): Promise<boolean> {
  const cert = parseCertificates(certPem)[0];
  if (!cert) return false;
  const key = cert.publicKey;
  const signature = Buffer.from(signatureB64, 'base64');
  if (!signature.length) return false;
  const v = createVerify('sha256');
  await pipeline(createReadStream(file), v);
  try {
    if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
      return v.verify({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
    }
    if (key.asymmetricKeyType === 'ec') return v.verify({ key, dsaEncoding: 'der' }, signature);
    return false;
  } catch {
    return false;
  }
}
