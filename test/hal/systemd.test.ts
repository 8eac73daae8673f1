import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SystemdNotifier } from '../../src/hal/systemd-notify.js';

const UNIT = resolve('systemd/evsed.service');
const dir = mkdtempSync(join(tmpdir(), 'evsed-systemd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('systemd/evsed.service', () => {
  it('has the required settings', () => {
    const u = readFileSync(UNIT, 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=all', 'Restart=always', 'StateDirectory=evsed', 'ProtectSystem=strict', 'User=evsed']) {
      expect(u).toContain(line);
    }
    expect(u).toMatch(/^WatchdogSec=\d+s$/m);
    // after every stop, however the process ended: the outputs safe through sysfs (test/supervision/exit-paths.test.ts)
    expect(u).toMatch(/^ExecStopPost=\/opt\/evsed\/systemd\/evsed-safe-outputs \/var\/lib\/evsed\/safe-outputs$/m);
    // then every pilot board told to turn charging off (no Modbus watchdog: test/supervision/exit-paths-pilot-board.test.ts);
    // '-': a board that does not answer is logged, the stop and the restart go on
    const execStart = u.match(/^ExecStart=(\S+) (.*) run --config (\S+)$/m);
    expect(execStart).not.toBeNull();
    const [, node, options, config] = execStart!;
    expect(u.match(/^ExecStopPost=.*$/gm)).toEqual([
      'ExecStopPost=/opt/evsed/systemd/evsed-safe-outputs /var/lib/evsed/safe-outputs',
      `ExecStopPost=-${node} ${options} boards-off --config ${config}`,
    ]);
    expect(u).toMatch(/^StateDirectory=evsed$/m); // the /var/lib/evsed above
    // releases side by side: the guard (outside the releases) before every start, then the release `current` points to
    expect(u).toMatch(/^ExecStartPre=\/opt\/evsed\/systemd\/evsed-boot-guard \/opt\/evsed \/var\/lib\/evsed$/m);
    expect(node === '/usr/bin/node' && options).toMatch(/\/opt\/evsed\/current\/dist\/src\/cli\/main\.js$/);
    expect(u).toMatch(/^ReadWritePaths=\/opt\/evsed$/m);
    // these would break sysfs GPIO/PWM or the serial/I2C devices
    expect(u).not.toMatch(/^ProtectKernelTunables=yes/m);
    expect(u).not.toMatch(/^PrivateDevices=yes/m);
    expect(u).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
  });

  it('grants only what the code uses: the gpio group (sysfs GPIO and PWM), dialout with the serial ports of a Modbus RTU meter or a PN532 (the header UART is ttyS0 or ttyAMA0), input with read access to a keyboard card reader\'s event device; no i2c group or device (the ADC is read through IIO sysfs), no gpiochip device (GPIO is sysfs); systemd-journal to read its own journal for GetDiagnostics', () => {
    const u = readFileSync(UNIT, 'utf8');
    const values = (key: string) => [...u.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
    expect(values('SupplementaryGroups')).toEqual(['gpio dialout input systemd-journal']);
    expect(values('DevicePolicy')).toEqual(['closed']);
    expect(values('DeviceAllow')).toEqual(['char-ttyUSB rw', 'char-ttyACM rw', 'char-ttyAMA rw', 'char-ttyS rw', 'char-input r']);
    // The keyboard reader only reads its device (O_RDONLY): no write access is granted.
    expect(readFileSync(resolve('src/hal/readers/keyboard.ts'), 'utf8')).toContain('constants.O_RDONLY | constants.O_NONBLOCK');
    expect(values('CapabilityBoundingSet')).toEqual(['']);
    // The code opens no such device: the ADC through /sys/bus/iio, GPIO through /sys/class/gpio.
    const adc = readFileSync(resolve('src/hal/gpio/adc.ts'), 'utf8');
    expect(adc).toContain("'sys/bus/iio/devices'");
    expect(readFileSync(resolve('src/hal/gpio/sysfs-gpio.ts'), 'utf8')).toContain("join(opts.root, 'sys/class/gpio')");
    expect(readFileSync(resolve('src/hal/gpio/pwm.ts'), 'utf8')).toContain("join(root, 'sys/class/pwm')");
  });

  it('NotifyAccess=all, because systemd-notify runs as a child of node (main/exec would refuse it); the data directory and new files owner-only', () => {
    const u = readFileSync(UNIT, 'utf8');
    expect(u).toMatch(/^NotifyAccess=all$/m);
    expect(readFileSync(resolve('src/hal/systemd-notify.ts'), 'utf8')).toMatch(/spawn\('systemd-notify'/);
    expect(u).toMatch(/^StateDirectoryMode=0700$/m);
    expect(u).toMatch(/^UMask=0077$/m);
  });

  if (!hasAnalyze) console.log('SKIPPED: systemd-analyze not installed: systemd-analyze verify of the unit did not run (apt-get install systemd)');
  it.skipIf(!hasAnalyze)('passes systemd-analyze verify without warnings (ExecStart and the boards-off ExecStopPost pointed at this node binary, ExecStopPost at the script in this checkout)', () => {
    const copy = join(dir, 'evsed.service');
    writeFileSync(copy, readFileSync(UNIT, 'utf8').replaceAll('/usr/bin/node', process.execPath).replace('/opt/evsed/systemd/evsed-safe-outputs', resolve('systemd/evsed-safe-outputs')).replace('/opt/evsed/systemd/evsed-boot-guard', resolve('systemd/evsed-boot-guard')));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    const warnings = (r.stderr + r.stdout).split('\n').filter((l) => l.includes('evsed.service'));
    expect(warnings).toEqual([]);
    expect(r.status).toBe(0);
  });
});

describe('SystemdNotifier', () => {
  it('is a no-op without NOTIFY_SOCKET', async () => {
    const calls: string[][] = [];
    const n = new SystemdNotifier({ env: {}, run: async (a) => void calls.push(a) });
    await n.ready();
    await n.watchdog();
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('pets the watchdog only when the health check passes, at WATCHDOG_USEC/2', async () => {
    const calls: string[][] = [];
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '10000000', WATCHDOG_PID: String(process.pid) }, run: async (a) => void calls.push(a) });
    expect(n.watchdogIntervalMs).toBe(5000);
    expect(await n.petIfHealthy(() => ({ ok: false, reason: 'pilot sampler stalled' }))).toBe(false);
    expect(await n.petIfHealthy(() => { throw new Error('boom'); })).toBe(false);
    expect(await n.petIfHealthy(() => ({ ok: true }))).toBe(true);
    await n.ready('charging station up');
    await n.stopping();
    expect(calls).toEqual([['WATCHDOG=1'], ['READY=1', 'STATUS=charging station up'], ['STOPPING=1']]);
  });

  it('ignores a watchdog meant for another process', () => {
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1' }, run: async () => {} });
    expect(n.watchdogIntervalMs).toBeUndefined();
  });

  it('really spawns systemd-notify from PATH with the state as arguments', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(dir, 'notify.log');
    writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >> ${log}\n`);
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    const oldPath = process.env.PATH;
    const oldSock = process.env.NOTIFY_SOCKET;
    process.env.PATH = `${bin}:${oldPath}`;
    process.env.NOTIFY_SOCKET = '/run/fake/notify';
    try {
      const n = new SystemdNotifier();
      await n.ready();
      await n.watchdog();
    } finally {
      process.env.PATH = oldPath;
      if (oldSock === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = oldSock;
    }
    expect(readFileSync(log, 'utf8')).toBe('/run/fake/notify READY=1\n/run/fake/notify WATCHDOG=1\n');
  });
});
