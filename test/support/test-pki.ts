/**
 * A throw-away PKI made in the test (no openssl needed): CAs (also intermediates), certificates for
 * servers (https/ftps/wss on 127.0.0.1/localhost), clients and code signing, and a CA that signs a
 * CSR the way a CSMS does. ECDSA P-256 throughout.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}
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
  const keys = await newKeys();
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
  const keys = await newKeys();
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

let serialCounter = 0x1000;
const nextSerial = () => (serialCounter++).toString(16);

export interface Issued {
  pem: string;
  keyPem: string;
  cert: x509.X509Certificate;
}

export class TestCa {
  private constructor(readonly name: string, private readonly keys: webcrypto.CryptoKeyPair, readonly cert: x509.X509Certificate) {}

  static async create(name: string, opts: { issuer?: TestCa; notAfter?: Date } = {}): Promise<TestCa> {
    const keys = await newKeys();
    const extensions = [new x509.BasicConstraintsExtension(true, 2, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)];
    const base = { serialNumber: nextSerial(), notBefore: new Date(Date.now() - DAY), notAfter: opts.notAfter ?? new Date(Date.now() + 2 * DAY), signingAlgorithm: ALG, extensions };
    const cert = opts.issuer
      ? await opts.issuer.sign({ ...base, subject: `CN=${name}`, publicKey: keys.publicKey })
      : await x509.X509CertificateGenerator.createSelfSigned({ ...base, name: `CN=${name}`, keys });
    return new TestCa(name, keys, cert);
  }

  get pem(): string {
    return this.cert.toString('pem');
  }

  private sign(p: { subject: string; publicKey: x509.PublicKeyType; serialNumber?: string; notBefore?: Date; notAfter?: Date; extensions?: x509.Extension[] }): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(), notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 2 * DAY), ...p,
      issuer: this.cert.subject, signingKey: this.keys.privateKey, signingAlgorithm: ALG,
    });
  }

  /** A TLS server certificate for 127.0.0.1. */
  async server(): Promise<Issued> {
    const keys = await newKeys();
    const cert = await this.sign({
      subject: 'CN=127.0.0.1', publicKey: keys.publicKey,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
    });
    return { pem: cert.toString('pem'), keyPem: await keyPem(keys), cert };
  }

  /** A TLS client certificate (the charge point's), CN = `cn`. */
  async client(cn: string): Promise<Issued> {
    const keys = await newKeys();
    const cert = await this.sign({ subject: `CN=${cn}`, publicKey: keys.publicKey, extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])] });
    return { pem: cert.toString('pem'), keyPem: await keyPem(keys), cert };
  }

  /** What a CSMS does with SignCertificate.req: checks the CSR's signature and issues its subject and key. */
  async signCsr(csrPem: string, opts: { notAfter?: Date } = {}): Promise<x509.X509Certificate> {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new Error('CSR signature invalid');
    return this.sign({ subject: csr.subject, publicKey: csr.publicKey, ...(opts.notAfter ? { notAfter: opts.notAfter } : {}), extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])] });
  }
}

export { x509 };
