/** A hardware set-up problem with a message a technician can act on. */
export class HardwareError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'HardwareError';
  }
}

/** Turns a failed sysfs write into advice. `what` names the signal, e.g. "GPIO17 (gpio.contactor)". */
export function explainFsError(err: unknown, what: string, path: string): HardwareError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EACCES':
    case 'EPERM':
      return new HardwareError(
        `${what}: permission denied writing ${path}. The service user must be in the gpio group ` +
          `(sudo usermod -aG gpio evsed, then restart the service or log in again).`,
        err,
      );
    case 'EBUSY':
      return new HardwareError(
        `${what}: the pin is busy (${path}): another process or a kernel driver holds it ` +
          `(an overlay such as i2c, spi, w1-gpio, pwm or audio). Check with "pinctrl get" or "gpioinfo" and free the pin.`,
        err,
      );
    case 'EINVAL':
      return new HardwareError(
        `${what}: the kernel rejected ${path} (EINVAL). The sysfs number is wrong for this kernel, or the pin ` +
          `does not support this setting.`,
        err,
      );
    case 'ENOENT':
      return new HardwareError(`${what}: ${path} does not exist.`, err);
    default:
      return new HardwareError(`${what}: ${path}: ${e?.message ?? String(err)}`, err);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
