import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { FakeSysfs, gpioStationYaml } from '../hal/fake-sysfs.js';
import { TreeEv } from '../hal/tree-ev.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

describe('event-loop stall supervision', () => {
  it('a blocked event loop drives the contactor open and latches a stall fault until unplug', async () => {
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    try {
      const hw = d.hardware(1) as SimHardware;
      hw.ev.plug();
      hw.ev.ready();
      await until(() => hw.contactor.commanded(), 'contactor closed');

      const end = performance.now() + 600; // a stall: sync work far past the 250 ms threshold
      while (performance.now() < end) {
        /* block the loop */
      }
      await until(() => d.station.connectorView(1)!.faults.includes('stall'), 'stall fault');
      expect(hw.contactor.commanded()).toBe(false);
      expect(d.station.connectorView(1)!.status).toBe('Faulted');
      expect(d.loopLag().stalls).toBeGreaterThanOrEqual(1);
      expect(d.health()).toEqual({ ok: true }); // the loops run again: the watchdog may be petted

      // Still latched while plugged: the EV asking again does not close the contactor.
      hw.ev.pause();
      hw.ev.ready();
      await new Promise((r) => setTimeout(r, 50));
      expect(hw.contactor.commanded()).toBe(false);

      hw.ev.unplug();
      await until(() => d.station.connectorView(1)!.status === 'Available', 'Available after unplug');
      expect(d.station.connectorView(1)!.faults).toEqual([]);
    } finally {
      await d.stop();
    }
  });
});

describe('event-loop stall supervision on the gpio driver (fake sysfs, at the pin)', () => {
  it("the daemon's stall reaction itself opens the contactor line and latches stall (a stall the interlock tolerates: nothing else would)", async () => {
    const tree = new FakeSysfs();
    const ev = new TreeEv(tree).start();
    tree.setPilot(12, 0);
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    // A board whose safety core runs on the main loop (in-process, as under these test hooks; the
    // simulator in production). No heartbeat interlock (a bench without mains), so nothing but the
    // daemon's stall detector can open the pin (removing its reaction makes this test fail). With
    // the core in its own thread a blocked main loop stops nothing: test/realtime/safety-core.test.ts.
    const yaml = gpioStationYaml(tree.root, dataDir, { hardware: '      benchWithoutMains: true', extra: 'supervision: { stallThresholdMs: 300 }' }).replace(' heartbeat: 25,', '');
    const d = await startDaemon({ config: parseConfig(yaml), file: join(dir, 'evsed.yaml'), storageDir: dataDir, dbFile: join(dataDir, 'evsed.db') }, silentLogger(), { gpio: { edges: tree.edges } });
    try {
      ev.state = 'B';
      await until(() => ev.mode === 'pwm', 'the PWM offer');
      ev.state = 'C';
      await until(() => tree.value(512 + 17) === '1', 'contactor closed', 15_000);
      const end = performance.now() + 600;
      while (performance.now() < end) {
        /* block the loop */
      }
      await until(() => d.station.connectorView(1)!.faults.includes('stall'), 'stall fault', 2000);
      expect(tree.value(512 + 17)).toBe('0');
      expect(d.loopLag().stalls).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(tree.value(512 + 17)).toBe('0'); // latched: the EV still asks (C)
      expect(d.station.connectorView(1)!.status).toBe('Faulted');
    } finally {
      await d.stop();
      ev.stop();
      tree.dispose();
    }
  });
});

describe("the station's fault events", () => {
  it('one event per fault raised and per fault cleared, with the connector', async () => {
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    try {
      const events: { connectorId: number; kind: string; active: boolean }[] = [];
      d.station.on('fault', (f) => events.push(f));
      const hw = d.hardware(1) as SimHardware;
      hw.faults.set('rcd', true);
      await until(() => events.length === 1, 'raised');
      hw.faults.set('rcd', false); // nothing plugged in: the fault clears with its input
      await until(() => events.length === 2, 'cleared');
      expect(events).toEqual([{ connectorId: 1, kind: 'rcd', active: true }, { connectorId: 1, kind: 'rcd', active: false }]);
    } finally {
      await d.stop();
    }
  });
});
