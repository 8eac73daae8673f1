import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeSysfs } from './fake-sysfs.js';
import { SysfsGpio, findHeaderChip, sysfsNumber } from '../../src/hal/gpio/sysfs-gpio.js';
import { explainFsError } from '../../src/hal/gpio/errors.js';

let tree: FakeSysfs | undefined;
afterEach(() => tree?.dispose());

describe('BCM -> sysfs mapping', () => {
  it('finds the Pi 4 header chip at base 512 (kernel 6.6+) among other chips and exports base + BCM', async () => {
    tree = new FakeSysfs({
      chips: [
        { label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
        { label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
      ],
    });
    const chip = findHeaderChip(tree.root);
    expect(chip).toMatchObject({ label: 'pinctrl-bcm2711', base: 512 });
    expect(sysfsNumber(chip, 17)).toBe(529);
    const gpio = new SysfsGpio({ root: tree.root, edges: tree.edges });
    const line = await gpio.output('gpio.contactor', 17, { activeLow: false, safe: 0 });
    expect(line.sysfs).toBe(529);
    expect(tree.events).toContain('gpio export 529');
    expect(tree.attr(529, 'direction')).toBe('low');
    gpio.close();
  });

  it('uses base 0 on old kernels and 571 on a Pi 5 (pinctrl-rp1)', () => {
    tree = new FakeSysfs({ chips: [{ label: 'pinctrl-bcm2835', base: 0, ngpio: 54 }] });
    expect(sysfsNumber(findHeaderChip(tree.root), 17)).toBe(17);
    tree.dispose();
    tree = new FakeSysfs({ chips: [{ label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 }, { label: 'pinctrl-rp1', base: 571, ngpio: 54 }] });
    expect(sysfsNumber(findHeaderChip(tree.root), 17)).toBe(588);
  });

  it('says plainly when there is no sysfs GPIO or no Pi header chip', () => {
    tree = new FakeSysfs({ gpioClass: false });
    expect(() => findHeaderChip(tree!.root)).toThrow(/no sysfs GPIO .*CONFIG_GPIO_SYSFS/);
    tree.dispose();
    tree = new FakeSysfs({ chips: [{ label: 'gpio-mockup', base: 0, ngpio: 8 }] });
    expect(() => findHeaderChip(tree!.root)).toThrow(/no Raspberry Pi header GPIO chip .*found gpio-mockup@0/);
  });

  it('reuses a pin left exported by a previous run instead of failing', async () => {
    tree = new FakeSysfs();
    const gpio = new SysfsGpio({ root: tree.root, edges: tree.edges });
    await (await gpio.output('a', 17, { activeLow: false, safe: 0 })).close();
    const again = await gpio.output('a', 17, { activeLow: true, safe: 0 });
    expect(tree.events.filter((e) => e === 'gpio export 529')).toHaveLength(1);
    expect(tree.attr(529, 'direction')).toBe('high'); // active low: safe 0 = electrically high
    again.write(1);
    expect(tree.value(529)).toBe('0');
    gpio.close();
  });

  it('fails with a clear error when gpioN never appears (export refused)', async () => {
    tree = new FakeSysfs();
    const gpio = new SysfsGpio({ root: tree.root, edges: tree.edges, exportTimeoutMs: 30 });
    expect(() => sysfsNumber(gpio.chip, 60)).toThrow(/GPIO60 is not a line of pinctrl-bcm2711/);
    mkdirSync(join(tree.gpioDir(530)), { recursive: true }); // exists, but without attributes
    await expect(gpio.output('gpio.x', 18, { activeLow: false, safe: 0 })).rejects.toThrow(/GPIO18 \(gpio.x, sysfs 530\): .*gpio530\/value did not appear after export/);
  });

  it('translates busy pins and missing gpio group membership into advice', () => {
    const busy = Object.assign(new Error('EBUSY: resource busy'), { code: 'EBUSY' });
    expect(explainFsError(busy, 'GPIO17 (gpio.contactor)', '/sys/class/gpio/export').message).toMatch(/GPIO17 \(gpio.contactor\): the pin is busy.*overlay/);
    const perm = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    expect(explainFsError(perm, 'GPIO17', '/sys/class/gpio/export').message).toMatch(/gpio group \(sudo usermod -aG gpio evsed/);
  });

  it('inputs are configured for edge interrupts and read logically (activeLow)', async () => {
    tree = new FakeSysfs();
    const gpio = new SysfsGpio({ root: tree.root, edges: tree.edges });
    const inp = await gpio.input('gpio.rcdFault', 22, { activeLow: true });
    expect(tree.attr(534, 'direction')).toBe('in');
    expect(tree.attr(534, 'edge')).toBe('both');
    let edges = 0;
    inp.watch(() => edges++);
    tree.setInput(534, 0);
    expect(edges).toBe(1);
    expect(inp.read()).toBe(1);
    tree.setInput(534, 1);
    expect(inp.read()).toBe(0);
    expect(readFileSync(join(tree.gpioDir(534), 'active_low'), 'utf8').trim()).toBe('0');
    gpio.close();
  });
});
