import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpioHardwareConfig, GpioSignal } from '../../config/gpio.js';
import { findHeaderChip, sysfsNumber } from './sysfs-gpio.js';
import { PERIOD_NS, findPwmChannel } from './pwm.js';

/**
 * The safe outputs of every gpio board as plain sysfs writes, in a file in the state directory,
 * for systemd/evsed-safe-outputs (the unit's ExecStopPost). A sysfs output keeps its level when
 * the process dies, and after SIGKILL, the watchdog's SIGABRT or the OOM killer no code of ours
 * runs: the script, a few lines of sh, applies this file instead.
 *
 * One line per write, `VALUE PATH`, applied in order: the contactor first, then the pilot to X1
 * (duty = period, enabled: steady +12 V; never disabled, which idles at -12 V = state F), then the
 * other outputs. Values are electrical levels (gpio.activeLow applied).
 */

export const SAFE_OUTPUTS_FILE = 'safe-outputs';

export interface SafeOutputWrite {
  value: string;
  path: string;
}

/** Plain outputs and their safe logical level (all off), in the order the script writes them. */
const OUTPUTS: { key: GpioSignal; bcm: (g: GpioHardwareConfig['gpio']) => number | undefined }[] = [
  { key: 'cpRelay', bcm: (g) => g.cpRelay },
  { key: 'lock.motorA', bcm: (g) => g.lock?.motorA },
  { key: 'lock.motorB', bcm: (g) => g.lock?.motorB },
  { key: 'rcdTest', bcm: (g) => g.rcdTest },
  { key: 'heartbeat', bcm: (g) => g.heartbeat },
];

/**
 * The writes that make one board safe, from its config and the sysfs tree under `cfg.root`, found
 * the way the driver finds them (header chip by label, PWM chip by device). Throws what the driver
 * would throw when the tree lacks them.
 */
export function safeOutputWrites(cfg: GpioHardwareConfig): SafeOutputWrite[] {
  const chip = findHeaderChip(cfg.root);
  const gpioDir = join(cfg.root, 'sys/class/gpio');
  const line = (key: GpioSignal, bcm: number): SafeOutputWrite => ({
    // logical 0 (off); an active-low output is off at electrical 1
    value: cfg.gpio.activeLow.includes(key) ? '1' : '0',
    path: join(gpioDir, `gpio${sysfsNumber(chip, bcm)}`, 'value'),
  });
  const pwm = findPwmChannel(cfg.root, cfg.pwm.pin, cfg.pwm.chip, cfg.pwm.channel);
  const pwmDir = join(pwm.chipDir, `pwm${pwm.channel}`);
  const writes = [line('contactor', cfg.gpio.contactor)];
  // duty before period: the kernel rejects a duty above the period at every step (as SysfsPwm.start)
  writes.push(
    { value: String(PERIOD_NS), path: join(pwmDir, 'duty_cycle') },
    { value: String(PERIOD_NS), path: join(pwmDir, 'period') },
    { value: String(PERIOD_NS), path: join(pwmDir, 'duty_cycle') },
    { value: '1', path: join(pwmDir, 'enable') },
  );
  for (const o of OUTPUTS) {
    const bcm = o.bcm(cfg.gpio);
    if (bcm !== undefined) writes.push(line(o.key, bcm));
  }
  return writes;
}

/**
 * Writes `<stateDir>/safe-outputs` for every gpio connector (atomically: a crash while writing
 * leaves the previous file). A connector whose sysfs paths cannot be found is left out with a
 * comment saying why; its driver fails at start for the same reason and drives nothing.
 */
export function writeSafeOutputsFile(stateDir: string, connectors: readonly { id: number; hardware: { driver: string } }[]): string {
  const lines = [
    '# evsed: the safe level of every output, VALUE PATH per line, applied in order by',
    '# systemd/evsed-safe-outputs (ExecStopPost) after the daemon stopped, however it stopped.',
    '# Rewritten by the daemon at every start; do not edit.',
  ];
  for (const c of connectors) {
    if (c.hardware.driver !== 'gpio') continue;
    lines.push(`# connector ${c.id}`);
    try {
      for (const w of safeOutputWrites(c.hardware as GpioHardwareConfig)) lines.push(`${w.value} ${w.path}`);
    } catch (err) {
      lines.push(`# not listed: ${(err as Error).message.replace(/\s+/g, ' ')}`);
    }
  }
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, SAFE_OUTPUTS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, file);
  return file;
}
