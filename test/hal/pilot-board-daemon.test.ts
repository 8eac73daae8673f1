import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { PilotBoardSim } from '../../src/sim/pilot-board-sim.js';
import { hasSocat } from '../support/pty.js';
import { api, tempDir, until } from '../support/station.js';
import { pilotBoardLine, type MeterUnit } from './pilot-board-line.js';

/**
 * The daemon with `hardware.driver: pilot-board`: a simulated EVSE DIN board (unit 1) and an
 * SDM630 (unit 2) on one RS-485 line, a socat pty pair standing in for the USB adapter
 * (pilot-board-line.ts).
 */

if (!hasSocat) console.log('SKIPPED: socat not installed: the daemon tests with a pilot board on a pty pair did not run (apt-get install socat)');

interface Station {
  daemon: Daemon;
  base: string;
  board: PilotBoardSim;
  meter: MeterUnit;
  logs: Record<string, unknown>[];
  connector(): Promise<any>;
  /** Stop the daemon (SIGTERM's path) and start it again on the same line and data; the board and the EV stay as they are. */
  restart(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station(): Promise<Station> {
  const l = await pilotBoardLine();
  cleanups.push(() => l.dispose());
  const { board, meter } = l;
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const yaml = l.yaml(dataDir);
  const loaded: LoadedConfig = { config: parseConfig(yaml), file: join(dir, 'evsed.yaml'), storageDir: dataDir, dbFile: join(dataDir, 'evsed.db') };
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) });
  const s = { board, meter, logs } as Station;
  const start = async () => {
    s.daemon = await startDaemon(loaded, log);
    s.base = `http://127.0.0.1:${s.daemon.address.port}`;
  };
  await start();
  cleanups.push(() => s.daemon.stop());
  s.connector = async () => (await api(s.base, '/api/status')).body.connectors[0];
  s.restart = async () => {
    await s.daemon.stop();
    await start();
  };
  return s;
}

/** Plug in, present the tag, the EV asks for energy: Charging with the board's relay closed. */
async function charging(s: Station): Promise<void> {
  await until(async () => (await s.connector()).meter.energyWh === 100_000, 'first meter reading');
  s.board.ev.plug();
  await until(async () => (await s.connector()).status === 'Preparing', 'Preparing');
  expect((await api(s.base, '/api/connectors/1/tag', { idTag: 'TAG-1' })).status).toBeLessThan(300);
  await until(() => s.board.offeredA() === 16, 'the board offers 16 A');
  s.board.ev.ready();
  await until(async () => (await s.connector()).contactorClosed === true, 'Charging with the contactor closed');
  const c = await s.connector();
  expect(c).toMatchObject({ pilot: 'C', contactorClosed: true, faults: [], currentLimitA: 16, pilotOutput: { mode: 'pwm', dutyPermille: 266 } });
  expect(s.board.relayOn()).toBe(true);
}

describe.skipIf(!hasSocat)('daemon with hardware.driver pilot-board (simulated EVSE DIN and SDM630 on one pty line)', () => {
  it('a full session: plug, authorise, charge, unplug; recorded with the meter register difference', async () => {
    const s = await station();
    await charging(s);
    await until(async () => (await s.connector()).session?.energyWh >= 3, 'energy flows', 15_000);
    expect(s.daemon.health()).toEqual({ ok: true });
    s.board.ev.unplug();
    await until(async () => (await s.connector()).status === 'Available', 'Available after unplug');
    expect(s.board.relayOn()).toBe(false);
    // No offer, turned off: the board holds 0 A and the turn-off bit.
    await until(() => JSON.stringify([s.board.read(3, 1000, 1), s.board.read(3, 1004, 1)]) === '[[0],[1]]', 'the board turned off');
    const rec = await until(() => s.daemon.sessions.list({}).find((r) => r.status === 'completed'), 'session recorded');
    expect(rec).toMatchObject({ idTag: 'TAG-1', status: 'completed', stopReason: 'EVDisconnected', meterStartWh: 100_000 });
    expect(rec.energyWh).toBe(rec.meterStopWh! - rec.meterStartWh);
    expect(rec.energyWh).toBeGreaterThanOrEqual(3);
    expect(rec.chargingMs).toBeGreaterThan(0);
  }, 30_000);

  it('the board stops answering mid-charge: Faulted with pilot, contactor commanded open; turned off when it answers; the latch clears on unplug', async () => {
    const s = await station();
    await charging(s);
    s.board.answering = false;
    await until(async () => (await s.connector()).status === 'Faulted', 'Faulted', 5000);
    const c = await s.connector();
    expect(c).toMatchObject({ faults: ['pilot'], contactorClosed: false });
    expect(s.logs.some((l) => String(l.msg).startsWith('pilot board not answering') && l.level === 50)).toBe(true);
    // No Modbus watchdog: the board charges on while nobody can reach it. The meter on the same line still answers.
    expect(s.board.relayOn()).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect((await s.connector()).meter.health).toBe('ok');
    expect(s.daemon.health()).toEqual({ ok: true });
    s.board.answering = true;
    await until(() => !s.board.relayOn(), 'the board is turned off once it answers', 5000);
    expect(s.board.offeredA()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await s.connector()).toMatchObject({ status: 'Faulted', faults: ['pilot'], contactorClosed: false }); // latched while the EV is plugged
    s.board.ev.unplug();
    await until(async () => (await s.connector()).status === 'Available', 'Available after unplug', 5000);
    expect((await s.connector()).faults).toEqual([]);
  }, 30_000);

  it('a restart of the daemon with the EV plugged: the board keeps the physical world, the new daemon sees the EV and charges again after the tag', async () => {
    const s = await station();
    await charging(s);
    await s.restart();
    expect(s.board.relayOn()).toBe(false); // the stopping daemon turned the board off
    expect(s.board.ev.plugged).toBe(true);
    await until(async () => ['Preparing', 'Finishing'].includes((await s.connector()).status), 'the plugged EV seen after the restart', 5000);
    await until(async () => (await s.connector()).pilot === 'B', 'the EV went to B without PWM', 5000); // no offer without a session
    expect((await s.connector()).contactorClosed).toBe(false);
    expect((await api(s.base, '/api/connectors/1/tag', { idTag: 'TAG-1' })).status).toBeLessThan(300);
    await until(async () => (await s.connector()).contactorClosed === true, 'charging again', 5000);
    expect(s.board.relayOn()).toBe(true);
    expect(s.daemon.sessions.list({}).map((r) => r.status).sort()).toEqual(['active', 'completed']);
  }, 30_000);
});
