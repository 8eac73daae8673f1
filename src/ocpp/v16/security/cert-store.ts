import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { chainProblem, hashDataOf, parseCertificate, pemBlocks, sameHashData, type CertificateHashData } from './x509.js';

export type CertificateUse = 'CentralSystemRootCertificate' | 'ManufacturerRootCertificate';
export const CERTIFICATE_USES: readonly CertificateUse[] = ['CentralSystemRootCertificate', 'ManufacturerRootCertificate'];

const FOLDER: Record<CertificateUse, string> = {
  CentralSystemRootCertificate: 'central-system-roots',
  ManufacturerRootCertificate: 'manufacturer-roots',
};

/** The charge point's own certificate (chain PEM, leaf first) and its private key (PKCS#8 PEM). */
export interface ChargePointCredentials {
  chain: string;
  key: string;
}

/**
 * The certificates of the security extension, as files under `<storage.dir>/certificates/`: the
 * directories 0700 and every file 0600, whatever the umask (private keys, and roots an attacker must
 * not swap). Root certificates per use, one file each named by its fingerprint; the charge point's
 * certificate and key, the key waiting for its certificate (SignCertificate), and the previous
 * certificate and key kept until a connection with the new ones worked (CertificateSigned fallback).
 * Each file is written beside and renamed into place, so a power cut leaves the old or the new one.
 */
export class CertificateStore {
  readonly dir: string;

  constructor(storageDir: string) {
    this.dir = join(storageDir, 'certificates');
  }

  private folder(...parts: string[]): string {
    let p = this.dir;
    for (const part of ['', ...parts]) {
      p = part ? join(p, part) : p;
      if (!existsSync(p)) mkdirSync(p, { mode: 0o700 });
      chmodSync(p, 0o700);
    }
    return p;
  }

  private write(file: string, text: string): void {
    const tmp = `${file}.new`;
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  }

  private read(file: string): string | undefined {
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  /** The installed roots of one use (PEM), oldest file name order. */
  roots(use: CertificateUse): string[] {
    const dir = join(this.dir, FOLDER[use]);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.pem')).sort().map((f) => readFileSync(join(dir, f), 'utf8'));
  }

  count(): number {
    return CERTIFICATE_USES.reduce((n, u) => n + this.roots(u).length, 0);
  }

  /**
   * InstallCertificate: Rejected when it is not one valid certificate, or (AdditionalRootCertificateCheck)
   * a new CentralSystemRootCertificate not signed by the one installed; Failed when the store is full.
   * With the check on, the new root replaces the old one, which stays as the fallback (at most two).
   */
  install(use: CertificateUse, pem: string, o: { maxLength: number; additionalRootCheck: boolean; nowMs: number }): 'Accepted' | 'Rejected' | 'Failed' {
    const cert = parseCertificate(pem);
    if (!cert) return 'Rejected';
    const text = pemBlocks(pem)[0]!;
    if (Date.parse(cert.validTo) < o.nowMs) return 'Rejected';
    const file = `${createHash('sha256').update(cert.raw).digest('hex')}.pem`;
    const dir = this.folder(FOLDER[use]);
    if (readdirSync(dir).some((f) => f.endsWith(`-${file}`))) return 'Accepted';
    if (use === 'CentralSystemRootCertificate' && o.additionalRootCheck) {
      const installed = this.roots(use);
      if (installed.length && chainProblem([text], installed, o.nowMs)) return 'Rejected';
      // the newest and one fallback
      const files = readdirSync(dir).filter((f) => f.endsWith('.pem')).sort();
      for (const f of files.slice(0, Math.max(0, files.length - 1))) rmSync(join(dir, f));
    }
    if (this.count() >= o.maxLength) return 'Failed';
    this.write(join(dir, `${String(Date.now()).padStart(15, '0')}-${file}`), text);
    return 'Accepted';
  }

  /** GetInstalledCertificateIds: the hash data of every installed root of a use. */
  list(use: CertificateUse): CertificateHashData[] {
    return this.roots(use).map((pem) => hashDataOf(pem));
  }

  /** DeleteCertificate: the root whose hash data match, whatever its use. */
  remove(hash: CertificateHashData): 'Accepted' | 'NotFound' | 'Failed' {
    for (const use of CERTIFICATE_USES) {
      const dir = join(this.dir, FOLDER[use]);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.pem'))) {
        const pem = readFileSync(join(dir, f), 'utf8');
        if (!sameHashData(hashDataOf(pem), hash)) continue;
        try {
          rmSync(join(dir, f));
          return 'Accepted';
        } catch {
          return 'Failed';
        }
      }
    }
    return 'NotFound';
  }

  chargePoint(): ChargePointCredentials | undefined {
    const chain = this.read(join(this.dir, 'charge-point', 'certificate.pem'));
    const key = this.read(join(this.dir, 'charge-point', 'key.pem'));
    return chain && key ? { chain, key } : undefined;
  }

  /** The key made for the last SignCertificate, waiting for its certificate. */
  pendingKey(): string | undefined {
    return this.read(join(this.dir, 'charge-point', 'pending-key.pem'));
  }

  savePendingKey(keyPem: string): void {
    this.write(join(this.folder('charge-point'), 'pending-key.pem'), keyPem);
  }

  /** Installs a signed certificate with the pending key; the one in use (if any) is kept as the previous. */
  installChargePoint(chain: string): void {
    const dir = this.folder('charge-point');
    const key = this.pendingKey();
    if (!key) throw new Error('no pending key');
    const current = this.chargePoint();
    if (current) {
      this.write(join(dir, 'previous-certificate.pem'), current.chain);
      this.write(join(dir, 'previous-key.pem'), current.key);
    }
    this.write(join(dir, 'certificate.pem'), chain);
    this.write(join(dir, 'key.pem'), key);
    rmSync(join(dir, 'pending-key.pem'), { force: true });
  }

  /** The new certificate connected: the previous one is no longer needed. */
  forgetPrevious(): void {
    const dir = join(this.dir, 'charge-point');
    rmSync(join(dir, 'previous-certificate.pem'), { force: true });
    rmSync(join(dir, 'previous-key.pem'), { force: true });
  }

  hasPrevious(): boolean {
    return existsSync(join(this.dir, 'charge-point', 'previous-certificate.pem'));
  }

  /** The new certificate did not connect: back to the previous one (or to none, the config's). */
  restorePrevious(): void {
    const dir = this.folder('charge-point');
    const chain = this.read(join(dir, 'previous-certificate.pem'));
    const key = this.read(join(dir, 'previous-key.pem'));
    if (chain && key) {
      this.write(join(dir, 'certificate.pem'), chain);
      this.write(join(dir, 'key.pem'), key);
    } else {
      rmSync(join(dir, 'certificate.pem'), { force: true });
      rmSync(join(dir, 'key.pem'), { force: true });
    }
    this.forgetPrevious();
  }
}
