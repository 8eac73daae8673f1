import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connector, type ConnectorOptions } from '../../src/evse/connector.js';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import { MeterPoller } from '../../src/meter/poller.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { SimMeter } from '../../src/sim/meter.js';
import { openDb, type Db } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { SessionStore, type SessionRecord } from '../../src/store/sessions.js';

/** The rig's clock: every timer of the connector, poller, simulated EV and board runs on it (no real sleeps). */
let clock = new FakeClock();
const STEP_MS = 5;

/** Lets the fake time run `ms` in small steps, giving queued I/O (SQLite, interrupts on setImmediate) a turn after each. */
async function pass(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += STEP_MS) {
    clock.advance(STEP_MS);
    await new Promise((r) => setImmediate(r));
  }
}

/** Lets the fake time run until `fn` holds; the limit (fake ms) only guards against a hang, it is not a timing assertion. */
async function until(fn: () => boolean, timeoutMs = 8000, what = 'condition'): Promise<void> {
  const end = clock.monoMs() + timeoutMs;
  while (!fn()) {
    if (clock.monoMs() > end) throw new Error(`timed out waiting for ${what}`);
    await pass(STEP_MS);
  }
}

interface Rig {
  hw: SimHardware;
  meter: SimMeter;
  poller: MeterPoller;
  store: SessionStore;
  db: Db;
  conn: Connector;
  stopped: SessionRecord[];
  contactorEvents: { closed: boolean; why: string }[];
}

const rigs: { rig: Rig; dir: string }[] = [];

const INITIAL_WH = 12_345_000;

function rig(over: Partial<ConnectorOptions> = {}): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-connector-'));
  const db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
  const store = new SessionStore(db);
  clock = new FakeClock();
  const log = silentLogger();
  const hw = new SimHardware({ maxCurrentA: 32, phases: 3, voltageV: 230 }, clock);
  hw.ev.reactionMs = 50;
  const meter = new SimMeter(clock, hw.ev, INITIAL_WH, 230);
  const poller = new MeterPoller(meter, { connectorId: 1, intervalMs: 50, staleAfterMs: 2000, maxPowerW: 100_000, maxBackoffMs: 100, clock, log });
  const conn = new Connector({
    id: 1, hardware: hw, poller, store, clock, log,
    sampleIntervalMs: 100, flushIntervalMs: 500,
    ...over,
  });
  const r: Rig = { hw, meter, poller, store, db, conn, stopped: [], contactorEvents: [] };
  conn.on('session-stopped', (rec: SessionRecord) => r.stopped.push(rec));
  conn.on('contactor', (e: { closed: boolean; why: string }) => r.contactorEvents.push(e));
  poller.start();
  conn.start();
  rigs.push({ rig: r, dir });
  return r;
}

afterEach(async () => {
  for (const { rig: r, dir } of rigs.splice(0)) {
    await r.conn.shutdown('Other');
    await r.poller.stop();
    await r.hw.close();
    await r.meter.close();
    r.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Plug, tag, EV ready: wait until energy flows. */
async function startCharging(r: Rig, amps = 32): Promise<SessionRecord> {
  r.conn.dispatch({ type: 'offer', amps });
  r.hw.ev.plug();
  await until(() => r.conn.snapshot().pilot === 'B', 8000, 'pilot B seen');
  r.conn.presentedAuth('TAG1', 'local');
  r.hw.ev.ready();
  await until(() => r.conn.status() === 'Charging' && r.hw.contactor.commanded(), 8000, 'Charging');
  await until(() => r.conn.session() !== null, 8000, 'session recorded');
  return r.conn.session()!;
}

async function stopAndWait(r: Rig, reason: 'Local' | 'Remote' = 'Local'): Promise<SessionRecord> {
  const n = r.stopped.length;
  expect(r.conn.stop(reason, 'TAG1')).toBe(true);
  await until(() => r.stopped.length > n, 8000, 'session-stopped');
  return r.stopped[r.stopped.length - 1]!;
}

describe('Connector with the sim EV, sim meter, poller and a real SQLite store', () => {
  it('a full session records meterStart/meterStop from the register, energy = difference, samples in between', async () => {
    const r = rig();
    const rec = await startCharging(r);
    expect(rec.meterStartWh).toBe(INITIAL_WH); // no energy flows before the contactor closes
    expect(r.store.active().map((s) => s.id)).toEqual([rec.id]);
    await until(() => r.meter.registerWh() >= INITIAL_WH + 4, 8000, 'a few Wh charged');

    const stopped = await stopAndWait(r);
    expect(r.hw.contactor.commanded()).toBe(false);
    const register = r.meter.registerWh(); // frozen: the contactor is open
    expect(stopped).toMatchObject({ id: rec.id, status: 'completed', stopReason: 'Local', stopIdTag: 'TAG1', meterStartWh: INITIAL_WH, meterStopWh: register });
    expect(stopped.energyWh).toBe(register - INITIAL_WH);
    expect(stopped.energyWh).toBeGreaterThanOrEqual(4);
    expect(stopped.durationMs).toBe(stopped.chargingMs + stopped.idleMs);
    expect(stopped.chargingMs).toBeGreaterThan(0);
    expect(stopped.meterGapMs).toBe(0);
    expect(r.store.get(rec.id)).toEqual(stopped);
    expect(r.store.active()).toEqual([]);

    const samples = r.store.samples(rec.id);
    expect(samples.length).toBeGreaterThan(0);
    let prev = INITIAL_WH;
    for (const s of samples) {
      expect(s.energyWh).toBeGreaterThanOrEqual(prev);
      expect(s.energyWh).toBeLessThanOrEqual(register);
      prev = s.energyWh;
    }
    expect(r.hw.contactorLog.map((c) => c.closed)).toEqual([true, false]);
    // The EV left C in reaction to X1 (no forced open): the contactor opened on B.
    await until(() => r.conn.status() === 'Finishing', 8000, 'Finishing');
    r.hw.ev.unplug();
    await until(() => r.conn.status() === 'Available', 8000, 'Available');
  });

  it('unplugging while charging ends the session with EVDisconnected and exact energy', async () => {
    const r = rig();
    const rec = await startCharging(r);
    await until(() => r.meter.registerWh() >= INITIAL_WH + 2, 8000, 'energy');
    r.hw.ev.unplug();
    await until(() => r.stopped.length === 1, 8000, 'session-stopped');
    const stopped = r.stopped[0]!;
    expect(stopped).toMatchObject({ id: rec.id, stopReason: 'EVDisconnected', meterStopWh: r.meter.registerWh() });
    expect(stopped.energyWh).toBe(stopped.meterStopWh! - stopped.meterStartWh);
    expect(r.hw.contactor.commanded()).toBe(false);
  });

  it('the safety supervisor opens the contactor when the raw pilot leaves C, before the pilot event is processed', async () => {
    const r = rig();
    await startCharging(r);
    r.contactorEvents.length = 0;
    r.hw.ev.pause(); // the EV opens S2: the raw reading is B now, its interrupt comes on a later turn
    expect(r.hw.pilot.read().state).toBe('B');
    expect(r.conn.snapshot().pilot).toBe('C'); // the state machine has not seen it
    expect(r.hw.contactor.commanded()).toBe(true);
    r.conn.dispatch({ type: 'tick' }); // any step runs the supervisor
    expect(r.hw.contactor.commanded()).toBe(false);
    expect(r.contactorEvents[0]).toMatchObject({ closed: false, why: 'supervisor: pilot state B' });
    // ...and the state machine was brought up to date in the same call.
    expect(r.conn.snapshot()).toMatchObject({ pilot: 'B', contactor: false });
  });

  it('the safety supervisor opens the contactor on a raw fault input before its event is processed', async () => {
    const r = rig();
    await startCharging(r);
    r.contactorEvents.length = 0;
    r.hw.faults.set('rcd', true);
    expect(r.conn.snapshot().faults).toEqual([]);
    r.conn.dispatch({ type: 'offer', amps: 32 });
    expect(r.hw.contactor.commanded()).toBe(false);
    expect(r.contactorEvents[0]).toMatchObject({ closed: false, why: expect.stringMatching(/^supervisor: fault input active: rcd/) });
    expect(r.conn.snapshot().faults).toEqual(['rcd']);
    expect(r.conn.status()).toBe('Faulted');
  });

  it('supervisor veto: a buggy state machine step that says "close" with the EV in B never reaches the pin', async () => {
    const r = rig();
    r.conn.dispatch({ type: 'offer', amps: 32 });
    r.hw.ev.plug();
    await until(() => r.conn.snapshot().pilot === 'B', 8000, 'pilot B seen');
    r.conn.presentedAuth('TAG1', 'local');
    await until(() => r.conn.session() !== null && r.conn.snapshot().session, 8000, 'session recorded');
    r.contactorEvents.length = 0;
    const real = r.conn['sm'].handle.bind(r.conn['sm']);
    const spy = vi.spyOn(r.conn['sm'], 'handle').mockImplementationOnce((ev, now) => [
      ...real(ev, now),
      { type: 'contactor', closed: true, why: 'injected state machine bug' },
    ]);
    r.conn.dispatch({ type: 'tick' });
    spy.mockRestore();
    expect(r.hw.pilot.read().state).toBe('B');
    expect(r.hw.contactorLog.filter((c) => c.closed)).toEqual([]); // the pin was never written high
    expect(r.hw.contactor.commanded()).toBe(false);
    expect(r.contactorEvents[0]).toMatchObject({ closed: false, why: 'supervisor refused the close: pilot state B' });
    expect(r.conn.snapshot()).toMatchObject({ contactor: false, pilot: 'B' }); // told the contactor is open
    expect(r.conn.snapshot().faults).toEqual([]); // one refusal = the machine lagged an input
  });

  it('supervisor veto: a state machine that insists on closing against it gets a latched fault, the pin stays low', async () => {
    const r = rig();
    r.conn.dispatch({ type: 'offer', amps: 32 });
    r.hw.ev.plug();
    await until(() => r.conn.snapshot().pilot === 'B', 8000, 'pilot B seen');
    r.conn.presentedAuth('TAG1', 'local');
    await until(() => r.conn.session() !== null && r.conn.snapshot().session, 8000, 'session recorded');
    const real = r.conn['sm'].handle.bind(r.conn['sm']);
    const spy = vi.spyOn(r.conn['sm'], 'handle').mockImplementation((ev, now) => [
      ...real(ev, now),
      { type: 'contactor', closed: true, why: 'injected state machine bug' },
    ]);
    r.conn.dispatch({ type: 'tick' }); // must terminate: the refusals do not feed the loop forever
    spy.mockRestore();
    expect(r.hw.contactorLog.filter((c) => c.closed)).toEqual([]);
    expect(r.conn.snapshot().faults).toEqual(['other']);
    expect(r.conn.status()).toBe('Faulted');
    r.hw.ev.ready(); // C now, but the fault is latched while plugged
    await pass(100);
    expect(r.hw.contactor.commanded()).toBe(false);
  });

  it("welded contacts: stop -> 'welded' latched, Faulted, no close (even after replug and a tag) until clear-faults", async () => {
    const r = rig();
    await startCharging(r);
    r.hw.contactor.welded = true;
    const stopped = await stopAndWait(r);
    expect(stopped.stopReason).toBe('Local');
    await until(() => r.conn.snapshot().faults.includes('welded'), 8000, 'welded fault');
    expect(r.conn.status()).toBe('Faulted');

    r.hw.ev.unplug();
    await until(() => r.conn.snapshot().pilot === 'A', 8000, 'unplugged');
    expect(r.conn.snapshot().faults).toEqual(['welded']);
    expect(r.conn.status()).toBe('Faulted');

    r.hw.ev.plug();
    r.hw.ev.ready();
    await until(() => r.conn.snapshot().pilot === 'B', 8000, 'replugged');
    r.conn.presentedAuth('TAG1', 'local');
    expect(r.conn.snapshot()).toMatchObject({ auth: null, session: false, contactor: false, output: { mode: 'x1' } });
    expect(r.hw.contactorLog.map((c) => c.closed)).toEqual([true, false]);

    // The technician repairs the contactor and clears the fault.
    r.hw.contactor.welded = false;
    r.conn.clearFaults();
    expect(r.conn.status()).toBe('Preparing');
    r.conn.presentedAuth('TAG1', 'local');
    await until(() => r.conn.status() === 'Charging' && r.hw.contactor.commanded(), 8000, 'charging again');
    expect(r.hw.contactorLog.map((c) => c.closed)).toEqual([true, false, true]);
    await stopAndWait(r);
    // A healthy contactor raises nothing after the open.
    await pass(250);
    expect(r.conn.snapshot().faults).toEqual([]);
  });

  it('the meter failing during a session: energy still exact at stop, the gap is counted', async () => {
    const r = rig();
    const rec = await startCharging(r);
    await until(() => r.meter.registerWh() >= INITIAL_WH + 2, 8000, 'energy');
    r.meter.failing = true;
    await until(() => r.poller.status().health !== 'ok', 8000, 'meter unhealthy');
    await until(() => (r.conn.liveDurations()?.meterGapMs ?? 0) > 0, 8000, 'meter gap counted');
    expect(r.hw.contactor.commanded()).toBe(true); // not required for charging: keeps charging
    const duringGap = r.meter.registerWh();
    r.meter.failing = false;
    await until(() => r.poller.status().health === 'ok' && (r.poller.latest()?.energyImportWh ?? 0) >= duringGap, 8000, 'meter back');
    const stopped = await stopAndWait(r);
    const register = r.meter.registerWh();
    expect(stopped).toMatchObject({ id: rec.id, meterStartWh: INITIAL_WH, meterStopWh: register, energyWh: register - INITIAL_WH });
    expect(stopped.meterGapMs).toBeGreaterThan(0);
    expect(stopped.meterGapMs).toBeLessThanOrEqual(stopped.durationMs);
  });

  it('a short meter outage (well under the 1 s housekeeping tick) is counted in full as a meter gap', async () => {
    const r = rig();
    await startCharging(r);
    await until(() => r.poller.status().health === 'ok' && r.poller.latest() !== undefined, 8000, 'meter ok');
    // Marks taken by a listener registered after the connector's, so each is at or after the connector saw the change.
    let badAt: number | null = null;
    let okAt: number | null = null;
    r.poller.on('health', (st: { health: string }) => {
      if (st.health !== 'ok') badAt ??= clock.monoMs();
      else if (badAt !== null) okAt ??= clock.monoMs();
    });
    r.meter.failing = true;
    await until(() => badAt !== null && r.poller.status().failures >= 2, 8000, 'two failed reads');
    r.meter.failing = false;
    await until(() => okAt !== null, 8000, 'meter back');
    const stopped = await stopAndWait(r);
    // The marks are on the same fake clock as the connector's own; 2 ms covers whole-ms counting.
    expect(stopped.meterGapMs).toBeGreaterThanOrEqual(Math.floor(okAt! - badAt!) - 2);
    expect(stopped.meterGapMs).toBeLessThanOrEqual(stopped.durationMs);
  });

  it("meterRequiredGraceMs: a meter unreadable past the grace raises 'meter', opens the contactor; it self-clears and charging resumes", async () => {
    const r = rig({ meterRequiredGraceMs: 300 });
    const rec = await startCharging(r);
    r.meter.failing = true;
    await until(() => !r.hw.contactor.commanded(), 8000, 'contactor opened by the meter fault');
    expect(r.conn.snapshot().faults).toEqual(['meter']);
    expect(r.conn.status()).toBe('Faulted');
    expect(r.contactorEvents.at(-1)).toMatchObject({ closed: false, why: expect.stringContaining('meter') });
    expect(r.conn.session()?.id).toBe(rec.id); // the session stays open

    r.meter.failing = false;
    await until(() => r.conn.status() === 'Charging' && r.hw.contactor.commanded(), 8000, 'charging again');
    expect(r.conn.snapshot().faults).toEqual([]);
    const stopped = await stopAndWait(r);
    expect(stopped.id).toBe(rec.id);
    expect(stopped.energyWh).toBe(r.meter.registerWh() - INITIAL_WH);
  });

  it('an EV that ignores X1 is cut off under load after stopTimeoutMs', async () => {
    const r = rig({ sm: { stopTimeoutMs: 300 } });
    await startCharging(r);
    r.hw.ev.ignoreStop = true;
    const stopped = await stopAndWait(r);
    expect(r.hw.ev.pilotState()).toBe('C');
    expect(r.hw.contactor.commanded()).toBe(false);
    expect(r.contactorEvents.at(-1)?.why).toMatch(/under load/);
    expect(stopped.energyWh).toBe(r.meter.registerWh() - INITIAL_WH);
  });
});
