import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HardwareError, explainFsError, sleep } from './errors.js';

/**
 * Pilot PWM through the kernel's hardware PWM (/sys/class/pwm), 1 kHz.
 *
 * The ±12 V stage inverts nothing: pin high = +12 V, pin low = -12 V. So "no offer" (X1, steady
 * +12 V) is duty = period, and state F is duty 0. A disabled PWM also idles low = state F, which
 * is why this driver never disables the output once it runs.
 */

export const PERIOD_NS = 1_000_000;

export interface PwmChannel {
  chipDir: string;
  channel: number;
}

/** The dtoverlay line that makes pin `pin` a hardware PWM output. */
export function overlayFor(pin: number): string {
  switch (pin) {
    case 12: return 'dtoverlay=pwm,pin=12,func=4';
    case 13: return 'dtoverlay=pwm,pin=13,func=4';
    case 19: return 'dtoverlay=pwm,pin=19,func=2';
    default: return 'dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2';
  }
}

const BCM_PWM0 = /20c000\.pwm$/; // BCM2835/6/7/2711 PWM0 (Pi 1-4): 20c000, 3f20c000, fe20c000
const RP1_PWM0 = /^1f00098000\.pwm$/; // Pi 5, RP1 PWM0 (drives GPIO12/13/18/19; PWM1 ...9c000 is the fan)

/** Channel of the SoC PWM that a header pin is wired to. */
function channelFor(pin: number, rp1: boolean): number {
  if (rp1) return { 12: 0, 13: 1, 18: 2, 19: 3 }[pin] ?? 2;
  return pin === 13 || pin === 19 ? 1 : 0;
}

/**
 * Finds the PWM chip and channel for `pin`: the chip whose device is the SoC's PWM0 (by name,
 * never by number: Pi 4 shows pwmchip0, Pi 5 pwmchip2). `chip`/`channel` override the search.
 */
export function findPwmChannel(root: string, pin: number, chip?: number, channel?: number): PwmChannel {
  const cls = join(root, 'sys/class/pwm');
  const missing = (detail: string) =>
    new HardwareError(
      `no hardware PWM for the pilot on GPIO${pin}: ${detail}. Add "${overlayFor(pin)}" to /boot/firmware/config.txt ` +
        `(/boot/config.txt before Bookworm) and reboot.`,
    );
  if (!existsSync(cls)) throw missing(`${cls} does not exist`);
  const chips = readdirSync(cls).filter((n) => /^pwmchip\d+$/.test(n));
  if (chip !== undefined && channel !== undefined) {
    const dir = join(cls, `pwmchip${chip}`);
    if (!existsSync(dir)) throw missing(`pwmchip${chip} does not exist (found: ${chips.join(', ') || 'none'})`);
    const npwm = Number(readFileSync(join(dir, 'npwm'), 'utf8'));
    if (channel >= npwm) throw new HardwareError(`pwm.channel ${channel} does not exist on pwmchip${chip} (it has ${npwm})`);
    return { chipDir: dir, channel };
  }
  for (const name of chips) {
    const dir = join(cls, name);
    let dev = '';
    try {
      dev = basename(readlinkSync(join(dir, 'device')));
    } catch {
      continue;
    }
    if (RP1_PWM0.test(dev)) return { chipDir: dir, channel: channelFor(pin, true) };
    if (BCM_PWM0.test(dev)) return { chipDir: dir, channel: channelFor(pin, false) };
  }
  throw missing(`no PWM0 chip among ${chips.join(', ') || 'no chips'} (set pwm.chip and pwm.channel if your board differs)`);
}

export class SysfsPwm {
  private dutyPath: string;
  private lastDutyNs = -1;

  private constructor(readonly dir: string, private readonly what: string) {
    this.dutyPath = join(dir, 'duty_cycle');
  }

  /** Exports the channel and starts it at X1 (duty = period), enabled. */
  static async open(ch: PwmChannel, exportTimeoutMs = 2000): Promise<SysfsPwm> {
    const what = `pilot PWM (${basename(ch.chipDir)} channel ${ch.channel})`;
    const dir = join(ch.chipDir, `pwm${ch.channel}`);
    if (!existsSync(dir)) write(join(ch.chipDir, 'export'), String(ch.channel), what);
    const deadline = performance.now() + exportTimeoutMs;
    for (;;) {
      try {
        // udev gives the new attributes to group gpio a moment after they appear.
        closeSync(openSync(join(dir, 'duty_cycle'), 'r+'));
        break;
      } catch (err) {
        if (performance.now() > deadline) throw explainFsError(err, what, join(dir, 'duty_cycle'));
        await sleep(5);
      }
    }
    const pwm = new SysfsPwm(dir, what);
    pwm.start();
    return pwm;
  }

  private start(): void {
    const dir = this.dir;
    const period = Number(readAttr(join(dir, 'period')) || 0);
    // The kernel rejects duty > period: order the two writes so every step is valid.
    if (period > PERIOD_NS) {
      this.setDutyNs(PERIOD_NS);
      write(join(dir, 'period'), String(PERIOD_NS), this.what);
    } else {
      if (period !== PERIOD_NS) write(join(dir, 'period'), String(PERIOD_NS), this.what);
      this.setDutyNs(PERIOD_NS);
    }
    const polarity = join(dir, 'polarity');
    if (existsSync(polarity) && readAttr(polarity) === 'inversed') {
      if (readAttr(join(dir, 'enable')) === '1') {
        throw new HardwareError(`${this.what}: polarity is "inversed" while running; evsed expects "normal" (pin high = +12 V)`);
      }
      write(polarity, 'normal', this.what);
    }
    write(join(dir, 'enable'), '1', this.what);
  }

  /** Synchronous duty write; `ns` between 0 (state F) and the period (X1). */
  setDutyNs(ns: number): void {
    const v = Math.max(0, Math.min(PERIOD_NS, Math.round(ns)));
    write(this.dutyPath, String(v), this.what);
    this.lastDutyNs = v;
  }

  /** X1: steady +12 V, no offer. */
  x1(): void {
    this.setDutyNs(PERIOD_NS);
  }

  /** State F: steady -12 V (duty 0, output stays enabled). */
  f(): void {
    this.setDutyNs(0);
  }

  permille(p: number): void {
    this.setDutyNs(p * 1000);
  }

  dutyNs(): number {
    return this.lastDutyNs;
  }
}

function readAttr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function write(path: string, value: string, what: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    throw explainFsError(err, what, path);
  }
}
