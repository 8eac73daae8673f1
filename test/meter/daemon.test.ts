import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { api, runCli, spawnDaemon, tempDir, until, writeSimConfig } from '../support/station.js';
import { loadModels } from '../../src/meter/modbus/model.js';
import { RegisterFile, loadKnownValues, setEnergyWh } from './helpers/registers.js';
import { RtuTcpServer } from './helpers/servers.js';

/**
 * The daemon (`evsed run`, sim board) billing from a Modbus meter on an RTU-over-TCP gateway:
 * the gateway vanishes mid-session and comes back; the session energy is still exactly the
 * register difference, and the time without readings is recorded on the session.
 */
describe('daemon with a Modbus meter (tcp-rtu) that goes offline during a session', () => {
  const sdm630 = loadModels().get('sdm630')!;
  const regs = new RegisterFile();
  const server = new RtuTcpServer(new Map([[1, regs]]));
  beforeAll(async () => {
    loadKnownValues(sdm630, regs, 1_000_000);
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });

  it('continues the session through the gap; energy is the register difference; gap recorded', async () => {
    const dir = tempDir();
    const file = writeSimConfig(dir, { authMode: 'free' });
    const meter = `meter: { model: sdm630, transport: tcp-rtu, host: 127.0.0.1, port: ${server.port}, timeoutMs: 200, tries: 1, staleAfterS: 2 }`;
    writeFileSync(file, readFileSync(file, 'utf8').replace(/meter: \{ model: sim[^}]*\}/, meter));
    const d = await spawnDaemon(file);
    const meterView = async () => (await api(d.url, '/api/status')).body.connectors[0].meter;
    try {
      await until(async () => (await meterView()).energyWh === 1_000_000, 'first Modbus reading');
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => (await api(d.url, '/api/status')).body.connectors[0].status === 'Charging', 'charging');

      setEnergyWh(sdm630, regs, 1_000_005);
      await until(async () => (await meterView()).energyWh === 1_000_005, 'register +5 Wh');

      const port = server.port;
      await server.close();
      await until(async () => {
        const m = await meterView();
        return m.health === 'offline' && m.stale;
      }, 'meter offline and stale', 15_000);
      expect((await api(d.url, '/api/status')).body.connectors[0].status).toBe('Charging');
      setEnergyWh(sdm630, regs, 1_000_017);
      await server.listen(port);
      await until(async () => {
        const m = await meterView();
        return m.energyWh === 1_000_017 && m.health === 'ok' && !m.stale;
      }, 'meter back', 15_000);

      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await api(d.url, '/api/status')).body.connectors[0].session === null, 'session closed');
      const list = JSON.parse((await runCli(['sessions', 'export', '--format', 'json', '--config', file])).stdout);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ meterStartWh: 1_000_000, meterStopWh: 1_000_017, energyWh: 17 });
      expect(list[0].meterGapS).toBeGreaterThanOrEqual(1);
    } finally {
      expect(await d.stop()).toBe(0);
    }
    expect(d.lines.filter((l) => l.includes('"meter health offline"'))).toHaveLength(1);
  }, 60_000);

  it('requiredForCharging: charging stops after requiredGraceS without readings, session energy stays exact', async () => {
    setEnergyWh(sdm630, regs, 2_000_000);
    const dir = tempDir();
    const file = writeSimConfig(dir, { authMode: 'free' });
    const meter = `meter: { model: sdm630, transport: tcp-rtu, host: 127.0.0.1, port: ${server.port}, timeoutMs: 200, tries: 1, staleAfterS: 2, requiredForCharging: true, requiredGraceS: 1 }`;
    writeFileSync(file, readFileSync(file, 'utf8').replace(/meter: \{ model: sim[^}]*\}/, meter));
    const d = await spawnDaemon(file);
    const conn = async () => (await api(d.url, '/api/status')).body.connectors[0];
    try {
      await until(async () => (await conn()).meter.energyWh === 2_000_000, 'first Modbus reading');
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => (await conn()).contactorClosed === true, 'charging');
      const port = server.port;
      await server.close();
      await until(async () => (await conn()).contactorClosed === false, 'contactor opened for the missing meter', 15_000);
      setEnergyWh(sdm630, regs, 2_000_004);
      await server.listen(port);
      await until(async () => (await conn()).meter.energyWh === 2_000_004, 'meter back', 15_000);
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await conn()).session === null, 'session closed');
      const list = JSON.parse((await runCli(['sessions', 'export', '--format', 'json', '--config', file])).stdout);
      expect(list[0]).toMatchObject({ meterStartWh: 2_000_000, meterStopWh: 2_000_004, energyWh: 4 });
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 60_000);
});
