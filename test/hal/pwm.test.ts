import { afterEach, describe, expect, it } from 'vitest';
import { FakeSysfs } from './fake-sysfs.js';
import { PERIOD_NS, SysfsPwm, findPwmChannel } from '../../src/hal/gpio/pwm.js';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

let tree: FakeSysfs | undefined;
afterEach(() => tree?.dispose());

describe('sysfs PWM', () => {
  it('Pi 4: pwmchip0 channel 0 for GPIO18; starts at X1 (duty = period), enabled', async () => {
    tree = new FakeSysfs({ pwm: 'pi4' });
    const ch = findPwmChannel(tree.root, 18);
    expect(ch.chipDir.endsWith('pwmchip0')).toBe(true);
    expect(ch.channel).toBe(0);
    expect(findPwmChannel(tree.root, 19).channel).toBe(1);
    const pwm = await SysfsPwm.open(ch);
    expect(tree.events).toContain('pwm export 0/0');
    expect(tree.pwmAttr(0, 0, 'period')).toBe(String(PERIOD_NS));
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe(String(PERIOD_NS));
    expect(tree.pwmAttr(0, 0, 'enable')).toBe('1');
    pwm.permille(267); // 16 A
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('267000');
    pwm.f();
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('0');
    expect(tree.pwmAttr(0, 0, 'enable')).toBe('1'); // never disabled: disabled idles low = state F too, but uncontrolled
    pwm.x1();
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe(String(PERIOD_NS));
  });

  it('Pi 5: picks pwmchip2 (RP1 PWM0) channel 2 for GPIO18, not the fan chip pwmchip0', async () => {
    tree = new FakeSysfs({ pwm: 'pi5' });
    const ch = findPwmChannel(tree.root, 18);
    expect(ch.chipDir.endsWith('pwmchip2')).toBe(true);
    expect(ch.channel).toBe(2);
    expect(findPwmChannel(tree.root, 19).channel).toBe(3);
    await SysfsPwm.open(ch);
    expect(tree.pwmAttr(2, 2, 'duty_cycle')).toBe(String(PERIOD_NS));
  });

  it('missing overlay: the error names the dtoverlay line', () => {
    tree = new FakeSysfs({ pwm: 'none' });
    expect(() => findPwmChannel(tree!.root, 18)).toThrow('dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2');
    tree.dispose();
    tree = new FakeSysfs({ pwm: 'no-class' });
    expect(() => findPwmChannel(tree!.root, 12)).toThrow(/no hardware PWM for the pilot on GPIO12.*dtoverlay=pwm,pin=12,func=4/);
  });

  it('explicit chip/channel are used as given and checked', () => {
    tree = new FakeSysfs({ pwm: 'pi4' });
    expect(findPwmChannel(tree.root, 18, 0, 1).channel).toBe(1);
    expect(() => findPwmChannel(tree!.root, 18, 0, 3)).toThrow(/channel 3 does not exist on pwmchip0/);
    expect(() => findPwmChannel(tree!.root, 18, 2, 2)).toThrow(/pwmchip2 does not exist/);
  });

  it('orders period and duty writes so the duty never exceeds the period', async () => {
    tree = new FakeSysfs({ pwm: 'pi4' });
    const d = join(tree.root, 'sys/class/pwm/pwmchip0/pwm0');
    mkdirSync(d, { recursive: true });
    for (const [f, v] of [['period', '20000000'], ['duty_cycle', '15000000'], ['enable', '0'], ['polarity', 'inversed']]) writeFileSync(join(d, f!), v!);
    await SysfsPwm.open(findPwmChannel(tree.root, 18));
    expect(tree.pwmAttr(0, 0, 'period')).toBe(String(PERIOD_NS));
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe(String(PERIOD_NS));
    expect(tree.pwmAttr(0, 0, 'polarity')).toBe('normal');
  });
});
