import { closeSync, openSync, rmSync, statSync, unlinkSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeSimConfig } from '../support/station.js';
import { api, mountTmpfs, plugTagReady, sleep, station, until, type Station } from './helpers.js';

/**
 * Real filesystem faults: a full disk (a small tmpfs filled to the last byte), a store on a
 * read-only filesystem, and a corrupted database file. tmpfs needs root (CAP_SYS_ADMIN); without it
 * those tests are skipped (counted as skipped in the summary, and a line says why). The corrupted
 * file runs everywhere.
 */
const probe = mountTmpfs('1m');
probe?.unmount();
const canMount = probe !== null;
if (!canMount) console.log('SKIPPED: cannot mount tmpfs here (needs root/CAP_SYS_ADMIN): the disk-full and read-only-filesystem tests did not run (store-write failures are covered by write-failures.test.ts)');

let cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Write until the filesystem is full; returns the filler path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // the last bytes too
  const one = Buffer.alloc(512, 0x55);
  try {
    for (;;) writeSync(fd, one);
  } catch {
    /* full */
  } finally {
    closeSync(fd);
  }
  return path;
}

function rows(dbFile: string) {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT id, status, stop_reason, energy_wh FROM sessions ORDER BY id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** The daemon's start-up failure: exit code and the messages of its log lines. */
async function startFails(configFile: string) {
  const r = await runCli(['run', '--config', configFile]);
  const msgs = r.stderr.split('\n').filter(Boolean).map((l) => {
    try {
      return String((JSON.parse(l) as { msg?: string }).msg ?? l);
    } catch {
      return l;
    }
  });
  return { code: r.code, msgs, stderr: r.stderr };
}

describe.skipIf(!canMount)('disk full (tmpfs filled to the last byte; needs root)', () => {
  it('no session starts and the contactor stays open while the disk is full; after space is freed sessions start and everything committed is readable', async () => {
    const fs = mountTmpfs('4m')!;
    cleanups.push(() => fs.unmount());
    const st: Station = await station({ dir: fs.dir });
    cleanups.push(() => st.stop().catch(() => undefined));
    const dbFile = join(fs.dir, 'data', 'evsed.db');

    // A first session recorded before the disk fills.
    await plugTagReady(st);
    await until(() => st.contactorClosed(), 'charging');
    const first = st.daemon.station.connectorView(1)!.session!.id;
    await api(st.base, '/api/connectors/1/sim', { action: 'unplug' });
    await until(() => st.daemon.sessions.get(first)?.status === 'completed', 'first session stopped');
    const closingsBefore = st.closings();

    const filler = fillDisk(fs.dir);
    await plugTagReady(st);
    await sleep(2000);
    expect(st.closings()).toBe(closingsBefore);
    expect(st.contactorClosed()).toBe(false);
    expect(st.daemon.station.connectorView(1)!.session).toBeNull();
    expect(rows(dbFile)).toMatchObject([{ id: first, status: 'completed' }]);

    unlinkSync(filler);
    const tag = await api(st.base, '/api/connectors/1/tag', { idTag: 'TAG-1' });
    expect(tag.status).toBe(200);
    await until(() => st.contactorClosed(), 'charging once space is free');
    await api(st.base, '/api/connectors/1/sim', { action: 'unplug' });
    await until(() => st.daemon.station.connectorView(1)!.session === null, 'second session stopped');
    await st.stop();
    expect(rows(dbFile)).toMatchObject([{ id: first, status: 'completed' }, { status: 'completed', stop_reason: 'EVDisconnected' }]);
  });
});

describe.skipIf(!canMount)('read-only store at start-up (filesystem remounted read-only; needs root)', () => {
  it('regression: evsed run exits non-zero with a message that names the database file and what to do', async () => {
    const fs = mountTmpfs('4m')!;
    cleanups.push(() => fs.unmount());
    const file = writeSimConfig(fs.dir);
    const st = await station({ dir: fs.dir });
    await st.stop();
    fs.remountReadOnly();
    const dbFile = join(fs.dir, 'data', 'evsed.db');
    const r = await startFails(file);
    console.log(`read-only store at start-up: exit ${r.code}: ${r.msgs.join(' | ')}`);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.msgs.some((m) => m.includes(dbFile) && /read-only|permission|writ/i.test(m))).toBe(true);
  });
});

describe('corrupted database file', () => {
  it('regression: evsed run exits non-zero with a message that names the database file and what to do (garbage over the SQLite header)', async () => {
    const dir = tempDir('evsed-corrupt-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = writeSimConfig(dir);
    // A real store first, then its header overwritten (what a torn write on an SD card leaves).
    const st = await station({ dir });
    await st.stop();
    const dbFile = join(dir, 'data', 'evsed.db');
    const fd = openSync(dbFile, 'r+');
    writeSync(fd, Buffer.from('GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE-'), 0, 40, 0);
    closeSync(fd);
    const size = statSync(dbFile).size;

    const r = await startFails(file);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    // The file is left as it was for a technician (never replaced or truncated by a failed start).
    expect(statSync(dbFile).size).toBe(size);
    // Before 596b1df only "cannot start: file is not a database" (no file, no advice).
    expect(r.msgs.some((m) => m.includes(dbFile) && /restore|backup|move|rename|remove|delete/i.test(m))).toBe(true);
  });

  it('a file that is not SQLite at all (random bytes) does not start the daemon and is not overwritten', async () => {
    const dir = tempDir('evsed-corrupt-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = writeSimConfig(dir);
    const dbFile = join(dir, 'data', 'evsed.db');
    const garbage = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131 + 7) & 0xff));
    await import('node:fs').then((m) => m.mkdirSync(join(dir, 'data'), { recursive: true }));
    writeFileSync(dbFile, garbage);
    const r = await startFails(file);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.msgs.some((m) => /not a database|corrupt|malformed/i.test(m))).toBe(true);
    expect(Buffer.compare(await import('node:fs').then((m) => m.readFileSync(dbFile)), garbage)).toBe(0);
  });
});
