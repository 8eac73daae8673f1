import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSysfs, gpioConfig } from './fake-sysfs.js';
import { createGpioHardware, type GpioHardware } from '../../src/hal/gpio/index.js';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import { Connector } from '../../src/evse/connector.js';
import { MeterPoller } from '../../src/meter/poller.js';
import { SimMeter } from '../../src/sim/meter.js';
import { openDb, type Db } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { SessionStore } from '../../src/store/sessions.js';

/**
 * The safety rules end to end through the Raspberry Pi driver: a fake sysfs tree (pins, PWM, the
 * ADS1115's IIO files) -> the real GpioHardware (sampler, debouncer, contactor, heartbeat) -> the
 * real Connector and state machine -> the contactor's GPIO value file. A small simulated EV sets
 * the pilot levels the sense circuit would see for its state and the PWM in the duty_cycle file,
 * and the contactor's aux contact follows the contactor pin (unless welded). Fake time throughout.
 */

const S = (bcm: number) => 512 + bcm; // fake Pi 4 with kernel 6.6
const CONTACTOR = S(17);
const FEEDBACK = S(27);
const RCD = S(22);

interface Ev {
  state: 'A' | 'B' | 'C';
  diode: boolean;
  welded: boolean;
}

interface Rig {
  tree: FakeSysfs;
  hw: GpioHardware;
  clock: FakeClock;
  conn: Connector;
  ev: Ev;
  db: Db;
  dir: string;
  poller: MeterPoller;
  /** Runs the station for `ms` of fake time in 10 ms steps; stops early when `until` holds. Returns the elapsed ms. */
  run(ms: number, until?: () => boolean): Promise<number>;
  contactorPin(): '0' | '1';
  faults(): string[];
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.conn.shutdown('Other');
    await r.poller.stop();
    await r.hw.close();
    r.db.close();
    r.tree.dispose();
    rmSync(r.dir, { recursive: true, force: true });
  }
});

async function rig(): Promise<Rig> {
  const tree = new FakeSysfs();
  const clock = new FakeClock();
  const log = silentLogger();
  const hw = await createGpioHardware(gpioConfig(tree.root) as any, { connectorId: 1, log, clock, edges: tree.edges, autoStart: false });
  const dir = mkdtempSync(join(tmpdir(), 'evsed-gpio-e2e-'));
  const db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
  const store = new SessionStore(db);
  const meter = new SimMeter(clock, null, 1000);
  const poller = new MeterPoller(meter, { connectorId: 1, intervalMs: 1000, staleAfterMs: 10_000, maxPowerW: 50_000, clock, log });
  const conn = new Connector({ id: 1, hardware: hw, poller, store, clock, log, sampleIntervalMs: 1000, flushIntervalMs: 60_000, freeIdTag: 'FREE' });
  const ev: Ev = { state: 'A', diode: true, welded: false };

  /** What the sense circuit sees: the EV's resistor on the high level, the diode on the low one while PWM runs. */
  const applyEv = () => {
    const duty = Number(tree.pwmAttr(0, 0, 'duty_cycle'));
    const high = { A: 12, B: 9, C: 6 }[ev.state];
    if (duty === 0) return tree.setPilot(-12, -12); // state F: our own -12 V
    const pwm = duty < 1_000_000;
    tree.setPilot(high, pwm ? (ev.state === 'A' || ev.diode ? -12 : -high) : 0);
  };
  /** The aux contact follows the contactor coil; a welded one stays closed. */
  const applyContactor = () => {
    const want = ev.welded ? '1' : tree.value(CONTACTOR);
    if (tree.value(FEEDBACK) !== want) tree.setInput(FEEDBACK, want === '1' ? 1 : 0);
  };

  let t = 0;
  const r: Rig = {
    tree, hw, clock, conn, ev, db, dir, poller,
    async run(ms, until) {
      const start = clock.monoMs();
      for (let i = 0; i < ms; i += 10) {
        applyEv();
        await hw.pilot.sample();
        if (t++ % 2 === 0) hw.heartbeat!.tick();
        applyContactor();
        clock.advance(10);
        for (let k = 0; k < 3; k++) await new Promise((res) => setImmediate(res)); // session start/stop (meter, store)
        if (until?.()) break;
      }
      return clock.monoMs() - start;
    },
    contactorPin: () => tree.value(CONTACTOR) as '0' | '1',
    faults: () => conn.snapshot().faults,
  };
  rigs.push(r);
  // the RCD module is idle (its fault output is active low)
  tree.setInput(RCD, 1);
  clock.advance(20);
  poller.start();
  conn.start();
  conn.dispatch({ type: 'offer', amps: 16 });
  return r;
}

/** Plug in (B), free authorisation, session recorded, EV asks for energy (C): contactor closed on the pin. */
async function charging(): Promise<Rig> {
  const r = await rig();
  r.ev.state = 'B';
  await r.run(2000, () => r.conn.session() !== null && r.conn.snapshot().output.mode === 'pwm');
  expect(r.conn.snapshot()).toMatchObject({ session: true, output: { mode: 'pwm', dutyPermille: 266 } });
  expect(r.tree.pwmAttr(0, 0, 'duty_cycle')).toBe('266000');
  r.ev.state = 'C';
  await r.run(1000, () => r.contactorPin() === '1');
  expect(r.contactorPin()).toBe('1');
  expect(r.conn.status()).toBe('Charging');
  await r.run(100); // aux contact followed, no fault
  expect(r.faults()).toEqual([]);
  return r;
}

describe('safety rules end to end: fake sysfs -> GpioHardware -> Connector -> contactor pin', () => {
  it('the contactor closes only once the EV diode was checked with PWM running (EV already in C before the offer)', async () => {
    const r = await rig();
    r.conn.dispatch({ type: 'offer', amps: 0 }); // no offer: X1
    r.ev.state = 'C'; // the EV asks for energy at once
    await r.run(2000, () => r.conn.session() !== null && r.conn.snapshot().pilot === 'C');
    expect(r.conn.snapshot()).toMatchObject({ pilot: 'C', output: { mode: 'x1' }, diodeChecked: false });
    r.conn.dispatch({ type: 'offer', amps: 16 }); // PWM starts now
    expect(r.tree.pwmAttr(0, 0, 'duty_cycle')).toBe('266000');
    expect(r.contactorPin()).toBe('0'); // not in the step that started the PWM
    const waited = await r.run(500, () => r.contactorPin() === '1');
    expect(r.contactorPin()).toBe('1');
    expect(waited).toBeGreaterThanOrEqual(20); // two sample periods of PWM first
  });

  it('pilot drop C -> B: the pin reads 0 within 100 ms; no fault, the session goes on', async () => {
    const r = await charging();
    r.ev.state = 'B';
    const ms = await r.run(200, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeLessThanOrEqual(100);
    await r.run(100);
    expect(r.faults()).toEqual([]);
    expect(r.conn.session()).not.toBeNull();
  });

  it('RCD trip: the pin reads 0 at once, fault rcd reported and latched while plugged (no re-close)', async () => {
    const r = await charging();
    r.tree.setInput(RCD, 0); // the module trips (active low)
    const ms = await r.run(100, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeLessThanOrEqual(30); // input debounce (10 ms) + a step
    expect(r.faults()).toContain('rcd');
    expect(r.conn.status()).toBe('Faulted');
    r.tree.setInput(RCD, 1); // the module resets
    await r.run(1000);
    expect(r.faults()).toEqual(['rcd']); // latched: the EV is still plugged
    expect(r.contactorPin()).toBe('0');
    r.ev.state = 'A'; // unplugged: the latch goes with the EV
    await r.run(300);
    expect(r.faults()).toEqual([]);
  });

  it('diode failure while charging: the pin reads 0 within the fast window, fault diode latched', async () => {
    const r = await charging();
    r.ev.diode = false;
    const ms = await r.run(200, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeLessThanOrEqual(60);
    expect(r.faults()).toContain('diode');
    r.ev.diode = true; // back: still latched while plugged
    await r.run(1000);
    expect(r.faults()).toContain('diode');
    expect(r.contactorPin()).toBe('0');
  });

  it('welding: the aux contact stays closed after opening -> fault welded latched, lockout through unplug until cleared with the contact open', async () => {
    const r = await charging();
    r.ev.welded = true;
    r.ev.state = 'B'; // the EV stops; the contactor is commanded open
    await r.run(100, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    await r.run(1500, () => r.faults().includes('welded'));
    expect(r.faults()).toContain('welded');
    expect(r.hw.faults.active().has('welded')).toBe(true);
    expect(r.conn.status()).toBe('Faulted');
    r.ev.state = 'A';
    await r.run(300);
    r.ev.state = 'C'; // replugged and asking: locked out
    await r.run(1500);
    expect(r.faults()).toContain('welded');
    expect(r.contactorPin()).toBe('0');
    expect(r.hw.clearWeld()).toBe(false); // still closed
    r.ev.welded = false; // repaired
    await r.run(100);
    expect(r.hw.clearWeld()).toBe(true);
    r.conn.dispatch({ type: 'clear-faults' });
    expect(r.faults()).toEqual([]);
  });

  it('event-loop stall longer than the interlock tolerance: the pin reads 0 before the heartbeat resumes, stall latched, no re-close', async () => {
    const r = await charging();
    const toggles = r.hw.heartbeat!.toggles;
    r.clock.advance(250); // nothing ran for 250 ms: the monostable dropped the contactor
    await r.run(10);
    expect(r.contactorPin()).toBe('0');
    expect(r.faults()).toContain('stall');
    expect(r.hw.heartbeat!.toggles).toBeGreaterThan(toggles); // the heartbeat goes on, with the contactor open
    await r.run(1000);
    expect(r.contactorPin()).toBe('0'); // the EV still asks (C): latched until unplug
    expect(r.conn.status()).toBe('Faulted');
  });

  it('a hung ADC read: fault pilot, the pin reads 0 before the heartbeat would stop', async () => {
    const r = await charging();
    (r.hw.pilot as any).adc = { read: () => new Promise(() => {}) };
    const pending = r.hw.pilot.sample(); // the sampler's next read never answers
    let ms = 0;
    while (ms < 200 && r.contactorPin() === '1') {
      r.clock.advance(10);
      ms += 10;
      await new Promise((res) => setImmediate(res));
    }
    await pending;
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeLessThanOrEqual(70); // 6 sample periods
    expect(r.faults()).toContain('pilot');
  });

  it('supervisor veto: a state machine that says "close" with the EV in B never sets the pin', async () => {
    const r = await rig();
    r.ev.state = 'B';
    await r.run(2000, () => r.conn.session() !== null && r.conn.snapshot().output.mode === 'pwm');
    await r.run(100);
    const real = r.conn['sm'].handle.bind(r.conn['sm']);
    const spy = vi.spyOn(r.conn['sm'], 'handle').mockImplementation((ev, now) => [...real(ev, now), { type: 'contactor', closed: true, why: 'injected bug' }]);
    r.conn.dispatch({ type: 'tick' });
    spy.mockRestore();
    expect(r.contactorPin()).toBe('0');
    expect(r.faults()).toEqual(['other']);
    r.ev.state = 'C';
    await r.run(1000);
    expect(r.contactorPin()).toBe('0'); // latched while plugged
  });
});
