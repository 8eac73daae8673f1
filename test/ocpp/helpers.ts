import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { createOcppRepositories, ocppMigrations, type OcppRepositories } from '../../src/store/ocpp/index.js';
import type { OcppConfig } from '../../src/config/ocpp.js';

export function tempDir(prefix = 'evsed-ocpp-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openTestDb(dir: string): Db {
  return openDb(join(dir, 'evsed.db'), [coreMigrations, ocppMigrations]);
}

/** The OCPP repositories on `db` with the queue bounds of `ocpp`, as the daemon builds them. */
export function ocppRepositories(db: Db, ocpp: OcppConfig): OcppRepositories {
  return createOcppRepositories(db, { queueBounds: { maxMessages: ocpp.maxQueuedMessages, maxBytes: ocpp.maxQueueBytes } });
}
