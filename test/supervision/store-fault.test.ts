import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

describe("fault 'store': no charging that cannot be recorded", () => {
  it('stops charging while the store refuses writes, and resumes the same session once it accepts them', async () => {
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free', flushIntervalS: 1 })), silentLogger());
    try {
      const hw = d.hardware(1) as SimHardware;
      hw.ev.plug();
      hw.ev.ready();
      await until(() => hw.contactor.commanded(), 'charging');
      const session = d.station.connectorView(1)!.session!.id;

      d.db.pragma('query_only = ON'); // every write now fails, as on a read-only or full filesystem
      await until(() => d.station.connectorView(1)!.faults.includes('store'), "fault 'store'", 15_000);
      expect(hw.contactor.commanded()).toBe(false);
      expect(d.station.connectorView(1)!.status).toBe('Faulted');

      d.db.pragma('query_only = OFF');
      await until(() => d.station.connectorView(1)!.faults.length === 0, 'fault cleared by a successful write', 15_000);
      await until(() => hw.contactor.commanded(), 'charging again');
      expect(d.station.connectorView(1)!.session!.id).toBe(session); // the same session goes on
    } finally {
      await d.stop();
    }
  });
});
