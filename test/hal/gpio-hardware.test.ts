import { afterEach, describe, expect, it } from 'vitest';
import { FakeSysfs, gpioConfig } from './fake-sysfs.js';
import { createGpioHardware, type GpioHardware } from '../../src/hal/gpio/index.js';
import { FakeClock, SystemClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import type { PilotReading } from '../../src/hal/types.js';
import type { FaultKind } from '../../src/domain/types.js';

// sysfs numbers on the fake Pi 4 with kernel 6.6 (base 512)
const S = (bcm: number) => 512 + bcm;
let tree: FakeSysfs | undefined;
let hw: GpioHardware | undefined;
afterEach(async () => {
  await hw?.close();
  hw = undefined;
  tree?.dispose();
});

async function setup(opts: { clock?: FakeClock | SystemClock; autoStart?: boolean; over?: Record<string, unknown> } = {}) {
  tree = new FakeSysfs();
  // RCD module idle: fault output inactive = electrically high (activeLow in the config)
  const cfg = gpioConfig(tree.root, opts.over);
  const clock = opts.clock ?? new FakeClock();
  const pending = createGpioHardware(cfg as any, { connectorId: 1, log: silentLogger(), clock, edges: tree.edges, autoStart: opts.autoStart ?? false });
  hw = await pending;
  return { tree, hw, clock };
}

/** Samples the pilot every 10 ms of fake time until `ms` passed; returns the readings reported. */
async function run(h: GpioHardware, clock: FakeClock, ms: number, seen: PilotReading[] = []) {
  for (let t = 0; t < ms; t += 10) {
    await h.pilot.sample();
    clock.advance(10);
  }
  return seen;
}

describe('createGpioHardware on a fake Pi 4 (kernel 6.6, base 512)', () => {
  it('drives every output to its safe level before PWM and inputs, PWM starts at X1', async () => {
    const { tree } = await setup();
    const gpioExports = tree.events.filter((e) => e.startsWith('gpio'));
    const pwmAt = tree.events.indexOf('pwm export 0/0');
    const outputs = [17, 24, 5, 6, 23, 25].map(S);
    const inputs = [27, 22, 13].map(S);
    for (const n of outputs) expect(tree.events.indexOf(`gpio export ${n}`)).toBeLessThan(pwmAt);
    for (const n of inputs) expect(tree.events.indexOf(`gpio export ${n}`)).toBeGreaterThan(pwmAt);
    expect(gpioExports[0]).toBe(`gpio export ${S(17)}`); // the contactor first
    for (const n of outputs) expect(tree.attr(n, 'direction')).toBe('low');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000');
    expect(tree.pwmAttr(0, 0, 'enable')).toBe('1');
  });

  it('reports pilot states from the ADC with debounce, and leaving C within the fast window', async () => {
    const { tree, hw, clock } = await setup();
    const seen: PilotReading[] = [];
    hw.pilot.onChange((r) => seen.push(r));
    tree.setPilot(9, -12);
    await run(hw, clock as FakeClock, 200);
    expect(seen).toHaveLength(0); // B not yet held 250 ms
    await run(hw, clock as FakeClock, 100);
    expect(seen.at(-1)).toEqual({ state: 'B', diodeOk: true, diodeChecked: false }); // X1: no verdict
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('267000');
    tree.setPilot(6, -12);
    await run(hw, clock as FakeClock, 300);
    expect(hw.pilot.read().state).toBe('C');
    // EV opens S2: C -> B must be reported well inside 100 ms (software deadline, fake clock)
    const t0 = (clock as FakeClock).monoMs();
    tree.setPilot(9, -12);
    let reportedAt: number | undefined;
    hw.pilot.onChange((r) => r.state === 'B' && (reportedAt ??= (clock as FakeClock).monoMs()));
    await run(hw, clock as FakeClock, 100);
    expect(reportedAt).toBeDefined();
    expect(reportedAt! - t0).toBeLessThanOrEqual(40);
  });

  it('pilot drop (unplug in C) and short (E) are reported fast; a missing diode too', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
    tree.setPilot(6, -12);
    await run(hw, c, 400);
    expect(hw.pilot.read()).toEqual({ state: 'C', diodeOk: true, diodeChecked: true });
    tree.setPilot(12, -12); // unplugged
    await run(hw, c, 40);
    expect(hw.pilot.read().state).toBe('A');
    tree.setPilot(6, -12);
    await run(hw, c, 400);
    tree.setPilot(0, 0); // CP shorted to PE
    await run(hw, c, 40);
    expect(hw.pilot.read().state).toBe('E');
    tree.setPilot(6, -12);
    await run(hw, c, 400);
    expect(hw.pilot.read().state).toBe('C');
    tree.setPilot(6, -6); // diode shorted: negative half loaded like the positive one
    await run(hw, c, 40);
    expect(hw.pilot.read()).toEqual({ state: 'C', diodeOk: false, diodeChecked: true });
  });

  it('diode verdict freshness: none in X1; after the output changes, only once PWM ran 2 sample periods', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    const seen: PilotReading[] = [];
    hw.pilot.onChange((r) => seen.push({ ...r }));
    tree.setPilot(6, 0); // EV already in C at X1: no negative half, no verdict
    await run(hw, c, 300);
    expect(hw.pilot.read()).toEqual({ state: 'C', diodeOk: true, diodeChecked: false });
    tree.setPilot(6, -12);
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
    expect(hw.pilot.read().diodeChecked).toBe(false);
    await hw.pilot.sample();
    c.advance(10);
    await hw.pilot.sample(); // 10 ms of PWM: the negative-peak detector may not have settled
    expect(hw.pilot.read().diodeChecked).toBe(false);
    c.advance(10);
    await hw.pilot.sample();
    expect(hw.pilot.read()).toEqual({ state: 'C', diodeOk: true, diodeChecked: true });
    expect(seen.at(-1)).toEqual({ state: 'C', diodeOk: true, diodeChecked: true }); // reported as a change
    hw.pilot.setOutput({ mode: 'x1' }); // any mode change: the verdict is stale at once
    expect(hw.pilot.read().diodeChecked).toBe(false);
  });

  it('a missing diode is never reported as a checked good diode, not even for one sample', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    const seen: PilotReading[] = [];
    hw.pilot.onChange((r) => seen.push({ ...r }));
    tree.setPilot(6, 0);
    await run(hw, c, 300);
    tree.setPilot(6, -6); // PWM on an EV without diode: the negative half is loaded too
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
    await run(hw, c, 100);
    expect(seen.some((r) => r.diodeOk && r.diodeChecked)).toBe(false);
    expect(hw.pilot.read()).toEqual({ state: 'C', diodeOk: false, diodeChecked: true });
  });

  it('RCD trip raises fault rcd (active low input) and clears when the module resets', async () => {
    const { tree, hw, clock } = await setup();
    tree.setInput(S(22), 1); // idle: high
    (clock as FakeClock).advance(20);
    const events: [FaultKind, boolean][] = [];
    hw.faults.onChange((k, a) => events.push([k, a]));
    tree.setInput(S(22), 0); // tripped
    (clock as FakeClock).advance(5);
    expect(hw.faults.active().has('rcd')).toBe(false); // still debouncing (10 ms)
    (clock as FakeClock).advance(10);
    expect(hw.faults.active().has('rcd')).toBe(true);
    tree.setInput(S(22), 1);
    (clock as FakeClock).advance(20);
    expect(events).toEqual([['rcd', true], ['rcd', false]]);
  });

  it('RCD chatter trips (time at the tripped level counts across edges) and stays reported while it chatters; a glitch now and then does not', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    tree.setInput(S(22), 1); // idle
    c.advance(20);
    const events: [FaultKind, boolean][] = [];
    hw.faults.onChange((k, a) => events.push([k, a]));
    for (let i = 0; i < 20; i++) {
      tree.setInput(S(22), 0); // a 3 ms glitch every 50 ms
      c.advance(3);
      tree.setInput(S(22), 1);
      c.advance(47);
    }
    expect(events).toEqual([]);
    // the line chatters: 4 ms tripped, 4 ms idle, never 10 ms in one piece
    let trippedAfterMs: number | undefined;
    for (let t = 0; t < 2000; t += 4) {
      tree.setInput(S(22), (t / 4) % 2 === 0 ? 0 : 1);
      c.advance(4);
      if (hw.faults.active().has('rcd')) trippedAfterMs ??= t + 4;
    }
    expect(trippedAfterMs).toBeDefined();
    expect(trippedAfterMs!).toBeLessThanOrEqual(20); // 10 ms tripped in total
    expect(events).toEqual([['rcd', true]]); // reported once, never cleared while it chattered
    tree.setInput(S(22), 0);
    c.advance(1);
    tree.setInput(S(22), 1); // the chatter ends
    c.advance(9);
    expect(hw.faults.active().has('rcd')).toBe(true); // the idle level must hold the whole debounce time
    c.advance(2);
    expect(events).toEqual([['rcd', true], ['rcd', false]]);
  });

  it('lock feedback: a chattering "locked" input reads unlocked (the released lock is the level that must not hide)', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    tree.setInput(S(13), 1);
    c.advance(20);
    expect(hw.lock!.isLocked()).toBe(true);
    for (let t = 0; t < 40; t += 4) {
      tree.setInput(S(13), (t / 4) % 2 === 0 ? 0 : 1);
      c.advance(4);
    }
    expect(hw.lock!.isLocked()).toBe(false);
  });

  it('welding: feedback still closed after opening -> welded, latched until a technician clears it', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    hw.contactor.set(true);
    expect(tree.value(S(17))).toBe('1');
    tree.setInput(S(27), 1);
    c.advance(20);
    expect(hw.contactor.feedback()).toBe(true);
    hw.contactor.set(false);
    expect(tree.value(S(17))).toBe('0');
    c.advance(499);
    expect(hw.faults.active().has('welded')).toBe(false);
    c.advance(2);
    expect(hw.faults.active().has('welded')).toBe(true);
    expect(hw.clearWeld()).toBe(false); // still closed
    tree.setInput(S(27), 0);
    c.advance(20);
    expect(hw.faults.active().has('welded')).toBe(true); // latched
    expect(hw.clearWeld()).toBe(true);
    expect(hw.faults.active().has('welded')).toBe(false);
  });

  it('contactor that does not close -> fault contactor, cleared when the feedback follows', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    hw.contactor.set(true);
    c.advance(501);
    expect(hw.faults.active().has('contactor')).toBe(true);
    tree.setInput(S(27), 1);
    c.advance(20);
    expect(hw.faults.active().has('contactor')).toBe(false);
  });

  it('safe() opens the contactor, sets X1, reconnects CP and stops the lock motor', async () => {
    const { tree, hw } = await setup();
    hw.contactor.set(true);
    hw.pilot.setOutput({ mode: 'f' });
    hw.setCpDisconnected(true);
    expect(tree.value(S(24))).toBe('1');
    hw.safe();
    expect(tree.value(S(17))).toBe('0');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000');
    expect(tree.value(S(24))).toBe('0');
  });

  it('the heartbeat toggles only while pilot sampling is alive', async () => {
    const { tree, hw, clock } = await setup();
    const hb = hw.heartbeat!;
    expect(hb.tick()).toBe(false); // no sample yet: the interlock stays open
    await hw.pilot.sample();
    expect(hb.tick()).toBe(true);
    expect(tree.value(S(25))).toBe('1');
    expect(hb.tick()).toBe(true);
    expect(tree.value(S(25))).toBe('0');
    (clock as FakeClock).advance(1000); // sampler dead for 1 s
    expect(hb.tick()).toBe(false);
  });

  it('a missed heartbeat with the contactor closed: outputs safe and fault stall before the next edge (no silent re-close)', async () => {
    // a 20 ms heartbeat and a 200 ms monostable: 160 ms tolerance
    const { tree, hw, clock } = await setup({ over: { heartbeatMs: 20, interlockMs: 200 } });
    const c = clock as FakeClock;
    const hb = hw.heartbeat!;
    const events: [FaultKind, boolean][] = [];
    hw.faults.onChange((k, a) => events.push([k, a]));
    await hw.pilot.sample();
    for (let i = 0; i < 4; i++) {
      expect(hb.tick()).toBe(true);
      c.advance(20);
      await hw.pilot.sample();
    }
    hw.contactor.set(true);
    for (let i = 0; i < 4; i++) {
      expect(hb.tick()).toBe(true);
      c.advance(20);
      await hw.pilot.sample();
    }
    // 100 ms of lag (140 ms since the last rising edge): inside the 160 ms tolerance, nothing happens
    c.advance(100);
    await hw.pilot.sample();
    expect(hb.tick()).toBe(true);
    expect(tree.value(S(17))).toBe('1');
    expect(events).toEqual([]);
    // the loop stalls 200 ms: the monostable has timed out, the contactor has dropped
    c.advance(200);
    await hw.pilot.sample(); // the loop runs again, sampling is healthy
    const levelBefore = tree.value(S(25));
    hb.tick();
    expect(tree.value(S(17))).toBe('0'); // opened in software before any new edge could re-close it
    expect(events).toEqual([['stall', true], ['stall', false]]);
    expect(hb.misses).toBe(1);
    expect(tree.value(S(25))).not.toBe(levelBefore); // toggling resumed, with the contactor open
  });

  it('a missed heartbeat with the contactor open is no fault; a stopped heartbeat must restart before a close', async () => {
    const { hw, clock } = await setup();
    const c = clock as FakeClock;
    const hb = hw.heartbeat!;
    const events: FaultKind[] = [];
    hw.faults.onChange((k, a) => a && events.push(k));
    await hw.pilot.sample();
    hb.tick();
    c.advance(500);
    await hw.pilot.sample();
    expect(hb.tick()).toBe(true);
    expect(events).toEqual([]);
    hb.stop(); // interlock dropped
    hw.contactor.set(true); // a close while the interlock holds it open...
    hb.tick(); // ...would be closed by the first edge: refused, safe, stall
    expect(hw.contactor.commanded()).toBe(false);
    expect(events).toEqual(['stall']);
  });

  it('a hung ADC read (through the libuv pool, off the safety core thread) times out after 6 sample periods: fault pilot, no second read beside it, recovery when it returns', async () => {
    const { hw, clock } = await setup();
    const c = clock as FakeClock;
    let release!: (v: { highV: number; lowV: number }) => void;
    let reads = 0;
    (hw.pilot as any).adc = {
      read: () => {
        reads++;
        if (reads === 1) return new Promise((r) => (release = r));
        return Promise.resolve({ highV: 2.79, lowV: 2.79 });
      },
    };
    const p = hw.pilot.sample();
    c.advance(59);
    await Promise.resolve();
    expect(hw.faults.active().has('pilot')).toBe(false);
    c.advance(1);
    await p;
    expect(hw.faults.active().has('pilot')).toBe(true); // at once, not after 3 failures
    await hw.pilot.sample(); // the hung read is still out: no new read
    expect(reads).toBe(1);
    release({ highV: 2.79, lowV: 2.79 });
    await new Promise((r) => setImmediate(r));
    await hw.pilot.sample();
    expect(reads).toBe(2);
    expect(hw.faults.active().has('pilot')).toBe(false);
  });

  it('cable lock drives the motor one way and checks the feedback', async () => {
    const { tree, hw, clock } = await setup();
    const c = clock as FakeClock;
    const flush = () => new Promise((r) => setImmediate(r));
    const p = hw.lock!.lock();
    await flush();
    expect(tree.value(S(5))).toBe('1');
    expect(tree.value(S(6))).toBe('0');
    tree.setInput(S(13), 1);
    c.advance(100);
    await flush();
    expect(tree.value(S(5))).toBe('0');
    c.advance(60);
    await p;
    expect(hw.lock!.isLocked()).toBe(true);
    const u = hw.lock!.unlock(); // feedback stays "locked": must fail
    const failed = expect(u).rejects.toThrow(/did not confirm unlocked/);
    await flush();
    expect(tree.value(S(6))).toBe('1');
    c.advance(100);
    await flush();
    expect(tree.value(S(6))).toBe('0');
    c.advance(60);
    await failed;
  });

  it("5 % digital communication only through its own mode; the current encoding cannot reach it", async () => {
    const { tree, hw } = await setup();
    hw.pilot.setOutput({ mode: 'digital' });
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('50000'); // 5 % of 1 ms
    expect(() => hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 50 })).toThrow(/80\.\.970 per mille/);
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('50000'); // the refused write changed nothing
    hw.pilot.setOutput({ mode: 'x1' });
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000');
  });

  it('CP interruption (wake-up) opens the CP relay with F on the PWM; fault F and every other output keep CP connected', async () => {
    const { tree, hw } = await setup();
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
    expect(tree.value(S(24))).toBe('0');
    hw.pilot.setOutput({ mode: 'f', cpInterrupt: true });
    expect(tree.value(S(24))).toBe('1'); // CP disconnected from the EV
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('0'); // and -12 V on our side: the sense reads F
    hw.pilot.setOutput({ mode: 'x1' });
    expect(tree.value(S(24))).toBe('0');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000');
    hw.pilot.setOutput({ mode: 'f' }); // state F after a fault: signalled on the line, CP stays connected
    expect(tree.value(S(24))).toBe('0');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('0');
    hw.pilot.setOutput({ mode: 'f', cpInterrupt: true });
    hw.safe();
    expect(tree.value(S(24))).toBe('0');
  });

  it('CP interruption without a CP relay is plain state F', async () => {
    const t = new FakeSysfs();
    tree = t;
    const base = gpioConfig(t.root);
    const { cpRelay: _none, ...gpio } = base.gpio;
    hw = await createGpioHardware({ ...base, gpio } as any, { connectorId: 1, log: silentLogger(), clock: new FakeClock(), edges: t.edges, autoStart: false });
    expect(hw.hasCpRelay()).toBe(false);
    hw.pilot.setOutput({ mode: 'f', cpInterrupt: true });
    expect(t.pwmAttr(0, 0, 'duty_cycle')).toBe('0');
    expect(() => t.value(S(24))).toThrow(); // never exported
  });

  it('close() is idempotent and safe() after close writes nothing', async () => {
    const { tree, hw } = await setup();
    hw.contactor.set(true);
    await hw.close();
    expect(tree.value(S(17))).toBe('0');
    await expect(hw.close()).resolves.toBeUndefined();
    expect(() => hw.safe()).not.toThrow();
    expect(tree.value(S(17))).toBe('0');
  });

  it('ADC failure -> fault pilot; recovers when it answers again', async () => {
    const { hw } = await setup();
    let fail = true;
    (hw.pilot as any).adc = { read: async () => { if (fail) throw new Error('EIO'); return { highV: 2.79, lowV: 2.79 }; } };
    for (let i = 0; i < 3; i++) await hw.pilot.sample();
    expect(hw.faults.active().has('pilot')).toBe(true);
    fail = false;
    await hw.pilot.sample();
    expect(hw.faults.active().has('pilot')).toBe(false);
  });
});

describe('RCD self-test at start-up (real time, fake module)', () => {
  function fakeModule(tree: FakeSysfs, mode: 'ok' | 'dead') {
    // The module trips (output low, active-low) while its test input is driven.
    let last = '0';
    tree.setInput(S(22), 1);
    return setInterval(() => {
      let v = '0';
      try { v = tree.value(S(23)); } catch { return; }
      if (v === last) return;
      last = v;
      if (mode === 'ok') tree.setInput(S(22), v === '1' ? 0 : 1);
    }, 2);
  }

  it('passes with a working module; the trip during the test is not reported as a fault', async () => {
    tree = new FakeSysfs();
    const cfg = gpioConfig(tree.root);
    const start = createGpioHardware(cfg as any, { connectorId: 1, log: silentLogger(), clock: new SystemClock('always'), edges: tree.edges, autoStart: false });
    hw = await start;
    const mod = fakeModule(tree, 'ok');
    await new Promise((r) => setTimeout(r, 40)); // module idle, input debounced
    const faults: FaultKind[] = [];
    hw.faults.onChange((k, a) => a && faults.push(k));
    const r = await hw.runRcdSelfTest();
    clearInterval(mod);
    expect(r.ok).toBe(true);
    expect(faults).toEqual([]);
    expect(tree.value(S(23))).toBe('0');
  });

  it('fails with a dead module, raises fault rcd and releases the test input', async () => {
    tree = new FakeSysfs();
    hw = await createGpioHardware(gpioConfig(tree.root) as any, { connectorId: 1, log: silentLogger(), clock: new SystemClock('always'), edges: tree.edges, autoStart: false });
    const mod = fakeModule(tree, 'dead');
    await new Promise((r) => setTimeout(r, 40));
    const r = await hw.runRcdSelfTest();
    clearInterval(mod);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/did not trip within 300 ms/) });
    expect(hw.faults.active().has('rcd')).toBe(true);
    expect(tree.value(S(23))).toBe('0');
  });

  it('refuses to run with the contactor closed', async () => {
    tree = new FakeSysfs();
    hw = await createGpioHardware(gpioConfig(tree.root) as any, { connectorId: 1, log: silentLogger(), clock: new FakeClock(), edges: tree.edges, autoStart: false });
    hw.contactor.set(true);
    expect(await hw.runRcdSelfTest()).toMatchObject({ ok: false, reason: /contactor is closed/ });
  });
});

describe('missing pieces fail clearly after the outputs are safe', () => {
  it('no PWM overlay: error names the dtoverlay; the contactor pin is already low', async () => {
    tree = new FakeSysfs({ pwm: 'none' });
    await expect(
      createGpioHardware(gpioConfig(tree.root) as any, { connectorId: 1, log: silentLogger(), clock: new FakeClock(), edges: tree.edges, autoStart: false }),
    ).rejects.toThrow('dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2');
    expect(tree.attr(S(17), 'direction')).toBe('low');
  });

  it('no ADS1115: error names the overlay', async () => {
    tree = new FakeSysfs({ iio: false });
    await expect(
      createGpioHardware(gpioConfig(tree.root) as any, { connectorId: 1, log: silentLogger(), clock: new FakeClock(), edges: tree.edges, autoStart: false }),
    ).rejects.toThrow(/no IIO device named "ads1115".*dtoverlay=ads1115,addr=0x48/);
  });
});
