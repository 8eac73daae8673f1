import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../log.js';
import { archiveName, type ArchiveRequest, type ArchiveResult } from '../../../maintenance/diagnostics/archive.js';
import { windowOf, type TimeWindow } from '../../../maintenance/diagnostics/window.js';
import { TransferError, type UploadRequest } from '../../../maintenance/transfer/types.js';
import type { DiagnosticsStatus, GetDiagnosticsConf, GetDiagnosticsReq, GetLogConf, GetLogReq, UploadLogStatus } from './messages.js';

/** Retries when the request gives none (S16 §6.28: the charge point decides), and their interval. */
export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_INTERVAL_S = 60;
/** Bounds on what a request may ask: a CSMS cannot keep the station uploading for days. */
export const MAX_RETRIES = 10;
export const MAX_RETRY_INTERVAL_S = 3600;

/** The marker of an upload under way: found at start, the upload was cut short by a crash and the CSMS hears it failed. */
const RUNNING_MARKER = 'upload-running.json';

export type StatusAction = 'DiagnosticsStatusNotification' | 'LogStatusNotification';

export interface DiagnosticsUploadsDeps {
  /** Builds the archive (maintenance/diagnostics DiagnosticsCollector.build). */
  build(req: ArchiveRequest): Promise<ArchiveResult>;
  /** maintenance/transfer upload. */
  upload(req: UploadRequest): Promise<void>;
  /** Queues a status notification in the durable queue (in order with everything else; survives a restart). */
  enqueue(action: StatusAction, payload: Record<string, unknown>): void;
  /** Sends a status now (TriggerMessage / ExtendedTriggerMessage). */
  sendTriggered(action: StatusAction, payload: Record<string, unknown>): Promise<void>;
  /** Waits `ms` on the station's clock; resolves at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  wallMs(): number;
  stationId: string;
  /** The station's own directory for archives (in storage.dir). */
  dir: string;
  /** The security log's lines of a window (GetLog SecurityLog). */
  securityLog(from?: Date, to?: Date): string[];
  /** Secrets the archive must not hold that only OCPP knows (the AuthorizationKey the CSMS set). */
  secrets(): string[];
  log: Logger;
}

/** What the handlers use: each request answers now and starts its upload once the answer is out. */
export interface DiagnosticsPort {
  getDiagnostics(req: GetDiagnosticsReq): { conf: GetDiagnosticsConf; start(): void };
  getLog(req: GetLogReq): { conf: GetLogConf; start?(): void };
  /** TriggerMessage DiagnosticsStatusNotification: Uploading while a diagnostics upload runs, else Idle. */
  sendDiagnosticsStatus(): Promise<void>;
  /** ExtendedTriggerMessage LogStatusNotification: Uploading with its requestId while a log upload runs, else Idle. */
  sendLogStatus(): Promise<void>;
}

interface Job {
  kind: 'diagnostics' | 'log';
  requestId?: number;
  securityLog: boolean;
  location: string;
  fileName: string;
  window: TimeWindow;
  attempts: number;
  retryIntervalMs: number;
  abort: AbortController;
  /** Uploading was queued: the job owes the CSMS an end. */
  uploading: boolean;
  done?: Promise<void>;
}

/** A location the transfer can use at all (scheme and form); reachability is learnt by trying. */
export function usableLocation(location: string): boolean {
  try {
    const u = new URL(location);
    return ['ftp:', 'ftps:', 'http:', 'https:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * GetDiagnostics and GetLog: one upload at a time (a new request cancels the running one, which
 * ends with its failure status if it had said Uploading). Each builds the bounded archive, queues
 * Uploading, tries the upload `1 + retries` times `retryInterval` apart, and queues Uploaded or the
 * failure. The statuses go through the durable queue, so they reach the CSMS in order even across
 * a reconnect or a restart; an upload cut short by a crash is reported failed at the next start.
 */
export class DiagnosticsUploads implements DiagnosticsPort {
  private current?: Job;
  private stopped = false;

  constructor(private readonly d: DiagnosticsUploadsDeps) {}

  /** At start: an upload the last run did not finish (a crash, a power cut) is reported failed, and its archive removed. */
  async recover(): Promise<void> {
    for (const f of await readdir(this.d.dir).catch(() => [] as string[])) {
      if (f.endsWith('.tar.gz') || f.startsWith('.staging-')) await rm(join(this.d.dir, f), { recursive: true, force: true });
    }
    const path = join(this.d.dir, RUNNING_MARKER);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    try {
      const j = JSON.parse(text) as { kind: Job['kind']; requestId?: number; fileName?: string };
      this.d.log.warn({ fileName: j.fileName, requestId: j.requestId }, 'OCPP: an upload of the last run did not finish: reported failed');
      this.enqueueEnd({ kind: j.kind, ...(j.requestId !== undefined ? { requestId: j.requestId } : {}) }, 'failed');
    } catch {
      /* unreadable marker: nothing to report */
    }
    await rm(path, { force: true });
  }

  getDiagnostics(req: GetDiagnosticsReq): { conf: GetDiagnosticsConf; start(): void } {
    const fileName = archiveName('diagnostics', this.d.stationId, this.d.wallMs());
    const job = this.job('diagnostics', req.location, fileName, windowOf(req.startTime, req.stopTime), req);
    return { conf: { fileName }, start: () => this.begin(job) };
  }

  getLog(req: GetLogReq): { conf: GetLogConf; start?(): void } {
    if (!usableLocation(req.log.remoteLocation)) return { conf: { status: 'Rejected' } };
    const security = req.logType === 'SecurityLog';
    const filename = archiveName(security ? 'security-log' : 'diagnostics', this.d.stationId, this.d.wallMs());
    const job = this.job('log', req.log.remoteLocation, filename, windowOf(req.log.oldestTimestamp, req.log.latestTimestamp), req);
    job.requestId = req.requestId;
    job.securityLog = security;
    const canceling = this.current !== undefined;
    return { conf: { status: canceling ? 'AcceptedCanceled' : 'Accepted', filename }, start: () => this.begin(job) };
  }

  async sendDiagnosticsStatus(): Promise<void> {
    const j = this.current;
    const status: DiagnosticsStatus = j?.kind === 'diagnostics' && j.uploading ? 'Uploading' : 'Idle';
    await this.d.sendTriggered('DiagnosticsStatusNotification', { status });
  }

  async sendLogStatus(): Promise<void> {
    const j = this.current;
    await this.d.sendTriggered('LogStatusNotification', j?.kind === 'log' && j.uploading ? { status: 'Uploading', requestId: j.requestId } : { status: 'Idle' });
  }

  /** Stops the running upload; it ends as failed (queued: the CSMS hears it after the restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    const j = this.current;
    if (!j) return;
    j.abort.abort();
    await j.done?.catch(() => undefined);
  }

  private job(kind: Job['kind'], location: string, fileName: string, window: TimeWindow, req: { retries?: number; retryInterval?: number }): Job {
    const retries = Math.min(Math.max(0, req.retries ?? DEFAULT_RETRIES), MAX_RETRIES);
    const intervalS = Math.min(Math.max(0, req.retryInterval ?? DEFAULT_RETRY_INTERVAL_S), MAX_RETRY_INTERVAL_S);
    return { kind, securityLog: false, location, fileName, window, attempts: 1 + retries, retryIntervalMs: intervalS * 1000, abort: new AbortController(), uploading: false };
  }

  private begin(job: Job): void {
    if (this.stopped) return;
    const prev = this.current;
    this.current = job;
    job.done = (async () => {
      if (prev) {
        this.d.log.info({ fileName: prev.fileName, requestId: prev.requestId }, 'OCPP: a new diagnostics/log request cancels the running upload');
        prev.abort.abort();
        await prev.done?.catch(() => undefined);
      }
      try {
        await this.run(job);
      } catch (err) {
        this.d.log.error({ err: (err as Error).message }, 'OCPP: diagnostics upload failed unexpectedly');
        if (job.uploading) await this.end(job, 'failed');
      } finally {
        if (this.current === job) this.current = undefined;
      }
    })();
  }

  private async run(job: Job): Promise<void> {
    const { d } = this;
    const log = d.log.child({ fileName: job.fileName, ...(job.requestId !== undefined ? { requestId: job.requestId } : {}) });
    if (!usableLocation(job.location)) {
      // nothing can be uploaded there: the end at once, no Uploading
      log.warn('OCPP: diagnostics location is not an ftp/ftps/http/https URL: UploadFailed');
      this.enqueueEnd(job, 'failed');
      return;
    }
    let built: ArchiveResult;
    try {
      built = await d.build({
        kind: job.securityLog ? 'security-log' : 'diagnostics',
        window: job.window,
        dir: d.dir,
        fileName: job.fileName,
        secrets: d.secrets(),
        ...(job.securityLog ? { securityLog: d.securityLog(date(job.window.fromMs), date(job.window.toMs)) } : {}),
      });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'OCPP: the diagnostics archive could not be made');
      if (!job.abort.signal.aborted) this.enqueueEnd(job, 'failed');
      return;
    }
    try {
      if (job.abort.signal.aborted) return;
      await writeFile(join(d.dir, RUNNING_MARKER), JSON.stringify({ kind: job.kind, requestId: job.requestId, fileName: job.fileName }));
      job.uploading = true;
      this.status(job, 'Uploading');
      let last: unknown;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.uploadOnce(job, built.path);
          log.info({ attempt, parts: built.parts }, 'OCPP: diagnostics uploaded');
          await this.end(job, 'done');
          return;
        } catch (err) {
          last = err;
          if (job.abort.signal.aborted) break;
          log.warn({ attempt, of: job.attempts, err: (err as Error).message }, 'OCPP: diagnostics upload attempt failed');
          if (attempt >= job.attempts || (err instanceof TransferError && err.kind === 'bad-url')) break;
          await d.sleep(job.retryIntervalMs, job.abort.signal);
          if (job.abort.signal.aborted) break;
        }
      }
      await this.end(job, last instanceof TransferError && last.kind === 'permission' ? 'permission' : 'failed');
    } finally {
      await rm(built.path, { force: true });
    }
  }

  /** PUT (the usual for 1.6 backends); a server that refuses PUT with 405 gets a multipart POST. */
  private async uploadOnce(job: Job, file: string): Promise<void> {
    const req: UploadRequest = { url: job.location, file, fileName: job.fileName, signal: job.abort.signal };
    try {
      await this.d.upload(req);
    } catch (err) {
      const http = /^https?:/i.test(job.location);
      if (!http || !(err instanceof TransferError) || err.httpStatus !== 405) throw err;
      await this.d.upload({ ...req, method: 'POST' });
    }
  }

  private async end(job: Job, how: 'done' | 'failed' | 'permission'): Promise<void> {
    job.uploading = false;
    this.enqueueEnd(job, how);
    await rm(join(this.d.dir, RUNNING_MARKER), { force: true });
  }

  private enqueueEnd(job: Pick<Job, 'kind' | 'requestId'>, how: 'done' | 'failed' | 'permission'): void {
    if (job.kind === 'diagnostics') this.status(job, how === 'done' ? 'Uploaded' : 'UploadFailed');
    else this.status(job, how === 'done' ? 'Uploaded' : how === 'permission' ? 'PermissionDenied' : 'UploadFailure');
  }

  private status(job: Pick<Job, 'kind' | 'requestId'>, status: DiagnosticsStatus | UploadLogStatus): void {
    if (job.kind === 'diagnostics') this.d.enqueue('DiagnosticsStatusNotification', { status });
    else this.d.enqueue('LogStatusNotification', { status, ...(job.requestId !== undefined ? { requestId: job.requestId } : {}) });
  }
}

function date(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}
