import { describe, expect, it } from 'vitest';
import { api, runCli, spawnDaemon, tempDir, until, writeSimConfig } from '../support/station.js';

/**
 * A whole simulated session through a real `evsed run` child process: plug, tag (auth mode local),
 * charge, unplug; then the CLI export must show energy equal to the simulated meter's register
 * difference, and the daemon must stop cleanly on SIGTERM.
 */
describe('end to end: a simulated session through the daemon process', () => {
  it('plug, tag, charge, unplug, export', async () => {
    const dir = tempDir();
    const config = writeSimConfig(dir, { tags: ['04A1B2C3'] });
    const d = await spawnDaemon(config);
    try {
      const registerBefore = await until(async () => (await api(d.url, '/api/status')).body.connectors[0].meter.energyWh, 'meter reading');

      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      expect((await api(d.url, '/api/connectors/1/tag', { idTag: '04A1B2C3' })).status).toBe(200);
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => {
        const c = (await api(d.url, '/api/status')).body.connectors[0];
        return c.status === 'Charging' && c.session.energyWh >= 3;
      }, 'at least 3 Wh charged', 15_000);

      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      const after = await until(async () => {
        const c = (await api(d.url, '/api/status')).body.connectors[0];
        return c.status === 'Available' && !c.contactorClosed && c.session === null ? c : null;
      }, 'session closed after unplug');
      const registerAfter = after.meter.energyWh as number;
      expect(registerAfter).toBeGreaterThan(registerBefore);

      const exported = await runCli(['sessions', 'export', '--format', 'csv', '--config', config]);
      expect(exported.code).toBe(0);
      const [header, row, ...rest] = exported.stdout.trim().split('\r\n');
      expect(rest).toEqual([]);
      const cols = header!.split(',');
      const cell = (name: string) => row!.split(',')[cols.indexOf(name)];
      expect(cell('idTag')).toBe('04A1B2C3');
      expect(cell('stopReason')).toBe('EVDisconnected');
      expect(Number(cell('meterStartWh'))).toBe(registerBefore);
      expect(Number(cell('meterStopWh'))).toBe(registerAfter);
      expect(Number(cell('energyWh'))).toBe(registerAfter - registerBefore);
      expect(Number(cell('chargingS')) + Number(cell('idleS'))).toBeLessThanOrEqual(Number(cell('durationS')) + 1);

      const json = JSON.parse((await runCli(['sessions', 'export', '--format', 'json', '--config', config])).stdout);
      expect(json[0].energyWh).toBe(registerAfter - registerBefore);
    } finally {
      const code = await d.stop();
      expect(code).toBe(0);
    }
    expect(d.lines.some((l) => l.includes('stopping: contactors open'))).toBe(true);
  });

  it('SIGTERM during charging opens the contactor first and closes the session', async () => {
    const dir = tempDir();
    const config = writeSimConfig(dir, { authMode: 'free' });
    const d = await spawnDaemon(config);
    await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
    await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(async () => (await api(d.url, '/api/status')).body.connectors[0].contactorClosed, 'contactor closed');
    expect(await d.stop()).toBe(0);
    const opened = d.lines.findIndex((l) => l.includes('"contactor opened"'));
    const stopped = d.lines.findIndex((l) => l.includes('"session stopped"'));
    expect(opened).toBeGreaterThan(-1);
    expect(stopped).toBeGreaterThan(opened);
    const list = JSON.parse((await runCli(['sessions', 'export', '--format', 'json', '--config', config])).stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ status: 'completed', idTag: 'FREE', recovered: false });
  });
});
