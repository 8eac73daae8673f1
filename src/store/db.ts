import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
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
  if (file !== ':memory:' && !opts.readonly) mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new StoreError(`cannot open store ${file}: ${(err as Error).message}`, 'STORE_OPEN');
  }
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, sets);
  }
  return db;
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
