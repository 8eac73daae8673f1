import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createPilotBoardHardware, type PilotBoardHardware } from '../../src/hal/pilot-board/index.js';
import { pilotBoardHardwareSchema } from '../../src/config/pilot-board.js';
import { PilotBoardSim, type PilotBoardSimOptions } from '../../src/sim/pilot-board-sim.js';
import { RtuSlaveLine } from '../../src/sim/modbus-rtu-slave.js';
import type { PilotReading } from '../../src/hal/types.js';
import { hasSocat, SocatPtyPair } from '../support/pty.js';
import { until } from '../support/station.js';

/**
 * The pilot-board driver against the simulated EVSE DIN board, over a pty pair made by socat:
 * real RTU frames (CRC, FC03 reads, FC16 writes) through a real serial port on both ends. The
 * driver calls here are the ones the connector makes; the daemon-level behaviour is in
 * pilot-board-daemon.test.ts.
 */

if (!hasSocat) console.log('SKIPPED: socat not installed: the pilot-board driver tests over a pty pair did not run (apt-get install socat)');

interface Rig {
  sim: PilotBoardSim;
  line: RtuSlaveLine;
  hw: PilotBoardHardware;
  readings: PilotReading[];
  faults: () => string[];
  logs: Record<string, unknown>[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(simOpts: PilotBoardSimOptions = {}, cfg: Record<string, unknown> = {}, answering = true): Promise<Rig> {
  const pty = new SocatPtyPair();
  await pty.up();
  cleanups.push(() => pty.dispose());
  const sim = new PilotBoardSim({ ev: { maxCurrentA: 16 }, ...simOpts });
  sim.answering = answering;
  cleanups.push(async () => sim.dispose());
  const line = new RtuSlaveLine([[1, sim]]);
  const served = await line.openSerial(pty.deviceEnd);
  cleanups.push(() => served.close());
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) });
  const config = pilotBoardHardwareSchema.parse({ driver: 'pilot-board', model: 'evse-din', path: pty.evsedEnd, pollMs: 50, timeoutMs: 150, requestGapMs: 2, offlineAfterPolls: 3, ...cfg });
  const hw = createPilotBoardHardware(config, { connectorId: 1, log });
  cleanups.push(() => hw.close());
  const readings: PilotReading[] = [];
  hw.pilot.onChange((r) => readings.push(r));
  hw.safe(); // what the daemon does first
  return { sim, line, hw, readings, logs, faults: () => [...hw.faults.active()].sort() };
}

const reading = (hw: PilotBoardHardware) => hw.pilot.read();

/** Plugged, offered 16 A, the EV asks (C): the board has closed its relay and evsed confirms. */
async function charging(r: Rig): Promise<void> {
  r.sim.ev.plug();
  await until(() => reading(r.hw).state === 'B', 'B from the board');
  r.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
  await until(() => r.sim.offeredA() === 16, 'the board offers 16 A');
  r.sim.ev.ready();
  await until(() => reading(r.hw).state === 'C' && reading(r.hw).diodeChecked, 'C with a checked diode');
  r.hw.contactor.set(true);
  expect(r.sim.relayOn()).toBe(true);
}

describe.skipIf(!hasSocat)('pilot-board driver against the simulated EVSE DIN over a socat pty pair', () => {
  it('at start the board is told to turn charging off with no current; the vehicle state register is the pilot reading', async () => {
    const r = await rig({ currentAfterBootA: 32 });
    // The board booted with 32 A from register 2000 and is enabled: the first writes take that away.
    await until(() => r.sim.writes.length >= 2, 'the first writes');
    expect(r.sim.writes.slice(0, 2)).toEqual([{ address: 1004, words: [1] }, { address: 1000, words: [0] }]);
    expect(r.logs.some((l) => String(l.msg).includes('currentAfterBoot of 6 A or more'))).toBe(true);
    expect(reading(r.hw)).toEqual({ state: 'A', diodeOk: true, diodeChecked: false });
    r.sim.ev.plug();
    await until(() => reading(r.hw).state === 'B', 'B');
    expect(reading(r.hw)).toEqual({ state: 'B', diodeOk: true, diodeChecked: false }); // no PWM: no diode verdict
    expect(r.sim.offeredA()).toBe(0);
    r.sim.ev.unplug();
    await until(() => reading(r.hw).state === 'A', 'A');
    expect(r.readings.map((x) => x.state)).toEqual(['B', 'A']);
  });

  it('an offer becomes register 1000 (16 A for 26.6 %), the board closes at C, evsed confirms; X1 ends it, the EV goes to B, the board is turned off', async () => {
    const r = await rig();
    await charging(r);
    expect(r.sim.writes.filter((w) => w.address === 1000).at(-1)).toEqual({ address: 1000, words: [16] });
    expect(r.sim.writes.at(-1)).toEqual({ address: 1004, words: [0] }); // enabled after the current was written
    await new Promise((res) => setTimeout(res, 200));
    expect(r.sim.relayOn()).toBe(true); // evsed confirmed: no turn-off
    // The offer is withdrawn while the contactor is still commanded closed (the 6 s rule): no PWM, the EV stops.
    r.hw.pilot.setOutput({ mode: 'x1' });
    await until(() => r.sim.offeredA() === 0, 'no PWM');
    expect(r.sim.writes.at(-1)).toEqual({ address: 1000, words: [0] });
    await until(() => reading(r.hw).state === 'B', 'the EV went to B');
    r.hw.contactor.set(false);
    await until(() => r.sim.writes.at(-1)?.address === 1004 && r.sim.writes.at(-1)!.words[0] === 1, 'turned off');
  });

  it('the board closes on its own at C; evsed not confirming within a poll turns it off (its veto), and a new C is judged again', async () => {
    const r = await rig();
    r.sim.ev.plug();
    r.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
    r.sim.ev.ready();
    await until(() => r.sim.relayOn(), 'the board closed by itself at C');
    await until(() => !r.sim.relayOn(), 'turned off after evsed did not confirm', 3000);
    expect(r.logs.some((l) => String(l.msg).includes('did not confirm the pilot board\'s close'))).toBe(true);
    // Without PWM this EV goes back to B; that is a new request: the board is enabled again.
    await until(() => reading(r.hw).state === 'B', 'B');
    await until(() => r.sim.relayOn(), 'a new C: the board closes again');
    r.hw.contactor.set(true);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.sim.relayOn()).toBe(true);
  });

  it('safe() while charging: the turn-off is the next request on the line and the relay opens', async () => {
    const r = await rig();
    await charging(r);
    const before = r.sim.writes.length;
    r.hw.safe();
    expect(r.hw.contactor.commanded()).toBe(false); // at once, synchronously
    await until(() => !r.sim.relayOn(), 'relay open');
    await until(() => r.sim.offeredA() === 0 && r.sim.read(3, 1000, 1)?.toString() === '0', 'no current');
    const after = r.sim.writes.slice(before);
    expect(after[0]).toEqual({ address: 1004, words: [1] });
    // A write in flight when safe() ran may make the turn-off come twice; never an enable.
    expect(after.filter((w) => w.address === 1004).every((w) => w.words[0] === 1)).toBe(true);
    expect(after.at(-1)).toEqual({ address: 1000, words: [0] });
  });

  it('safe() right after an offer: the writes still under way never enable the board', async () => {
    const r = await rig();
    r.sim.ev.plug();
    await until(() => reading(r.hw).state === 'B', 'B');
    await until(() => r.sim.read(3, 1004, 1)?.toString() === '1', 'turned off at start');
    const before = r.sim.writes.length;
    r.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 }); // the current goes out first, the enable would follow
    r.hw.safe();
    await until(() => r.sim.read(3, 1000, 1)?.toString() === '0' && r.sim.writes.length > before + 1, 'settled');
    await new Promise((res) => setTimeout(res, 200));
    const after = r.sim.writes.slice(before);
    expect(after).not.toContainEqual({ address: 1004, words: [0] });
    expect(r.sim.offeredA()).toBe(0);
  });

  it('the board stops answering mid-charge: fault pilot after offlineAfterPolls, with a log; it charges on (no watchdog) until it answers, then is turned off', async () => {
    const r = await rig();
    await charging(r);
    r.sim.answering = false;
    await until(() => r.faults().includes('pilot'), 'fault pilot', 3000);
    const err = r.logs.find((l) => String(l.msg).startsWith('pilot board not answering'));
    expect(err).toMatchObject({ level: 50 });
    expect(String(err!.board)).toContain('unit 1 on ');
    // What the connector does on the fault: contactor open. The board cannot hear it.
    r.hw.contactor.set(false);
    r.hw.pilot.setOutput({ mode: 'x1' });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.sim.relayOn()).toBe(true);
    expect(r.hw.health()).toEqual({ ok: true }); // the poll loop runs: a fault, not a reason to restart
    r.sim.answering = true;
    await until(() => !r.sim.relayOn(), 'turned off once it answers', 3000);
    // The input clears once the board answers again (the connector keeps it latched until unplug: fault table).
    await until(() => r.faults().length === 0, 'the pilot fault input cleared', 3000);
    expect(r.logs.some((l) => l.msg === 'pilot board answers again')).toBe(true);
  });

  it('a board that never answers: the driver starts anyway, fault pilot after offlineAfterPolls, its loop stays alive', async () => {
    const r = await rig({}, {}, false);
    await until(() => r.faults().includes('pilot'), 'fault pilot', 3000);
    expect(r.hw.health()).toEqual({ ok: true });
    expect(reading(r.hw)).toEqual({ state: 'A', diodeOk: true, diodeChecked: false });
    r.sim.answering = true;
    await until(() => r.faults().length === 0, 'found', 3000);
    expect(r.sim.read(3, 1004, 1)).toEqual([1]); // told to turn off as soon as it answered
  });

  it('board faults: a diode check failure is the reading\'s diodeOk, an RCD error is fault rcd', async () => {
    const r = await rig();
    await charging(r);
    r.sim.setDiodeFault(true);
    await until(() => !reading(r.hw).diodeOk, 'diode verdict');
    expect(reading(r.hw)).toEqual({ state: 'C', diodeOk: false, diodeChecked: false });
    expect(r.sim.relayOn()).toBe(false); // the board opened itself
    r.sim.setDiodeFault(false);
    r.sim.ev.unplug();
    await until(() => reading(r.hw).state === 'A' && reading(r.hw).diodeOk, 'unplugged, failure released');
    r.sim.setRcd(true);
    await until(() => r.faults().includes('rcd'), 'fault rcd');
    r.sim.setRcd(false);
    await until(() => r.faults().length === 0, 'rcd clear');
  });

  it('a relay that stays on after the turn-off was acknowledged: fault contactor after two polls, with a log', async () => {
    const r = await rig();
    await charging(r);
    r.sim.relayStuck = true;
    r.hw.contactor.set(false);
    r.hw.pilot.setOutput({ mode: 'x1' });
    await until(() => r.faults().includes('contactor'), 'fault contactor', 3000);
    expect(r.sim.read(3, 1004, 1)).toEqual([1]);
    expect(r.logs.some((l) => l.msg === 'the pilot board keeps its relay on although told to turn charging off: fault contactor' && l.level === 50)).toBe(true);
    r.sim.relayStuck = false;
    r.sim.ev.unplug(); // the firmware re-evaluates: the relay drops
    await until(() => r.faults().length === 0, 'relay off: input clear');
  });

  it('a board that restarts gets evsed\'s values again at the next poll', async () => {
    const r = await rig({ currentAfterBootA: 32 });
    r.sim.ev.plug();
    await until(() => reading(r.hw).state === 'B', 'B');
    await until(() => r.sim.writes.length >= 2, 'turned off');
    const before = r.sim.writes.length;
    r.sim.reboot(); // enabled with 32 A by itself
    expect(r.sim.offeredA()).toBe(32);
    await until(() => r.sim.writes.length >= before + 2, 'rewritten');
    expect(r.sim.offeredA()).toBe(0);
    expect(r.sim.writes.slice(before)).toEqual([{ address: 1004, words: [1] }, { address: 1000, words: [0] }]);
    expect(r.logs.some((l) => String(l.msg).startsWith('the pilot board holds other values than evsed wrote'))).toBe(true);
  });

  it('a board in 0.01 A resolution (configBits bit 7) gets 1596 for 26.6 %', async () => {
    const r = await rig({ configBits: 128 });
    r.sim.ev.plug();
    r.hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
    await until(() => r.sim.offeredA() > 0, 'offer');
    expect(r.sim.offeredA()).toBeCloseTo(15.96, 5);
    expect(r.sim.writes.find((w) => w.address === 1000 && w.words[0] !== 0)).toEqual({ address: 1000, words: [1596] });
  });

  it('health: the poll loop is alive; closed, it is not', async () => {
    const r = await rig();
    expect(r.hw.health()).toEqual({ ok: true });
    await r.hw.close();
    expect(r.hw.health()).toMatchObject({ ok: false });
  });
});
