import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FakeSysfs } from '../../hal/fake-sysfs.js';
import { loadConfig } from '../../../src/config/load.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import type { Logger } from '../../../src/log.js';
import { silentLogger } from '../../../src/log.js';

/** Header pins of the bench board (the same as gpioConfig in fake-sysfs.ts). */
const BASE = 512;

export const PINS = { contactor: 17, feedback: 27, rcdFault: 22, rcdTest: 23, cpRelay: 24, heartbeat: 25, motorA: 5, motorB: 6, lockFeedback: 13 } as const;

export interface BenchWorld {
  ev?: 'A' | 'B' | 'C';
  diode?: boolean;
  welded?: boolean;
  rcdTrip?: boolean;
  lockJam?: boolean;
  /** The RDC-DD fault line toggles every 8 ms for this long. */
  chatterRcdMs?: number;
}

export interface BenchLogEntry {
  what: 'coil' | 'world';
  value?: string;
  world?: BenchWorld;
  /** performance.timeOrigin + performance.now() in the bench thread. */
  at: number;
}

/**
 * A gpio station on a fake sysfs tree with its safety core in its worker thread, as in
 * production, and the physical world (EV, aux contact, RDC-DD, lock) in a bench thread of its own.
 */
export class GpioBench {
  // The RDC-DD module is powered and idle from the start: its fault output (active low) reads high.
  readonly tree = new FakeSysfs({ levelsAtExport: { [BASE + PINS.rcdFault]: 1 } });
  readonly dir = mkdtempSync(join(tmpdir(), 'evsed-gpio-bench-'));
  readonly configFile: string;
  private board?: Worker;
  private nextId = 1;
  daemon?: Daemon;

  constructor(opts: { lock?: boolean; extraHardware?: string; extra?: string } = {}) {
    const lock = opts.lock === false ? '' : `\n        lock: { motorA: ${PINS.motorA}, motorB: ${PINS.motorB}, feedback: ${PINS.lockFeedback}, motorMs: 100 }`;
    this.configFile = join(this.dir, 'evsed.yaml');
    writeFileSync(
      this.configFile,
      `station: { id: CP-GPIO, vendor: evsed, model: bench }
storage: { dir: ${JSON.stringify(join(this.dir, 'data'))}, flushIntervalS: 1, sampleIntervalS: 1 }
auth: { mode: free }
api: { listen: 127.0.0.1:0 }
log: { level: info, format: json }
clock: { trust: always }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    meter: { model: sim, initialEnergyWh: 1000 }
    hardware:
      driver: gpio
      root: ${JSON.stringify(this.tree.root)}
      gpio:
        contactor: ${PINS.contactor}
        contactorFeedback: ${PINS.feedback}
        rcdFault: ${PINS.rcdFault}
        rcdTest: ${PINS.rcdTest}
        cpRelay: ${PINS.cpRelay}
        heartbeat: ${PINS.heartbeat}${lock}
        activeLow: [rcdFault]
      pwm: { chip: 0, channel: 0 }
      pilotSense: { mode: adc }
      rcdSelfTest: { testMs: 300, clearMs: 300 }
${opts.extraHardware ?? ''}
${opts.extra ?? ''}`,
    );
  }

  /** Sysfs value file of a header pin. */
  pin(bcm: number): string {
    return join(this.tree.gpioDir(BASE + bcm), 'value');
  }

  /** Level of a header pin as the driver left it ('0' | '1'). */
  level(bcm: number): string {
    return this.tree.value(BASE + bcm);
  }

  startBoard(): void {
    const pwm = join(this.tree.root, 'sys/class/pwm/pwmchip0/pwm0');
    const iio = join(this.tree.root, 'sys/bus/iio/devices/iio:device0');
    this.board = new Worker(benchBoardScript(), {
      workerData: {
        pwm: { enable: join(pwm, 'enable'), period: join(pwm, 'period'), duty: join(pwm, 'duty_cycle') },
        iio: { high: join(iio, 'in_voltage0_raw'), low: join(iio, 'in_voltage1_raw') },
        contactor: this.pin(PINS.contactor),
        feedback: this.pin(PINS.feedback),
        rcdFault: this.pin(PINS.rcdFault),
        rcdTest: this.pin(PINS.rcdTest),
        lock: { motorA: this.pin(PINS.motorA), motorB: this.pin(PINS.motorB), feedback: this.pin(PINS.lockFeedback) },
      },
    });
  }

  /** Start the daemon (in this process; its safety core in a worker thread) and the bench world. */
  async start(opts: { log?: Logger; testAdcReadMs?: number } = {}): Promise<Daemon> {
    this.tree.setPilot(12, 0);
    // The world runs from power-on: the start-up RCD self-test needs the module to answer.
    if (!this.board) this.startBoard();
    this.daemon = await startDaemon(loadConfig(this.configFile), opts.log ?? silentLogger(), { gpio: { worker: { testAdcReadMs: opts.testAdcReadMs } } });
    return this.daemon;
  }

  /** Change the world (after `delayMs` in the bench thread); resolves with the bench time it took effect. */
  set(world: BenchWorld, delayMs = 0): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const on = (m: { t: string; id: number; at: number }) => {
        if (m.t !== 'applied' || m.id !== id) return;
        this.board!.off('message', on);
        resolve(m.at);
      };
      this.board!.on('message', on);
      this.board!.postMessage({ t: 'set', id, world, delayMs });
    });
  }

  /** Post a change without waiting (the caller may block its own thread right after). */
  post(world: BenchWorld, delayMs = 0): void {
    this.board!.postMessage({ t: 'set', id: this.nextId++, world, delayMs });
  }

  log(): Promise<BenchLogEntry[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const on = (m: { t: string; id: number; log: BenchLogEntry[] }) => {
        if (m.t !== 'log' || m.id !== id) return;
        this.board!.off('message', on);
        resolve(m.log);
      };
      this.board!.on('message', on);
      this.board!.postMessage({ t: 'log', id });
    });
  }

  async stopDaemon(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  async dispose(): Promise<void> {
    await this.stopDaemon().catch(() => undefined);
    await this.board?.terminate();
    this.tree.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The world's script: beside this file under vitest, in the source tree when this runs compiled (npm run bench). */
function benchBoardScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'bench-board.mjs');
  if (existsSync(sibling)) return sibling;
  return resolve(here, '../../../../test/realtime/support/bench-board.mjs');
}

/** Wait until `cond` holds (polling every 5 ms), or fail naming `what`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Block this thread (a synchronous SQLite commit, a GC pause, a runaway computation). */
export function blockThread(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}
