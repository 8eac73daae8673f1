import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { ocppMigrations } from '../../src/ocpp/migrations.js';

export function tempDir(prefix = 'evsed-ocpp-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openTestDb(dir: string): Db {
  return openDb(join(dir, 'evsed.db'), [coreMigrations, ocppMigrations]);
}
