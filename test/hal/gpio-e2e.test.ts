import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSysfs, gpioConfig } from './fake-sysfs.js';
import { DEFAULT_SM_OPTIONS, fReadbackGraceMs, type StateMachineOptions } from '../../src/evse/state-machine.js';
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
const LOCK_A = S(5); // motor: lock
const LOCK_B = S(6); // motor: unlock
const LOCK_FB = S(13); // active while the lock pin is extended

interface Ev {
  /** E: CP shorted to PE. */
  state: 'A' | 'B' | 'C' | 'E';
  diode: boolean;
  welded: boolean;
  /** The socket's lock actuator is jammed: its feedback never follows the motor. */
  lockJammed: boolean;
  /** In C, the EV goes to B this long after the offer is withdrawn (X1); null: it keeps drawing. */
  x1ReactionMs: number | null;
}

/** What the pins did since the rig started (checked after every step). */
interface Seen {
  contactorClosed: boolean;
  unlockDriven: boolean;
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
  seen: Seen;
  /** Runs the station for `ms` of fake time in `stepMs` steps (10 ms); stops early when `until` holds. Returns the elapsed ms. */
  run(ms: number, until?: () => boolean, stepMs?: number): Promise<number>;
  contactorPin(): '0' | '1';
  faults(): string[];
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    // A shutdown under load waits for the EV (or the stop timeout) on the fake clock.
    let done = false;
    const stopped = r.conn.shutdown('Other').finally(() => (done = true));
    for (let i = 0; i < 200 && !done; i++) {
      r.clock.advance(100);
      await new Promise((res) => setImmediate(res));
    }
    await stopped;
    await r.poller.stop();
    await r.hw.close();
    r.db.close();
    r.tree.dispose();
    rmSync(r.dir, { recursive: true, force: true });
  }
});

async function rig(over: Record<string, unknown> = {}, sm: Partial<StateMachineOptions> = {}): Promise<Rig> {
  const tree = new FakeSysfs();
  const clock = new FakeClock();
  const log = silentLogger();
  const hw = await createGpioHardware(gpioConfig(tree.root, over) as any, { connectorId: 1, log, clock, edges: tree.edges, autoStart: false });
  const dir = mkdtempSync(join(tmpdir(), 'evsed-gpio-e2e-'));
  const db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
  const store = new SessionStore(db);
  const meter = new SimMeter(clock, null, 1000);
  const poller = new MeterPoller(meter, { connectorId: 1, intervalMs: 1000, staleAfterMs: 10_000, maxPowerW: 50_000, clock, log });
  const conn = new Connector({ id: 1, hardware: hw, poller, store, clock, log, sm, sampleIntervalMs: 1000, flushIntervalMs: 60_000, freeIdTag: 'FREE' });
  const ev: Ev = { state: 'A', diode: true, welded: false, lockJammed: false, x1ReactionMs: null };
  const seen: Seen = { contactorClosed: false, unlockDriven: false };
  let x1Since: number | undefined;

  /** What the sense circuit sees: the EV's resistor on the high level, the diode on the low one while PWM runs. */
  const applyEv = () => {
    const duty = Number(tree.pwmAttr(0, 0, 'duty_cycle'));
    if (ev.state === 'E') return tree.setPilot(0, 0); // CP shorted to PE: 0 V whatever we drive
    if (duty === 0) return tree.setPilot(-12, -12); // state F: our own -12 V
    const pwm = duty < 1_000_000;
    if (ev.state === 'C' && !pwm && ev.x1ReactionMs !== null) {
      x1Since ??= clock.monoMs();
      if (clock.monoMs() - x1Since >= ev.x1ReactionMs) ev.state = 'B'; // the EV opens S2
    } else {
      x1Since = undefined;
    }
    const high = { A: 12, B: 9, C: 6 }[ev.state];
    tree.setPilot(high, pwm ? (ev.state === 'A' || ev.diode ? -12 : -high) : 0);
  };
  const wired = (sysfs: number) => existsSync(tree.gpioDir(sysfs));
  /** The aux contact follows the contactor coil; a welded one stays closed. */
  const applyContactor = () => {
    if (tree.value(CONTACTOR) === '1') seen.contactorClosed = true;
    if (!wired(FEEDBACK)) return;
    const want = ev.welded ? '1' : tree.value(CONTACTOR);
    if (tree.value(FEEDBACK) !== want) tree.setInput(FEEDBACK, want === '1' ? 1 : 0);
  };
  /** The lock pin follows its motor (motorA locks, motorB unlocks), unless it is jammed. */
  const applyLock = () => {
    const a = tree.value(LOCK_A);
    const b = tree.value(LOCK_B);
    if (b === '1') seen.unlockDriven = true;
    if (ev.lockJammed) return;
    const fb = tree.value(LOCK_FB);
    if (a === '1' && fb !== '1') tree.setInput(LOCK_FB, 1);
    if (b === '1' && fb !== '0') tree.setInput(LOCK_FB, 0);
  };

  let t = 0;
  const r: Rig = {
    tree, hw, clock, conn, ev, db, dir, poller, seen,
    async run(ms, until, stepMs = 10) {
      const start = clock.monoMs();
      for (let i = 0; i < ms; i += stepMs) {
        applyEv();
        await hw.pilot.sample();
        if (t++ % 2 === 0) hw.heartbeat!.tick();
        applyContactor();
        applyLock();
        clock.advance(stepMs);
        for (let k = 0; k < 3; k++) await new Promise((res) => setImmediate(res)); // session start/stop (meter, store)
        if (tree.value(CONTACTOR) === '1') seen.contactorClosed = true;
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
async function charging(over: Record<string, unknown> = {}): Promise<Rig> {
  const r = await rig(over);
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

describe('issue 11 at the pin: the cable lock, unlock rules, RCD chatter, E after F, shutdown under load', () => {
  it('lock jam: the contactor never closes, fault lock, status Faulted', async () => {
    const r = await rig();
    r.ev.lockJammed = true;
    r.ev.state = 'B';
    await r.run(2000, () => r.conn.session() !== null && r.faults().length > 0);
    r.ev.state = 'C'; // the EV asks for energy
    await r.run(2000);
    expect(r.seen.contactorClosed).toBe(false);
    expect(r.contactorPin()).toBe('0');
    expect(r.faults()).toContain('lock');
    expect(r.conn.status()).toBe('Faulted');
    r.ev.state = 'A'; // unplugged: the lock fault clears with the EV (fault table)
    await r.run(300);
    expect(r.faults()).toEqual([]);
  });

  it('the lock reads unlocked while the contactor is closed: the pin drops at once, fault lock', async () => {
    const r = await charging();
    expect(r.tree.value(LOCK_FB)).toBe('1'); // locked before the close
    r.tree.setInput(LOCK_FB, 0); // the lock pin is pushed back (broken actuator, forced plug)
    const ms = await r.run(200, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeLessThanOrEqual(30); // input debounce (10 ms) + a step
    expect(r.faults()).toContain('lock');
    expect(r.conn.status()).toBe('Faulted');
    await r.run(1000);
    expect(r.contactorPin()).toBe('0'); // latched while plugged
  });

  it('weld then stop: the plug stays locked (session end and UnlockConnector), released once the feedback reads open', async () => {
    const r = await charging();
    r.ev.welded = true;
    r.ev.x1ReactionMs = 200;
    r.conn.stop('Local');
    await r.run(3000, () => r.conn.session() === null);
    await r.run(1000);
    expect(r.conn.session()).toBeNull();
    expect(r.contactorPin()).toBe('0');
    expect(r.faults()).toContain('welded');
    expect(r.seen.unlockDriven).toBe(false); // the unlock motor never ran
    expect(r.tree.value(LOCK_FB)).toBe('1');
    expect(r.hw.lock!.isLocked()).toBe(true);
    expect(await r.conn.unlock()).toBe('UnlockFailed'); // OCPP UnlockConnector: refused
    await r.run(500);
    expect(r.seen.unlockDriven).toBe(false);
    expect(r.tree.value(LOCK_FB)).toBe('1');
    r.ev.welded = false; // the contact opens (repaired): the cable is released
    await r.run(1000, () => r.tree.value(LOCK_FB) === '0');
    expect(r.seen.unlockDriven).toBe(true);
    expect(r.tree.value(LOCK_FB)).toBe('0');
  });

  it('no contactor feedback wired: the open contactor cannot be confirmed, so the cable is never unlocked', async () => {
    const { contactorFeedback: _none, ...gpio } = gpioConfig('/unused').gpio;
    const r = await charging({ gpio });
    r.ev.x1ReactionMs = 200;
    r.conn.stop('Local');
    await r.run(3000, () => r.conn.session() === null);
    await r.run(1000);
    expect(r.conn.session()).toBeNull();
    expect(r.seen.unlockDriven).toBe(false);
    expect(await r.conn.unlock()).toBe('UnlockFailed');
    await r.run(500);
    expect(r.seen.unlockDriven).toBe(false);
    expect(r.tree.value(LOCK_FB)).toBe('1');
  });

  it('RCD chatter (the fault line toggles every 8 ms for 2 s): fault rcd, the pin drops within a few toggles', async () => {
    const r = await charging();
    let level: 0 | 1 = 0; // active low: 0 = tripped
    let droppedAtMs: number | undefined;
    for (let t = 0; t < 2000; t += 8) {
      r.tree.setInput(RCD, level);
      level = level ? 0 : 1;
      await r.run(8, undefined, 8);
      if (r.contactorPin() === '0') droppedAtMs ??= t + 8;
    }
    expect(droppedAtMs).toBeDefined();
    expect(droppedAtMs!).toBeLessThanOrEqual(40); // 10 ms of asserted time, counted across the toggles
    expect(r.faults()).toContain('rcd');
    expect(r.conn.status()).toBe('Faulted');
    r.tree.setInput(RCD, 1);
    await r.run(1000);
    expect(r.contactorPin()).toBe('0'); // latched while plugged
  });

  it('a short glitch on the RCD line (3 ms, now and then) does not trip', async () => {
    const r = await charging();
    for (let i = 0; i < 20; i++) {
      r.tree.setInput(RCD, 0);
      await r.run(3, undefined, 3);
      r.tree.setInput(RCD, 1);
      await r.run(60);
    }
    expect(r.faults()).toEqual([]);
    expect(r.contactorPin()).toBe('1');
  });

  it('E after our own F: a real short (state E) just after the wake-up F ended is a fault, not our own signal', async () => {
    const r = await rig();
    r.ev.state = 'B';
    await r.run(2000, () => r.conn.session() !== null && r.conn.snapshot().output.mode === 'pwm');
    await r.run(100);
    r.conn.dispatch({ type: 'wake' });
    expect(r.conn.snapshot().output).toEqual({ mode: 'f', cpInterrupt: true });
    await r.run(5000, () => r.conn.snapshot().output.mode === 'x1');
    expect(r.conn.snapshot().output.mode).toBe('x1');
    r.ev.state = 'E'; // CP shorted to PE, 10 ms after our F ended
    await r.run(1000, () => r.faults().includes('pilot'));
    expect(r.faults()).toContain('pilot');
    expect(r.conn.status()).toBe('Faulted');
  });

  it('a slow pilot sense (debounceMs 600): our own F still read after it ended is no fault; the EV is read again', async () => {
    const cfg = gpioConfig('/unused');
    const pilotSense = { ...cfg.pilotSense, debounceMs: 600 };
    const r = await rig({ pilotSense }, { fReadbackGraceMs: fReadbackGraceMs(pilotSense) });
    r.ev.state = 'B';
    await r.run(3000, () => r.conn.session() !== null && r.conn.snapshot().output.mode === 'pwm');
    await r.run(100);
    r.conn.dispatch({ type: 'wake' });
    await r.run(5000, () => r.conn.snapshot().output.mode === 'x1');
    await r.run(2000, () => r.conn.snapshot().pilot === 'B');
    expect(r.conn.snapshot().pilot).toBe('B'); // read again 600 ms after our F ended
    await r.run(500);
    expect(r.faults()).toEqual([]);
    expect(r.conn.status()).not.toBe('Faulted');
  });

  it('shutdown under load: X1 first (steady PWM), the contactor line drops only once the EV is in B', async () => {
    const r = await charging();
    r.ev.x1ReactionMs = 300;
    let finished = false;
    const done = r.conn.shutdown('Reboot').then(() => (finished = true));
    // the offer is withdrawn at once: steady +12 V on the PWM, the contactor still closed
    expect(r.tree.pwmAttr(0, 0, 'duty_cycle')).toBe(r.tree.pwmAttr(0, 0, 'period'));
    expect(r.tree.pwmAttr(0, 0, 'enable')).toBe('1');
    expect(r.contactorPin()).toBe('1');
    const ms = await r.run(2000, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeGreaterThanOrEqual(300); // not before the EV went to B...
    expect(ms).toBeLessThanOrEqual(300 + 100); // ...and within 100 ms of it
    await r.run(2000, () => finished);
    await done;
    expect(new SessionStore(r.db).latestOn(1)).toMatchObject({ status: 'completed', stopReason: 'Reboot' });
  });

  it('shutdown under load, the EV keeps drawing: the contactor line drops at the stop timeout (6 s), not before', async () => {
    const r = await charging();
    let finished = false;
    const done = r.conn.shutdown('Reboot').then(() => (finished = true));
    expect(r.tree.pwmAttr(0, 0, 'duty_cycle')).toBe(r.tree.pwmAttr(0, 0, 'period'));
    expect(r.contactorPin()).toBe('1');
    const ms = await r.run(10_000, () => r.contactorPin() === '0');
    expect(r.contactorPin()).toBe('0');
    expect(ms).toBeGreaterThanOrEqual(DEFAULT_SM_OPTIONS.stopTimeoutMs);
    expect(ms).toBeLessThanOrEqual(DEFAULT_SM_OPTIONS.stopTimeoutMs + 100);
    await r.run(2000, () => finished);
    await done;
    expect(new SessionStore(r.db).latestOn(1)).toMatchObject({ status: 'completed', stopReason: 'Reboot' });
  });
});
