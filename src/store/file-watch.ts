import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import type { Db } from './db.js';
import { StoreFileGuard, type StoreFileCheck } from './file-guard.js';

/** How often the file's identity is checked (the connectors' housekeeping rate). */
export const STORE_CHECK_INTERVAL_MS = 1000;
/** How soon a restore that failed (disk full, read-only) is tried again. */
export const STORE_RESTORE_RETRY_MS = 30_000;

export interface StoreFileStatus {
  ok: boolean;
  problem?: StoreFileCheck['problem'];
  detail?: string;
  /** The open connection's database was written back to the configured path (ISO time). */
  restoredAt?: string;
  /** Where a file found at the path was kept (never deleted). */
  keptAside?: string;
  lastError?: string;
}

export interface StoreFileWatchOptions {
  db: Db;
  file: string;
  clock: Pick<Clock, 'setTimeout'>;
  log: Logger;
  /** The file is gone, replaced or damaged: charging must stop (fault 'store') until evsed restarts. */
  onLost(check: StoreFileCheck): void;
  /** The database is back at its path: a restart reopens it there (the connection stays on the old file). */
  onRestored(): void;
}

/**
 * Notices when the database file is deleted, moved, replaced or overwritten under the running
 * daemon, which SQLite does not report (it goes on writing to the file it opened, and a restart
 * then opens an empty or foreign store: every session lost without a word).
 *
 * On the first sign: the store fault (onLost), the WAL settled into the open file, then the open
 * connection's whole database written back to the configured path (retried while that fails),
 * and onRestored, upon which the daemon restarts and reopens it. Until the connection closes
 * everything it still records goes on into the old file; before it closes (beforeClose), the copy
 * at the path is written once more, so a clean stop keeps every session. Designed for the rare
 * accident (a technician's rm or mv, a stray cleanup job), not for a disk that fails: that shows
 * in the writes (fault 'store' of the connectors).
 */
export class StoreFileWatch {
  private readonly guard: StoreFileGuard;
  private timer?: { cancel(): void };
  private lost: StoreFileCheck | null = null;
  private restoring: Promise<void> | null = null;
  private readonly state: StoreFileStatus = { ok: true };
  private stopped = false;

  constructor(private readonly o: StoreFileWatchOptions) {
    this.guard = new StoreFileGuard(o.file);
  }

  start(): void {
    this.schedule(STORE_CHECK_INTERVAL_MS);
  }

  status(): StoreFileStatus {
    return { ...this.state };
  }

  /** One check now (the timer's job; tests call it to skip the wait). */
  checkNow(): void {
    if (this.lost || this.stopped) return;
    const found = this.guard.check();
    if (!found) return;
    this.lost = found;
    Object.assign(this.state, { ok: false, problem: found.problem, detail: found.detail });
    this.o.log.error({ problem: found.problem, file: this.o.file }, `${found.detail}: charging stopped; the open database is written back to ${this.o.file} and evsed restarts on it`);
    this.o.onLost(found);
    this.guard.settle(this.o.db);
    void this.restore();
  }

  /** Before the connection closes: once the file was lost, write everything recorded since to the path. */
  async beforeClose(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    if (!this.lost) return;
    await this.restoring; // one copy at a time: both write the same file
    try {
      await this.guard.restore(this.o.db, { swap: false });
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, file: this.o.file }, 'cannot write the open database back to its path before closing: what was recorded since the file was lost is in the lost file only');
    }
  }

  /** After the connection closed: the last copy goes into place; the guard lets go of the file. */
  afterClose(): void {
    try {
      if (this.lost) this.noteKept(this.guard.swapIn());
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, file: this.o.file }, 'cannot move the last copy of the database into place');
    } finally {
      this.guard.close();
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.checkNow();
      if (!this.lost) this.schedule(STORE_CHECK_INTERVAL_MS);
    }, ms);
  }

  private restore(): Promise<void> {
    if (this.restoring || this.stopped) return this.restoring ?? Promise.resolve();
    this.restoring = this.restoreOnce().finally(() => (this.restoring = null));
    return this.restoring;
  }

  private async restoreOnce(): Promise<void> {
    try {
      this.noteKept(await this.guard.restore(this.o.db));
      this.state.restoredAt = new Date().toISOString();
      delete this.state.lastError;
      this.o.log.warn({ file: this.o.file, keptAside: this.state.keptAside }, `the database was written back to ${this.o.file} from the open connection: restarting on it`);
      this.o.onRestored();
    } catch (err) {
      this.state.lastError = (err as Error).message;
      this.o.log.error(
        { err: this.state.lastError, file: this.o.file },
        `cannot write the open database back to ${this.o.file} (retried every ${STORE_RESTORE_RETRY_MS / 1000} s): free space or make the directory writable; until then the store exists only in the file evsed has open`,
      );
      if (!this.stopped) this.timer = this.o.clock.setTimeout(() => void this.restore(), STORE_RESTORE_RETRY_MS);
    }
  }

  private noteKept(r: { keptAside?: string }): void {
    if (!r.keptAside) return;
    this.state.keptAside = r.keptAside;
    this.o.log.warn({ keptAside: r.keptAside }, `the file found at ${this.o.file} was kept as ${r.keptAside}`);
  }
}
