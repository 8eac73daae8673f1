import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { api, spawnDaemon, tempDir, until, writeSimConfig, type DaemonProcess } from '../support/station.js';

/**
 * A restart of the daemon is not a restart of the world: the EV stays plugged in (and keeps wanting
 * to charge, or not), a fault input that is asserted stays asserted, the meter keeps its register.
 * The simulator keeps that world in its storage directory, so restart behaviour is tested against
 * what a real station would see, not against a world that unplugs the EV whenever the process goes.
 */
let daemon: Daemon | undefined;
let child: DaemonProcess | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  if (child && child.proc.exitCode === null) await child.kill();
  child = undefined;
});

const base = (d: Daemon) => `http://127.0.0.1:${d.address.port}`;
const view = (d: Daemon) => d.station.connectorView(1)!;
const sim = (d: Daemon) => d.hardware(1) as SimHardware;

async function restart(loaded: LoadedConfig): Promise<Daemon> {
  await daemon!.stop('Reboot');
  daemon = await startDaemon(loaded, silentLogger());
  return daemon;
}

/** Plug, present TAG-1, the EV asks for energy: Charging with a few Wh on the register. */
async function charging(d: Daemon, minWh = 1): Promise<void> {
  await api(base(d), '/api/connectors/1/sim', { action: 'plug' });
  await api(base(d), '/api/connectors/1/tag', { idTag: 'TAG-1' });
  await api(base(d), '/api/connectors/1/sim', { action: 'ev-ready' });
  await until(() => view(d).status === 'Charging' && d.station.sessionOn(1) !== undefined, 'Charging');
  const start = d.station.sessionOn(1)!.meterStartWh;
  await until(async () => (await d.station.readMeter(1)).energyWh >= start + minWh, `${minWh} Wh charged`, 15_000);
}

describe('the simulated world survives a restart of the daemon', () => {
  it('EV charging at the restart: still plugged and asking, Preparing (not Available), the register continued; a tag charges it again without replugging', async () => {
    const loaded = loadConfig(writeSimConfig(tempDir()));
    daemon = await startDaemon(loaded, silentLogger());
    await charging(daemon);
    const rec = daemon.station.sessionOn(1)!;
    await restart(loaded);
    const stopped = daemon.sessions.get(rec.id)!;
    expect(stopped).toMatchObject({ status: 'completed', stopReason: 'Reboot' });

    expect(sim(daemon).ev.plugged).toBe(true);
    expect(view(daemon)).toMatchObject({ status: 'Preparing', pilot: 'B', contactorClosed: false });
    // The register went on from where the contactor opened: not reset, not behind the recorded stop.
    expect((await daemon.station.readMeter(1)).energyWh).toBe(stopped.meterStopWh);

    // The EV never stopped asking: a tag is all it takes, no unplug and plug again.
    await api(base(daemon), '/api/connectors/1/tag', { idTag: 'TAG-1' });
    await until(() => view(daemon!).status === 'Charging' && view(daemon!).contactorClosed, 'Charging again after the restart', 20_000).catch((err: Error) => {
      const v = view(daemon!);
      throw new Error(`${err.message}: status ${v.status}, pilot ${v.pilot}, faults ${v.faults}`);
    });
    expect(daemon.station.sessionOn(1)!.meterStartWh).toBe(stopped.meterStopWh);
  });

  it('EV paused (SuspendedEV) at the restart: Preparing after it, and the EV still does not ask for energy', async () => {
    const loaded = loadConfig(writeSimConfig(tempDir()));
    daemon = await startDaemon(loaded, silentLogger());
    await charging(daemon);
    await api(base(daemon), '/api/connectors/1/sim', { action: 'ev-pause' });
    await until(() => view(daemon!).status === 'SuspendedEV', 'SuspendedEV');
    await restart(loaded);

    expect(view(daemon)).toMatchObject({ status: 'Preparing', pilot: 'B' });
    await api(base(daemon), '/api/connectors/1/tag', { idTag: 'TAG-1' });
    await until(() => view(daemon!).status === 'SuspendedEV', 'SuspendedEV: a session, but the EV stays in B');
    expect(view(daemon).contactorClosed).toBe(false);
    await api(base(daemon), '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(() => view(daemon!).status === 'Charging', 'Charging once the EV asks');
  });

  it('free mode (plug and charge): the EV plugged at the restart starts charging again by itself', async () => {
    const loaded = loadConfig(writeSimConfig(tempDir(), { authMode: 'free' }));
    daemon = await startDaemon(loaded, silentLogger());
    await api(base(daemon), '/api/connectors/1/sim', { action: 'plug' });
    await api(base(daemon), '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(() => view(daemon!).status === 'Charging', 'Charging');
    await restart(loaded);
    await until(() => view(daemon!).status === 'Charging' && view(daemon!).contactorClosed, 'Charging after the restart, without a plug from outside');
    expect(daemon.sessions.list({}).length).toBe(2);
  });

  it('a fault input still asserted at the restart is still asserted after it (and clears when the input does)', async () => {
    const loaded = loadConfig(writeSimConfig(tempDir()));
    daemon = await startDaemon(loaded, silentLogger());
    await api(base(daemon), '/api/connectors/1/sim', { action: 'fault', kind: 'overtemperature' });
    await until(() => view(daemon!).faults.includes('overtemperature'), 'overtemperature');
    await restart(loaded);

    expect(sim(daemon).faults.active().has('overtemperature')).toBe(true);
    expect(view(daemon)).toMatchObject({ status: 'Faulted', faults: ['overtemperature'] });
    await api(base(daemon), '/api/connectors/1/sim', { action: 'clear-fault', kind: 'overtemperature' });
    await until(() => view(daemon!).status === 'Available', 'Available once the input clears');
    await restart(loaded);
    expect(view(daemon)).toMatchObject({ status: 'Available', faults: [] });
  });

  it('an RCD trip input still asserted and an EV diode fault survive the restart as inputs, not only as stored lockouts', async () => {
    const loaded = loadConfig(writeSimConfig(tempDir()));
    daemon = await startDaemon(loaded, silentLogger());
    await api(base(daemon), '/api/connectors/1/sim', { action: 'plug' });
    await api(base(daemon), '/api/connectors/1/sim', { action: 'fault', kind: 'diode' });
    await api(base(daemon), '/api/connectors/1/sim', { action: 'fault', kind: 'rcd' });
    await until(() => view(daemon!).faults.includes('rcd'), 'rcd');
    await restart(loaded);
    expect(sim(daemon).faults.active().has('rcd')).toBe(true);
    expect(sim(daemon).ev.diodeFault).toBe(true);
    expect(view(daemon).status).toBe('Faulted');
    expect(view(daemon).faults).toContain('rcd');
    // the input clears, the latch holds until the EV is unplugged
    await api(base(daemon), '/api/connectors/1/sim', { action: 'clear-fault', kind: 'rcd' });
    await api(base(daemon), '/api/connectors/1/sim', { action: 'clear-fault', kind: 'diode' });
    await new Promise((r) => setTimeout(r, 50));
    expect(view(daemon).faults).toContain('rcd');
    await api(base(daemon), '/api/connectors/1/sim', { action: 'unplug' });
    await until(() => view(daemon!).status === 'Available', 'Available after unplug');
    await restart(loaded);
    expect(sim(daemon).faults.active().size).toBe(0);
    expect(sim(daemon).ev.diodeFault).toBe(false);
    expect(view(daemon)).toMatchObject({ status: 'Available', faults: [] });
  });

  it('hardware.world: fresh starts every run from an empty world (EV unplugged, no fault input)', async () => {
    const dir = tempDir();
    const file = writeSimConfig(dir);
    const loaded = loadConfig(file);
    daemon = await startDaemon(loaded, silentLogger());
    await charging(daemon);
    await api(base(daemon), '/api/connectors/1/sim', { action: 'fault', kind: 'overtemperature' });
    const fresh = loadConfig(writeSimConfig(dir, { world: 'fresh' }));
    await restart(fresh);
    expect(sim(daemon).ev.plugged).toBe(false);
    expect(view(daemon)).toMatchObject({ status: 'Available', faults: [] });
    // the meter is the station's, not the world's EV: its register still goes on
    expect((await daemon.station.readMeter(1)).energyWh).toBeGreaterThan(1000);
  });

  it('SIGKILL of the daemon process while charging: after the restart the EV is still plugged in (Preparing), the register went on', async () => {
    const file = writeSimConfig(tempDir(), { sampleIntervalS: 1 });
    child = await spawnDaemon(file);
    await api(child.url, '/api/connectors/1/sim', { action: 'plug' });
    await api(child.url, '/api/connectors/1/tag', { idTag: 'TAG-1' });
    await api(child.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    const before = await until(async () => {
      const c = (await api(child!.url, '/api/status')).body.connectors[0];
      return c.status === 'Charging' && c.session?.energyWh >= 2 ? (c.meter.energyWh as number) : null;
    }, 'charging, 2 Wh', 15_000);
    await child.kill();

    child = await spawnDaemon(file);
    const after = await until(async () => {
      const c = (await api(child!.url, '/api/status')).body.connectors[0];
      return c.meter.energyWh !== null ? c : null;
    }, 'status and a meter reading after the restart');
    expect(after).toMatchObject({ status: 'Preparing', pilot: 'B' });
    expect(after.meter.energyWh).toBeGreaterThanOrEqual(before);
    expect((await api(child.url, '/api/connectors/1/sim', { action: 'ev-ready' })).status).toBe(200); // still plugged: the EV may ask
  });
});
