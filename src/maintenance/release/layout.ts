import { existsSync, fsyncSync, mkdirSync, openSync, closeSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Where releases live on the device and the update state the boot guard shares with the installer.
 *
 *   <root>/releases/<version>/   one unpacked release each (dist/src, node_modules, ...)
 *   <root>/current               a relative symlink releases/<version>: what the unit runs
 *   <storage.dir>/update/trial   the release on trial (key=value lines: version, previous, maxStarts, starts)
 *   <storage.dir>/update/outcome a rollback not yet reported (kind, failed, version, reason)
 *   <storage.dir>/update/previous the release to go back to (one line)
 *
 * The key=value files are read and written by systemd/evsed-boot-guard (sh) too: one `key=value`
 * per line, values without newlines, written to a temp file and renamed.
 */
export const RELEASE_ENTRY = 'dist/src/cli/main.js';

export class ReleaseLayout {
  readonly releases: string;
  readonly current: string;
  readonly stateDir: string;

  constructor(readonly root: string, storageDir: string) {
    this.releases = join(root, 'releases');
    this.current = join(root, 'current');
    this.stateDir = join(storageDir, 'update');
  }

  dir(version: string): string {
    return join(this.releases, version);
  }

  /** The version `current` points to; undefined without a link. */
  currentTarget(): string | undefined {
    try {
      return basename(readlinkSync(this.current));
    } catch {
      return undefined;
    }
  }

  /** Does `version` look startable (its entry script is there)? */
  complete(version: string | undefined): boolean {
    return version !== undefined && version !== '' && existsSync(join(this.dir(version), RELEASE_ENTRY));
  }

  /** Points `current` at `version` atomically: a new link under a temp name renamed over the old one. */
  switchTo(version: string, beforeRename?: () => void): void {
    const tmp = `${this.current}.tmp`;
    rmSync(tmp, { force: true });
    symlinkSync(join('releases', version), tmp);
    beforeRename?.();
    renameSync(tmp, this.current);
    syncDir(this.root);
  }

  readState(name: 'trial' | 'outcome'): Record<string, string> | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.stateDir, name), 'utf8');
    } catch {
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  writeState(name: 'trial' | 'outcome', values: Record<string, string | number>): void {
    const text = Object.entries(values).map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ')}\n`).join('');
    writeAtomic(join(this.stateDir, name), text);
  }

  readPrevious(): string | undefined {
    try {
      return readFileSync(join(this.stateDir, 'previous'), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  writePrevious(version: string): void {
    writeAtomic(join(this.stateDir, 'previous'), `${version}\n`);
  }

  remove(name: 'trial' | 'outcome' | 'previous'): void {
    rmSync(join(this.stateDir, name), { force: true });
    syncDir(this.stateDir);
  }
}

/** Written whole or not at all, and on the disk before this returns (a power cut follows updates). */
export function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDir(dirname(file));
}

export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* a directory that cannot be synced (some file systems): the rename still holds once written back */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
