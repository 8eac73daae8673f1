import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDb } from '../../../src/store/db.js';
import { coreMigrations } from '../../../src/store/core-migrations.js';
import { createOcppRepositories, ocppMigrations } from '../../../src/store/ocpp/index.js';
import { tempDir } from '../helpers.js';

const STAMP = { wallMs: Date.UTC(2026, 11, 1), bootId: 'b', monoMs: 1, quality: 'synced' as const };
const bounds = { queueBounds: { maxMessages: 1000, maxBytes: 1e6 } };
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe('firmware job store and the durable queue', () => {
  it('an existing database (ocpp schema 4) gets the wider queue on upgrade: its rows keep their ids and order, status notifications can follow', () => {
    const tmp = tempDir('evsed-fw-store-');
    cleanup = tmp.cleanup;
    const file = join(tmp.dir, 'evsed.db');
    const v4 = openDb(file, [coreMigrations, { ...ocppMigrations, migrations: ocppMigrations.migrations.filter((m) => m.version <= 4) }]);
    // rows as schema 4 wrote them (the repositories of today need the later tables)
    const insert = v4.prepare(`INSERT INTO ocpp_queue (action, session_id, payload, bytes, thinnable, created_wall_ms, created_boot_id, created_mono_ms, created_quality)
      VALUES (?, 1, '{}', 2, ?, 0, 'boot', 0, 'unsynced')`);
    const a = Number(insert.run('StartTransaction', 0).lastInsertRowid);
    const b = Number(insert.run('MeterValues', 1).lastInsertRowid);
    // what the migration is for: schema 4 refuses anything but transaction messages
    expect(() => insert.run('FirmwareStatusNotification', 0)).toThrow(/CHECK/);
    v4.close();

    const db = openDb(file, [coreMigrations, ocppMigrations]);
    const repos = createOcppRepositories(db, bounds);
    const c = repos.queue.enqueue('FirmwareStatusNotification', null, { status: 'Downloading' }, STAMP);
    const d = repos.queue.enqueue('SignedFirmwareStatusNotification', null, { status: 'Downloaded', requestId: 1 }, STAMP);
    const rows = db.prepare('SELECT id, action, thinnable FROM ocpp_queue ORDER BY id').all();
    expect(rows).toEqual([
      { id: a, action: 'StartTransaction', thinnable: 0 },
      { id: b, action: 'MeterValues', thinnable: 1 },
      { id: c, action: 'FirmwareStatusNotification', thinnable: 0 },
      { id: d, action: 'SignedFirmwareStatusNotification', thinnable: 0 },
    ]);
    expect(c).toBeGreaterThan(b!);
    expect(repos.queue.head()?.id).toBe(a);
    expect(repos.queue.stats().length).toBe(4);
    expect(() => repos.queue.enqueue('Nonsense' as never, null, {}, STAMP)).toThrow(/CHECK/);
    db.close();
  });

  it('the job and the status it queues are one commit', () => {
    const tmp = tempDir('evsed-fw-store-');
    cleanup = tmp.cleanup;
    const db = openDb(join(tmp.dir, 'evsed.db'), [coreMigrations, ocppMigrations]);
    const repos = createOcppRepositories(db, bounds);
    repos.firmwareJob.save({ id: 1, phase: 'scheduled' });
    expect(() => repos.firmwareJob.save({ id: 1, phase: 'downloading' }, () => {
      repos.queue.enqueue('FirmwareStatusNotification', null, { status: 'Downloading' }, STAMP);
      throw new Error('disk full');
    })).toThrow('disk full');
    expect(repos.firmwareJob.load()).toEqual({ id: 1, phase: 'scheduled' });
    expect(repos.queue.stats().length).toBe(0);
    expect([repos.firmwareJob.nextId(), repos.firmwareJob.nextId()]).toEqual([1, 2]);
    repos.firmwareJob.save(null);
    expect(repos.firmwareJob.load()).toBeUndefined();
    db.close();
  });
});
