import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';

/** A sim station in UTC whose EV reports its state of charge (a small battery: the SoC moves fast). */
function ownerConfig(dir: string): string {
  const file = writeSimConfig(dir, { authMode: 'free' });
  const text = readFileSync(file, 'utf8')
    .replace('model: test }', 'model: test, timeZone: UTC }')
    .replace('ev: { maxCurrentA: 16, phases: 3 }', 'ev: { maxCurrentA: 16, phases: 3, battery: { capacityWh: 1000, startSocPercent: 50 } }');
  writeFileSync(file, text);
  return file;
}

/** Owner limits, charge now and timers through the API, against the daemon and the simulated EV. */
describe('owner limits, timers and charge now (daemon, API)', () => {
  let dir: string;
  let d: Daemon;
  let base: string;

  const start = async () => {
    d = await startDaemon(loadConfig(ownerConfig(dir)), silentLogger());
    base = `http://127.0.0.1:${d.address.port}`;
  };
  const connector = async () => (await api(base, '/api/status')).body.connectors[0];
  /** Plug in (free mode: the session starts), EV ready, wait until it charges. */
  const charge = async () => {
    await api(base, '/api/connectors/1/sim', { action: 'plug' });
    await api(base, '/api/connectors/1/sim', { action: 'ev-ready' });
    return until(async () => {
      const c = await connector();
      return c.status === 'Charging' && c.session ? c : null;
    }, 'charging');
  };
  /** Unplug and wait for the connector to be free again. */
  const unplug = async () => {
    await api(base, '/api/connectors/1/sim', { action: 'unplug' });
    await until(async () => (await connector()).status === 'Available', 'available');
  };
  const lastSession = async () => ((await api(base, '/api/sessions')).body as any[])[0];

  beforeAll(async () => {
    dir = tempDir('evsed-owner-');
    await start();
  });
  afterAll(async () => {
    await d.stop();
  });

  it('an energy limit ends the session with EnergyLimitReached: contactor open, recorded in words', async () => {
    const c = await charge();
    const set = await api(base, '/api/connectors/1/limits', { energyWh: 5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ limits: { energyWh: 5, durationS: null, socPercent: null }, targetMode: 'estimate' });
    expect((await connector()).session.limits).toEqual({ energyWh: 5, durationS: null, socPercent: null });
    const done = await until(async () => {
      const s = await lastSession();
      return s.id === c.session.id && s.status === 'completed' ? s : null;
    }, 'the session to end');
    expect(done).toMatchObject({ stopReason: 'EnergyLimitReached', stopReasonText: 'energy limit reached' });
    expect(done.energyWh).toBeGreaterThanOrEqual(5);
    const after = await connector();
    expect({ contactorClosed: after.contactorClosed, session: after.session, status: after.status }).toEqual({ contactorClosed: false, session: null, status: 'Finishing' });
    await unplug();
    // The limit was for that session: the next has none.
    expect((await api(base, '/api/connectors/1/limits')).body.limits).toEqual({ energyWh: null, durationS: null, socPercent: null });
  });

  it('the energy target stops the session only in mode stop, and the view says which', async () => {
    const c = await charge();
    const target = await api(base, '/api/connectors/1/target', { energyWh: 6 });
    expect(target.body.target).toMatchObject({ energyWh: 6, mode: 'estimate' });
    await until(async () => (await connector()).session.energyWh >= 7, 'past the target');
    expect((await connector()).session.id).toBe(c.session.id);
    expect((await api(base, '/api/connectors/1/target', { mode: 'sideways' })).status).toBe(400);
    const stop = await api(base, '/api/connectors/1/target', { mode: 'stop' });
    expect(stop.status).toBe(200);
    const done = await until(async () => {
      const s = await lastSession();
      return s.id === c.session.id && s.status === 'completed' ? s : null;
    }, 'the session to end');
    expect(done.stopReason).toBe('EnergyLimitReached');
    await unplug();
  });

  it('a SoC limit ends the session with SOCLimitReached when the EV reports its state of charge', async () => {
    await charge();
    const soc = (await connector()).session.socPercent;
    expect(soc).toBeGreaterThanOrEqual(50);
    await api(base, '/api/connectors/1/limits', { socPercent: Math.floor(soc) + 1 });
    const done = await until(async () => {
      const s = await lastSession();
      return s.status === 'completed' && s.stopReason !== 'EnergyLimitReached' ? s : null;
    }, 'the session to end');
    expect(done.stopReason).toBe('SOCLimitReached');
    await unplug();
  });

  it('bad limits name the key', async () => {
    expect((await api(base, '/api/connectors/1/limits', { durationS: 5 })).body.error).toMatch(/^durationS: must be a whole number of seconds from 60/);
    expect((await api(base, '/api/connectors/1/limits', {})).status).toBe(400);
    expect((await api(base, '/api/connectors/1/charge-now', { on: true })).status).toBe(409);
    expect((await api(base, '/api/timers', { timers: [{ days: [], start: '22:00', end: '06:00' }] }, 'PUT')).body.error).toMatch(/^timers\[0\]\.days: must list at least one day/);
    expect((await api(base, '/api/timers', { timers: [{ start: '22:00', end: '06:00', connectors: [3] }] }, 'PUT')).body.error).toMatch(/no connector 3/);
  });

  it('a limit with a lease falls back when not renewed', async () => {
    const set = await api(base, '/api/connectors/1/limit', { maxA: 8, leaseS: 1 });
    expect(set.body.limitSource).toBe('api');
    expect(d.station.claims(1).find((c) => c.source === 'api')).toEqual({ source: 'api', connectorId: 1, maxA: 8, leaseMs: 1000 });
    expect((await api(base, '/api/connectors/1/limit', { maxA: 8, leaseS: 0 })).body.error).toMatch(/^leaseS: must be a whole number of seconds from 1/);
    await until(async () => (await connector()).limitSource === 'config', 'the lease to run out', 5000);
    expect(d.station.claims(1).find((c) => c.source === 'api')).toBeUndefined();
  });

  it('outside the timer window the session waits (SuspendedEVSE); charge now overrides it for that session; the timers survive a restart', async () => {
    const now = new Date();
    const hhmm = (h: number) => `${String((now.getUTCHours() + h) % 24).padStart(2, '0')}:00`;
    const timers = [{ days: ['daily'], start: hhmm(2), end: hhmm(3) }];
    const put = await api(base, '/api/timers', { timers }, 'PUT');
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ timeZone: 'UTC', source: 'api', connectors: [{ id: 1, applies: true, open: false, maxA: 0 }] });
    await api(base, '/api/connectors/1/sim', { action: 'plug' });
    await api(base, '/api/connectors/1/sim', { action: 'ev-ready' });
    const waiting = await until(async () => {
      const c = await connector();
      return c.status === 'SuspendedEVSE' && c.session ? c : null;
    }, 'the session to wait for the window');
    expect({ limit: waiting.currentLimitA, source: waiting.limitSource, contactor: waiting.contactorClosed }).toEqual({ limit: 0, source: 'timer', contactor: false });

    const now2 = await api(base, '/api/connectors/1/charge-now', { on: true });
    expect(now2.body).toMatchObject({ chargeNow: true, currentLimitA: 32 });
    await until(async () => (await connector()).status === 'Charging', 'charging now');
    expect((await api(base, '/api/status')).body.chargeNow).toEqual({ 1: true });
    await api(base, '/api/connectors/1/stop', {});
    await until(async () => !(await connector()).session, 'the session to end');
    // Charge now ended with its session: the next one waits for the window again.
    expect(d.station.claims(1).map((c) => c.source)).not.toContain('charge-now');
    await unplug();

    await d.stop();
    await start();
    const after = await api(base, '/api/timers');
    expect(after.body).toMatchObject({ source: 'api', timers: [{ start: hhmm(2), end: hhmm(3) }] });
    expect((await connector()).limitSource).toBe('timer');
    expect(d.station.claims(1).find((c) => c.source === 'timer')).toEqual({ source: 'timer', connectorId: 1, maxA: 0, priority: 10 });
    // Back to the config's timers (none): the claim goes.
    expect((await api(base, '/api/timers', { timers: null }, 'PUT')).body).toMatchObject({ source: 'config', timers: [] });
    expect(d.station.claims(1).find((c) => c.source === 'timer')).toBeUndefined();
    expect((await connector()).limitSource).toBe('config');
  });
});
