import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HardwareError, explainFsError, sleep } from './errors.js';

/**
 * Sysfs GPIO (/sys/class/gpio) with the BCM -> sysfs number mapping every Pi OS kernel needs.
 *
 * Since kernel 6.6 the header GPIO chip no longer starts at 0 (512 on Pi 2-4, 571 on Pi 5, other
 * values reported): the chip is found by its label and its base is added to the BCM number.
 *
 * Device boundary: all file I/O here works on an injectable root (tests use a temp dir); the one
 * thing a file tree cannot do, deliver edge interrupts (epoll POLLPRI on `value`), goes through
 * an `EdgeSource` (onoff's epoll on a Pi, a manual trigger in tests).
 */

export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export interface GpioChip {
  dir: string;
  label: string;
  base: number;
  ngpio: number;
}

/** The chip that carries the 40-pin header, by label (never by number: it moved between kernels). */
export function findHeaderChip(root: string): GpioChip {
  const cls = join(root, 'sys/class/gpio');
  if (!existsSync(cls)) {
    throw new HardwareError(
      `no sysfs GPIO at ${cls}: the kernel lacks CONFIG_GPIO_SYSFS (removed on Raspberry Pi OS Trixie and some ` +
        `distributions) or this is not a Raspberry Pi. Use Raspberry Pi OS Bookworm, or an MCU board for CP.`,
    );
  }
  const chips: GpioChip[] = [];
  for (const name of readdirSync(cls)) {
    if (!name.startsWith('gpiochip')) continue;
    const dir = join(cls, name);
    try {
      chips.push({
        dir,
        label: readFileSync(join(dir, 'label'), 'utf8').trim(),
        base: Number(readFileSync(join(dir, 'base'), 'utf8').trim()),
        ngpio: Number(readFileSync(join(dir, 'ngpio'), 'utf8').trim()),
      });
    } catch {
      // a chip without readable attributes is not ours
    }
  }
  for (const label of HEADER_CHIP_LABELS) {
    const chip = chips.find((c) => c.label === label);
    if (chip) return chip;
  }
  const seen = chips.map((c) => `${c.label}@${c.base}`).join(', ') || 'none';
  throw new HardwareError(
    `no Raspberry Pi header GPIO chip in ${cls} (looked for labels ${HEADER_CHIP_LABELS.join(', ')}; found ${seen})`,
  );
}

/** Sysfs number of BCM GPIO `bcm` on `chip`. */
export function sysfsNumber(chip: GpioChip, bcm: number): number {
  if (!Number.isInteger(bcm) || bcm < 0 || bcm >= chip.ngpio) {
    throw new HardwareError(`GPIO${bcm} is not a line of ${chip.label} (0..${chip.ngpio - 1})`);
  }
  return chip.base + bcm;
}

export type Bit = 0 | 1;

/** One exported GPIO. Values are logical (activeLow already applied). */
export interface GpioLine {
  readonly name: string;
  readonly bcm: number;
  readonly sysfs: number;
  /** Synchronous: the level is on the pin when this returns. */
  write(value: Bit): void;
  read(): Bit;
  /** Calls `onEdge` after the level may have changed (read() for the new level). */
  watch(onEdge: () => void): void;
  close(): void;
}

/** Delivers edge interrupts for an exported input with edge=both. */
export type EdgeSource = (sysfs: number, valuePath: string, onEdge: () => void) => { close(): void };

export interface SysfsGpioOptions {
  root: string;
  edges: EdgeSource;
  /** How long to wait for the kernel/udev to create gpioN after export. */
  exportTimeoutMs?: number;
}

export class SysfsGpio {
  readonly chip: GpioChip;
  private readonly cls: string;
  private readonly lines: GpioLine[] = [];

  constructor(private readonly opts: SysfsGpioOptions) {
    this.chip = findHeaderChip(opts.root);
    this.cls = join(opts.root, 'sys/class/gpio');
  }

  /** Output driven to its safe logical level as it becomes an output (direction low/high: no glitch). */
  async output(name: string, bcm: number, opts: { activeLow: boolean; safe: Bit }): Promise<GpioLine> {
    const n = sysfsNumber(this.chip, bcm);
    const what = `GPIO${bcm} (${name}, sysfs ${n})`;
    const dir = await this.export(n, what);
    const electrical = (opts.safe ^ (opts.activeLow ? 1 : 0)) as Bit;
    // direction "low"/"high" sets the raw level atomically with the direction (kernel gpiolib-sysfs).
    this.writeAttr(join(dir, 'direction'), electrical ? 'high' : 'low', what);
    return this.track(new FileLine(name, bcm, n, dir, opts.activeLow, what, this.opts.edges));
  }

  async input(name: string, bcm: number, opts: { activeLow: boolean }): Promise<GpioLine> {
    const n = sysfsNumber(this.chip, bcm);
    const what = `GPIO${bcm} (${name}, sysfs ${n})`;
    const dir = await this.export(n, what);
    this.writeAttr(join(dir, 'direction'), 'in', what);
    this.writeAttr(join(dir, 'edge'), 'both', what);
    return this.track(new FileLine(name, bcm, n, dir, opts.activeLow, what, this.opts.edges));
  }

  close(): void {
    for (const l of this.lines.splice(0)) l.close();
  }

  private track(line: GpioLine): GpioLine {
    this.lines.push(line);
    return line;
  }

  /** Exports sysfs number `n` unless it already is (e.g. left by a previous run) and waits for udev. */
  private async export(n: number, what: string): Promise<string> {
    const dir = join(this.cls, `gpio${n}`);
    if (!existsSync(dir)) this.writeAttr(join(this.cls, 'export'), String(n), what);
    const deadline = performance.now() + (this.opts.exportTimeoutMs ?? 2000);
    // udev changes the group of the new files to gpio a moment after they appear.
    for (;;) {
      try {
        closeSync(openSync(join(dir, 'value'), 'r+'));
        closeSync(openSync(join(dir, 'direction'), 'r+'));
        return dir;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (performance.now() > deadline) {
          if (code === 'ENOENT') throw new HardwareError(`${what}: ${join(dir, 'value')} did not appear after export (is the pin claimed by a kernel driver?)`, err);
          throw explainFsError(err, what, dir);
        }
        await sleep(5);
      }
    }
  }

  private writeAttr(path: string, value: string, what: string): void {
    try {
      writeFileSync(path, value);
    } catch (err) {
      throw explainFsError(err, what, path);
    }
  }
}

class FileLine implements GpioLine {
  /** -1 once closed: a released fd number may already belong to another file. */
  private fd: number;
  private readonly buf = Buffer.alloc(1);
  private readonly valuePath: string;
  private watchers: { close(): void }[] = [];

  constructor(
    readonly name: string,
    readonly bcm: number,
    readonly sysfs: number,
    dir: string,
    private readonly activeLow: boolean,
    private readonly what: string,
    private readonly edges: EdgeSource,
  ) {
    this.valuePath = join(dir, 'value');
    try {
      // active_low stays 0: inversion is done here so "direction low/high" and reads agree.
      if (existsSync(join(dir, 'active_low'))) writeFileSync(join(dir, 'active_low'), '0');
      this.fd = openSync(this.valuePath, 'r+');
    } catch (err) {
      throw explainFsError(err, what, this.valuePath);
    }
  }

  write(value: Bit): void {
    if (this.fd < 0) throw new HardwareError(`${this.what}: written after the line was closed`);
    const raw = value ^ (this.activeLow ? 1 : 0);
    try {
      writeSync(this.fd, raw ? '1' : '0', 0);
    } catch (err) {
      throw explainFsError(err, this.what, this.valuePath);
    }
  }

  read(): Bit {
    if (this.fd < 0) throw new HardwareError(`${this.what}: read after the line was closed`);
    readSync(this.fd, this.buf, 0, 1, 0);
    const raw = this.buf[0] === 0x31 ? 1 : 0;
    return (raw ^ (this.activeLow ? 1 : 0)) as Bit;
  }

  watch(onEdge: () => void): void {
    this.watchers.push(this.edges(this.sysfs, this.valuePath, onEdge));
  }

  close(): void {
    for (const w of this.watchers.splice(0)) w.close();
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/**
 * Edge interrupts through onoff (epoll on the value file). onoff is an optional dependency and
 * only works on Linux with sysfs GPIO, so it is loaded here, on first use, with a clear error.
 * It is given pins this module has already exported and configured (reconfigureDirection: false).
 */
export async function onoffEdges(): Promise<EdgeSource> {
  let Gpio: any;
  try {
    const mod: any = await import('onoff');
    Gpio = mod.Gpio ?? mod.default?.Gpio;
  } catch (err) {
    throw new HardwareError(
      `hardware.driver gpio needs the optional package "onoff" (GPIO interrupts through epoll), which could not be ` +
        `loaded: ${(err as Error).message}. On the Pi run "npm install onoff" in the evsed directory ` +
        `(it builds the epoll addon; needs build-essential).`,
      err,
    );
  }
  if (!Gpio) throw new HardwareError('the installed onoff package has no Gpio export');
  return (sysfs, _valuePath, onEdge) => {
    const g = new Gpio(sysfs, 'in', 'both', { reconfigureDirection: false });
    g.watch((err: Error | null | undefined) => {
      if (!err) onEdge();
    });
    return { close: () => g.unwatchAll() };
  };
}

/**
 * Edges by reading the value file every `periodMs`: for a sysfs tree that is not the kernel's
 * (hardware.root other than /, a test bench's fake tree), where epoll on a plain file never
 * signals. Never used on a Pi: onoff's interrupts are the production path.
 */
export function pollingEdges(periodMs = 1): EdgeSource {
  return (_sysfs, valuePath, onEdge) => {
    let last = readValue(valuePath);
    const t = setInterval(() => {
      const v = readValue(valuePath);
      if (v !== last) {
        last = v;
        onEdge();
      }
    }, periodMs);
    t.unref();
    return { close: () => clearInterval(t) };
  };
}

function readValue(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(0, 1);
  } catch {
    return '';
  }
}

/** The sysfs value file of the header line `bcm` under `root` (for writing it from another thread). */
export function contactorValuePath(root: string, bcm: number): string {
  return join(root, 'sys/class/gpio', `gpio${sysfsNumber(findHeaderChip(root), bcm)}`, 'value');
}
