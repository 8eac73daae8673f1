import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/**
 * A versioned schema change. Migrations are grouped by module (`core`, `ocpp`, `billing`...), each
 * group numbered from 1, so a feature adds its tables without editing anyone else's list.
 * Applied in one transaction each; `schema_migrations` records what ran.
 */
export interface Migration {
  version: number;
  name: string;
  up: (db: Db) => void;
}

export interface MigrationSet {
  module: string;
  migrations: Migration[];
}

export class StoreError extends Error {
  constructor(message: string, readonly code: 'STORE_OPEN' | 'STORE_MIGRATE' | 'STORE_WRITE') {
    super(message);
  }
}

/**
 * Open the station database: WAL (readers never block the writer, crash-safe), synchronous=FULL so
 * every commit survives power loss (commits are rare: session start/stop and batched samples),
 * a busy timeout for the CLI reading beside the daemon.
 */
export function openDb(file: string, sets: MigrationSet[], opts: { readonly?: boolean } = {}): Db {
  let db: Db | undefined;
  try {
    if (file !== ':memory:' && !opts.readonly) ownerOnly(file);
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // A damaged file is found here, not at the first session: refuse to start on it.
      const check = db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') throw new Error(`integrity check failed: ${check}`);
      migrate(db, sets);
    }
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open store ${file}: ${(err as Error).message}. ${adviceFor(err as NodeJS.ErrnoException, file)}`, 'STORE_OPEN');
  }
}

/**
 * The store holds tag ids and charging times: its directory (when evsed creates it) is 0700 and the
 * database 0600, whatever the umask. SQLite would create the file 0644 (fchmod'ed past the umask)
 * and gives its -wal and -shm files the database file's mode, so the file is made here first.
 * An existing directory keeps its mode (systemd's StateDirectoryMode, an installer's choice); an
 * existing database of an older version is tightened.
 */
function ownerOnly(file: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      // not ours to change (another owner): SQLite says what it cannot open, if anything
    }
  }
  if (!existsSync(file)) {
    // An empty file is an empty SQLite database. 'wx': never truncate one that appeared meanwhile.
    const fd = openSync(file, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  }
}

/** What a technician should do about a store that cannot be opened. The file itself is never touched. */
function adviceFor(err: NodeJS.ErrnoException, file: string): string {
  const msg = `${err.code ?? ''} ${err.message}`;
  if (/READONLY|EROFS|EACCES|EPERM|readonly|permission/i.test(msg)) {
    return `The store must be writable: check that the filesystem is mounted read-write and that the evsed user owns ${dirname(file)}.`;
  }
  if (/FULL|ENOSPC|full/i.test(msg)) return `The disk is full: free space on the filesystem of ${dirname(file)}.`;
  if (/NOTADB|CORRUPT|malformed|not a database|integrity/i.test(msg)) {
    return `The file is damaged: stop evsed, move it aside (mv ${file} ${file}.damaged, with its -wal and -shm files) and restore a backup, or start with an empty store; keep the damaged file for recovery.`;
  }
  return `Check that ${dirname(file)} exists and is writable by the evsed user.`;
}

export function migrate(db: Db, sets: MigrationSet[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL,
    PRIMARY KEY (module, version))`);
  const applied = db.prepare('SELECT version FROM schema_migrations WHERE module = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (module, version, name, applied_at_ms) VALUES (?, ?, ?, ?)');
  for (const set of sets) {
    const done = new Set(applied.all(set.module) as number[]);
    const sorted = [...set.migrations].sort((a, b) => a.version - b.version);
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      try {
        db.transaction(() => {
          m.up(db);
          record.run(set.module, m.version, m.name, Date.now());
        })();
      } catch (err) {
        throw new StoreError(
          `migration ${set.module}#${m.version} (${m.name}) failed: ${(err as Error).message}`,
          'STORE_MIGRATE',
        );
      }
    }
  }
}
