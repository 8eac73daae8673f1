import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PIN, startChargingDaemon, type ChargingDaemon } from '../hal/fake-board.js';
import { until } from '../support/station.js';

/**
 * Every exit path leaves the outputs safe. A sysfs output keeps its level after the process dies,
 * so after SIGKILL, the watchdog's SIGABRT or the OOM killer the contactor line and the PWM stay
 * where the daemon left them; the unit's ExecStopPost script drives them safe through sysfs from
 * the file the daemon wrote at start. The daemon runs as `evsed run` in a child process with the
 * real gpio driver on a fake sysfs tree (polled edges); the EV and the board run in this process.
 */

const SCRIPT = resolve('systemd/evsed-safe-outputs');
let station: ChargingDaemon | undefined;
afterEach(() => {
  station?.dispose();
  station = undefined;
});

describe('exit paths: ExecStopPost drives the outputs safe after the process died', () => {
  it.each(['SIGKILL', 'SIGABRT'] as const)('%s while charging: contactor and PWM stay live until the script runs, then every output is at its safe level', async (signal) => {
    station = await startChargingDaemon();
    const { tree, board, daemon, dataDir } = station;
    const offer = tree.pwmAttr(0, 0, 'duty_cycle');
    expect(Number(offer)).toBeLessThan(1_000_000); // a PWM offer, not X1

    daemon.proc.kill(signal);
    await until(() => daemon.proc.exitCode !== null || daemon.proc.signalCode !== null, 'the daemon died');
    expect(daemon.proc.signalCode).toBe(signal);
    // Nothing ran on the way out: the pins are where the dead process left them.
    expect(tree.value(PIN.contactor)).toBe('1');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe(offer);
    // It might as well have died while the lock motor ran, CP was interrupted or the RCD test was injected.
    for (const pin of [PIN.motorA, PIN.cpRelay, PIN.rcdTest, PIN.heartbeat]) writeFileSync(join(tree.gpioDir(pin), 'value'), '1\n');
    board.stop();

    const r = spawnSync('sh', [SCRIPT, join(dataDir, 'safe-outputs')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const pin of [PIN.contactor, PIN.cpRelay, PIN.motorA, PIN.motorB, PIN.rcdTest, PIN.heartbeat]) {
      expect(tree.value(pin), `sysfs ${pin}`).toBe('0');
    }
    // X1 (steady +12 V: duty = period, enabled), never "disabled" (that idles at -12 V, state F)
    expect(tree.pwmAttr(0, 0, 'period')).toBe('1000000');
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000');
    expect(tree.pwmAttr(0, 0, 'enable')).toBe('1');
  }, 60_000);
});
