import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LiveSessionInfo } from '../../src/billing/live.js';
import type { StationPort } from '../../src/evse/port.js';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

describe('live cost in the station view', () => {
  it('a view computes the cost at most once (no recursion through the view) and caches it', async () => {
    const dir = tempDir();
    const d = await startDaemon(
      loadConfig(writeSimConfig(dir, { authMode: 'free', extra: 'tariff: { currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50 }\n' })),
      silentLogger(),
    );
    try {
      const hw = d.hardware(1) as SimHardware;
      hw.ev.plug();
      hw.ev.ready();
      await until(() => (d.station.connectorView(1)!.session?.energyWh ?? 0) > 0, 'energy flowing');
      let computations = 0;
      const original = d.ledger.liveCostFor.bind(d.ledger);
      d.ledger.liveCostFor = (...args) => (computations++, original(...args));
      await new Promise((r) => setTimeout(r, 2100)); // past the cache window
      const view = d.station.connectorView(1)!;
      expect(computations).toBe(1);
      expect(view.session!.cost).toMatchObject({ currency: 'EUR' });
      expect(view.session!.cost!.grossMinor).toBeGreaterThanOrEqual(50);
      for (let i = 0; i < 50; i++) d.station.connectorView(1)!;
      expect(computations).toBe(1); // cached
    } finally {
      await d.stop();
    }
  });
});

describe('LiveSessionInfo lifecycle', () => {
  it('stop() removes every listener it added to the station', () => {
    const station = new EventEmitter();
    const before = station.eventNames().length;
    const live = new LiveSessionInfo(station as unknown as StationPort, { get: () => undefined }, null);
    expect(station.listenerCount('sample')).toBe(1);
    expect(station.listenerCount('session-stopped')).toBe(1);
    live.stop();
    expect(station.eventNames().length).toBe(before);
  });
});
