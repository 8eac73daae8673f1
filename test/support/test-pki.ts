/**
 * A throw-away PKI made in the test (no openssl needed): a CA, and certificates it issues for
 * servers (https/ftps/wss on 127.0.0.1/localhost) or clients. ECDSA P-256 throughout.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
x509.cryptoProvider.set(webcrypto as never);

export interface TestCert {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1');
}

const DAY = 86_400_000;

export async function makeCa(name = 'CN=evsed test CA'): Promise<TestCert> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys), cert, keys };
}

export interface IssueOptions {
  subject: string;
  /** DNS names / IPs for a server certificate. */
  dns?: string[];
  ips?: string[];
  usage: 'server' | 'client' | 'codeSigning';
  /** Expired or not yet valid certificates for negative tests. */
  notBefore?: Date;
  notAfter?: Date;
}

export async function issue(ca: TestCert, o: IssueOptions): Promise<TestCert> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const eku = { server: x509.ExtendedKeyUsage.serverAuth, client: x509.ExtendedKeyUsage.clientAuth, codeSigning: x509.ExtendedKeyUsage.codeSigning }[o.usage];
  const names = [...(o.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: o.subject,
    issuer: ca.cert.subject,
    notBefore: o.notBefore ?? new Date(Date.now() - DAY),
    notAfter: o.notAfter ?? new Date(Date.now() + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([eku]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys), cert, keys };
}

/** A CA and a server certificate for 127.0.0.1 and localhost. */
export async function loopbackServerPki(): Promise<{ ca: TestCert; server: TestCert }> {
  const ca = await makeCa();
  const server = await issue(ca, { subject: 'CN=localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
  return { ca, server };
}
