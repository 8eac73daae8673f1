import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../../src/hal/clock.js';
import { MeterPoller } from '../../src/meter/poller.js';
import type { GpioHardware } from '../../src/hal/gpio/index.js';
import type { Meter, MeterSnapshot } from '../../src/hal/types.js';
import type { SimMeter } from '../../src/sim/meter.js';
import { FakeSysfs, gpioStationYaml } from '../hal/fake-sysfs.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

let daemon: Daemon | undefined;
let tree: FakeSysfs | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  tree?.dispose();
  tree = undefined;
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('systemd watchdog health: loops alive, not devices answering', () => {
  it('meter poll loop: a dead meter keeps it alive (back-off, offline); a read that never returns is a dead loop after 60 s', async () => {
    const clock = new FakeClock();
    const mk = (meter: Meter) => new MeterPoller(meter, { connectorId: 1, intervalMs: 1000, staleAfterMs: 10_000, maxPowerW: 50_000, clock, log: silentLogger() });
    const dead = mk({ read: () => Promise.reject(new Error('timeout')), close: async () => {} });
    dead.start();
    for (let t = 0; t < 600; t++) {
      clock.advance(1000);
      await flush();
      expect(dead.loopHealth(), `t=${t}s`).toEqual({ ok: true });
    }
    expect(dead.status().health).toBe('offline');
    await dead.stop();

    const hung = mk({ read: () => new Promise<MeterSnapshot>(() => {}), close: async () => {} });
    hung.start();
    clock.advance(1);
    await flush();
    clock.advance(59_000);
    expect(hung.loopHealth()).toEqual({ ok: true });
    clock.advance(2000);
    expect(hung.loopHealth()).toMatchObject({ ok: false, reason: expect.stringMatching(/meter read of connector 1 stuck/) });
    expect(mk({ read: async () => { throw new Error('x'); }, close: async () => {} }).loopHealth()).toMatchObject({ ok: false, reason: expect.stringMatching(/not running/) });
  });

  it('daemon (sim): a meter that stops answering does not fail the health check', async () => {
    daemon = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    expect(daemon.health()).toEqual({ ok: true });
    const meter = daemon.meter(1) as SimMeter;
    meter.failing = true;
    await until(() => daemon!.station.connectorView(1)!.meter.health !== 'ok', 'meter failing');
    expect(daemon.health()).toEqual({ ok: true });
  });

  it('daemon (gpio, fake sysfs): the health check covers the pilot sampler and the heartbeat', async () => {
    tree = new FakeSysfs();
    tree.setPilot(12, 0);
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    daemon = await startDaemon({ config: parseConfig(gpioStationYaml(tree.root, dataDir)), file: join(dir, 'x.yaml'), storageDir: dataDir, dbFile: join(dataDir, 'evsed.db') }, silentLogger(), { gpio: { edges: tree.edges } });
    await new Promise((r) => setTimeout(r, 50));
    expect(daemon.health()).toEqual({ ok: true });
    const hw = daemon.hardware(1) as GpioHardware;
    // a failing ADC keeps the sampler loop running: fault 'pilot', no restart
    (hw.pilot as any).adc = { read: async () => { throw new Error('EIO'); } };
    await until(() => hw.faults.active().has('pilot'), "fault 'pilot'");
    expect(daemon.health()).toEqual({ ok: true });
    hw.pilot.stop(); // the sampler loop is gone
    expect(daemon.health()).toEqual({ ok: false, reason: 'connector 1: pilot sampler not running' });
    hw.pilot.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(daemon.health()).toEqual({ ok: true });
    hw.heartbeat!.stop();
    expect(daemon.health()).toEqual({ ok: false, reason: 'connector 1: interlock heartbeat stopped' });
  });
});
