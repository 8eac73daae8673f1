import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

describe('overcurrent (IEC 61851-1: beyond tolerance after the EV reaction window)', () => {
  it('an EV drawing more than offered trips after the window, the contactor opens and the fault latches', async () => {
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    try {
      const hw = d.hardware(1) as SimHardware;
      d.station.setClaim({ source: 'test', connectorId: 1, maxA: 10 });
      hw.ev.overdrawA = 5; // draws 15 A on a 10 A offer: limit is 10 A + 10 % + 0.5 A = 11.5 A
      hw.ev.plug();
      hw.ev.ready();
      await until(() => hw.contactor.commanded(), 'contactor closed');
      const closedAt = performance.now();
      await until(() => d.station.connectorView(1)!.faults.includes('overcurrent'), 'overcurrent fault', 12_000);
      // Not before the EV's reaction window (6 s, the EVerest minimum) has passed.
      expect(performance.now() - closedAt).toBeGreaterThanOrEqual(6000);
      expect(hw.contactor.commanded()).toBe(false);
      expect(d.station.connectorView(1)!.status).toBe('Faulted');
      hw.ev.overdrawA = 0;
      hw.ev.pause();
      hw.ev.ready();
      await new Promise((r) => setTimeout(r, 100));
      expect(hw.contactor.commanded()).toBe(false); // latched while plugged
    } finally {
      await d.stop();
    }
  });

  it('a current within the tolerance never trips', async () => {
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    try {
      const hw = d.hardware(1) as SimHardware;
      d.station.setClaim({ source: 'test', connectorId: 1, maxA: 10 });
      hw.ev.overdrawA = 1.4; // 11.4 A < 11.5 A
      hw.ev.plug();
      hw.ev.ready();
      await until(() => hw.contactor.commanded(), 'contactor closed');
      await new Promise((r) => setTimeout(r, 7500));
      expect(d.station.connectorView(1)!.faults).toEqual([]);
      expect(hw.contactor.commanded()).toBe(true);
    } finally {
      await d.stop();
    }
  });
});
