import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../../config/load.js';
import { SystemClock } from '../../hal/clock.js';
import { silentLogger, type Logger } from '../../log.js';
import { createGpioHardware, type GpioHardware, type GpioHardwareContext } from '../../hal/gpio/index.js';
import type { GpioHardwareConfig } from '../../config/gpio.js';
import { DEFAULT_CONFIG, parse, UsageError } from './args.js';

const USAGE = 'usage: evsed hw test --config FILE [--yes] [--connector ID]';

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
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `evsed hw test`: a technician's self-test of one station's Pi wiring. Toggles each output once
 * (asking before the contactor), reads each input, measures the pilot, prints a table. Run it with
 * the daemon stopped: both would drive the same pins.
 */
export async function hwTestCommand(argv: string[], io?: HwTestIo): Promise<number> {
  const { values } = parse(argv, {
    config: { type: 'string', default: DEFAULT_CONFIG },
    yes: { type: 'boolean', short: 'y', default: false },
    connector: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  const out = io?.out ?? ((l: string) => console.log(l));
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const { config } = loadConfig(values.config!);
  const only = values.connector === undefined ? undefined : Number(values.connector);
  if (only !== undefined && !config.connectors.some((c) => c.id === only)) throw new UsageError(`no connector ${values.connector} in the config\n${USAGE}`);
  const targets = config.connectors.filter((c) => c.hardware.driver === 'gpio' && (only === undefined || c.id === only));
  if (!targets.length) {
    out('no connector uses hardware.driver gpio: nothing to test');
    return 1;
  }
  const confirm = values.yes ? async () => true : io?.confirm ?? ttyConfirm;
  const rows: HwTestRow[] = [];
  for (const c of targets) {
    rows.push(...(await testConnector(c.id, c.hardware as GpioHardwareConfig, { out, confirm, ctx: io?.ctx, log: io?.log })));
  }
  out(renderTable(rows));
  const failed = rows.filter((r) => !r.ok).length;
  out(failed ? `${failed} check(s) FAILED` : 'all checks passed');
  return failed ? 1 : 0;
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

async function testConnector(id: number, cfg: GpioHardwareConfig, io: HwTestIo): Promise<HwTestRow[]> {
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
    if (g.rcdTest !== undefined) {
      const r = await hw.runRcdSelfTest();
      row('RCD self-test', `GPIO${g.rcdTest}→GPIO${g.rcdFault}`, 'test input', r.ok ? `tripped after ${Math.round(r.tripMs!)} ms, cleared after ${Math.round(r.clearMs!)} ms` : r.reason!, r.ok);
    }

    // Contactor last, after a confirmation: it switches mains to the outlet.
    const go = await io.confirm(`connector ${id}: close the contactor for 1 s? Mains will be on the outlet.`);
    if (!go) row('contactor', `GPIO${g.contactor}`, 'close 1 s', 'skipped (not confirmed; use --yes for scripts)', false);
    else {
      hw.pilot.start();
      hw.heartbeat?.start();
      await sleep(100);
      hw.contactor.set(true);
      await sleep(1000);
      const fbClosed = hw.contactor.feedback();
      hw.contactor.set(false);
      await sleep(Math.min(1000, cfg.contactorCheck.weldMs + 100));
      const fbOpen = hw.contactor.feedback();
      hw.heartbeat?.stop();
      hw.pilot.stop();
      if (fbClosed === undefined) row('contactor', `GPIO${g.contactor}`, 'close 1 s', 'toggled (no feedback wired: check by ear/meter)', true);
      else {
        const ok = fbClosed === true && fbOpen === false;
        row('contactor', `GPIO${g.contactor}`, 'close 1 s', `feedback closed=${fbClosed} then open=${fbOpen === false}${ok ? '' : ' (expected closed, then open)'}`, ok);
      }
    }
  } finally {
    await hw.close();
  }
  return rows;
}

function renderTable(rows: HwTestRow[]): string {
  const head = ['conn', 'item', 'pin', 'action', 'result', 'ok'];
  const data = rows.map((r) => [String(r.connector), r.item, r.pin, r.action, r.result, r.ok ? 'ok' : 'FAIL']);
  const w = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...data.map(line)].join('\n');
}
