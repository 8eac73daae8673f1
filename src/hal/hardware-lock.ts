import { linkSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * One process at a time drives a station's outputs: the daemon (`evsed run`) or the technician's
 * `evsed hw test`. The lock is a Unix socket in the state directory that its holder listens on.
 * It cannot go stale: a holder that died (SIGKILL, OOM, power) leaves a file nobody answers on
 * (ECONNREFUSED), which the next taker replaces; a live holder, even a stopped one, accepts the
 * connection, and says who it is. Taking it is atomic (link(2) of a socket bound under a private
 * name), so two takers cannot both win.
 */

export const HARDWARE_LOCK_FILE = 'hardware.lock';
/** sysexits.h EX_TEMPFAIL: the hardware is busy, try again later (systemd's Restart= does). */
export const EXIT_HARDWARE_BUSY = 75;

export interface LockHolder {
  owner: string;
  pid: number;
  since: string;
}

export class HardwareBusyError extends Error {
  readonly exitCode = EXIT_HARDWARE_BUSY;
  constructor(readonly file: string, readonly holder: LockHolder | undefined) {
    super(
      holder
        ? `the hardware is in use by ${holder.owner} (pid ${holder.pid}, since ${holder.since}; lock ${file})`
        : `the hardware is in use by a process that holds ${file} but does not answer (stopped with SIGSTOP?)`,
    );
  }
}

/** The lock could not be taken, and no live holder answers on it either. */
export class HardwareLockError extends Error {}

export interface HardwareLock {
  readonly file: string;
  /** Gives the lock up (also implied by the process exiting, however it exits). */
  release(): Promise<void>;
}

const ANSWER_TIMEOUT_MS = 500;
/** sizeof(sockaddr_un.sun_path) on Linux, less the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Takes the hardware lock of the state directory `stateDir` for `owner` (e.g. "evsed run"), or throws HardwareBusyError. */
export async function acquireHardwareLock(stateDir: string, owner: string): Promise<HardwareLock> {
  const file = join(stateDir, HARDWARE_LOCK_FILE);
  const holder: LockHolder = { owner, pid: process.pid, since: new Date().toISOString() };
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(`${JSON.stringify(holder)}\n`);
  });
  server.unref();
  const own = join(stateDir, `.${HARDWARE_LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    // libuv cuts a longer path short silently, and would bind (and probe) somewhere else.
    if (Buffer.byteLength(own) > MAX_SOCKET_PATH) throw new Error(`the path is too long for a Unix socket (at most ${MAX_SOCKET_PATH} bytes); use a shorter storage.dir`);
    mkdirSync(stateDir, { recursive: true });
    await listen(server, own);
  } catch (err) {
    // Cannot take it (a read-only or foreign directory, a path too long for a socket); a live holder still answers.
    const found = await probe(file);
    if (found.state === 'alive') throw new HardwareBusyError(file, found.holder);
    throw new HardwareLockError(`cannot take the hardware lock ${file} (storage.dir): ${(err as Error).message}`);
  }
  try {
    const ino = statSync(own).ino;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(own, file);
        return {
          file,
          release: async () => {
            try {
              if (statSync(file).ino === ino) unlinkSync(file);
            } catch {
              /* already gone */
            }
            await new Promise<void>((r) => server.close(() => r()));
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new HardwareLockError(`cannot take the hardware lock ${file}: ${(err as Error).message}`);
      }
      const found = await probe(file);
      if (found.state === 'alive') throw new HardwareBusyError(file, found.holder);
      if (found.state === 'unknown') throw new HardwareLockError(`cannot tell whether another process holds the hardware lock ${file}: ${found.err.message}`);
      if (found.state === 'dead') removeStale(file, found.ino, stateDir);
    }
    throw new HardwareBusyError(file, undefined);
  } catch (err) {
    server.close();
    throw err;
  } finally {
    try {
      unlinkSync(own);
    } catch {
      /* the server never bound it */
    }
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

type Probe = { state: 'alive'; holder?: LockHolder } | { state: 'dead'; ino: number } | { state: 'gone' } | { state: 'unknown'; err: Error };

/** Who, if anyone, listens on the lock file. */
function probe(file: string): Promise<Probe> {
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH) return Promise.resolve({ state: 'gone' }); // nobody can listen there
  let ino: number;
  try {
    ino = statSync(file).ino;
  } catch {
    return Promise.resolve({ state: 'gone' });
  }
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(file);
    const done = (p: Probe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(p);
    };
    // Connected but silent: a stopped holder still holds the hardware.
    const timer = setTimeout(() => done({ state: 'alive' }), ANSWER_TIMEOUT_MS);
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', () => {
      try {
        done({ state: 'alive', holder: JSON.parse(text) as LockHolder });
      } catch {
        done({ state: 'alive' });
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') done({ state: 'gone' });
      else if (err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') done({ state: 'dead', ino });
      // Cannot tell (EACCES: another user's state directory): never take the hardware on a guess.
      else done({ state: 'unknown', err });
    });
  });
}

/**
 * Removes a dead holder's lock file, but only that file: it is renamed aside first and checked to
 * be the inode found dead, so a lock another taker created in the meantime is put back, not lost.
 */
function removeStale(file: string, deadIno: number, dir: string): void {
  const grave = join(dir, `.${HARDWARE_LOCK_FILE}.stale.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    renameSync(file, grave);
  } catch {
    return; // someone else removed it
  }
  try {
    if (statSync(grave).ino !== deadIno) linkSync(grave, file);
  } catch {
    /* a third lock appeared meanwhile: that one wins */
  }
  unlinkSync(grave);
}
