import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimHardware } from '../../src/sim/hardware.js';
import { SafetyCore } from '../../src/hal/safety-core/core.js';
import { LatchFile, latchPath } from '../../src/hal/safety-core/latch-file.js';
import { realTimeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function core(dir: string) {
  const board = new SimHardware({ maxCurrentA: 16, phases: 3, voltageV: 230 });
  const c = new SafetyCore(board, { latches: new LatchFile(latchPath(dir, 1)), clock: realTimeClock, log: silentLogger(), stopTimeoutMs: 7000, offMainLoop: false });
  return { board, c };
}

describe('SafetyCore latches', () => {
  it('a latch raised with an EV plugged in is on disk and holds across a new core; one raised with nothing plugged in ends at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evsed-latch-'));
    dirs.push(dir);
    const a = core(dir);
    a.c.latch('stall'); // nothing plugged in (A)
    expect([...a.c.faults.active()]).toEqual([]);
    a.board.ev.plug();
    await new Promise((r) => setTimeout(r, 700)); // the sim pilot reports B
    a.c.latch('overcurrent');
    expect([...a.c.faults.active()]).toEqual(['overcurrent']);
    expect(JSON.parse(readFileSync(latchPath(dir, 1), 'utf8')).map((l: { kind: string }) => l.kind)).toEqual(['overcurrent']);
    const b = core(dir); // a restart
    expect([...b.c.faults.active()]).toEqual(['overcurrent']);
  });
});
