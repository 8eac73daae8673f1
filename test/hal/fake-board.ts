import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { PilotAdc } from '../../src/hal/gpio/adc.js';
import { join } from 'node:path';
import { FakeSysfs, gpioStationYaml } from './fake-sysfs.js';
import { api, spawnDaemon, tempDir, type DaemonProcess } from '../support/station.js';

/** Sysfs numbers on the fake Pi 4 tree (kernel 6.6 base 512) for the pins of gpioStationYaml. */
export const S = (bcm: number) => 512 + bcm;
export const PIN = {
  contactor: S(17),
  contactorFeedback: S(27),
  rcdFault: S(22),
  rcdTest: S(23),
  cpRelay: S(24),
  heartbeat: S(25),
  motorA: S(5),
  motorB: S(6),
  lockFeedback: S(13),
} as const;

/**
 * The pilot ADC for a driver in this process: the fake ADS1115 files read synchronously (IioAdc
 * reads them through the thread pool, which a loaded test machine can delay past the driver's
 * hung-read limit: fault 'pilot'). The scale is the fake tree's 0.125 mV per count.
 */
export function syncAdc(tree: FakeSysfs): PilotAdc {
  const dir = join(tree.root, 'sys/bus/iio/devices/iio:device0');
  const volts = (ch: number) => (Number(readFileSync(join(dir, `in_voltage${ch}_raw`), 'utf8').trim()) * 0.125) / 1000;
  return { read: async () => ({ highV: volts(0), lowV: volts(1) }) };
}

export type EvState = 'unplugged' | 'B' | 'ready';

export interface FakeBoardOptions {
  /** What the EV does: unplugged (A), plugged but not asking (B), or asking for energy (C once offered PWM). */
  ev?: EvState;
  /** The contactor's aux contact stays closed whatever the coil does. */
  welded?: boolean;
  /** The RCD module's fault output is asserted (a DC fault), whatever its test input does. */
  rcdTripped?: boolean;
}

/**
 * The physical side of the gpioStationYaml wiring, run in the test process while the real driver
 * (in this process or a child) drives the fake tree: an EV on the pilot (its resistor on the high
 * level, its diode on the low level while PWM runs; a ready EV goes to C once it sees an offer),
 * the contactor's aux contact following the coil, the lock's feedback following its motor, and
 * the RCD module tripping while its test input is driven (its fault output is active low).
 */
export class FakeBoard {
  readonly opts: Required<FakeBoardOptions>;
  /** Every level the contactor pin was seen at (polled every 2 ms). */
  readonly contactorSeen = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private pilot: [number, number] = [NaN, NaN];

  constructor(private readonly tree: FakeSysfs, opts: FakeBoardOptions = {}) {
    this.opts = { ev: 'B', welded: false, rcdTripped: false, ...opts };
    this.step();
    this.timer = setInterval(() => this.step(), 2);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The driver pulls the plug and plugs it in again (clears what latches until unplug). */
  async replug(): Promise<void> {
    const ev = this.opts.ev;
    this.opts.ev = 'unplugged';
    await new Promise((r) => setTimeout(r, 700));
    this.opts.ev = ev;
  }

  private step(): void {
    const t = this.tree;
    const read = (n: number) => {
      try {
        return t.value(n);
      } catch {
        return undefined; // not exported (yet)
      }
    };
    const drive = (n: number, level: 0 | 1) => {
      const v = read(n);
      if (v !== undefined && v !== String(level)) t.setInput(n, level);
    };
    let duty = NaN;
    try {
      duty = Number(t.pwmAttr(0, 0, 'duty_cycle'));
    } catch {
      /* PWM not exported yet */
    }
    const offered = duty > 0 && duty < 1_000_000;
    const ev = this.opts.ev;
    // State F: our own -12 V. Else the EV's resistor on the high level; the low level is -12 V (the
    // diode's, or with no EV our own) also in X1: the driver judges it only while PWM runs, and
    // this board, in another process, follows the PWM a few ms late, which must not read as a lost diode.
    const high = duty === 0 ? -12 : ev === 'unplugged' ? 12 : ev === 'ready' && offered ? 6 : 9;
    const low = -12;
    // Written only on a change: the sense files are rewritten in place, and a read between the
    // truncate and the write would see an empty file.
    if (high !== this.pilot[0] || low !== this.pilot[1]) {
      this.pilot = [high, low];
      t.setPilot(high, low);
    }

    const contactor = read(PIN.contactor);
    if (contactor !== undefined) this.contactorSeen.add(contactor);
    drive(PIN.contactorFeedback, this.opts.welded || contactor === '1' ? 1 : 0);
    drive(PIN.rcdFault, this.opts.rcdTripped || read(PIN.rcdTest) === '1' ? 0 : 1);
    if (read(PIN.motorA) === '1') drive(PIN.lockFeedback, 1);
    else if (read(PIN.motorB) === '1') drive(PIN.lockFeedback, 0);
  }
}

/**
 * The station's timing relaxed for a test machine under load (the suite runs files in parallel):
 * the slowest sampling that still passes config check (a hung ADC read is then 180 ms, not 60) and
 * an interlock of 2 s (so the stall detector trips only after 1.9 s). The production defaults are
 * for a Pi that does nothing else; here a busy CPU must not latch a 'pilot' or 'stall' fault that
 * the test did not ask for.
 */
export function loadTolerantYaml(yaml: string): string {
  const from = 'pilotSense: { mode: adc }';
  if (!yaml.includes(from)) throw new Error(`loadTolerantYaml: no "${from}" in the config`);
  // Beyond the 100 ms budget, which only a bench without mains may be (config check says so).
  return yaml.replace(from, 'pilotSense: { mode: adc, samplePeriodMs: 30, fastDebounceMs: 10 }\n      interlockMs: 2000\n      benchWithoutMains: true');
}

export interface ChargingDaemon {
  tree: FakeSysfs;
  board: FakeBoard;
  daemon: DaemonProcess;
  /** storage.dir: the state directory. */
  dataDir: string;
  configFile: string;
  dispose(): void;
}

/**
 * `evsed run` in a child process on a fake sysfs tree (the real gpio driver, polled edges) with a
 * ready EV on the board, once it charges with the contactor pin closed.
 */
export async function startChargingDaemon(): Promise<ChargingDaemon> {
  const tree = new FakeSysfs();
  const dir = tempDir();
  const board = new FakeBoard(tree, { ev: 'ready' });
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'evsed.yaml');
  writeFileSync(configFile, loadTolerantYaml(gpioStationYaml(tree.root, dataDir)));
  let daemon: DaemonProcess | undefined;
  const dispose = () => {
    daemon?.proc.kill('SIGKILL');
    board.stop();
    tree.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    daemon = await spawnDaemon(configFile);
    const d = daemon;
    // Under a loaded test machine the real-time budget can fail (a pilot read later than 6 sample
    // periods latches 'pilot' until unplug): then the EV is plugged in again, as a driver would.
    const end = Date.now() + 25_000;
    for (;;) {
      const c = (await api(d.url, '/api/status')).body.connectors[0];
      if (c.status === 'Charging' && tree.value(PIN.contactor) === '1') break;
      if (Date.now() > end) throw new Error(`not charging with the contactor closed after 25 s (status ${c.status}, faults ${JSON.stringify(c.faults)})`);
      if (c.status === 'Faulted') await board.replug();
      else await new Promise((r) => setTimeout(r, 25));
    }
  } catch (err) {
    const said = daemon?.lines.filter((l) => /"level":(40|50|60)/.test(l)).join('\n');
    dispose();
    throw new Error(`${(err as Error).message}${said ? `\ndaemon warnings and errors:\n${said}` : ''}`);
  }
  return { tree, board, daemon, dataDir, configFile, dispose };
}
