import Database from 'better-sqlite3';
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Db } from './db.js';

/**
 * What happened to the database file under a running daemon. SQLite keeps working on the inode it
 * opened whatever becomes of its name, so none of these shows as an error by itself:
 * - `deleted`: the name is gone and so is the file (only the open connection still has it);
 * - `moved`: the name is gone, the file lives on under another name;
 * - `replaced`: another file has the name;
 * - `damaged`: the same file, but its first bytes are no SQLite header any more (overwritten in place).
 */
export type StoreFileProblem = 'deleted' | 'moved' | 'replaced' | 'damaged';

export interface StoreFileCheck {
  problem: StoreFileProblem;
  detail: string;
}

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** A file system stamp for names of kept files: 2026-12-03T16-20-01-123Z. */
const stampNow = () => new Date().toISOString().replace(/[:.]/g, '-');

/**
 * Watches the identity of the database file the daemon opened (device and inode, and the SQLite
 * header) and can write the open connection's database back to the configured path.
 *
 * It keeps its own read-only descriptor of the file, opened after SQLite's and closed only after
 * the connection: closing any other descriptor of the file would drop SQLite's POSIX locks.
 */
export class StoreFileGuard {
  private fd: number | null;
  private readonly dev: number;
  private readonly ino: number;
  /** The inode of the copy this guard put at the path (not a stranger's file to keep aside). */
  private restoredIno: number | null = null;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    const st = fstatSync(this.fd);
    this.dev = st.dev;
    this.ino = st.ino;
  }

  /**
   * One stat of the path, one fstat and a 16-byte read of the open file: no write, cheap enough for
   * every housekeeping tick on an SD card. Null when the file at the path is the one in use.
   */
  check(): StoreFileCheck | null {
    if (this.fd === null) return null;
    let st;
    try {
      st = statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null; // an I/O error shows in the writes
      return fstatSync(this.fd).nlink === 0
        ? { problem: 'deleted', detail: `the database file ${this.file} was deleted while evsed had it open` }
        : { problem: 'moved', detail: `the database file ${this.file} was moved or renamed while evsed had it open` };
    }
    if (st.ino !== this.ino || st.dev !== this.dev) {
      if (st.ino === this.restoredIno) return null;
      return { problem: 'replaced', detail: `another file was put at ${this.file} while evsed had the database open` };
    }
    const head = Buffer.alloc(HEADER.length);
    const n = readSync(this.fd, head, 0, head.length, 0);
    if (n < head.length || !head.equals(HEADER)) {
      return { problem: 'damaged', detail: `the database file ${this.file} was overwritten while evsed had it open (no SQLite header any more)` };
    }
    return null;
  }

  /**
   * Before the first copy: no more checkpoints on this connection until it closes. The WAL then
   * only grows, so if the power fails before the restart, the copy at the path with the WAL left
   * beside it (when only the main file was deleted) replays to exactly what the connection had
   * committed. A checkpoint after the copy would move changes into the lost file and restart the
   * WAL without them.
   */
  settle(db: Db): void {
    db.pragma('wal_autocheckpoint = 0');
  }

  /**
   * Write the open connection's database (SQLite's online backup: consistent, in steps between
   * other work) to a file beside the configured path, check it, keep whatever a
   * stranger put at the path under another name (never deleted), and move the copy into place.
   * With `swap: false` the copy is only written and checked; swapIn() moves it (after the
   * connection closed: closing it removes the -wal and -shm files by name).
   */
  async restore(db: Db, opts: { swap?: boolean } = {}): Promise<{ keptAside?: string }> {
    const tmp = join(dirname(this.file), `.${basename(this.file)}.restoring`);
    rmSync(tmp, { force: true });
    await db.backup(tmp);
    // A cheap check that the copy is this database (a full quick_check would block the event loop
    // for long on a big store): it opens, and holds as many sessions as the connection.
    const count = 'SELECT count(*) FROM sessions';
    const copy = new Database(tmp, { readonly: true });
    try {
      const want = db.prepare(count).pluck().get();
      const got = copy.prepare(count).pluck().get();
      if (got !== want) throw new Error(`the copy read from the open connection holds ${got} sessions, the connection ${want}`);
    } finally {
      copy.close();
    }
    // Off the event loop: flushing megabytes to an SD card can take seconds.
    const handle = await open(tmp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return opts.swap === false ? {} : this.swapIn();
  }

  /** Moves the copy written by restore() to the configured path; whatever else is there is kept aside. */
  swapIn(): { keptAside?: string } {
    const tmp = join(dirname(this.file), `.${basename(this.file)}.restoring`);
    if (!existsSync(tmp)) return {};
    let keptAside: string | undefined;
    let there: number | undefined;
    try {
      there = statSync(this.file).ino;
    } catch {
      there = undefined;
    }
    if (there !== undefined && there !== this.restoredIno) {
      keptAside = `${this.file}.${there === this.ino ? 'damaged' : 'replaced'}-${stampNow()}`;
      renameSync(this.file, keptAside);
    }
    renameSync(tmp, this.file);
    this.restoredIno = statSync(this.file).ino;
    syncFile(dirname(this.file));
    return { keptAside };
  }

  /** After the connection is closed. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
