import { readFileSync } from 'node:fs';
import type { StationClock, StationInfo } from '../../../evse/port.js';
import type { Logger } from '../../../log.js';
import type { Link, Outcome } from '../../link.js';
import type { ChangeStatus, KeyStore } from '../key-store.js';
import type { CertificateStore, CertificateUse } from './cert-store.js';
import type { SecurityEvents } from './events.js';
import { chainProblem, matchesKey, newKeyAndCsr, pemBlocks, type CertificateHashData } from './x509.js';

/** Failed connects in a row after a switch (security profile, charge point certificate) before going back to what worked. */
export const FALLBACK_AFTER_FAILURES = 3;

/** Node's codes for a server certificate the station does not trust (tls / X509_V_ERR_*). */
const CERT_ERROR = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_CERT_ALTNAME|HOSTNAME_MISMATCH|ERR_TLS_CERT)/;
const TLS_VERSION_ERROR = /(UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|WRONG_VERSION_NUMBER)/;

export interface SecurityExtensionDeps {
  link: Pick<Link, 'on' | 'off' | 'reconnectWith' | 'securityProfile'>;
  keys: KeyStore;
  /** Absent when the charge point was given no storage directory: nothing can be installed. */
  store?: CertificateStore;
  events: SecurityEvents;
  info: Pick<StationInfo, 'id' | 'serialNumber'>;
  clock: Pick<StationClock, 'wallMs'>;
  /** The config's TLS files and password (ocpp.caFile, clientCert, clientKey, password). */
  config: { caFile?: string; clientCert?: string; clientKey?: string; password?: string };
  /** Sends a non-transaction message (SignCertificate). */
  send(action: string, payload: Record<string, unknown>): Promise<Outcome>;
  log: Logger;
}

/** What the CSMS handlers of the security extension call. */
export interface SecurityExtensionPort {
  changeSecurityProfile(value: string): { status: ChangeStatus; apply?: () => void };
  installCertificate(use: CertificateUse, pem: string): 'Accepted' | 'Rejected' | 'Failed';
  deleteCertificate(hash: CertificateHashData): 'Accepted' | 'Failed' | 'NotFound';
  installedCertificateIds(use: CertificateUse): CertificateHashData[];
  /** CertificateSigned: validates and installs; `apply` (after the answer) reconnects with it. */
  certificateSigned(chain: string): { status: 'Accepted' | 'Rejected'; apply?: () => void };
  /** Whether a SignCertificate can be made now (a store, a CpoName). */
  canSignCertificate(): boolean;
  signCertificate(): Promise<void>;
}

/**
 * The OCPP 1.6 security extension's state machine around the link: which security profile and TLS
 * material it connects with, switching to a raised profile or a new certificate and back when that
 * cannot connect (A05.FR.07, A02.FR.20-ish: the previous one is kept until the new one connected),
 * the certificate store, SignCertificate, and the security events of a failed connect.
 */
export class SecurityExtension implements SecurityExtensionPort {
  /** The last connect-failure event reported; again only after a connection worked. */
  private reported?: string;
  private trial?: { failures: number; revert: () => void; commit: () => void; what: string };
  private readonly onOpen = () => {
    this.reported = undefined;
    const t = this.trial;
    this.trial = undefined;
    t?.commit();
  };
  private readonly onFailed = (err: Error & { code?: string | number }) => this.connectFailed(err);

  constructor(private readonly d: SecurityExtensionDeps) {}

  start(): void {
    this.d.link.on('open', this.onOpen);
    this.d.link.on('connect-failed', this.onFailed);
  }

  stop(): void {
    this.d.link.off('open', this.onOpen);
    this.d.link.off('connect-failed', this.onFailed);
  }

  /** The TLS material for the next connect: installed CSMS roots with the config CA, the charge point certificate. */
  tlsMaterial(): { ca?: string[]; cert?: string; key?: string } {
    const { store, config } = this.d;
    const ca = [...(config.caFile ? [readFileSync(config.caFile, 'utf8')] : []), ...(store?.roots('CentralSystemRootCertificate') ?? [])];
    const own = store?.chargePoint();
    return { ...(ca.length ? { ca } : {}), ...(own ? { cert: own.chain, key: own.key } : {}) };
  }

  /** For GET /api/status: the profile in use and which certificates there are (never their contents). */
  status(): Record<string, unknown> {
    const store = this.d.store;
    return {
      securityProfile: this.d.link.securityProfile,
      chargePointCertificate: store?.chargePoint() ? 'installed' : this.d.config.clientCert ? 'config' : null,
      centralSystemRoots: store?.roots('CentralSystemRootCertificate').length ?? 0,
      manufacturerRoots: store?.roots('ManufacturerRootCertificate').length ?? 0,
      switching: this.trial?.what ?? null,
    };
  }

  manufacturerRoots(): string[] {
    return this.d.store?.roots('ManufacturerRootCertificate') ?? [];
  }

  private connectFailed(err: Error & { code?: string | number }): void {
    const code = String(err.code ?? '');
    const type = code === '401' ? 'FailedToAuthenticateAtCentralSystem' as const
      : CERT_ERROR.test(code) ? 'InvalidCentralSystemCertificate' as const
        : TLS_VERSION_ERROR.test(code) ? 'InvalidTLSVersion' as const : undefined;
    if (type && this.reported !== type) {
      this.reported = type;
      this.d.events.report(type, `${code}: ${err.message}`.slice(0, 255));
    }
    const t = this.trial;
    if (t && ++t.failures >= FALLBACK_AFTER_FAILURES) {
      this.trial = undefined;
      this.d.log.warn({ what: t.what, failures: t.failures }, 'OCPP: could not connect after the change; back to the previous settings');
      t.revert();
    }
  }

  // ---------------------------------------------------------------- SecurityProfile (A05)

  private hasPassword(): boolean {
    return !!(this.d.keys.get('AuthorizationKey') || this.d.config.password);
  }

  private hasCsmsRoot(): boolean {
    return !!(this.d.config.caFile || this.d.store?.roots('CentralSystemRootCertificate').length);
  }

  private hasOwnCertificate(): boolean {
    return !!(this.d.store?.chargePoint() || this.d.config.clientCert);
  }

  /** Why the charge point cannot go to `profile` (undefined: it can). */
  profileProblem(profile: number): string | undefined {
    const current = this.d.keys.int('SecurityProfile');
    if (!Number.isInteger(profile) || profile < 0 || profile > 3) return 'not a security profile';
    if (profile <= current) return `not above the current profile ${current} (a profile is never lowered)`;
    if ((profile === 1 || profile === 2) && !this.hasPassword()) return 'no AuthorizationKey';
    if (profile >= 2 && !this.hasCsmsRoot()) return 'no CentralSystemRootCertificate';
    if (profile === 3 && !this.hasOwnCertificate()) return 'no charge point certificate';
    return undefined;
  }

  changeSecurityProfile(value: string): { status: ChangeStatus; apply?: () => void } {
    const next = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    const problem = this.profileProblem(next);
    if (problem) {
      this.d.log.warn({ value, problem }, 'OCPP: SecurityProfile change refused');
      return { status: 'Rejected' };
    }
    const prev = this.d.keys.int('SecurityProfile');
    return {
      status: 'Accepted',
      apply: () => this.tryWith(`SecurityProfile ${prev} to ${next}`, () => this.d.link.reconnectWith({ securityProfile: next }, `SecurityProfile ${next}`), {
        commit: () => {
          this.d.keys.store('SecurityProfile', String(next));
          this.d.events.report('ReconfigurationOfSecurityParameters', `SecurityProfile ${prev} to ${next}`);
        },
        revert: () => {
          this.d.events.report('ReconfigurationOfSecurityParameters', `SecurityProfile ${next} could not connect; back to ${prev}`);
          this.d.link.reconnectWith({ securityProfile: prev }, `SecurityProfile ${next} failed; back to ${prev}`);
        },
      }),
    };
  }

  private tryWith(what: string, start: () => void, t: { commit: () => void; revert: () => void }): void {
    this.trial = { what, failures: 0, ...t };
    start();
  }

  // ---------------------------------------------------------------- certificates (M03-M05, A02)

  private settings() {
    return {
      maxLength: this.d.keys.int('CertificateStoreMaxLength'),
      additionalRootCheck: this.d.keys.bool('AdditionalRootCertificateCheck'),
      nowMs: this.d.clock.wallMs(),
    };
  }

  installCertificate(use: CertificateUse, pem: string): 'Accepted' | 'Rejected' | 'Failed' {
    if (!this.d.store) return 'Failed';
    const status = this.d.store.install(use, pem, this.settings());
    this.d.log.info({ use, status }, 'OCPP: InstallCertificate');
    if (status === 'Accepted') this.d.events.report('ReconfigurationOfSecurityParameters', `${use} installed`);
    return status;
  }

  deleteCertificate(hash: CertificateHashData): 'Accepted' | 'Failed' | 'NotFound' {
    if (!this.d.store) return 'NotFound';
    const status = this.d.store.remove(hash);
    if (status === 'Accepted') this.d.events.report('ReconfigurationOfSecurityParameters', `certificate ${hash.serialNumber} deleted`);
    return status;
  }

  installedCertificateIds(use: CertificateUse): CertificateHashData[] {
    return this.d.store?.list(use) ?? [];
  }

  canSignCertificate(): boolean {
    return !!this.d.store && this.d.keys.get('CpoName') !== '';
  }

  /** SignCertificate.req: a new key pair (kept, 0600, until its certificate comes) and a CSR, O=CpoName, CN=serial. */
  async signCertificate(): Promise<void> {
    const store = this.d.store;
    if (!store) return;
    const { csrPem, keyPem } = await newKeyAndCsr(this.d.keys.get('CpoName'), this.d.info.serialNumber ?? this.d.info.id);
    store.savePendingKey(keyPem);
    const out = await this.d.send('SignCertificate', { csr: csrPem });
    this.d.log.info({ outcome: out.kind, status: out.kind === 'ok' ? (out.result as { status?: string }).status : undefined }, 'OCPP: SignCertificate sent');
  }

  certificateSigned(chainText: string): { status: 'Accepted' | 'Rejected'; apply?: () => void } {
    const store = this.d.store;
    const key = store?.pendingKey();
    const chain = pemBlocks(chainText);
    const roots = [...(this.d.config.caFile ? pemBlocks(readFileSync(this.d.config.caFile, 'utf8')) : []), ...(store?.roots('CentralSystemRootCertificate') ?? [])];
    let problem: string | undefined;
    if (!store || !key) problem = 'no certificate was asked for (SignCertificate)';
    else if (!chain.length) problem = 'no certificate in the chain';
    else if (chainText.length > this.d.keys.int('CertificateSignedMaxChainSize')) problem = 'chain longer than CertificateSignedMaxChainSize';
    else problem = chainProblem(chain, roots, this.d.clock.wallMs()) ?? (matchesKey(chain[0]!, key) ? undefined : 'not the key of the last SignCertificate');
    if (problem) {
      this.d.events.report('InvalidChargePointCertificate', problem);
      return { status: 'Rejected' };
    }
    store!.installChargePoint(chain.join(''));
    this.d.log.info('OCPP: charge point certificate installed');
    return {
      status: 'Accepted',
      apply: () => {
        // Only profile 3 presents it: reconnect with it there, and keep the previous one until that worked.
        if (this.d.link.securityProfile !== 3) {
          store!.forgetPrevious();
          return;
        }
        this.tryWith('new charge point certificate', () => this.d.link.reconnectWith({}, 'new charge point certificate'), {
          commit: () => store!.forgetPrevious(),
          revert: () => {
            store!.restorePrevious();
            this.d.events.report('InvalidChargePointCertificate', 'the TLS connection with the new certificate failed; back to the previous one');
            this.d.link.reconnectWith({}, 'back to the previous charge point certificate');
          },
        });
      },
    };
  }
}
