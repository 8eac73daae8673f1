import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig, parseConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { FakeSysfs, gpioStationYaml } from '../hal/fake-sysfs.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';

const S = (bcm: number) => 512 + bcm;
let daemon: Daemon | undefined;
let tree: FakeSysfs | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  tree?.dispose();
  tree = undefined;
});

const base = (d: Daemon) => `http://127.0.0.1:${d.address.port}`;

describe('welded contactor lockout: survives a restart, cleared only by a technician with the feedback open', () => {
  it('sim: welded is stored, restored after a restart (in /api/status faults), kept while the feedback reads closed, then cleared for good', async () => {
    const file = writeSimConfig(tempDir(), { authMode: 'free' });
    daemon = await startDaemon(loadConfig(file), silentLogger());
    let hw = daemon.hardware(1) as SimHardware;
    hw.ev.plug();
    hw.ev.ready();
    await until(() => hw.contactor.commanded(), 'contactor closed');
    hw.contactor.welded = true;
    hw.ev.pause(); // C -> B: the contactor is commanded open, its feedback stays closed
    await until(() => daemon!.station.connectorView(1)!.faults.includes('welded'), "fault 'welded'");
    expect(daemon.db.prepare('SELECT connector_id, kind FROM connector_lockouts').all()).toEqual([{ connector_id: 1, kind: 'welded' }]);
    await daemon.stop();

    // A restart (crash, watchdog, power cut): the lockout is back before anything can close.
    daemon = await startDaemon(loadConfig(file), silentLogger());
    hw = daemon.hardware(1) as SimHardware;
    const status = await api(base(daemon), '/api/status');
    expect(status.body.connectors[0]).toMatchObject({ status: 'Faulted', faults: ['welded'] });
    hw.ev.plug();
    hw.ev.ready();
    await new Promise((r) => setTimeout(r, 300));
    expect(hw.contactorLog.filter((c) => c.closed)).toEqual([]);

    expect(hw.contactor.welded).toBe(true); // a restart repairs nothing: the simulated world kept the weld, feedback reads closed
    let r = await api(base(daemon), '/api/connectors/1/clear-faults', {});
    expect(r.body).toMatchObject({ cleared: true, faults: ['welded'] });
    hw.contactor.welded = false;
    r = await api(base(daemon), '/api/connectors/1/clear-faults', {});
    expect(r.body).toMatchObject({ cleared: true, faults: [] });
    expect(daemon.db.prepare('SELECT * FROM connector_lockouts').all()).toEqual([]);
    await daemon.stop();

    daemon = await startDaemon(loadConfig(file), silentLogger());
    expect(daemon.station.connectorView(1)!.faults).toEqual([]);
  });

  it('gpio (fake sysfs): clear-faults releases the driver weld latch only once the feedback reads open; the lockout survives a restart', async () => {
    tree = new FakeSysfs();
    tree.setPilot(12, 0);
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const loaded = (): LoadedConfig => ({ config: parseConfig(gpioStationYaml(tree!.root, dataDir)), file: join(dir, 'evsed.yaml'), storageDir: dataDir, dbFile: join(dataDir, 'evsed.db') });
    const hooks = { gpio: { edges: tree.edges } };
    daemon = await startDaemon(loaded(), silentLogger(), hooks);
    await new Promise((r) => setTimeout(r, 50));
    tree.setInput(S(22), 1); // RCD module idle (active low)
    tree.setInput(S(27), 1); // aux contact closed while the contactor is commanded open: welded
    await until(() => daemon!.station.connectorView(1)!.faults.includes('welded'), "fault 'welded'");
    expect(tree.value(S(17))).toBe('0');
    expect(daemon.hardware(1)!.faults.active().has('welded')).toBe(true);

    let r = await api(base(daemon), '/api/connectors/1/clear-faults', {});
    expect(r.body.faults).toContain('welded'); // feedback still closed: nothing cleared
    expect(daemon.hardware(1)!.faults.active().has('welded')).toBe(true);
    await daemon.stop();

    daemon = await startDaemon(loaded(), silentLogger(), hooks); // restart while still welded
    await until(() => daemon!.station.connectorView(1)!.faults.includes('welded'), 'welded after the restart');
    tree.setInput(S(22), 1);
    tree.setInput(S(27), 0); // repaired: the aux contact reads open
    await new Promise((r) => setTimeout(r, 50));
    r = await api(base(daemon), '/api/connectors/1/clear-faults', {});
    expect(r.body.faults).not.toContain('welded');
    expect(daemon.hardware(1)!.faults.active().has('welded')).toBe(false); // the driver latch too
    expect(daemon.db.prepare('SELECT * FROM connector_lockouts').all()).toEqual([]);
    await daemon.stop();

    daemon = await startDaemon(loaded(), silentLogger(), hooks);
    await new Promise((r) => setTimeout(r, 700)); // longer than weldMs: no new weld verdict either
    expect(daemon.station.connectorView(1)!.faults).not.toContain('welded');
  });
});
