import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnDaemon, type DaemonProcess } from '../support/station.js';
import { api, captureLogger, plugTagReady, station, until, type Station } from './helpers.js';

/**
 * The database file deleted, moved, replaced or overwritten under the running daemon (issue 12).
 * SQLite goes on writing to the file it opened: before, the daemon showed sessions as completed and
 * a restart opened an empty store, every session gone. Now the store notices (inode and header),
 * stops charging (fault 'store'), writes the open database back to its path, and after the restart
 * every session is there.
 */
let stations: Station[] = [];
let daemon: DaemonProcess | undefined;
const dirs: string[] = [];
afterEach(async () => {
  for (const s of stations) await s.stop().catch(() => undefined);
  stations = [];
  if (daemon && daemon.proc.exitCode === null) await daemon.kill();
  daemon = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Row = { id: number; status: string; stop_reason: string | null; energy_wh: number | null; checkpoint_energy_wh: number; recovered: number };

function rowsIn(file: string): Row[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT id, status, stop_reason, energy_wh, checkpoint_energy_wh, recovered FROM sessions ORDER BY id').all() as Row[];
  } finally {
    db.close();
  }
}

async function open(): Promise<{ st: Station; lines: Record<string, unknown>[]; file: string; restarts: string[] }> {
  const { log, lines } = captureLogger();
  const st = await station({ log });
  stations.push(st);
  dirs.push(st.dir);
  const restarts: string[] = [];
  st.daemon.onRestart((why) => restarts.push(why));
  return { st, lines, file: join(st.dir, 'data', 'evsed.db'), restarts };
}

/** One completed session, then a second one charging with energy committed. */
async function completedThenCharging(st: Station, lines: Record<string, unknown>[]): Promise<{ first: number; second: number }> {
  try {
    return await twoSessions(st);
  } catch (err) {
    // What the daemon did, for a failure that only shows under load.
    const v = st.daemon.station.connectorView(1)!;
    const log = lines.slice(-15).map((l) => `${String(l.msg)} ${JSON.stringify({ ...l, msg: undefined, time: undefined, pid: undefined, hostname: undefined, level: undefined })}`);
    throw new Error(`${(err as Error).message}\nconnector: ${JSON.stringify({ status: v.status, pilot: v.pilot, faults: v.faults, contactor: v.contactorClosed })}\n${log.join('\n')}`);
  }
}

async function twoSessions(st: Station): Promise<{ first: number; second: number }> {
  await plugTagReady(st);
  await until(() => st.contactorClosed(), 'charging');
  const first = st.daemon.station.connectorView(1)!.session!.id;
  await api(st.base, '/api/connectors/1/sim', { action: 'unplug' });
  await until(() => st.daemon.sessions.get(first)?.status === 'completed', 'first session completed');
  await until(() => st.daemon.station.connectorView(1)!.status === 'Available', 'connector available again');
  await plugTagReady(st);
  await until(() => st.contactorClosed(), 'charging again');
  const second = st.daemon.station.connectorView(1)!.session!.id;
  await until(() => {
    const s = st.daemon.sessions.get(second)!;
    return (s.checkpointEnergyWh ?? 0) > s.meterStartWh;
  }, 'energy of the second session committed');
  return { first, second };
}

/** The fault is raised, the contactor open, the API and the log say what happened, a restart is asked for. */
async function expectStoreFault(s: { st: Station; lines: Record<string, unknown>[]; restarts: string[] }, problem: string) {
  const { st } = s;
  await until(() => st.daemon.station.connectorView(1)!.faults.includes('store'), "fault 'store'", 5000);
  await until(() => !st.contactorClosed(), 'contactor open');
  expect(st.hw.contactor.commanded()).toBe(false);
  const status = (await api(st.base, '/api/status')).body;
  expect(status.connectors[0]).toMatchObject({ status: 'Faulted', contactorClosed: false, faults: expect.arrayContaining(['store']) });
  expect(status.store).toMatchObject({ ok: false, problem });
  expect(s.lines.some((l) => (l.level as number) >= 50 && l.problem === problem)).toBe(true);
  await until(() => s.restarts.length > 0, 'a restart asked for once the file is back');
  // Held: the store fault does not clear while this connection writes to the lost file (flushes every second).
  await new Promise((r) => setTimeout(r, 1100));
  expect(st.daemon.station.connectorView(1)!.faults).toContain('store');
  expect(st.contactorClosed()).toBe(false);
}

/** What `evsed run` does on the restart request: stop (Reboot), start again on the same directory. */
async function restart(st: Station): Promise<Station> {
  await st.daemon.stop('Reboot');
  const again = await station({ dir: st.dir });
  stations.push(again);
  return again;
}

describe('the database file lost under the running daemon', () => {
  it('deleted while charging (rm evsed.db*): fault store, contactor open, said in the log and the status; after the restart every session is there', async () => {
    const s = await open();
    const { first, second } = await completedThenCharging(s.st, s.lines);
    for (const f of [s.file, `${s.file}-wal`, `${s.file}-shm`]) unlinkSync(f);

    await expectStoreFault(s, 'deleted');
    // Already back at its path, with both sessions, while the daemon still runs.
    expect(rowsIn(s.file).map((r) => r.id)).toEqual([first, second]);

    const again = await restart(s.st);
    const rows = rowsIn(s.file);
    expect(rows).toMatchObject([
      { id: first, status: 'completed', stop_reason: 'EVDisconnected' },
      { id: second, status: 'completed', stop_reason: 'Reboot', recovered: 0 },
    ]);
    expect(rows[1]!.energy_wh!).toBeGreaterThan(0);
    const listed = (await api(again.base, '/api/sessions')).body;
    expect(listed.map((x: { id: number }) => x.id).sort()).toEqual([first, second]);
    expect(again.daemon.station.connectorView(1)!.faults).toEqual([]);
  });

  it('only evsed.db deleted (its -wal and -shm left): the same, and the restored file with the old WAL beside it opens consistent', async () => {
    const s = await open();
    const { first, second } = await completedThenCharging(s.st, s.lines);
    unlinkSync(s.file);
    await expectStoreFault(s, 'deleted');
    // A power cut now (before the restart): the files at the path as they are, copied while the daemon
    // goes on committing checkpoints, open consistent with both sessions (the second still open).
    const cut = join(s.st.dir, 'cut');
    mkdirSync(cut);
    for (const f of ['evsed.db', 'evsed.db-wal']) copyFileSync(join(s.st.dir, 'data', f), join(cut, f));
    expect(statSync(join(cut, 'evsed.db-wal')).size).toBeGreaterThan(0); // commits made after the copy was written
    const snapshot = new Database(join(cut, 'evsed.db'));
    expect(snapshot.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(snapshot.prepare('SELECT id, status FROM sessions ORDER BY id').all()).toEqual([{ id: first, status: 'completed' }, { id: second, status: 'active' }]);
    snapshot.close();
    await restart(s.st);
    expect(rowsIn(s.file)).toMatchObject([{ id: first, status: 'completed' }, { id: second, status: 'completed', stop_reason: 'Reboot' }]);
    const db = new Database(s.file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('moved away (mv evsed.db evsed.db.old): restored at its path, the moved file left where it was put', async () => {
    const s = await open();
    const { first, second } = await completedThenCharging(s.st, s.lines);
    renameSync(s.file, `${s.file}.old`);
    await expectStoreFault(s, 'moved');
    await restart(s.st);
    expect(rowsIn(s.file)).toMatchObject([{ id: first, status: 'completed' }, { id: second, status: 'completed', stop_reason: 'Reboot' }]);
    expect(existsSync(`${s.file}.old`)).toBe(true);
  });

  it('replaced by another file: that file is kept aside (never deleted), the station database restored at its path', async () => {
    const s = await open();
    const { first, second } = await completedThenCharging(s.st, s.lines);
    const stranger = join(s.st.dir, 'stranger.db');
    const other = new Database(stranger);
    other.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('not evsed')");
    other.close();
    renameSync(stranger, s.file);
    await expectStoreFault(s, 'replaced');
    await restart(s.st);
    expect(rowsIn(s.file)).toMatchObject([{ id: first, status: 'completed' }, { id: second, status: 'completed', stop_reason: 'Reboot' }]);
    const kept = readdirSync(join(s.st.dir, 'data')).filter((f) => f.startsWith('evsed.db.replaced-'));
    expect(kept).toHaveLength(1);
    const k = new Database(join(s.st.dir, 'data', kept[0]!), { readonly: true });
    expect(k.prepare('SELECT text FROM notes').pluck().get()).toBe('not evsed');
    k.close();
  });

  it('overwritten in place (garbage over the header): fault store; the copy from the open connection replaces it, the damaged file is kept', async () => {
    const s = await open();
    const { first, second } = await completedThenCharging(s.st, s.lines);
    const size = statSync(s.file).size;
    const fd = openSync(s.file, 'r+');
    writeSync(fd, Buffer.from('GARBAGE-GARBAGE-GARBAGE-GARBAGE-GARBAGE-'), 0, 40, 0);
    closeSync(fd);
    await expectStoreFault(s, 'damaged');
    await restart(s.st);
    expect(rowsIn(s.file)).toMatchObject([{ id: first, status: 'completed' }, { id: second, status: 'completed', stop_reason: 'Reboot' }]);
    const kept = readdirSync(join(s.st.dir, 'data')).filter((f) => f.startsWith('evsed.db.damaged-'));
    expect(kept).toHaveLength(1);
    expect(statSync(join(s.st.dir, 'data', kept[0]!)).size).toBeGreaterThanOrEqual(size);
  });

  it('a file left alone is never reported: no fault, no restart, over many checks', async () => {
    const s = await open();
    await completedThenCharging(s.st, s.lines);
    await new Promise((r) => setTimeout(r, 2500));
    expect(s.st.daemon.station.connectorView(1)!.faults).toEqual([]);
    expect(s.restarts).toEqual([]);
    expect((await api(s.st.base, '/api/status')).body.store).toEqual({ ok: true });
  });
});

describe('evsed run with its database deleted while charging', () => {
  it('restarts itself on the restored file: every session there, the API answers, charging goes on (free mode)', async () => {
    const { tempDir, writeSimConfig } = await import('../support/station.js');
    const dir = tempDir('evsed-lost-');
    dirs.push(dir);
    const file = join(dir, 'data', 'evsed.db');
    daemon = await spawnDaemon(writeSimConfig(dir, { authMode: 'free' }));
    const d = daemon;
    await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
    await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(async () => (await api(d.url, '/api/status')).body.connectors[0].session?.energyWh > 0, 'charging');
    const first = (await api(d.url, '/api/status')).body.connectors[0].session.id;
    for (const f of [file, `${file}-wal`, `${file}-shm`]) unlinkSync(f);

    // A second 'API listening' line: the daemon restarted in-process (a new ephemeral port).
    const listening = () => d.lines.filter((l) => l.includes('"API listening"'));
    await until(() => listening().length >= 2, 'the daemon restarted', 15_000);
    const url = (JSON.parse(listening()[1]!) as { url: string }).url.replace(/\/$/, '');
    // The simulated EV is part of the board the restart built anew: plug it in again (a real one stays plugged).
    await api(url, '/api/connectors/1/sim', { action: 'plug' });
    await api(url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(async () => (await api(url, '/api/status')).body.connectors[0].contactorClosed === true, 'charging again after the restart');
    const sessions = (await api(url, '/api/sessions')).body as { id: number; stopReason: string | null }[];
    expect(sessions.find((x) => x.id === first)).toMatchObject({ stopReason: 'Reboot' });
    expect(d.lines.some((l) => l.includes('"problem":"deleted"'))).toBe(true);
    expect(await d.stop()).toBe(0);
    expect(rowsIn(file).map((r) => r.id)).toContain(first);
  });
});
