import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../../config/load.js';
import { SystemClock } from '../../hal/clock.js';
import { silentLogger, type Logger } from '../../log.js';
import { createGpioHardware, type GpioHardware, type GpioHardwareContext } from '../../hal/gpio/index.js';
import { acquireHardwareLock, EXIT_HARDWARE_BUSY, HardwareBusyError, HardwareLockError, type HardwareLock } from '../../hal/hardware-lock.js';
import type { GpioHardwareConfig } from '../../config/gpio.js';
import { phaseRelayViolation, supervisorViolation } from '../../domain/supervisor.js';
import type { FaultKind } from '../../domain/types.js';
import { openDb } from '../../store/db.js';
import { LockoutStore } from '../../store/lockouts.js';
import { LatchFile, latchPath } from '../../hal/safety-core/latch-file.js';
import { PhaseRelayFile, phaseRelayPath } from '../../hal/safety-core/phase-file.js';
import { UsageError } from './args.js';
import { parseArgv } from '../define.js';
import { stationReaders, type ResolvedReader } from '../../config/readers.js';
import type { CardReader } from '../../hal/readers/types.js';
import { testReader } from './hw-test-readers.js';
import { testSignals } from './hw-test-signals.js';

/** How long the reader test waits for a card by default. */
const CARD_TIMEOUT_S = 30;

export interface HwTestRow {
  connector: number;
  item: string;
  pin: string;
  action: string;
  result: string;
  ok: boolean;
}

export interface HwTestIo {
  out: (line: string) => void;
  /** Asked before the contactor closes; true = go ahead. */
  confirm: (question: string) => Promise<boolean>;
  /** Test hooks (fake sysfs); production leaves them out. */
  ctx?: Partial<GpioHardwareContext>;
  log?: Logger;
  /** The service's state as systemd reports it (default: `systemctl is-active evsed`); undefined when systemd cannot tell. */
  serviceState?: () => Promise<string | undefined>;
  /** A card reader's driver (tests); default: the configured one. */
  reader?: (cfg: ResolvedReader) => CardReader;
  /** How long the light shows each pattern (default 1500 ms; tests shorten it). */
  signalDwellMs?: number;
}

/** systemctl is-active states in which the daemon runs or is about to: it holds (or takes) the hardware. */
const SERVICE_RUNNING = ['active', 'activating', 'deactivating', 'reloading', 'refreshing'];
const SERVICE = 'evsed';
const STOP_HINT = `stop the daemon first (sudo systemctl stop ${SERVICE}), then run hw test again`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `evsed hw test`: a technician's self-test of one station's Pi wiring. Toggles each output once
 * (asking before the contactor), reads each input, measures the pilot, prints a table. Refuses to
 * touch a pin while the daemon holds the hardware (its lock in the state directory, or systemd
 * reports the service running), and holds that lock itself meanwhile, so the daemon cannot start
 * underneath it. The contactor closes only through the daemon's own veto (supervisorViolation).
 * Then each card reader (all, or the one `--reader` names, which skips the pins) waits for a
 * card and prints the idTag the daemon would see.
 */
export async function hwTestCommand(argv: string[], io?: HwTestIo): Promise<number> {
  return hwTest(parseArgv<HwTestOptions>(['hw', 'test'], argv), io);
}

export interface HwTestOptions {
  config: string;
  yes: boolean;
  connector?: string;
  /** Only this card reader (skips the pins). */
  reader?: string;
  /** How long the reader test waits for a card (s). */
  cardTimeoutS?: string;
}

export async function hwTest(values: HwTestOptions, io?: HwTestIo): Promise<number> {
  const out = io?.out ?? ((l: string) => console.log(l));
  const { config, storageDir, dbFile } = loadConfig(values.config);
  const only = values.connector === undefined ? undefined : Number(values.connector);
  if (only !== undefined && !config.connectors.some((c) => c.id === only)) throw new UsageError(`--connector: no connector ${values.connector} in the config`);
  const allReaders = stationReaders(config);
  if (values.reader !== undefined && !allReaders.some((r) => r.id === values.reader)) {
    throw new UsageError(`no reader ${values.reader} in the config (readers: ${allReaders.map((r) => r.id).join(', ') || 'none'})`);
  }
  const cardTimeoutS = values.cardTimeoutS === undefined ? CARD_TIMEOUT_S : Number(values.cardTimeoutS);
  if (!Number.isFinite(cardTimeoutS) || cardTimeoutS <= 0 || cardTimeoutS > 600) throw new UsageError(`--card-timeout-s: must be a number of seconds above 0, at most 600`);
  const readers = allReaders.filter((r) => (values.reader === undefined ? only === undefined || r.connector === only : r.id === values.reader));
  const targets = values.reader !== undefined ? [] : config.connectors.filter((c) => c.hardware.driver === 'gpio' && (only === undefined || c.id === only));
  // The light and buzzer (signals: with driver gpio), unless only a reader or another connector is asked for.
  const sig = config.signals;
  const signalsConnector = sig ? (sig.connector ?? config.connectors[0]!.id) : undefined;
  const testLight = sig !== undefined && values.reader === undefined && (only === undefined || only === signalsConnector) && (sig.light.driver === 'gpio' || sig.buzzer.driver === 'gpio');
  if (!targets.length && !readers.length && !testLight) {
    out('no connector uses hardware.driver gpio, no card reader and no gpio light or buzzer is configured: nothing to test');
    return 1;
  }
  const confirm = values.yes ? async () => true : io?.confirm ?? ttyConfirm;

  // Nothing is touched before both say the daemon is not running.
  const state = await (io?.serviceState ?? systemdServiceState)();
  if (state !== undefined && SERVICE_RUNNING.includes(state)) {
    out(`refused: systemd reports ${SERVICE}.service ${state}: the daemon holds the hardware; ${STOP_HINT}`);
    return EXIT_HARDWARE_BUSY;
  }
  let lock: HardwareLock;
  try {
    lock = await acquireHardwareLock(storageDir, 'evsed hw test');
  } catch (err) {
    if (err instanceof HardwareBusyError) {
      out(`refused: ${err.message}; ${STOP_HINT}`);
      return EXIT_HARDWARE_BUSY;
    }
    // Without the lock a daemon that could not take it either would be invisible.
    if (err instanceof HardwareLockError) {
      out(`refused: ${err.message}: a running daemon could not be ruled out; fix storage.dir`);
      return 1;
    }
    throw err;
  }
  const rows: HwTestRow[] = [];
  try {
    for (const c of targets) {
      const latched = storedLatches(dbFile, c.id);
      // The phase relay is opened where the daemon left it (its saved position), and left there.
      const phaseRelayInitial = new PhaseRelayFile(phaseRelayPath(dirname(dbFile), c.id)).get() ?? undefined;
      rows.push(...(await testConnector(c.id, c.hardware as GpioHardwareConfig, latched, { out, confirm, ctx: { phaseRelayInitial, ...io?.ctx }, log: io?.log })));
    }
    if (testLight) rows.push(...(await testSignals(sig!, signalsConnector!, { out, dwellMs: io?.signalDwellMs ?? 1500 })));
    for (const r of readers) rows.push(await testReader(r, cardTimeoutS * 1000, { out, create: io?.reader }));
  } finally {
    await lock.release();
  }
  out(renderTable(rows));
  const failed = rows.filter((r) => !r.ok).length;
  out(failed ? `${failed} check(s) FAILED` : 'all checks passed');
  return failed ? 1 : 0;
}

/** `systemctl is-active evsed`: the unit's state, or undefined without systemd (or when it does not answer). */
function systemdServiceState(): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    const p = spawn('systemctl', ['is-active', SERVICE], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 3000 });
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', () => resolve(undefined));
    p.on('close', () => resolve(out.trim().split('\n')[0] || undefined));
  });
}

/**
 * The latches the daemon keeps across restarts for this connector (connector_lockouts in the
 * store): a close is vetoed on them exactly as in the daemon. A store that cannot be read is an
 * error, and the contactor then stays open.
 */
function storedLatches(dbFile: string, connectorId: number): FaultKind[] | Error {
  const kinds = new Set<FaultKind>();
  try {
    // The safety core's latch file: written before the output changed, so it may hold a latch the store has not seen.
    for (const k of new LatchFile(latchPath(dirname(dbFile), connectorId)).kinds()) kinds.add(k);
  } catch (err) {
    return new Error(`cannot read the safety latches: ${(err as Error).message}`);
  }
  if (!existsSync(dbFile)) return [...kinds];
  try {
    const db = openDb(dbFile, [], { readonly: true });
    try {
      for (const l of new LockoutStore(db).list(connectorId)) kinds.add(l.kind);
      return [...kinds];
    } finally {
      db.close();
    }
  } catch (err) {
    return new Error(`cannot read the stored lockouts in ${dbFile}: ${(err as Error).message}`);
  }
}

async function ttyConfirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function testConnector(id: number, cfg: GpioHardwareConfig, latched: FaultKind[] | Error, io: HwTestIo): Promise<HwTestRow[]> {
  const rows: HwTestRow[] = [];
  const row = (item: string, pin: string, action: string, result: string, ok: boolean) => {
    rows.push({ connector: id, item, pin, action, result, ok });
    io.out(`  [${ok ? ' ok ' : 'FAIL'}] ${item}: ${result}`);
  };
  const g = cfg.gpio;
  io.out(`connector ${id}: opening hardware (all outputs safe)`);
  let hw: GpioHardware;
  try {
    hw = await createGpioHardware(cfg, { connectorId: id, log: io.log ?? silentLogger(), clock: new SystemClock('always'), autoStart: false, ...io.ctx });
  } catch (err) {
    row('hardware', '-', 'open', (err as Error).message, false);
    return rows;
  }
  try {
    // Inputs
    for (const [key, input] of hw.inputs) {
      row(`input ${key}`, `GPIO${input.line.bcm}`, 'read', input.active() ? 'active' : 'inactive', true);
    }

    // Pilot: X1 level, then a 16 A offer, back to X1
    let sampleOk = true;
    const measure = async () => {
      await hw.pilot.sample();
      const { highV, lowV } = hw.pilot.levels;
      if (!Number.isFinite(highV)) sampleOk = false;
      return `high ${highV.toFixed(2)} V, low ${lowV.toFixed(2)} V`;
    };
    hw.pilot.setOutput({ mode: 'x1' });
    await sleep(50);
    const x1 = await measure();
    const x1State = hw.pilot.levels.highV >= cfg.pilotSense.thresholdsV.bc ? 'A/B' : 'unexpected (expect +12 V or +9 V)';
    row('pilot X1', `GPIO${cfg.pwm.pin}`, 'duty 100 %', `${x1} → ${x1State}`, sampleOk && x1State === 'A/B');
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
    await sleep(100);
    row('pilot PWM 16 A', `GPIO${cfg.pwm.pin}`, 'duty 26.7 %', await measure(), sampleOk);
    hw.pilot.setOutput({ mode: 'x1' });

    // Plain outputs
    if (hw.hasCpRelay()) {
      hw.setCpDisconnected(true);
      await sleep(300);
      const r = await measure();
      hw.setCpDisconnected(false);
      row('CP relay', `GPIO${g.cpRelay}`, 'disconnect 300 ms', `pilot while open: ${r}`, sampleOk);
    }
    if (hw.heartbeat) {
      await hw.pilot.sample();
      let n = 0;
      for (let i = 0; i < 10; i++) if (hw.heartbeat.tick()) n++;
      hw.heartbeat.stop();
      row('heartbeat', `GPIO${g.heartbeat}`, 'toggle 10×', `${n} toggles`, n === 10);
    }
    if (hw.lock) {
      for (const [what, fn] of [['lock', () => hw.lock!.lock()], ['unlock', () => hw.lock!.unlock()]] as const) {
        try {
          await fn();
          row(`cable ${what}`, `GPIO${g.lock!.motorA}/${g.lock!.motorB}`, `motor ${g.lock!.motorMs} ms`, `isLocked = ${hw.lock.isLocked()}`, true);
        } catch (err) {
          row(`cable ${what}`, `GPIO${g.lock!.motorA}/${g.lock!.motorB}`, `motor ${g.lock!.motorMs} ms`, (err as Error).message, false);
        }
      }
    }
    if (hw.phaseRelay && cfg.phaseRelay) {
      // Only with the contactor open and confirmed open (the safety core's rule), and back to where it was.
      const relay = hw.phaseRelay;
      const pin = `GPIO${cfg.phaseRelay.pin}`;
      const from = relay.get();
      const to = from === 3 ? 1 : 3;
      const why = phaseRelayViolation({ contactorCommanded: hw.contactor.commanded(), contactorFeedback: hw.contactor.feedback(), faults: hw.faults.active() });
      if (why) row('phase relay', pin, `${from} → ${to} → ${from} phases`, `refused: ${why}`, false);
      else {
        await relay.set(to);
        await sleep(Math.max(300, cfg.phaseRelay.settleMs));
        await relay.set(from);
        await sleep(cfg.phaseRelay.settleMs);
        row('phase relay', pin, `${from} → ${to} → ${from} phases`, `switched with the contactor open (listen for the phase contactor; ${cfg.phaseRelay.energisedMeans} phases = coil energised)`, true);
      }
    }
    if (g.rcdTest !== undefined) {
      const r = await hw.runRcdSelfTest();
      row('RCD self-test', `GPIO${g.rcdTest}→GPIO${g.rcdFault}`, 'test input', r.ok ? `tripped after ${Math.round(r.tripMs!)} ms, cleared after ${Math.round(r.clearMs!)} ms` : r.reason!, r.ok);
    }

    // Contactor last, after a confirmation: it switches mains to the outlet.
    const go = await io.confirm(`connector ${id}: close the contactor for 1 s? The EV (or EV simulator) must be plugged in and in state C; mains will be on the outlet.`);
    if (!go) row('contactor', `GPIO${g.contactor}`, 'close 1 s', 'skipped (not confirmed; use --yes for scripts)', false);
    else {
      const r = await closeThroughVeto(hw, cfg, latched);
      row('contactor', `GPIO${g.contactor}`, 'close 1 s', r.result, r.ok);
    }
  } finally {
    await hw.close();
  }
  return rows;
}

/**
 * Closes the contactor for 1 s the way the daemon would: a 16 A offer (the EV's diode is checked
 * only while PWM runs), the pilot sampled until its reading settles, then the supervisor's rule on
 * the driver's own reading, the board's fault inputs and the stored latches. The technician's
 * confirmation stands for the authorisation. While closed, every change of the pilot or of a fault
 * input is checked again and a violation opens at once.
 */
async function closeThroughVeto(hw: GpioHardware, cfg: GpioHardwareConfig, latched: FaultKind[] | Error): Promise<{ ok: boolean; result: string }> {
  if (latched instanceof Error) return { ok: false, result: `refused: ${latched.message}` };
  const sense = cfg.pilotSense;
  hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 267 });
  hw.pilot.start();
  hw.heartbeat?.start();
  try {
    const settled = () => {
      const p = hw.pilot.read();
      return (p.state === 'C' || p.state === 'D') && p.diodeChecked;
    };
    const deadline = performance.now() + sense.debounceMs + 20 * sense.samplePeriodMs;
    while (!settled() && performance.now() < deadline) await sleep(sense.samplePeriodMs);
    // As the daemon: everything but the lock first, then lock the cable, then the whole rule again.
    const inputs = (withLock = true) => ({ pilot: hw.pilot.read(), boardFaults: hw.faults.active(), latchedFaults: latched, authorised: true, cableLocked: hw.lock && withLock ? hw.lock.isLocked() === true : null });
    const veto = supervisorViolation(inputs(false), true);
    if (veto) return { ok: false, result: `refused: ${veto}${vetoHint(veto)}` };
    if (hw.lock) {
      try {
        await hw.lock.lock();
      } catch (err) {
        return { ok: false, result: `refused: ${(err as Error).message}` };
      }
      const locked = supervisorViolation(inputs(), true);
      if (locked) return { ok: false, result: `refused: ${locked}${vetoHint(locked)}` };
    }

    let opened: string | undefined;
    const supervise = () => {
      if (opened !== undefined || !hw.contactor.commanded()) return;
      const why = supervisorViolation(inputs(), false);
      if (why) {
        hw.contactor.set(false);
        opened = why;
      }
    };
    hw.pilot.onChange(supervise);
    hw.faults.onChange(supervise);
    hw.contactor.set(true);
    for (let t = 0; t < 1000 && opened === undefined; t += sense.samplePeriodMs) {
      await sleep(sense.samplePeriodMs);
      supervise();
    }
    const fbClosed = hw.contactor.feedback();
    hw.contactor.set(false);
    await sleep(Math.min(1000, cfg.contactorCheck.weldMs + 100));
    const fbOpen = hw.contactor.feedback();
    // The plug is released only once the contactor reads open (or has no feedback to say otherwise).
    const keptLocked = hw.lock !== undefined && fbOpen === true;
    if (hw.lock && !keptLocked) await hw.lock.unlock().catch(() => undefined);
    const locked = keptLocked ? '; the cable stays locked' : '';
    if (opened !== undefined) return { ok: false, result: `opened after closing: ${opened}${locked}` };
    if (fbClosed === undefined) return { ok: true, result: 'toggled (no feedback wired: check by ear/meter)' };
    const ok = fbClosed === true && fbOpen === false;
    return { ok, result: `feedback closed=${fbClosed} then open=${fbOpen === false}${ok ? '' : ' (expected closed, then open)'}${locked}` };
  } finally {
    hw.contactor.set(false);
    hw.pilot.setOutput({ mode: 'x1' });
    hw.heartbeat?.stop();
    hw.pilot.stop();
  }
}

/** What the technician can do about a refusal. */
function vetoHint(veto: string): string {
  if (veto.startsWith('pilot state') || veto.startsWith('EV diode')) return ' (the contactor closes only for an EV or EV simulator in state C or D with its diode)';
  if (veto.startsWith('fault latched')) return ' (a stored lockout: start the daemon and clear it there, POST /api/connectors/ID/clear-faults, once repaired)';
  return '';
}

function renderTable(rows: HwTestRow[]): string {
  const head = ['conn', 'item', 'pin', 'action', 'result', 'ok'];
  const data = rows.map((r) => [String(r.connector), r.item, r.pin, r.action, r.result, r.ok ? 'ok' : 'FAIL']);
  const w = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...data.map(line)].join('\n');
}
