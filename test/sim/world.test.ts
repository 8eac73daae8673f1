import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../src/hal/clock.js';
import type { SimEvConfig, SimWorldMode } from '../../src/config/sim.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { SimMeter } from '../../src/sim/meter.js';
import { SimWorld, simWorldFile } from '../../src/sim/world.js';
import { CONTACTOR_FEEDBACK_TIMEOUT_MS } from '../../src/domain/faults.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { tempDir } from '../support/station.js';

const EV: SimEvConfig = { maxCurrentA: 16, phases: 3, voltageV: 230, battery: { capacityWh: 60_000, startSocPercent: 30, taperAbovePercent: 80 } };
const turn = () => new Promise((r) => setImmediate(r));

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** One "daemon run" of a simulated connector: the board and its meter in the world kept in `file`. */
function board(file: string, opts: { mode?: SimWorldMode; ev?: SimEvConfig; clock?: FakeClock; log?: ReturnType<typeof captureLogger>['log'] } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const ev = opts.ev ?? EV;
  const world = SimWorld.open(file, { mode: opts.mode ?? 'persist', ev, log: opts.log });
  const hw = new SimHardware(ev, clock, world);
  const meter = new SimMeter(clock, hw.ev, 1000, ev.voltageV, world);
  hw.safe(); // as the daemon does first
  return {
    clock,
    hw,
    meter,
    /** The daemon stops: meter first, then the board (Connector.release). */
    async stop() {
      await meter.close();
      await hw.close();
    },
  };
}

const stored = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('the simulated world file', () => {
  it('a charging EV, its battery, a diode fault, a welded contact, an asserted input and the register come back in the next run', async () => {
    const file = simWorldFile(tempDir(), 1);
    const a = board(file);
    a.hw.ev.plug();
    a.hw.ev.ready();
    a.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 }); // 16 A
    a.hw.contactor.set(true);
    a.clock.advance(3_600_000); // an hour at 11 kW
    const register = a.meter.registerWh();
    expect(register).toBeGreaterThan(1000 + 10_000);
    const soc = a.hw.ev.socPercent!;
    expect(soc).toBeGreaterThan(45);
    a.hw.faults.set('overtemperature', true);
    a.hw.ev.diodeFault = true;
    a.hw.contactor.welded = true;
    await a.stop();

    const b = board(file);
    expect(b.hw.ev.plugged).toBe(true);
    expect(b.hw.ev.wantsCharge).toBe(true);
    expect(b.hw.pilot.read().state).toBe('B'); // X1 after the restart: the EV asks, nothing is offered yet
    expect(b.hw.ev.socPercent).toBeCloseTo(soc, 6);
    expect(b.hw.ev.diodeFault).toBe(true);
    expect(b.hw.contactor.welded).toBe(true);
    expect([...b.hw.faults.active()]).toEqual(['overtemperature']); // reported from the first reading
    expect(b.meter.registerWh()).toBe(register);
    // and the register goes on counting from there
    b.hw.contactor.welded = false;
    b.hw.faults.set('overtemperature', false);
    b.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
    b.hw.contactor.set(true);
    b.clock.advance(60_000);
    expect(b.meter.registerWh()).toBeGreaterThan(register + 100);
    await b.stop();
  });

  it('every change is on disk before the next turn (a SIGKILL right after it keeps it), whole (temporary file and rename)', async () => {
    const dir = tempDir();
    const file = simWorldFile(join(dir, 'not-yet'), 2); // a fresh machine: the storage directory does not exist yet
    const a = board(file);
    await turn();
    // the first run: nothing plugged in, the register as configured
    expect(stored(file)).toMatchObject({ version: 1, ev: { plugged: false, wantsCharge: false }, faultInputs: [], meterRegisterMWh: 1_000_000 });
    a.hw.ev.plug();
    a.hw.ev.ready();
    a.hw.faults.set('rcd', true);
    await Promise.resolve();
    expect(stored(file)).toMatchObject({ version: 1, ev: { plugged: true, wantsCharge: true, diodeFault: false }, faultInputs: ['rcd'], contactorWelded: false });
    expect(readdirSync(join(dir, 'not-yet'))).toEqual(['sim-world-2.json']);
    a.hw.ev.unplug();
    a.hw.faults.set('rcd', false);
    await Promise.resolve();
    expect(stored(file)).toMatchObject({ ev: { plugged: false, wantsCharge: false }, faultInputs: [] });
    // no stop(): the process died here
    const b = board(file);
    expect(b.hw.ev.plugged).toBe(false);
    expect(b.hw.faults.active().size).toBe(0);
    await b.stop();
  });

  it("the board's own verdicts are not inputs: a weld is judged again from the welded contact, not restored as an asserted input", async () => {
    const file = simWorldFile(tempDir(), 1);
    const a = board(file);
    a.hw.contactor.welded = true;
    a.hw.contactor.set(false);
    await turn();
    a.clock.advance(CONTACTOR_FEEDBACK_TIMEOUT_MS + 10);
    expect(a.hw.faults.active().has('welded')).toBe(true);
    await a.stop();
    expect(stored(file)).toMatchObject({ faultInputs: [], contactorWelded: true });

    const b = board(file);
    expect(b.hw.faults.active().has('welded')).toBe(false); // not yet: the monitor has not seen it
    await turn();
    b.clock.advance(CONTACTOR_FEEDBACK_TIMEOUT_MS + 10);
    expect(b.hw.faults.active().has('welded')).toBe(true); // the contact is still welded
    await b.stop();
  });

  it('mode fresh: the EV is not plugged in and no input asserted, whatever was kept; the fresh world replaces the file', async () => {
    const file = simWorldFile(tempDir(), 1);
    const a = board(file);
    a.hw.ev.plug();
    a.hw.faults.set('overtemperature', true);
    await a.stop();

    const { log, lines } = captureLogger();
    const b = board(file, { mode: 'fresh', log });
    expect(b.hw.ev.plugged).toBe(false);
    expect(b.hw.faults.active().size).toBe(0);
    expect(lines.some((l) => String(l.msg).includes('starting fresh'))).toBe(true);
    await b.stop();
    expect(stored(file)).toMatchObject({ ev: { plugged: false }, faultInputs: [] });
    const c = board(file); // persist again: finds the fresh world, not the one before it
    expect(c.hw.ev.plugged).toBe(false);
    await c.stop();
  });

  it('another configured EV is another car: not plugged in; the station side (inputs, contactor, register) is kept', async () => {
    const file = simWorldFile(tempDir(), 1);
    const a = board(file);
    a.hw.ev.plug();
    a.hw.faults.set('overtemperature', true);
    a.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
    a.hw.ev.ready();
    a.hw.contactor.set(true);
    a.clock.advance(600_000);
    const register = a.meter.registerWh();
    await a.stop();

    const b = board(file, { ev: { ...EV, maxCurrentA: 32 } });
    expect(b.hw.ev.plugged).toBe(false);
    expect(b.hw.ev.socPercent).toBe(30);
    expect([...b.hw.faults.active()]).toEqual(['overtemperature']);
    expect(b.meter.registerWh()).toBe(register);
    await b.stop();
  });

  it('a damaged file: a warning naming it, a fresh world, and the file replaced by a whole one', async () => {
    const file = simWorldFile(tempDir(), 1);
    writeFileSync(file, '{"version":1,"ev":{"plugged":tr');
    const { log, lines } = captureLogger();
    const b = board(file, { log });
    expect(b.hw.ev.plugged).toBe(false);
    const warning = lines.find((l) => l.level === 40);
    expect(warning).toMatchObject({ file, msg: expect.stringContaining('damaged') });
    expect(stored(file)).toMatchObject({ version: 1, ev: { plugged: false } });
    await b.stop();

    writeFileSync(file, JSON.stringify({ ...stored(file), faultInputs: ['no-such-fault'] }));
    const c = board(file, { log });
    expect(c.hw.faults.active().size).toBe(0);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(2);
    await c.stop();
  });

  it('a file that cannot be written costs one warning, never the board', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a-file'), '');
    const file = simWorldFile(join(dir, 'a-file'), 1); // its "directory" is a file
    const { log, lines } = captureLogger();
    const a = board(file, { log });
    for (let i = 0; i < 3; i++) {
      a.hw.ev.plug();
      await Promise.resolve();
      a.hw.ev.unplug();
      await Promise.resolve();
    }
    expect(a.hw.ev.pilotState()).toBe('A');
    expect(lines.filter((l) => l.level === 40 && String(l.msg).includes('cannot write'))).toHaveLength(1);
    await a.stop();
  });
});
