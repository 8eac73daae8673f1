import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGpioHardware } from '../src/hal/gpio/index.js';
import type { EdgeSource } from '../src/hal/gpio/sysfs-gpio.js';
import { FakeClock } from '../src/hal/clock.js';
import { silentLogger } from '../src/log.js';
import { PilotDebouncer, classifyWithHysteresis } from '../src/hal/gpio/pilot-classifier.js';

/**
 * What can be measured of the Pi drivers off the Pi: the cost of the software path on a fake
 * sysfs tree in a temp dir (a tmpfs/disk file write stands in for a sysfs attribute write, which
 * on a Pi is a syscall into gpiolib of similar order). Edge -> contactor latency under load is
 * the core's bench.
 */

function quantiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.length, p50_ms: r(q(0.5)), p99_ms: r(q(0.99)), max_ms: r(s[s.length - 1]!) };
}

function fakeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'evsed-bench-sysfs-'));
  const gpio = join(root, 'sys/class/gpio');
  mkdirSync(join(gpio, 'gpiochip512'), { recursive: true });
  writeFileSync(join(gpio, 'export'), '');
  writeFileSync(join(gpio, 'gpiochip512/label'), 'pinctrl-bcm2711\n');
  writeFileSync(join(gpio, 'gpiochip512/base'), '512\n');
  writeFileSync(join(gpio, 'gpiochip512/ngpio'), '58\n');
  for (const bcm of [17, 22, 24, 25, 27]) {
    const d = join(gpio, `gpio${512 + bcm}`);
    mkdirSync(d);
    for (const [f, v] of [['direction', 'in'], ['value', '0'], ['edge', 'none'], ['active_low', '0']]) writeFileSync(join(d, f!), v!);
  }
  const chip = join(root, 'sys/class/pwm/pwmchip0');
  mkdirSync(join(chip, 'pwm0'), { recursive: true });
  mkdirSync(join(root, 'sys/devices/fe20c000.pwm'), { recursive: true });
  symlinkSync(join(root, 'sys/devices/fe20c000.pwm'), join(chip, 'device'));
  writeFileSync(join(chip, 'npwm'), '2');
  writeFileSync(join(chip, 'export'), '');
  for (const [f, v] of [['period', '0'], ['duty_cycle', '0'], ['enable', '0']]) writeFileSync(join(chip, 'pwm0', f!), v!);
  const iio = join(root, 'sys/bus/iio/devices/iio:device0');
  mkdirSync(iio, { recursive: true });
  writeFileSync(join(iio, 'name'), 'ads1115');
  for (const ch of [0, 1]) {
    writeFileSync(join(iio, `in_voltage${ch}_raw`), '16744');
    writeFileSync(join(iio, `in_voltage${ch}_scale`), '0.125');
  }
  return root;
}

export async function benchHw(): Promise<Record<string, unknown>> {
  const root = fakeTree();
  const watchers = new Map<number, () => void>();
  const edges: EdgeSource = (n, _p, cb) => (watchers.set(n, cb), { close: () => watchers.delete(n) });
  const cfg: any = {
    driver: 'gpio', root,
    gpio: { contactor: 17, contactorFeedback: 27, rcdFault: 22, cpRelay: 24, heartbeat: 25, activeLow: [], debounceMs: 0 },
    pwm: { pin: 18 },
    pilotSense: { mode: 'adc', iioName: 'ads1115', highChannel: 0, lowChannel: 1, highGain: 4.3, highOffsetV: 0, lowGain: -4.3, lowOffsetV: 0, samplePeriodMs: 10, debounceMs: 250, fastDebounceMs: 20, hysteresisV: 0.4, thresholdsV: { ab: 10.5, bc: 7.5, cd: 4.5, de: 1.5, diode: -10.5 } },
    contactorCheck: { weldMs: 500, closeMs: 500 },
    rcdSelfTest: { atStartup: false, testMs: 1000, clearMs: 1500 },
    heartbeatMs: 20,
  };
  const hw = await createGpioHardware(cfg, { connectorId: 1, log: silentLogger(), clock: new FakeClock(), edges, autoStart: false });
  try {
    const N = 5000;
    const open: number[] = [];
    for (let i = 0; i < N; i++) {
      hw.contactor.set(true);
      const t = performance.now();
      hw.contactor.set(false);
      open.push(performance.now() - t);
    }
    const duty: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      hw.pilot.setOutput(i % 2 ? { mode: 'x1' } : { mode: 'pwm', dutyPermille: 267 });
      duty.push(performance.now() - t);
    }
    // input interrupt -> debounced listener -> contactor.set(false) (the software part of the safety path)
    const edgeToOpen: number[] = [];
    let t0 = 0;
    hw.inputs.get('rcdFault')!.onChange(() => {
      hw.contactor.set(false);
      edgeToOpen.push(performance.now() - t0);
    });
    const rcdValue = join(root, 'sys/class/gpio/gpio534/value');
    for (let i = 0; i < N; i++) {
      writeFileSync(rcdValue, i % 2 ? '0' : '1');
      hw.contactor.set(true);
      t0 = performance.now();
      watchers.get(534)!();
    }
    const sample: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = performance.now();
      await hw.pilot.sample();
      sample.push(performance.now() - t);
    }
    const d = new PilotDebouncer({ debounceMs: 250, fastDebounceMs: 20 });
    const states = [12, 9, 6, 9];
    const M = 1_000_000;
    const tc = performance.now();
    let s: any = 'A';
    for (let i = 0; i < M; i++) {
      s = classifyWithHysteresis(states[i & 3]!, s, cfg.pilotSense.thresholdsV, 0.4);
      d.feed({ state: s, diodeOk: true, diodeChecked: false }, i);
    }
    const classifyNs = ((performance.now() - tc) * 1e6) / M;
    return {
      note: 'fake sysfs tree in a temp dir (file writes stand in for sysfs attribute writes); not a Pi measurement',
      contactorOpenWrite: quantiles(open),
      pwmDutyWrite: quantiles(duty),
      inputEdgeToContactorOpen: quantiles(edgeToOpen),
      pilotSampleBothChannels: quantiles(sample),
      pilotClassifyAndDebounceNs: Math.round(classifyNs),
    };
  } finally {
    await hw.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchHw().then((r) => console.log(JSON.stringify(r, null, 2)));
}
