import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { openDb } from '../../src/store/db.js';
import { tempDir, writeSimConfig } from '../support/station.js';

/**
 * The store holds tag ids and charging times (personal data): its directory and files are
 * owner-only whatever the umask the daemon was started with. Tests run in forks (vitest pool), so
 * the umask can be changed for this file's process.
 */
const mode = (path: string) => statSync(path).mode & 0o777;
const dirs: string[] = [];
let savedUmask: number | undefined;
afterEach(() => {
  if (savedUmask !== undefined) process.umask(savedUmask);
  savedUmask = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function permissiveUmask(): void {
  savedUmask = process.umask(0o000);
}

describe('data directory and database are owner-only', () => {
  it('a daemon started with umask 000 creates storage.dir 0700 and the database, its WAL and shared-memory files 0600', async () => {
    const dir = tempDir('evsed-perm-');
    dirs.push(dir);
    const loaded = loadConfig(writeSimConfig(dir));
    permissiveUmask();
    const d = await startDaemon(loaded, silentLogger());
    try {
      expect(mode(loaded.storageDir).toString(8)).toBe('700');
      for (const f of ['evsed.db', 'evsed.db-wal', 'evsed.db-shm']) expect(`${f} ${mode(join(loaded.storageDir, f)).toString(8)}`).toBe(`${f} 600`);
    } finally {
      await d.stop();
    }
  });

  it('a database file left world-readable by an older version is made owner-only when opened for writing; a directory that already exists is left as it is', () => {
    const dir = tempDir('evsed-perm-');
    dirs.push(dir);
    const data = join(dir, 'data');
    mkdirSync(data);
    chmodSync(data, 0o750); // e.g. systemd's StateDirectory with its own mode
    openDb(join(data, 'evsed.db'), [coreMigrations]).close();
    chmodSync(join(data, 'evsed.db'), 0o644);
    permissiveUmask();
    const db = openDb(join(data, 'evsed.db'), [coreMigrations]);
    try {
      expect(mode(join(data, 'evsed.db')).toString(8)).toBe('600');
      expect(mode(join(data, 'evsed.db-wal')).toString(8)).toBe('600');
      expect(mode(data).toString(8)).toBe('750');
    } finally {
      db.close();
    }
  });

  it('opening read-only (the CLI beside the daemon) changes nothing', () => {
    const dir = tempDir('evsed-perm-');
    dirs.push(dir);
    const file = join(dir, 'evsed.db');
    openDb(file, [coreMigrations]).close();
    chmodSync(file, 0o644);
    openDb(file, [], { readonly: true }).close();
    expect(mode(file).toString(8)).toBe('644');
  });
});
