import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StationClock, StationPort } from '../../../evse/port.js';
import type { Logger } from '../../../log.js';
import { redactUrlPassword } from '../../../config/secrets.js';
import { BundleRejected, type InstallOutcome, type ReleaseInstaller, type VerifiedBundle } from '../../../maintenance/release/types.js';
import { TransferError, type DownloadRequest, type DownloadResult } from '../../../maintenance/transfer/types.js';
import type { SecurityEvents } from '../security/events.js';
import { cancellable, MAX_INSTALL_TRIES, notificationFor, plainJob, retryable, signedJob, type FirmwareJob } from './job.js';
import type { SignedFirmwareStatus, SignedUpdateFirmwareConf, SignedUpdateFirmwareReq, UpdateFirmwareReq } from './messages.js';
import { checkSigningCertificate, verifyFileSignature, type ManufacturerRoots } from './signature.js';

/** How often the install, once due, looks again whether a transaction still runs. */
export const IDLE_POLL_MS = 5000;
/** The longest single wait (a retrieveDate weeks ahead is waited for in steps: timers overflow past 24.8 days). */
const MAX_SLEEP_MS = 3_600_000;
/** A firmware download larger than this is refused when the configuration names no bound. */
export const DEFAULT_FIRMWARE_MAX_BYTES = 512 * 1024 * 1024;

export type FirmwareNotification = 'FirmwareStatusNotification' | 'SignedFirmwareStatusNotification';

export interface FirmwareUpdaterDeps {
  installer: ReleaseInstaller;
  roots: ManufacturerRoots;
  repo: { load(): unknown; save(job: object | null, also?: () => void): void; nextId(): number };
  /** Queues a status notification in the durable queue (called inside the repository's commit). */
  enqueue(action: FirmwareNotification, payload: Record<string, unknown>): void;
  /** The queue has something new: send it when online. */
  kick(): void;
  /** Sends a triggered status notification now (not queued). */
  sendNow(action: FirmwareNotification, payload: Record<string, unknown>): Promise<void>;
  download(req: DownloadRequest): Promise<DownloadResult>;
  /** Where bundles are downloaded (kept across restarts: a download resumes). */
  dir: string;
  maxBytes: number;
  clock: Pick<StationClock, 'wallMs' | 'setTimeout'>;
  station: Pick<StationPort, 'connectorIds' | 'sessionOn' | 'setAvailability'>;
  /** Gives the connectors back the availability the CSMS set (after an install that did not restart). */
  restoreAvailability(): void;
  security: SecurityEvents;
  /** Restarts the process (the new release starts); the charge point stops cleanly first. */
  restart(why: string): void;
  log: Logger;
}

const PHASES: readonly string[] = ['scheduled', 'downloading', 'downloaded', 'verified', 'installing', 'rebooting'] satisfies FirmwareJob['phase'][];

function isJob(v: unknown): v is FirmwareJob {
  const j = v as Partial<FirmwareJob> | null;
  return typeof j === 'object' && j !== null && typeof j.id === 'number' && (j.kind === 'plain' || j.kind === 'signed') && typeof j.location === 'string' && PHASES.includes(String(j.phase));
}

/** What the handlers see. `start` runs once the answer has left (a status notification must not overtake it). */
export interface FirmwarePort {
  update(req: UpdateFirmwareReq): { accepted: boolean; start?: () => void };
  signedUpdate(req: SignedUpdateFirmwareReq): { status: SignedUpdateFirmwareConf['status']; start?: () => void };
  /** Plain UpdateFirmware is refused (NotSupported) once a ManufacturerRootCertificate is installed (L01.FR.20). */
  plainAllowed(): boolean;
  /** TriggerMessage / ExtendedTriggerMessage FirmwareStatusNotification: the last status of the job, Idle without one. */
  sendStatus(): Promise<void>;
}

/**
 * The firmware job: waits for retrieveDate, downloads (retries, resume after a restart), checks the
 * signature and the bundle, waits until no transaction runs (the connectors are made Unavailable
 * once the install is due, so none starts), stages and activates the release through the
 * ReleaseInstaller and restarts. The new process finds the job in its database and, once the
 * BootNotification is Accepted, confirms the trial release and reports Installed (or the rollback
 * as InstallationFailed). Every status goes through the durable queue in the commit that moves the
 * job on, so the CSMS hears them in order whatever stops the process in between.
 */
export class FirmwareUpdater implements FirmwarePort {
  private job?: FirmwareJob;
  private gen = 0;
  private abort?: AbortController;
  private readonly wakers = new Set<() => void>();
  private availabilityTaken = false;
  /** A trial release waits for the first Accepted BootNotification to be confirmed. */
  private confirmPending = false;
  private stopped = false;
  /** Runs of the job under way, and how many of them wait for a time (quiet() for the status and tests). */
  private driving = 0;
  private sleeping = 0;

  constructor(private readonly d: FirmwareUpdaterDeps) {}

  /** At start: resumes the stored job, or settles how the install before the restart ended. */
  start(): void {
    const { d } = this;
    const raw = d.repo.load();
    let stored: FirmwareJob | undefined;
    if (isJob(raw)) stored = raw;
    else if (raw !== undefined) {
      d.log.error({ stored: raw }, 'firmware: the stored update job is unreadable; dropped');
      d.repo.save(null);
    }
    const outcome = d.installer.outcome();
    this.job = stored;
    if (outcome.kind === 'trial') this.confirmPending = true;
    if (!stored) {
      if (outcome.kind === 'rolled-back') {
        d.log.warn({ failed: outcome.failed, running: outcome.version, reason: outcome.reason }, 'firmware: a release installed without OCPP was rolled back');
        this.forgetOutcome();
      }
      return;
    }
    if (stored.phase === 'installing' || stored.phase === 'rebooting') {
      this.resumeAfterInstall(stored, outcome);
      return;
    }
    d.log.info({ phase: stored.phase, jobId: stored.id }, 'firmware: resuming the update job');
    void this.drive();
  }

  /** The charge point stops (a restart, maybe the one the install asked for): the connectors stay as they are, the next start decides. */
  stop(): void {
    this.stopped = true;
    this.cancelRun({ keepAvailability: true });
  }

  /** The BootNotification was Accepted (after each connect): a trial release has proven itself. */
  async online(): Promise<void> {
    if (!this.confirmPending) return;
    this.confirmPending = false;
    const { d } = this;
    // only the job that switched the release ends here (a trial started by `evsed update` leaves a waiting OCPP job alone)
    const job = this.job && !cancellable(this.job) ? this.job : undefined;
    try {
      await d.installer.confirm();
    } catch (err) {
      d.log.error({ err: (err as Error).message }, 'firmware: the new release could not be confirmed; the boot guard will roll it back');
      if (job) this.finish(job, 'InstallationFailed');
      return;
    }
    const version = d.installer.currentVersion();
    d.log.info({ version }, 'firmware: the new release is confirmed');
    d.security.report('FirmwareUpdated', `firmware updated to ${version}`.slice(0, 255));
    if (job) this.finish(job, 'Installed');
  }

  plainAllowed(): boolean {
    return this.d.roots.pems().length === 0;
  }

  update(req: UpdateFirmwareReq): { accepted: boolean; start?: () => void } {
    if (this.job && !cancellable(this.job)) {
      this.d.log.warn({ phase: this.job.phase }, 'firmware: UpdateFirmware ignored, an install is under way');
      return { accepted: false };
    }
    const job = plainJob(this.d.repo.nextId(), req);
    this.replace(job);
    this.d.log.info({ location: redactUrlPassword(job.location), retrieveDate: req.retrieveDate, attempts: job.attemptsLeft }, 'firmware: UpdateFirmware accepted');
    return { accepted: true, start: () => void this.drive() };
  }

  signedUpdate(req: SignedUpdateFirmwareReq): { status: SignedUpdateFirmwareConf['status']; start?: () => void } {
    const { d } = this;
    const cert = checkSigningCertificate(req.firmware.signingCertificate, d.roots.pems(), d.clock.wallMs());
    if (!cert.ok) {
      d.log.warn({ reason: cert.reason, requestId: req.requestId }, 'firmware: SignedUpdateFirmware refused: signing certificate');
      d.security.report('InvalidFirmwareSigningCertificate', cert.reason.slice(0, 255));
      return { status: 'InvalidCertificate' };
    }
    if (this.job && !cancellable(this.job)) return { status: 'Rejected' };
    const replaced = this.job !== undefined;
    const job = signedJob(d.repo.nextId(), req);
    this.replace(job);
    d.log.info({ location: redactUrlPassword(job.location), requestId: req.requestId, replaced }, 'firmware: SignedUpdateFirmware accepted');
    return {
      status: replaced ? 'AcceptedCanceled' : 'Accepted',
      start: () => {
        if (this.job !== job) return;
        if (job.retrieveAtMs > d.clock.wallMs()) this.step(job, {}, 'DownloadScheduled');
        void this.drive();
      },
    };
  }

  async sendStatus(): Promise<void> {
    const job = this.job;
    const status: SignedFirmwareStatus = job?.lastStatus ?? 'Idle';
    const n = notificationFor(job ?? { kind: 'plain' }, status) ?? { action: 'FirmwareStatusNotification' as const, payload: { status: 'Idle' } };
    await this.d.sendNow(n.action, n.payload);
  }

  /** No step of the job is under way: nothing to do, or waiting for a time (retrieveDate, a retry, an idle station). */
  quiet(): boolean {
    return this.driving === 0 || this.sleeping > 0;
  }

  /** For GET /api/status: the job (no URL: it may carry credentials), or null. */
  status(): Record<string, unknown> | null {
    const j = this.job;
    return j ? { kind: j.kind, phase: j.phase, lastStatus: j.lastStatus ?? null, version: j.version ?? null, ...(j.requestId !== undefined ? { requestId: j.requestId } : {}) } : null;
  }

  /** The job as it stands (status API, tests). */
  current(): Readonly<FirmwareJob> | undefined {
    return this.job;
  }

  // ---------------------------------------------------------------- the job's steps

  private replace(job: FirmwareJob): void {
    const old = this.job;
    this.cancelRun();
    if (old) {
      this.d.log.warn({ jobId: old.id, phase: old.phase }, 'firmware: the running update job is cancelled by a new request');
      this.removeFiles(old);
    }
    this.job = job;
    this.d.repo.save(job);
  }

  private cancelRun(o: { keepAvailability?: boolean } = {}): void {
    this.gen++;
    this.abort?.abort();
    this.abort = undefined;
    for (const w of [...this.wakers]) w();
    this.wakers.clear();
    if (!o.keepAvailability) this.releaseAvailability();
  }

  private live(gen: number, job: FirmwareJob): boolean {
    return !this.stopped && gen === this.gen && this.job === job;
  }

  private async drive(): Promise<void> {
    const job = this.job;
    if (!job) return;
    const gen = this.gen;
    this.driving++;
    try {
      while (this.live(gen, job)) {
        switch (job.phase) {
          case 'scheduled': {
            const wait = job.retrieveAtMs - this.d.clock.wallMs();
            if (wait > 0) await this.sleep(Math.min(wait, MAX_SLEEP_MS));
            else this.step(job, { phase: 'downloading' }, 'Downloading');
            break;
          }
          case 'downloading':
            await this.downloadOnce(job, gen);
            break;
          case 'downloaded':
            await this.verify(job, gen);
            break;
          case 'verified':
            await this.install(job, gen);
            return;
          default:
            return;
        }
      }
    } catch (err) {
      if (!this.live(gen, job)) return;
      this.d.log.error({ err: (err as Error).message, phase: job.phase }, 'firmware: the update job failed');
      this.releaseAvailability();
      this.finish(job, job.phase === 'downloading' || job.phase === 'scheduled' ? 'DownloadFailed' : 'InstallationFailed');
    } finally {
      this.driving--;
    }
  }

  private bundlePath(job: FirmwareJob): string {
    return join(this.d.dir, `firmware-${job.id}.bundle`);
  }

  private async downloadOnce(job: FirmwareJob, gen: number): Promise<void> {
    const { d } = this;
    const abort = (this.abort = new AbortController());
    try {
      // storage.dir/firmware does not exist on a fresh station (only the service user may read bundles).
      mkdirSync(d.dir, { recursive: true, mode: 0o700 });
      const r = await d.download({ url: job.location, dest: this.bundlePath(job), maxBytes: d.maxBytes, signal: abort.signal });
      if (!this.live(gen, job)) return;
      d.log.info({ bytes: r.bytes, resumedFrom: r.resumedFrom }, 'firmware: downloaded');
      this.step(job, { phase: 'downloaded' }, 'Downloaded');
    } catch (err) {
      if (!this.live(gen, job)) return;
      const kind = err instanceof TransferError ? err.kind : 'protocol';
      const attemptsLeft = job.attemptsLeft - 1;
      const again = attemptsLeft > 0 && retryable(kind);
      d.log.warn({ kind, err: (err as Error).message, attemptsLeft, retryInS: again ? job.retryIntervalS : null }, 'firmware: download failed');
      if (!again) {
        this.finish(job, 'DownloadFailed');
        return;
      }
      this.step(job, { attemptsLeft });
      await this.sleep(job.retryIntervalS * 1000);
    } finally {
      if (this.abort === abort) this.abort = undefined;
    }
  }

  private async verify(job: FirmwareJob, gen: number): Promise<void> {
    const { d } = this;
    const file = this.bundlePath(job);
    if (job.kind === 'signed' && !(await verifyFileSignature(file, job.signingCertificate ?? '', job.signature ?? ''))) {
      if (!this.live(gen, job)) return;
      d.log.warn({ requestId: job.requestId }, 'firmware: the signature does not match the file');
      d.security.report('InvalidFirmwareSignature', `SignedUpdateFirmware ${job.requestId}: signature does not match the downloaded file`);
      this.finish(job, 'InvalidSignature');
      return;
    }
    let bundle: VerifiedBundle;
    try {
      bundle = await d.installer.verify(file);
    } catch (err) {
      if (!this.live(gen, job)) return;
      const problem = err instanceof BundleRejected ? err.problem : 'format';
      d.log.warn({ problem, err: (err as Error).message }, 'firmware: the release bundle is refused');
      if (problem === 'signature') {
        d.security.report('InvalidFirmwareSignature', `release bundle signature: ${(err as Error).message}`.slice(0, 255));
        this.finish(job, 'InvalidSignature');
      } else {
        this.finish(job, 'InstallVerificationFailed');
      }
      return;
    }
    if (!this.live(gen, job)) return;
    this.step(job, { phase: 'verified', version: bundle.manifest.version }, job.kind === 'signed' ? 'SignatureVerified' : undefined);
  }

  private busy(): boolean {
    const st = this.d.station;
    return st.connectorIds().some((id) => st.sessionOn(id) !== undefined);
  }

  private async install(job: FirmwareJob, gen: number): Promise<void> {
    const { d } = this;
    while (job.installAtMs !== undefined && job.installAtMs > d.clock.wallMs()) {
      if (job.lastStatus !== 'InstallScheduled') this.step(job, {}, 'InstallScheduled');
      await this.sleep(Math.min(job.installAtMs - d.clock.wallMs(), MAX_SLEEP_MS));
      if (!this.live(gen, job)) return;
    }
    // Due: no new session may start; running ones end by themselves (the driver's choice, not ours).
    this.takeAvailability();
    while (this.busy()) {
      await this.sleep(IDLE_POLL_MS);
      if (!this.live(gen, job)) return;
    }
    // Checked again right before the unpack: the file may have waited days (installDateTime, a long session).
    const verified = await d.installer.verify(this.bundlePath(job)).catch(() => undefined);
    if (!this.live(gen, job)) return;
    if (!verified) {
      this.releaseAvailability();
      this.finish(job, 'InstallVerificationFailed');
      return;
    }
    this.step(job, { phase: 'installing', installTries: job.installTries + 1 }, 'Installing');
    try {
      const staged = await d.installer.stage(verified);
      await d.installer.activate(staged);
    } catch (err) {
      if (!this.live(gen, job)) return;
      d.log.error({ err: (err as Error).message }, 'firmware: install failed; the running release stays');
      this.releaseAvailability();
      this.finish(job, 'InstallationFailed');
      return;
    }
    if (!this.live(gen, job)) return;
    this.step(job, { phase: 'rebooting' }, 'InstallRebooting');
    d.log.warn({ version: job.version }, 'firmware: new release activated; restarting');
    d.restart(`firmware update to ${job.version}`);
  }

  /** The new process: the stored job was installing or rebooting when the old one ended. */
  /** The rollback is reported (its status is in the durable queue): the next start must not report it again. */
  private forgetOutcome(): void {
    this.d.installer.clearOutcome().catch((err: Error) => this.d.log.error({ err: err.message }, 'firmware: the rollback record could not be cleared'));
  }

  private resumeAfterInstall(job: FirmwareJob, outcome: InstallOutcome): void {
    const { d } = this;
    if (outcome.kind === 'trial') {
      d.log.info({ version: outcome.version, previous: outcome.previous }, 'firmware: running the new release on trial until the BootNotification is Accepted');
      return; // online() confirms and reports
    }
    if (outcome.kind === 'rolled-back') {
      d.log.error({ failed: outcome.failed, running: outcome.version, reason: outcome.reason }, 'firmware: the new release failed and was rolled back');
      this.finish(job, 'InstallationFailed');
      this.forgetOutcome();
      return;
    }
    if (job.phase === 'rebooting' && job.version !== undefined && d.installer.currentVersion() === job.version) {
      this.finish(job, 'Installed');
      return;
    }
    if (job.phase === 'installing' && job.installTries < MAX_INSTALL_TRIES) {
      d.log.warn({ tries: job.installTries }, 'firmware: the install was interrupted before the switch; trying again');
      this.step(job, { phase: 'verified' });
      void this.drive();
      return;
    }
    this.finish(job, 'InstallationFailed');
  }

  // ---------------------------------------------------------------- persistence and notifications

  /** Moves the job on and queues the status (if this kind of job has one) in the same commit. */
  private step(job: FirmwareJob, change: Partial<FirmwareJob>, status?: SignedFirmwareStatus): void {
    Object.assign(job, change);
    const n = status ? notificationFor(job, status) : null;
    if (n) job.lastStatus = status;
    this.d.repo.save(job, n ? () => this.d.enqueue(n.action, n.payload) : undefined);
    if (n) this.d.kick();
  }

  /** The job ends with `status`: removed from the store in the commit that queues it. */
  private finish(job: FirmwareJob, status: SignedFirmwareStatus): void {
    const n = notificationFor(job, status);
    this.d.repo.save(null, n ? () => this.d.enqueue(n.action, n.payload) : undefined);
    if (this.job === job) this.job = undefined;
    this.removeFiles(job);
    this.d.log.info({ status, jobId: job.id }, 'firmware: update job ended');
    if (n) this.d.kick();
  }

  private removeFiles(job: FirmwareJob): void {
    const f = this.bundlePath(job);
    for (const p of [f, `${f}.part`]) rmSync(p, { force: true });
  }

  private takeAvailability(): void {
    if (this.availabilityTaken) return;
    this.availabilityTaken = true;
    this.d.station.setAvailability(0, false);
  }

  private releaseAvailability(): void {
    if (!this.availabilityTaken) return;
    this.availabilityTaken = false;
    this.d.station.setAvailability(0, true);
    this.d.restoreAvailability();
  }

  private sleep(ms: number): Promise<void> {
    this.sleeping++;
    return new Promise((resolve) => {
      const wake = () => {
        this.wakers.delete(wake);
        timer.cancel();
        this.sleeping--;
        resolve();
      };
      const timer = this.d.clock.setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
