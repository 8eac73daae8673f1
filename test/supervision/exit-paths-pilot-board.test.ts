import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boardsOffCommand } from '../../src/cli/commands/boards-off.js';
import { PilotBoardSim } from '../../src/sim/pilot-board-sim.js';
import { pilotBoardLine, type PilotBoardLine } from '../hal/pilot-board-line.js';
import { hasSocat } from '../support/pty.js';
import { api, CLI, ROOT, spawnDaemon, tempDir, until, type DaemonProcess } from '../support/station.js';

/**
 * The pilot board's exit path. The board has no Modbus watchdog: when evsed dies without running
 * its shutdown (SIGKILL, the watchdog's SIGABRT, OOM) the board keeps its current and its relay
 * enabled for as long as the EV asks. The unit's second ExecStopPost, `evsed boards-off`, tells
 * every pilot board to turn charging off. The daemon runs as `evsed run` in a child process with
 * the real pilot-board driver; the simulated board and EV run in this process on a socat pty pair.
 */

if (!hasSocat) console.log('SKIPPED: socat not installed: the pilot board exit-path tests on a pty pair did not run (apt-get install socat)');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Board registers: configuredCurrent (1000) and commands (1004, bit 0 = turn off charging). */
const registers = (board: PilotBoardSim) => ({ current: board.read(3, 1000, 1), commands: board.read(3, 1004, 1) });

/** `evsed boards-off` as ExecStopPost runs it: a process of its own (asynchronous: this process serves the board). */
function boardsOffProcess(configFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, 'boards-off', '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function line(): Promise<{ l: PilotBoardLine; dir: string }> {
  const l = await pilotBoardLine();
  cleanups.push(() => l.dispose());
  const dir = tempDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { l, dir };
}

describe.skipIf(!hasSocat)('exit paths with a pilot board: evsed boards-off after the daemon died', () => {
  it('SIGKILL while charging: the board goes on offering 16 A with its relay on; boards-off turns it off (current 0, turn-off bit)', async () => {
    const { l, dir } = await line();
    const { board } = l;
    const configFile = join(dir, 'evsed.yaml');
    writeFileSync(configFile, `${l.yaml(join(dir, 'data'))}log: { level: info, format: json }\n`);
    const daemon: DaemonProcess = await spawnDaemon(configFile);
    cleanups.push(() => void daemon.proc.kill('SIGKILL'));
    const connector = async () => (await api(daemon.url, '/api/status')).body.connectors[0];

    board.ev.plug();
    await until(async () => (await connector()).status === 'Preparing', 'Preparing');
    expect((await api(daemon.url, '/api/connectors/1/tag', { idTag: 'TAG-1' })).status).toBeLessThan(300);
    await until(() => board.offeredA() === 16, 'the board offers 16 A');
    board.ev.ready();
    await until(async () => (await connector()).contactorClosed === true, 'Charging with the contactor closed', 20_000).catch(async (err: Error) => {
      const c = await connector();
      throw new Error(`${err.message}; status ${c.status}, faults ${c.faults}; ${daemon.lines.filter((x) => /refused|safety|fault|contactor/.test(x)).slice(-25).join('\n')}`);
    });
    expect(board.relayOn()).toBe(true);

    await daemon.kill();
    expect(daemon.proc.signalCode).toBe('SIGKILL');
    // No code of evsed ran on the way out and the board has no Modbus watchdog: it charges on.
    await new Promise((r) => setTimeout(r, 300));
    expect(board.relayOn()).toBe(true);
    expect(board.offeredA()).toBe(16);
    expect(registers(board)).toEqual({ current: [16], commands: [0] });

    const r = await boardsOffProcess(configFile);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^connector 1: pilot board off \(unit 1 on .*\): turn-off set, current 0; relay off, EV in [BC]\n/);
    expect(board.relayOn()).toBe(false);
    expect(board.offeredA()).toBe(0);
    expect(registers(board)).toEqual({ current: [0], commands: [1] });
    expect(board.ev.plugged).toBe(true); // the EV stays plugged; the board no longer lets it draw
  }, 60_000);

  it('a board that does not answer is reported and fails the command (exit 69, EX_UNAVAILABLE); the one that answers on the same line is turned off', async () => {
    const { l, dir } = await line();
    // A second board on the line (unit 3) whose bus side is dead; the first one charges, its master gone.
    const silent = new PilotBoardSim({ ev: { maxCurrentA: 16, phases: 3 } });
    cleanups.push(() => silent.dispose());
    l.line.units.set(3, silent);
    for (const b of [l.board, silent]) {
      b.write(1000, [16]);
      b.ev.plug();
      b.ev.ready();
      expect(b.relayOn()).toBe(true);
    }
    silent.answering = false;
    const configFile = join(dir, 'evsed.yaml');
    const second = `  - id: 2
    maxCurrentA: 16
    phases: 3
    hardware: { driver: pilot-board, model: evse-din, path: ${l.pty.evsedEnd}, unitId: 3, pollMs: 50, timeoutMs: 150, requestGapMs: 2, offlineAfterPolls: 3 }
    meter: { model: sim }
`;
    writeFileSync(configFile, l.yaml(join(dir, 'data')) + second);

    const out: string[] = [];
    const err: string[] = [];
    const code = await boardsOffCommand(['--config', configFile], { out: (s) => out.push(s), err: (s) => err.push(s) });
    expect(code).toBe(69);
    expect(out).toEqual([expect.stringMatching(/^connector 1: pilot board off \(unit 1 on .*\): turn-off set, current 0; relay off, EV in [BC]$/)]);
    expect(err).toEqual([expect.stringMatching(/^connector 2: pilot board NOT turned off \(unit 3 on .*\): no answer to the turn-off \(2 tries\): it keeps its current and relay while the EV asks$/)]);
    expect(l.board.relayOn()).toBe(false);
    expect(registers(l.board)).toEqual({ current: [0], commands: [1] });
    expect(silent.relayOn()).toBe(true); // nothing reached it
    expect(silent.writes).toEqual([{ address: 1000, words: [16] }]); // only the setup's own write
  }, 30_000);

  it('a station without pilot boards: nothing to do, exit 0 (the unit runs it after every stop)', async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'evsed.yaml');
    writeFileSync(configFile, `station: { id: CP-SIM, vendor: evsed, model: test }
storage: { dir: ${JSON.stringify(join(dir, 'data'))} }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 16, phases: 3, hardware: { driver: sim }, meter: { model: sim } }
`);
    const out: string[] = [];
    expect(await boardsOffCommand(['--config', configFile], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    expect(out).toEqual(['no connector uses hardware.driver pilot-board: nothing to turn off']);
  });
});
