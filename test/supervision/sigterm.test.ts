import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeSysfs, gpioStationYaml } from '../hal/fake-sysfs.js';
import { TreeEv } from '../hal/tree-ev.js';
import { loadTolerantYaml } from '../hal/fake-board.js';
import { runCli, spawnDaemon, tempDir, until } from '../support/station.js';

/**
 * SIGTERM (systemctl stop/restart) under load, at the pins: a real `evsed run` child process drives
 * a fake sysfs tree through the real gpio driver; the EV and the board's physical parts are
 * simulated in this process (TreeEv). IEC 61851-1 §1.5 of the reference: tell the EV first (X1),
 * open once it is in B, at the latest after the stop timeout.
 */
let tree: FakeSysfs | undefined;
let ev: TreeEv | undefined;
afterEach(() => {
  ev?.stop();
  tree?.dispose();
  tree = undefined;
  ev = undefined;
});

async function chargingDaemon(hardware = '') {
  tree = new FakeSysfs();
  tree.setPilot(12, 0);
  const dir = tempDir();
  const file = join(dir, 'evsed.yaml');
  // Timing relaxed for a busy test machine (a bench without mains): this is about the order X1 -> B -> open, not the 100 ms budget.
  writeFileSync(file, loadTolerantYaml(gpioStationYaml(tree.root, join(dir, 'data'), { hardware })));
  ev = new TreeEv(tree).start();
  const d = await spawnDaemon(file);
  ev.state = 'B'; // plugged in: free charging starts a session, the plug is locked, PWM offered
  await until(() => ev!.mode === 'pwm', 'the PWM offer');
  ev.state = 'C';
  await until(() => ev!.contactor === '1', 'contactor closed', 15_000);
  return { d, file, ev };
}

function sessions(file: string) {
  return runCli(['sessions', 'export', '--format', 'json', '--config', file]).then((r) => JSON.parse(r.stdout));
}

describe('SIGTERM under load (real daemon process, fake sysfs tree)', () => {
  it('X1 first with the contactor still closed, the contactor line drops only after the EV went to B; session stopped Reboot', async () => {
    const { d, file, ev } = await chargingDaemon();
    ev.x1ReactionMs = 300;
    const sigterm = performance.now();
    expect(await d.stop()).toBe(0);
    const x1 = ev.at('x1', sigterm);
    const evB = ev.at('ev B', sigterm);
    const opened = ev.at('contactor 0', sigterm);
    expect(x1, ev.timeline.map((e) => e.what).join(', ')).toBeDefined();
    expect(evB).toBeDefined();
    expect(opened).toBeDefined();
    expect(x1!).toBeLessThan(opened!); // the EV was told before the contactor dropped
    expect(opened!).toBeGreaterThanOrEqual(evB!); // and it dropped with the EV in B, not under load
    expect((await sessions(file))[0]).toMatchObject({ status: 'completed', stopReason: 'Reboot' });
  });

  it('an EV that keeps drawing: the contactor line drops at the stop timeout (stopTimeoutS: 1), not before', async () => {
    const { d, file, ev } = await chargingDaemon('    stopTimeoutS: 1');
    ev.x1ReactionMs = null;
    const sigterm = performance.now();
    expect(await d.stop()).toBe(0);
    const x1 = ev.at('x1', sigterm);
    const opened = ev.at('contactor 0', sigterm);
    expect(x1).toBeDefined();
    expect(opened).toBeDefined();
    expect(ev.state).toBe('C'); // opened under load: the EV never went to B
    // At the pins (polled every ms by this busy process, so a little slack), and by the daemon's clock.
    expect(opened! - x1!, d.lines.filter((l) => /contactor|safety|stopping|heartbeat|fault/.test(l)).join('\n')).toBeGreaterThanOrEqual(900);
    const logged = d.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { time: string; msg: string });
    const at = (msg: RegExp) => Date.parse(logged.findLast((j) => msg.test(j.msg))!.time);
    expect(at(/^contactor opened$/) - at(/^stopping under load/)).toBeGreaterThanOrEqual(1000);
    expect((await sessions(file))[0]).toMatchObject({ status: 'completed', stopReason: 'Reboot' });
  });
});
