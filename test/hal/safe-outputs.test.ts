import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FakeSysfs, gpioConfig } from './fake-sysfs.js';
import { createGpioHardware, type GpioHardware } from '../../src/hal/gpio/index.js';
import { safeOutputWrites, writeSafeOutputsFile } from '../../src/hal/gpio/safe-outputs-file.js';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../support/station.js';

/** The ExecStopPost path: the file the daemon writes at start, and the sh script that applies it. */

const SCRIPT = resolve('systemd/evsed-safe-outputs');
const S = (bcm: number) => 512 + bcm;
let tree: FakeSysfs | undefined;
let hw: GpioHardware | undefined;
let dir: string | undefined;
afterEach(async () => {
  await hw?.close();
  tree?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
  hw = tree = dir = undefined;
});

const apply = (file: string) => spawnSync('sh', [SCRIPT, file], { encoding: 'utf8' });

describe('safe-outputs file', () => {
  it('lists the contactor first, the pilot to X1 (duty = period, enabled), then every other output off, as electrical levels', () => {
    tree = new FakeSysfs();
    const cfg = gpioConfig(tree.root, { gpio: { ...gpioConfig(tree.root).gpio, activeLow: ['rcdFault', 'contactor', 'cpRelay'] } });
    const w = safeOutputWrites(cfg as any);
    const gpio = (bcm: number) => join(tree!.root, `sys/class/gpio/gpio${S(bcm)}/value`);
    const pwm = (attr: string) => join(tree!.root, 'sys/class/pwm/pwmchip0/pwm0', attr);
    expect(w).toEqual([
      { value: '1', path: gpio(17) }, // active-low contactor: open at electrical 1
      { value: '1000000', path: pwm('duty_cycle') },
      { value: '1000000', path: pwm('period') },
      { value: '1000000', path: pwm('duty_cycle') },
      { value: '1', path: pwm('enable') },
      { value: '1', path: gpio(24) }, // active-low CP relay
      { value: '0', path: gpio(5) },
      { value: '0', path: gpio(6) },
      { value: '0', path: gpio(23) },
      { value: '0', path: gpio(25) },
    ]);
  });

  it('finds a Pi 5 the way the driver does (pinctrl-rp1 at 571, PWM0 is pwmchip2 channel 2 for GPIO18)', () => {
    tree = new FakeSysfs({ chips: [{ label: 'pinctrl-rp1', base: 571, ngpio: 54 }], pwm: 'pi5' });
    const w = safeOutputWrites(gpioConfig(tree.root) as any);
    expect(w[0]!.path).toBe(join(tree.root, 'sys/class/gpio/gpio588/value'));
    expect(w[1]!.path).toBe(join(tree.root, 'sys/class/pwm/pwmchip2/pwm2/duty_cycle'));
  });

  it('one file for the station: gpio connectors only; one whose tree lacks a PWM is left out with the reason', () => {
    tree = new FakeSysfs();
    const broken = new FakeSysfs({ pwm: 'none' });
    dir = tempDir();
    try {
      const file = writeSafeOutputsFile(dir, [
        { id: 1, hardware: gpioConfig(tree.root) },
        { id: 2, hardware: { driver: 'sim' } },
        { id: 3, hardware: gpioConfig(broken.root) },
      ]);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('# connector 1\n0 ');
      expect(text).not.toContain('# connector 2');
      expect(text).toMatch(/# connector 3\n# not listed: no hardware PWM for the pilot on GPIO18/);
      expect(text.split('\n').filter((l) => /^\d/.test(l))).toHaveLength(10);
    } finally {
      broken.dispose();
    }
  });
});

describe('systemd/evsed-safe-outputs', () => {
  it('is executable (ExecStopPost runs it directly)', () => {
    expect(statSync(SCRIPT).mode & 0o111).toBe(0o111);
  });

  it('drives the outputs of a live board safe: an active-low contactor to 1, PWM from an offer to X1', async () => {
    tree = new FakeSysfs();
    dir = tempDir();
    const cfg = gpioConfig(tree.root, { gpio: { ...gpioConfig(tree.root).gpio, activeLow: ['rcdFault', 'contactor'] } });
    hw = await createGpioHardware(cfg as any, { connectorId: 1, log: silentLogger(), clock: new FakeClock(), edges: tree.edges, autoStart: false });
    const file = writeSafeOutputsFile(dir, [{ id: 1, hardware: cfg }]);
    hw.contactor.set(true);
    hw.pilot.setOutput({ mode: 'pwm', dutyPermille: 266 });
    hw.setCpDisconnected(true);
    expect(tree.value(S(17))).toBe('0'); // closed: active low
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('266000');

    const r = apply(file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(tree.value(S(17))).toBe('1');
    expect(tree.value(S(24))).toBe('0');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000');
    expect(tree.pwmAttr(0, 0, 'enable')).toBe('1');
  });

  it('skips what is not exported, refuses lines that are not a level and a gpio/pwm attribute, and says so', () => {
    dir = tempDir();
    const victim = join(dir, 'not-sysfs');
    writeFileSync(victim, 'keep\n');
    mkdirSync(join(dir, 'gpio600'));
    writeFileSync(join(dir, 'gpio600', 'value'), '1\n');
    const file = join(dir, 'safe-outputs');
    writeFileSync(file, ['# comment', '', `0 ${join(dir, 'gpio599', 'value')}`, `0 ${victim}`, `x ${join(dir, 'gpio600', 'value')}`, `0 ${join(dir, 'gpio600', 'value')}`].join('\n') + '\n');
    const r = apply(file);
    expect(r.stdout).toMatch(/gpio599\/value does not exist \(not exported/);
    expect(r.stderr).toMatch(/not a sysfs gpio\/pwm attribute: .*not-sysfs/);
    expect(r.stderr).toMatch(/not a level: x/);
    expect(r.status).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('keep\n');
    expect(readFileSync(join(dir, 'gpio600', 'value'), 'utf8')).toBe('0\n'); // the good line still applied
  });

  it('without a file (the daemon never started): says so and succeeds', () => {
    dir = tempDir();
    const r = apply(join(dir, 'safe-outputs'));
    expect(r.stdout).toMatch(/no .*safe-outputs .*nothing applied/);
    expect(r.status).toBe(0);
  });
});
