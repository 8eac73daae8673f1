import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSysfs, gpioConfig } from './fake-sysfs.js';
import { createGpioHardware, type GpioHardware } from '../../src/hal/gpio/index.js';
import { SafetyCore } from '../../src/hal/safety-core/core.js';
import { LatchFile } from '../../src/hal/safety-core/latch-file.js';
import { PhaseRelayFile, phaseRelayPath } from '../../src/hal/safety-core/phase-file.js';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';

/**
 * The phase relay rule at the pin: a fake sysfs tree, the real gpio driver and the real safety
 * core in front of it (in-process, fake time). The relay's value file changes only with the
 * contactor line low, its aux contact reading open and no fault; the contactor line stays low
 * while a relay change is within its settle time.
 */

const S = (bcm: number) => 512 + bcm; // fake Pi 4 with kernel 6.6
const CONTACTOR = S(17);
const FEEDBACK = S(27);
const RCD = S(22);
const RELAY = S(16);
const SETTLE_MS = 200;

const open: { hw: GpioHardware; tree: FakeSysfs; dir: string }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.hw.close();
    o.tree.dispose();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

async function rig(opts: { dir?: string; feedback?: boolean } = {}) {
  const tree = new FakeSysfs();
  const clock = new FakeClock();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'evsed-phase-'));
  const log = silentLogger();
  // No lock and no RCD self-test line: the core's other close rules stay out of the way.
  const gpio = { contactor: 17, rcdFault: 22, cpRelay: 24, heartbeat: 25, activeLow: ['rcdFault'], debounceMs: 10, ...(opts.feedback === false ? {} : { contactorFeedback: 27 }) };
  const cfg = gpioConfig(tree.root, { gpio, phaseRelay: { pin: 16, activeLow: false, energisedMeans: 3, settleMs: SETTLE_MS }, benchWithoutMains: opts.feedback === false });
  const phases = new PhaseRelayFile(phaseRelayPath(dir, 1));
  const hw = await createGpioHardware(cfg as any, { connectorId: 1, log, clock, edges: tree.edges, autoStart: false, phaseRelayInitial: phases.get() ?? undefined });
  open.push({ hw, tree, dir });
  // The kernel sets the level with direction "high"/"low" (the fake one only writes the file).
  const direction = tree.attr(RELAY, 'direction');
  if (direction === 'high' || direction === 'low') writeFileSync(join(tree.gpioDir(RELAY), 'value'), direction === 'high' ? '1\n' : '0\n');
  const core = new SafetyCore(hw, { latches: new LatchFile(null), clock, log, stopTimeoutMs: 7000, offMainLoop: false, phases });
  const overrides: string[] = [];
  core.contactor.onOverride!((o) => overrides.push(`${o.action}: ${o.why}`));
  tree.setInput(RCD, 1); // the RCD module idle (active low)
  clock.advance(20);
  const sample = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      await hw.pilot.sample();
      // The aux contact follows the coil (a test sets `stuck` to hold it closed).
      const want = rigState.stuck ? 1 : Number(tree.value(CONTACTOR));
      if (opts.feedback !== false && Number(tree.value(FEEDBACK)) !== want) tree.setInput(FEEDBACK, want as 0 | 1);
      clock.advance(10);
    }
  };
  const rigState = { stuck: false };
  /** EV in C with its diode checked under PWM, an authorised session: everything a close needs. */
  const evInC = async () => {
    tree.setPilot(9, -12);
    await sample(300);
    core.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
    tree.setPilot(6, -12);
    await sample(300);
    expect(core.pilot.read()).toEqual({ state: 'C', diodeOk: true, diodeChecked: true });
    core.authorise(true);
  };
  return { tree, clock, hw, core, overrides, sample, evInC, rigState, dir, relayPin: () => tree.value(RELAY), contactorPin: () => tree.value(CONTACTOR) };
}

describe('phase relay at the pin (fake sysfs, gpio driver, safety core)', () => {
  it('starts on 3 phases (energisedMeans 3: the coil energised) and switches with the contactor open and its aux contact reading open', async () => {
    const r = await rig();
    expect(r.relayPin()).toBe('1');
    expect(r.core.phaseRelay!.get()).toBe(3);
    await r.sample(30);
    expect(await r.core.phaseRelay!.set(1)).toEqual({ ok: true });
    expect(r.relayPin()).toBe('0');
    expect(r.core.phaseRelay!.get()).toBe(1);
    expect(JSON.parse(readFileSync(phaseRelayPath(r.dir, 1), 'utf8'))).toEqual({ phases: 1 });
  });

  it('refuses while the contactor is closed, and while it is commanded open but its aux contact still reads closed', async () => {
    const r = await rig();
    await r.evInC();
    r.core.contactor.set(true);
    expect(r.contactorPin()).toBe('1');
    await r.sample(30);
    const closed = await r.core.phaseRelay!.set(1);
    expect(closed).toEqual({ ok: false, why: 'the contactor is commanded closed' });
    expect(r.relayPin()).toBe('1');
    r.rigState.stuck = true; // the aux contact lags (or the contactor welded)
    r.core.contactor.set(false);
    expect(r.contactorPin()).toBe('0');
    await r.sample(30);
    expect(await r.core.phaseRelay!.set(1)).toEqual({ ok: false, why: 'the contactor feedback reads closed' });
    expect(r.relayPin()).toBe('1');
    r.rigState.stuck = false;
    await r.sample(30);
    expect(await r.core.phaseRelay!.set(1)).toEqual({ ok: true });
    expect(r.relayPin()).toBe('0');
  });

  it('refuses a close while the relay change is within its settle time; closes after it', async () => {
    const r = await rig();
    await r.evInC();
    expect(await r.core.phaseRelay!.set(1)).toEqual({ ok: true });
    r.clock.advance(SETTLE_MS - 50);
    r.core.contactor.set(true);
    expect(r.contactorPin()).toBe('0');
    expect(r.overrides.at(-1)).toMatch(/^refused: the phase relay changed 150 ms ago \(settle time 200 ms\)/);
    r.clock.advance(50);
    r.core.contactor.set(true);
    expect(r.contactorPin()).toBe('1');
  });

  it('refuses with a fault active (an RCD trip), the contactor open', async () => {
    const r = await rig();
    await r.sample(30);
    r.tree.setInput(RCD, 0); // tripped
    await r.sample(30);
    expect([...r.core.faults.active()]).toContain('rcd');
    const res = await r.core.phaseRelay!.set(1);
    expect(res.ok).toBe(false);
    expect(res.ok ? '' : res.why).toMatch(/^fault active: rcd/);
    expect(r.relayPin()).toBe('1');
  });

  it('without a feedback wired (a bench) the commanded-open contactor is enough', async () => {
    const r = await rig({ feedback: false });
    await r.sample(30);
    expect(await r.core.phaseRelay!.set(1)).toEqual({ ok: true });
    expect(r.relayPin()).toBe('0');
  });

  it('the position is kept across a restart: the line is exported at the saved level, never flipped', async () => {
    const a = await rig();
    await a.sample(30);
    expect(await a.core.phaseRelay!.set(1)).toEqual({ ok: true });
    const dir = a.dir;
    await a.hw.close();
    const b = await rig({ dir });
    expect(b.relayPin()).toBe('0');
    expect(b.tree.attr(RELAY, 'direction')).toBe('low'); // exported as an output at the saved level at once
    expect(b.core.phaseRelay!.get()).toBe(1);
  });
});
