import { existsSync, writeFileSync } from 'node:fs';
import { silentLogger } from '../../../src/log.js';
import { TransferError, type DownloadRequest, type DownloadResult } from '../../../src/maintenance/transfer/types.js';
import { createOcppRepositories, type OcppRepositories } from '../../../src/store/ocpp/index.js';
import type { Db } from '../../../src/store/db.js';
import { FirmwareUpdater } from '../../../src/ocpp/v16/firmware/updater.js';
import type { SecurityEventType } from '../../../src/ocpp/v16/security/events.js';
import { FakeStation } from '../fake-station.js';
import { TestClock } from '../handlers/fixture.js';
import { openTestDb, tempDir } from '../helpers.js';
import { FakeInstaller } from './support.js';

export interface Download {
  url: string;
  dest: string;
  maxBytes: number;
  /** mono ms of the fake clock when it started */
  atMs: number;
  /** the .part file existed when it started (a resumed download) */
  resumed: boolean;
}

/**
 * The firmware job on a fake clock: real SQLite (job store, durable queue), a FakeStation, a fake
 * installer, and a download that serves `files` by URL (failing as the test says, or hanging).
 * `restart()` is a new process on the same database: a new updater finds the stored job.
 */
export class UpdaterRig {
  readonly tmp = tempDir('evsed-fw-');
  db: Db;
  repos: OcppRepositories;
  readonly clock = new TestClock();
  station: FakeStation;
  readonly installer = new FakeInstaller();
  readonly roots: string[] = [];
  readonly files = new Map<string, Buffer>();
  readonly downloads: Download[] = [];
  readonly security: { type: SecurityEventType; techInfo?: string }[] = [];
  readonly restarts: string[] = [];
  readonly sentNow: { action: string; payload: Record<string, unknown> }[] = [];
  /** The next n downloads fail with this kind. */
  failures: TransferError['kind'][] = [];
  /** Downloads never end (a power cut comes first). */
  hang = false;
  updater!: FirmwareUpdater;

  constructor() {
    this.db = openTestDb(this.tmp.dir);
    this.repos = createOcppRepositories(this.db, { queueBounds: { maxMessages: 1000, maxBytes: 1e6 } });
    this.station = new FakeStation(this.db, { clock: this.clock });
    this.updater = this.make();
  }

  make(): FirmwareUpdater {
    const u = new FirmwareUpdater({
      installer: this.installer,
      roots: { pems: () => this.roots },
      repo: this.repos.firmwareJob,
      enqueue: (action, payload) => void this.repos.queue.enqueue(action, null, payload, this.clock.stamp()),
      kick: () => undefined,
      sendNow: async (action, payload) => void this.sentNow.push({ action, payload }),
      download: (req) => this.download(req),
      dir: this.tmp.dir,
      maxBytes: 1_000_000,
      clock: this.clock,
      station: this.station,
      restoreAvailability: () => undefined,
      security: { report: (type, techInfo) => void this.security.push({ type, techInfo }) },
      restart: (why) => void this.restarts.push(why),
      log: silentLogger(),
    });
    return u;
  }

  private async download(req: DownloadRequest): Promise<DownloadResult> {
    this.downloads.push({ url: req.url, dest: req.dest, maxBytes: req.maxBytes, atMs: this.clock.monoMs(), resumed: existsSync(`${req.dest}.part`) });
    if (this.hang) {
      writeFileSync(`${req.dest}.part`, 'partial');
      this.hanging++;
      return new Promise((_resolve, reject) => req.signal?.addEventListener('abort', () => {
        this.hanging--;
        reject(new TransferError('aborted', 'aborted'));
      }));
    }
    const fail = this.failures.shift();
    if (fail) throw new TransferError(fail, `download failed: ${fail}`);
    const body = this.files.get(req.url);
    if (!body) throw new TransferError('not-found', '404');
    writeFileSync(req.dest, body);
    return { bytes: body.length, resumedFrom: 0 };
  }

  /** The statuses queued for the CSMS, in order: [action, status, requestId?]. */
  queued(): string[] {
    return (this.db.prepare('SELECT action, payload FROM ocpp_queue ORDER BY id').all() as { action: string; payload: string }[]).map((r) => {
      const p = JSON.parse(r.payload) as { status: string; requestId?: number };
      return `${r.action === 'SignedFirmwareStatusNotification' ? 'signed ' : ''}${p.status}${p.requestId !== undefined ? ` #${p.requestId}` : ''}`;
    });
  }

  payloads(): { action: string; payload: unknown }[] {
    return (this.db.prepare('SELECT action, payload FROM ocpp_queue ORDER BY id').all() as { action: string; payload: string }[]).map((r) => ({ action: r.action, payload: JSON.parse(r.payload) }));
  }

  /** A download handed out that never ends (hang). */
  private hanging = 0;

  /** Until the job has done what it can without the clock moving on (it waits for a time, hangs in a download, or has ended). */
  async settle(): Promise<void> {
    const end = Date.now() + 10_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1));
      if (this.updater.quiet() || this.hanging > 0) return;
      if (Date.now() > end) throw new Error('the firmware job did not settle');
    }
  }

  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  /** A new process on the same database and download directory (the installer says what it found). */
  async restart(o: { crash?: boolean } = {}): Promise<void> {
    this.updater.stop();
    this.installer.reboot(o);
    this.db.close();
    this.db = openTestDb(this.tmp.dir);
    this.repos = createOcppRepositories(this.db, { queueBounds: { maxMessages: 1000, maxBytes: 1e6 } });
    this.station = new FakeStation(this.db, { clock: this.clock });
    this.updater = this.make();
    this.updater.start();
    await this.settle();
  }

  cleanup(): void {
    this.updater.stop();
    this.db.close();
    this.tmp.cleanup();
  }
}
