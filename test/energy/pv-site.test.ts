import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import type { SimGridMeter } from '../../src/sim/grid-meter.js';
import type { PvStatus } from '../../src/energy/pv-service.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';

/**
 * pv.source site: the PV logic reads load management's grid meter (the simulated one: a house that
 * exports, plus the sim EV), and its budget, shared out by the core, decides the offer.
 */
describe('PV surplus from the site grid meter (sim), through the budget sharing to the offer', () => {
  it('offers the surplus, suspends when it goes, and mode off gives the EV its full current again', async () => {
    const dir = tempDir('evsed-pv-site-');
    const extra = `site:
  fuseA: 63
  fallbackA: 6
  gridMeter: { model: sim, houseLoadA: -10, pollIntervalMs: 200, staleAfterS: 2 }
pv: { mode: pv, source: site, startDelayS: 0, stopDelayS: 1, phaseSwitching: off }
# The core's resume hysteresis (30 s by default) comes on top of the PV start delay: not in this test.
sharing: { resumeHoldS: 0 }
`;
    const d = await startDaemon(loadConfig(writeSimConfig(dir, { authMode: 'free', extra })), silentLogger());
    try {
      const base = `http://127.0.0.1:${d.address.port}`;
      const pv = () => d.station.extraStatus().pv as PvStatus;
      const ev = (d.hardware(1) as SimHardware).ev;
      ev.plug();
      ev.ready();
      // The house exports 10 A per phase (6.9 kW): the EV gets that, whatever it draws meanwhile.
      await until(() => d.station.connectorView(1)!.limitSource === 'pv' && Math.abs(d.station.connectorView(1)!.currentLimitA - 10) <= 0.5, 'the offer from the PV budget', 20_000);
      expect(pv()).toMatchObject({ mode: 'pv', state: 'charging', source: { kind: 'site', attached: true, stale: false } });
      // The sun goes: the house imports; after stopDelayS the EV is suspended.
      (d.gridMeter as SimGridMeter).setHouseLoad([2, 2, 2]);
      await until(() => pv().state === 'idle' && d.station.connectorView(1)!.status === 'SuspendedEVSE', `suspended for want of sun (${JSON.stringify(pv())})`, 20_000);
      // Mode off: no PV budget, the EV charges at its own 16 A (the site budget allows it).
      expect((await api(base, '/api/pv', { mode: 'off' }, 'PUT')).status).toBe(200);
      await until(() => ev.currentA() > 15, 'charging at 16 A without PV', 20_000);
      expect(d.station.budgets().some((b) => b.source === 'pv')).toBe(false);
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a 1-phase surplus on a 3-phase station with a phase relay: PV switches to 1 phase and offers the surplus there', async () => {
    const dir = tempDir('evsed-pv-phases-');
    const file = join(dir, 'evsed.yaml');
    writeFileSync(file, `station: { id: CP-TEST, vendor: evsed, model: test }
storage: { dir: ${JSON.stringify(join(dir, 'data'))} }
auth: { mode: free }
api: { listen: 127.0.0.1:0 }
clock: { trust: always }
connectors:
  - id: 1
    maxCurrentA: 32
    phases: 3
    phaseSwitch: { pauseS: 5 }
    hardware: { driver: sim, phaseRelay: true, ev: { maxCurrentA: 16, phases: 3 } }
    meter: { model: sim }
site:
  fuseA: 63
  fallbackA: 6
  gridMeter: { model: sim, houseLoadA: [-13, 0, 0], pollIntervalMs: 200, staleAfterS: 2 }
pv: { mode: pv, source: site, startDelayS: 0, stopDelayS: 60, phaseSwitching: auto }
sharing: { resumeHoldS: 0 }
`);
    const d = await startDaemon(loadConfig(file), silentLogger());
    try {
      const ev = (d.hardware(1) as SimHardware).ev;
      ev.plug();
      ev.ready();
      // 13 A exported on L1 = 2990 W: enough for 1 phase (1.38 kW), not for 3 (4.14 kW).
      await until(() => d.station.connectorView(1)!.phases.active === 1, 'the switch to 1 phase', 30_000);
      const pv = () => d.station.extraStatus().pv as PvStatus;
      await until(() => d.station.connectorView(1)!.limitSource === 'pv' && d.station.connectorView(1)!.currentLimitA >= 12 && ev.currentA() > 11, `charging on 1 phase from the surplus (${pv().reason})`, 30_000);
      expect(d.station.connectorView(1)!.phases.switchesThisSession).toBe(1);
      // The EV's and the grid meter's readings are not taken together: a tick may see a dip (stopping) now and then.
      await until(() => pv().state === 'charging' && pv().phases === 1, `PV charging on 1 phase (${JSON.stringify(pv())})`, 10_000);
      expect(pv().switchesThisSession).toBe(1);
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('source site without a site section is a config error that names the key and the fix', async () => {
    const dir = tempDir('evsed-pv-site-');
    try {
      expect(() => loadConfig(writeSimConfig(dir, { extra: 'pv: { source: site }\n' }))).toThrow(/pv\.source: source site reads the site section's grid meter: add a site section/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
