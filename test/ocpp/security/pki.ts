import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, webcrypto } from 'node:crypto';

/**
 * A test PKI made in the test with @peculiar/x509 (npm test needs only Node): CAs, a server
 * certificate for 127.0.0.1, client certificates, and a CA that signs a CSR the way a CSMS does.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

async function keyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as KeyPair;
}

async function keyPem(keys: KeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

const DAY = 86_400_000;
let serial = 0x1000;
const nextSerial = () => (serial++).toString(16);

export interface Issued {
  pem: string;
  keyPem: string;
  cert: x509.X509Certificate;
}

export class TestCa {
  private constructor(readonly name: string, private readonly keys: KeyPair, readonly cert: x509.X509Certificate) {}

  static async create(name: string, opts: { issuer?: TestCa; notAfter?: Date } = {}): Promise<TestCa> {
    const keys = await keyPair();
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
    const keys = await keyPair();
    const cert = await this.sign({
      subject: 'CN=127.0.0.1', publicKey: keys.publicKey,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
    });
    return { pem: cert.toString('pem'), keyPem: await keyPem(keys), cert };
  }

  /** A TLS client certificate (the charge point's), CN = `cn`. */
  async client(cn: string): Promise<Issued> {
    const keys = await keyPair();
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
