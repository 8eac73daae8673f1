import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeSysfs, gpioStationYaml } from './fake-sysfs.js';
import { FakeBoard, PIN, startChargingDaemon, syncAdc, type ChargingDaemon, type FakeBoardOptions } from './fake-board.js';
import { hwTestCommand, type HwTestIo } from '../../src/cli/commands/hw-test.js';
import { openDb } from '../../src/store/db.js';
import { LockoutStore } from '../../src/store/lockouts.js';
import { migrationSets } from '../../src/daemon.js';
import { acquireHardwareLock } from '../../src/hal/hardware-lock.js';
import { api, CLI, ROOT, tempDir } from '../support/station.js';

let tree: FakeSysfs | undefined;
let board: FakeBoard | undefined;
let station: ChargingDaemon | undefined;
const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  board?.stop();
  tree?.dispose();
  station?.dispose();
  board = tree = station = undefined;
  for (const c of cleanup.splice(0)) await c();
});

function config(root: string): string {
  const file = join(root, 'evsed.yaml');
  writeFileSync(file, `
station: { id: CP-1, vendor: evsed, model: pi }
storage: { dir: ${root}/data }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    meter: { model: sim }
    hardware:
      driver: gpio
      root: ${root}
      gpio: { contactor: 17, contactorFeedback: 27, rcdFault: 22, rcdTest: 23, cpRelay: 24, heartbeat: 25, lock: { motorA: 5, motorB: 6, feedback: 13, motorMs: 50 }, activeLow: [rcdFault] }
      pilotSense: { mode: adc, samplePeriodMs: 30, fastDebounceMs: 10 }
      interlockMs: 2000
      benchWithoutMains: true
      rcdSelfTest: { testMs: 300, clearMs: 300 }
      contactorCheck: { weldMs: 100, closeMs: 100 }
`);
  return file;
}

/** A fake tree with the board running; the systemd question answered "inactive" unless a test says otherwise. */
function bench(opts: FakeBoardOptions = {}, treeOpts: ConstructorParameters<typeof FakeSysfs>[0] = {}) {
  tree = new FakeSysfs(treeOpts);
  board = new FakeBoard(tree, opts);
  return { tree, board, file: config(tree.root) };
}

async function hwTest(argv: string[], t: FakeSysfs, io: Partial<HwTestIo> = {}) {
  const lines: string[] = [];
  const questions: string[] = [];
  const code = await hwTestCommand(argv, {
    out: (l) => lines.push(l),
    confirm: async (q) => (questions.push(q), true),
    ctx: { edges: t.edges, adc: syncAdc(t) },
    serviceState: async () => 'inactive',
    ...io,
  });
  return { code, text: lines.join('\n'), questions };
}

/** `evsed ...` to completion, killed after `timeoutMs`. */
function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('evsed hw test', () => {
  it('toggles every output, reads inputs, closes the contactor for an EV in C, passes on a healthy board (--yes)', async () => {
    const b = bench({ ev: 'ready' });
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree, { confirm: async () => false });
    expect(text).toMatch(/pilot X1 .*high 9\.00 V.*A\/B/);
    expect(text).toMatch(/RCD self-test .*tripped after \d+ ms/);
    expect(text).toMatch(/contactor .*feedback closed=true then open=true/);
    expect(text).toMatch(/heartbeat .*10 toggles/);
    expect(text).toContain('all checks passed');
    expect(code).toBe(0);
    expect(b.board.contactorSeen.has('1')).toBe(true);
    expect(b.tree.value(PIN.contactor)).toBe('0');
  });

  it('the phase relay: switched to the other position and back with the contactor open, from the position the daemon saved', async () => {
    const b = bench({ ev: 'ready' });
    writeFileSync(b.file, readFileSync(b.file, 'utf8').replace('      interlockMs: 2000', '      interlockMs: 2000\n      phaseRelay: { pin: 16, energisedMeans: 3 }'));
    mkdirSync(join(b.tree.root, 'data'), { recursive: true });
    writeFileSync(join(b.tree.root, 'data', 'phase-relay-1.json'), JSON.stringify({ phases: 1 }));
    const RELAY = 512 + 16;
    const seen: string[] = [];
    const watch = setInterval(() => {
      try {
        const v = b.tree.value(RELAY);
        if (seen.at(-1) !== v) seen.push(v);
      } catch {
        /* not exported yet */
      }
    }, 5);
    try {
      const { text } = await hwTest(['--config', b.file, '--yes'], b.tree, { confirm: async () => false });
      expect(text).toMatch(/\[ ok \] phase relay: switched with the contactor open/);
    } finally {
      clearInterval(watch);
    }
    expect(seen).toEqual(['0', '1', '0']); // exported at the saved 1 phase, 3 phases, back to 1
  });

  it('asks before the contactor; a refusal is a failure, and a welded contactor is never closed', async () => {
    let b = bench({ ev: 'ready', welded: true });
    const r = await hwTest(['--config', b.file], b.tree);
    expect(r.questions[0]).toMatch(/close the contactor for 1 s\?/);
    expect(r.text).toMatch(/FAIL\] contactor: refused: fault input active: welded/);
    expect(r.code).toBe(1);
    expect(b.board.contactorSeen.has('1')).toBe(false);

    board!.stop();
    tree!.dispose();
    b = bench({ ev: 'ready' });
    const r2 = await hwTest(['--config', b.file], b.tree, { confirm: async () => false });
    expect(r2.text).toMatch(/contactor .*skipped \(not confirmed; use --yes for scripts\)/);
    expect(r2.code).toBe(1);
    expect(b.board.contactorSeen.has('1')).toBe(false);
  });

  it('reports a missing PWM overlay as a failed check, not a crash', async () => {
    const b = bench({}, { pwm: 'none' });
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toContain('dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2');
    expect(code).toBe(1);
  });
});

describe('evsed hw test closes the contactor only through the daemon\'s veto', () => {
  it('pilot in A (no EV): refused, the pin never goes high', async () => {
    const b = bench({ ev: 'unplugged' });
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toMatch(/FAIL\] contactor: refused: pilot state A/);
    expect(code).toBe(1);
    expect(b.board.contactorSeen.has('1')).toBe(false);
  });

  it('EV present but not asking for energy (B): refused', async () => {
    const b = bench({ ev: 'B' });
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toMatch(/FAIL\] contactor: refused: pilot state B/);
    expect(code).toBe(1);
    expect(b.board.contactorSeen.has('1')).toBe(false);
  });

  it('RCD fault output asserted: refused', async () => {
    const b = bench({ ev: 'ready', rcdTripped: true });
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toMatch(/FAIL\] contactor: refused: fault input active: rcd/);
    expect(code).toBe(1);
    expect(b.board.contactorSeen.has('1')).toBe(false);
  });

  it('a stored lockout (welded, from the daemon\'s store): refused, with what to do', async () => {
    const b = bench({ ev: 'ready' });
    const db = openDb(join(b.tree.root, 'data', 'evsed.db'), await migrationSets());
    new LockoutStore(db).set(1, 'welded', { wallMs: Date.now(), quality: 'synced', bootId: 'b', monoMs: 0 }, 'feedback closed after opening');
    db.close();
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toMatch(/FAIL\] contactor: refused: fault latched: welded/);
    expect(text).toContain('clear-faults');
    expect(code).toBe(1);
    expect(b.board.contactorSeen.has('1')).toBe(false);
  });
});

describe('evsed hw test keeps the contactor closed only while the rule holds', () => {
  it('the RCD module trips during the 1 s close: opened at once, reported as a failure', async () => {
    const b = bench({ ev: 'ready' });
    const trip = setInterval(() => {
      if (b.board.contactorSeen.has('1')) b.board.opts.rcdTripped = true;
    }, 2);
    cleanup.push(() => clearInterval(trip));
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toMatch(/FAIL\] contactor: opened after closing: fault input active: rcd/);
    expect(code).toBe(1);
    expect(b.tree.value(PIN.contactor)).toBe('0');
  });
});

describe('evsed hw test refuses while the daemon holds the hardware', () => {
  it('beside a running daemon: refused with a clear message and a non-zero exit; the charging outputs are untouched', async () => {
    station = await startChargingDaemon();
    const { tree: t, daemon } = station;
    const duty = t.pwmAttr(0, 0, 'duty_cycle');
    const events = t.events.length;
    const { code, text, questions } = await hwTest(['--config', station.configFile, '--yes'], t);
    expect(text).toMatch(/refused: the hardware is in use by evsed run \(pid \d+/);
    expect(text).toMatch(/systemctl stop evsed/);
    expect(code).toBe(75);
    expect(questions).toEqual([]);
    // not a single write: the contactor still closed, the offer unchanged, nothing (re-)exported
    expect(t.value(PIN.contactor)).toBe('1');
    expect(t.pwmAttr(0, 0, 'duty_cycle')).toBe(duty);
    expect(t.events.length).toBe(events);
    expect((await api(daemon.url, '/api/status')).body.connectors[0].status).toBe('Charging');
  }, 60_000);

  it('refused while systemd reports the service active (asked with systemctl is-active evsed)', async () => {
    const b = bench({ ev: 'ready' });
    const bin = join(b.tree.root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\n[ "$*" = "is-active evsed" ] && { echo activating; exit 3; }\nexit 1\n`);
    chmodSync(join(bin, 'systemctl'), 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    let r;
    try {
      r = await hwTest(['--config', b.file, '--yes'], b.tree, { serviceState: undefined });
    } finally {
      process.env.PATH = oldPath;
    }
    expect(r.text).toMatch(/refused: systemd reports evsed\.service activating/);
    expect(r.code).toBe(75);
    expect(b.tree.events).toEqual([]); // nothing exported
  });

  it('a storage.dir where the lock cannot be taken: refused, since a daemon there could not take it either', async () => {
    const b = bench({ ev: 'ready' });
    writeFileSync(b.file, readFileSync(b.file, 'utf8').replace(`storage: { dir: ${b.tree.root}/data }`, `storage: { dir: ${b.tree.root}/${'d'.repeat(120)} }`));
    const { code, text } = await hwTest(['--config', b.file, '--yes'], b.tree);
    expect(text).toMatch(/refused: cannot take the hardware lock .*a running daemon could not be ruled out/);
    expect(code).toBe(1);
    expect(b.tree.events).toEqual([]);
  });

  it('the daemon does not start while hw test holds the hardware', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const lock = await acquireHardwareLock(dataDir, 'evsed hw test');
    cleanup.push(() => lock.release());
    const b = bench();
    const file = join(dir, 'evsed.yaml');
    writeFileSync(file, gpioStationYaml(b.tree.root, dataDir));
    // Bounded: a daemon that does start (the regression) is killed, not left running.
    const r = await runCli(['run', '--config', file], 10_000);
    expect(r.stderr).toMatch(/the hardware is in use by evsed hw test \(pid \d+/);
    expect(r.code).toBe(75);
    expect(b.tree.events).toEqual([]);
  });
});
