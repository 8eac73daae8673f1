import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
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
