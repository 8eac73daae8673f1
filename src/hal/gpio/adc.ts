import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HardwareError } from './errors.js';

/**
 * The pilot ADC at its device boundary: two voltages (ADC input volts) from the positive-peak and
 * negative-peak detectors of the pilot sense circuit (hardware/pilot-circuit.md).
 */
export interface PilotAdc {
  read(): Promise<{ highV: number; lowV: number }>;
  /**
   * The same read, blocking the calling thread: used by the safety core's own thread, where a
   * blocking read delays nothing else and does not queue behind the main thread's work in the
   * shared libuv pool. A read that hangs stops the heartbeat too, and the interlock drops the coil.
   */
  readSync?(): { highV: number; lowV: number };
}

/**
 * ADS1115 through the kernel's IIO driver (ti-ads1015, loaded by `dtoverlay=ads1115`).
 *
 * Why not /dev/i2c-N directly: selecting the slave address needs the I2C_SLAVE ioctl, which Node
 * cannot issue without a native addon (i2c-bus). The IIO driver does the I2C transfer in the
 * kernel and exposes each single-ended input as `in_voltageN_raw` (counts) and `in_voltageN_scale`
 * (mV per count); a read of `_raw` triggers one conversion. Reads go through the libuv thread pool
 * (async) so the ~1.2 ms conversions at 860 SPS never block the event loop.
 */
export const ADS1115_OVERLAY =
  'dtparam=i2c_arm=on and dtoverlay=ads1115,addr=0x48,cha_enable,cha_cfg=4,cha_gain=1,cha_datarate=7,chb_enable,chb_cfg=5,chb_gain=1,chb_datarate=7';

export class IioAdc implements PilotAdc {
  private constructor(
    private readonly highRaw: string,
    private readonly lowRaw: string,
    private readonly highScaleMv: number,
    private readonly lowScaleMv: number,
  ) {}

  static open(root: string, name: string, highChannel: number, lowChannel: number): IioAdc {
    const bus = join(root, 'sys/bus/iio/devices');
    const devices = existsSync(bus) ? readdirSync(bus).filter((d) => d.startsWith('iio:device')) : [];
    const found = devices.find((d) => {
      try {
        return readFileSync(join(bus, d, 'name'), 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
    if (!found) {
      throw new HardwareError(
        `pilot ADC: no IIO device named "${name}" in ${bus} (found: ${devices.join(', ') || 'none'}). ` +
          `Add to /boot/firmware/config.txt: ${ADS1115_OVERLAY}; then reboot and check "ls /sys/bus/iio/devices".`,
      );
    }
    const dir = join(bus, found);
    const chan = (n: number) => {
      const raw = join(dir, `in_voltage${n}_raw`);
      if (!existsSync(raw)) {
        throw new HardwareError(`pilot ADC: ${raw} does not exist: enable the channel in the ads1115 overlay (ch${'abcd'[n]}_enable, ch${'abcd'[n]}_cfg=${4 + n})`);
      }
      const scale = Number(readFileSync(join(dir, `in_voltage${n}_scale`), 'utf8').trim());
      if (!(scale > 0)) throw new HardwareError(`pilot ADC: ${dir}/in_voltage${n}_scale is not a positive number`);
      return { raw, scale };
    };
    const hi = chan(highChannel);
    const lo = chan(lowChannel);
    return new IioAdc(hi.raw, lo.raw, hi.scale, lo.scale);
  }

  async read(): Promise<{ highV: number; lowV: number }> {
    return this.convert((await readFile(this.highRaw, 'utf8')).trim(), (await readFile(this.lowRaw, 'utf8')).trim());
  }

  readSync(): { highV: number; lowV: number } {
    return this.convert(readFileSync(this.highRaw, 'utf8').trim(), readFileSync(this.lowRaw, 'utf8').trim());
  }

  private convert(highRaw: string, lowRaw: string): { highV: number; lowV: number } {
    const hi = Number(highRaw);
    const lo = Number(lowRaw);
    if (!Number.isFinite(hi) || !Number.isFinite(lo)) throw new Error('pilot ADC returned a non-number');
    return { highV: (hi * this.highScaleMv) / 1000, lowV: (lo * this.lowScaleMv) / 1000 };
  }
}
