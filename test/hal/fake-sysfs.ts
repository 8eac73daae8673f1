import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EdgeSource } from '../../src/hal/gpio/sysfs-gpio.js';

/**
 * A fake /sys tree in a temp dir, with a tiny "kernel" that reacts to export writes the way the
 * real one does (creates gpioN / pwmN attribute files), and a manual interrupt source standing in
 * for epoll. Everything the driver writes stays in plain files the test can read back.
 */
export interface FakeTreeOptions {
  chips?: { label: string; base: number; ngpio: number }[];
  /** pi4: pwmchip0 -> fe20c000.pwm; pi5: pwmchip0 = fan (PWM1), pwmchip2 = PWM0; none: no overlay */
  pwm?: 'pi4' | 'pi5' | 'none' | 'no-class';
  iio?: boolean;
  gpioClass?: boolean;
  /** The electrical level an input has when it is exported (sysfs number -> level), as a powered board would show. */
  levelsAtExport?: Record<number, 0 | 1>;
}

export class FakeSysfs {
  readonly root: string;
  /** What the fake kernel saw, in order. */
  readonly events: string[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly watchers = new Map<number, Set<() => void>>();
  readonly edges: EdgeSource;
  private readonly levelsAtExport: Record<number, 0 | 1>;

  constructor(opts: FakeTreeOptions = {}) {
    this.levelsAtExport = opts.levelsAtExport ?? {};
    this.root = mkdtempSync(join(tmpdir(), 'evsed-sysfs-'));
    const gpio = join(this.root, 'sys/class/gpio');
    if (opts.gpioClass !== false) {
      mkdirSync(gpio, { recursive: true });
      writeFileSync(join(gpio, 'export'), '');
      writeFileSync(join(gpio, 'unexport'), '');
      const chips = opts.chips ?? [{ label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }];
      chips.forEach((c) => {
        const d = join(gpio, `gpiochip${c.base}`);
        mkdirSync(d);
        writeFileSync(join(d, 'label'), `${c.label}\n`);
        writeFileSync(join(d, 'base'), `${c.base}\n`);
        writeFileSync(join(d, 'ngpio'), `${c.ngpio}\n`);
      });
    }
    const pwm = opts.pwm ?? 'pi4';
    if (pwm !== 'no-class') mkdirSync(join(this.root, 'sys/class/pwm'), { recursive: true });
    if (pwm === 'pi4') this.pwmChip(0, 'fe20c000.pwm', 2);
    if (pwm === 'pi5') {
      this.pwmChip(0, '1f0009c000.pwm', 4);
      this.pwmChip(2, '1f00098000.pwm', 4);
    }
    if (opts.iio !== false) {
      const d = join(this.root, 'sys/bus/iio/devices/iio:device0');
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'name'), 'ads1115\n');
      for (const ch of [0, 1, 2, 3]) {
        writeFileSync(join(d, `in_voltage${ch}_raw`), '0\n');
        writeFileSync(join(d, `in_voltage${ch}_scale`), '0.125000000\n');
      }
    }
    this.timer = setInterval(() => this.kernel(), 1);
    this.edges = (sysfs, _path, onEdge) => {
      let set = this.watchers.get(sysfs);
      if (!set) this.watchers.set(sysfs, (set = new Set()));
      set.add(onEdge);
      return { close: () => set!.delete(onEdge) };
    };
  }

  private pwmChip(n: number, device: string, npwm: number): void {
    const d = join(this.root, `sys/class/pwm/pwmchip${n}`);
    const dev = join(this.root, 'sys/devices/platform/soc', device);
    mkdirSync(d, { recursive: true });
    mkdirSync(dev, { recursive: true });
    symlinkSync(dev, join(d, 'device'));
    writeFileSync(join(d, 'npwm'), `${npwm}\n`);
    writeFileSync(join(d, 'export'), '');
  }

  /** The kernel's reaction to export writes. */
  private kernel(): void {
    const gexp = join(this.root, 'sys/class/gpio/export');
    if (existsSync(gexp)) {
      const n = readFileSync(gexp, 'utf8').trim();
      if (n) {
        writeFileSync(gexp, '');
        const d = join(this.root, `sys/class/gpio/gpio${n}`);
        mkdirSync(d, { recursive: true });
        const level = String(this.levelsAtExport[Number(n)] ?? 0);
        for (const [f, v] of [['direction', 'in'], ['value', level], ['edge', 'none'], ['active_low', '0']]) writeFileSync(join(d, f!), `${v}\n`);
        this.events.push(`gpio export ${n}`);
      }
    }
    for (const chip of [0, 2]) {
      const pexp = join(this.root, `sys/class/pwm/pwmchip${chip}/export`);
      if (!existsSync(pexp)) continue;
      const ch = readFileSync(pexp, 'utf8').trim();
      if (!ch) continue;
      writeFileSync(pexp, '');
      const d = join(this.root, `sys/class/pwm/pwmchip${chip}/pwm${ch}`);
      mkdirSync(d, { recursive: true });
      for (const [f, v] of [['period', '0'], ['duty_cycle', '0'], ['enable', '0'], ['polarity', 'normal']]) writeFileSync(join(d, f!), `${v}\n`);
      this.events.push(`pwm export ${chip}/${ch}`);
    }
  }

  gpioDir(sysfs: number): string {
    return join(this.root, `sys/class/gpio/gpio${sysfs}`);
  }

  attr(sysfs: number, name: string): string {
    return readFileSync(join(this.gpioDir(sysfs), name), 'utf8').trim();
  }

  /** Electrical level of an exported pin as the driver left it. */
  value(sysfs: number): string {
    return this.attr(sysfs, 'value').slice(0, 1);
  }

  /** An input changes electrically: the value file changes and the interrupt fires. */
  setInput(sysfs: number, level: 0 | 1): void {
    writeFileSync(join(this.gpioDir(sysfs), 'value'), `${level}\n`);
    for (const cb of this.watchers.get(sysfs) ?? []) cb();
  }

  pwmAttr(chip: number, ch: number, name: string): string {
    return readFileSync(join(this.root, `sys/class/pwm/pwmchip${chip}/pwm${ch}`, name), 'utf8').trim();
  }

  /** Pilot levels (volts on CP) as the ADS1115 would see them through the default divider (gain ±4.3, 0.125 mV/count). */
  setPilot(highV: number, lowV: number, gains = { high: 4.3, low: -4.3 }): void {
    const d = join(this.root, 'sys/bus/iio/devices/iio:device0');
    const counts = (v: number, g: number) => String(Math.round((v / g / 0.125) * 1000));
    // Replaced, not rewritten in place: a driver reading meanwhile (another process) never sees an empty file.
    const put = (f: string, v: string) => {
      writeFileSync(join(d, `.${f}.tmp`), `${v}\n`);
      renameSync(join(d, `.${f}.tmp`), join(d, f));
    };
    put('in_voltage0_raw', counts(highV, gains.high));
    put('in_voltage1_raw', counts(lowV, gains.low));
  }

  dispose(): void {
    clearInterval(this.timer);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A full gpio hardware config (already parsed, defaults applied) for the fake tree. */
export function gpioConfig(root: string, over: Record<string, unknown> = {}) {
  return {
    driver: 'gpio' as const,
    gpio: {
      contactor: 17,
      contactorFeedback: 27,
      rcdFault: 22,
      rcdTest: 23,
      cpRelay: 24,
      heartbeat: 25,
      lock: { motorA: 5, motorB: 6, feedback: 13, motorMs: 100 },
      activeLow: ['rcdFault'] as ('rcdFault')[],
      debounceMs: 10,
    },
    pwm: { pin: 18 as const },
    pilotSense: {
      mode: 'adc' as const,
      iioName: 'ads1115',
      highChannel: 0,
      lowChannel: 1,
      highGain: 4.3,
      highOffsetV: 0,
      lowGain: -4.3,
      lowOffsetV: 0,
      samplePeriodMs: 10,
      readTimeoutMs: 15,
      debounceMs: 250,
      fastDebounceMs: 20,
      hysteresisV: 0.4,
      thresholdsV: { ab: 10.5, bc: 7.5, cd: 4.5, de: 1.5, diode: -10.5 },
    },
    contactorCheck: { weldMs: 500, closeMs: 500 },
    rcdSelfTest: { atStartup: true, testMs: 300, clearMs: 300 },
    heartbeatMs: 10,
    interlockMs: 80,
    benchWithoutMains: false,
    root,
    ...over,
  };
}

/**
 * A whole station config (YAML) with one gpio connector on the fake tree `root`, storage in
 * `dataDir`, a sim meter, free charging, the API on an ephemeral port. No RCD self-test at start
 * (the fake module does not trip) unless `rcdSelfTest` is given.
 */
export function gpioStationYaml(root: string, dataDir: string, opts: { hardware?: string; extra?: string } = {}): string {
  return `station: { id: CP-GPIO, vendor: evsed, model: pi }
storage: { dir: ${JSON.stringify(dataDir)}, flushIntervalS: 1, sampleIntervalS: 1 }
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
      root: ${JSON.stringify(root)}
      gpio: { contactor: 17, contactorFeedback: 27, rcdFault: 22, rcdTest: 23, cpRelay: 24, heartbeat: 25, lock: { motorA: 5, motorB: 6, feedback: 13 }, activeLow: [rcdFault] }
      pwm: { pin: 18 }
      pilotSense: { mode: adc }
      rcdSelfTest: { atStartup: false }
${opts.hardware ?? ''}
${opts.extra ?? ''}`;
}
