import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { api, runCli, spawnDaemon, tempDir, until, writeSimConfig, type SimConfigOptions } from '../support/station.js';
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

  /** A sim station (free charging) whose meter is the SDM630 behind the test gateway; `meterExtra` adds meter keys. */
  function configWithGateway(meterExtra = '', o: SimConfigOptions = {}): string {
    const file = writeSimConfig(tempDir(), { authMode: 'free', ...o });
    const meter = `meter: { model: sdm630, transport: tcp-rtu, host: 127.0.0.1, port: ${server.port}, timeoutMs: 200, tries: 1, staleAfterS: 2${meterExtra ? `, ${meterExtra}` : ''} }`;
    writeFileSync(file, readFileSync(file, 'utf8').replace(/meter: \{ model: sim[^}]*\}/, meter));
    return file;
  }

  it('continues the session through the gap; energy is the register difference; gap recorded', async () => {
    const file = configWithGateway();
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
    const file = configWithGateway('requiredForCharging: true, requiredGraceS: 1');
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

  /**
   * The session stops while the meter cannot be read: the stop is the last good register, recorded
   * as provisional, and corrected from the register once the meter answers again, because the
   * contactor stayed open in between (no new session). API JSON, CSV and the CLI export show the flag.
   */
  it('stop while the meter is unreadable: provisional, corrected when it answers again (contactor stayed open)', async () => {
    setEnergyWh(sdm630, regs, 3_000_000);
    const file = configWithGateway();
    const d = await spawnDaemon(file);
    const conn = async () => (await api(d.url, '/api/status')).body.connectors[0];
    const sessions = async () => (await api(d.url, '/api/sessions')).body as Record<string, unknown>[];
    try {
      await until(async () => (await conn()).meter.energyWh === 3_000_000, 'first Modbus reading');
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => (await conn()).status === 'Charging', 'charging');
      setEnergyWh(sdm630, regs, 3_000_005);
      await until(async () => (await conn()).meter.energyWh === 3_000_005, 'register +5 Wh');

      const port = server.port;
      await server.close();
      await until(async () => (await conn()).meter.health === 'offline', 'meter offline', 15_000);
      // The car drew 12 Wh more while nobody could read the meter.
      setEnergyWh(sdm630, regs, 3_000_017);
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await conn()).session === null, 'session closed');
      const [stopped] = await sessions();
      expect(stopped).toMatchObject({ meterStartWh: 3_000_000, meterStopWh: 3_000_005, energyWh: 5, meterStartProvisional: false, meterStopProvisional: true });
      const csv = await (await fetch(`${d.url}/api/sessions.csv`)).text();
      const [header, row] = csv.trim().split('\r\n').map((l) => l.split(','));
      expect(row![header!.indexOf('meterStopProvisional')]).toBe('true');
      expect(row![header!.indexOf('meterStopWh')]).toBe('3000005');

      // Live viewers (status page, SSE clients) hear of the correction.
      const ctrl = new AbortController();
      const events = await fetch(`${d.url}/api/events`, { signal: ctrl.signal });
      const reader = events.body!.getReader();
      let streamed = '';
      const reading = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          streamed += new TextDecoder().decode(value);
        }
      })().catch(() => undefined);

      await server.listen(port);
      await until(async () => (await sessions())[0]!.meterStopProvisional === false, 'provisional stop corrected', 20_000);
      expect((await sessions())[0]).toMatchObject({ meterStartWh: 3_000_000, meterStopWh: 3_000_017, energyWh: 17, meterStopProvisional: false });
      const corrected = await until(() => /event: session-corrected\ndata: (.*)\n/.exec(streamed)?.[1], 'session-corrected event');
      expect(JSON.parse(corrected)).toMatchObject({ meterStopWh: 3_000_017, energyWh: 17, meterStopProvisional: false });
      ctrl.abort();
      await reading;
      const list = JSON.parse((await runCli(['sessions', 'export', '--format', 'json', '--config', file])).stdout);
      expect(list[0]).toMatchObject({ meterStopWh: 3_000_017, energyWh: 17, meterStopProvisional: false });
    } finally {
      expect(await d.stop()).toBe(0);
    }
    expect(d.lines.filter((l) => l.includes('meter unreadable at session stop'))).toHaveLength(1);
    expect(d.lines.filter((l) => l.includes('provisional meter value corrected from the register'))).toHaveLength(1);
  }, 90_000);

  /**
   * A new session starts before the meter answers again: the register then no longer tells the
   * first session's stop (the contactor may close any moment), so that stop keeps its flag. The new
   * session's start is provisional too and is corrected by the same rule: the meter answers before
   * its contactor closed.
   */
  it('a new session starts first: the old stop stays provisional; the new start is corrected before the contactor closes', async () => {
    setEnergyWh(sdm630, regs, 4_000_000);
    const file = configWithGateway();
    const d = await spawnDaemon(file);
    const conn = async () => (await api(d.url, '/api/status')).body.connectors[0];
    const sessions = async () => ((await api(d.url, '/api/sessions')).body as Record<string, unknown>[]).reverse();
    try {
      await until(async () => (await conn()).meter.energyWh === 4_000_000, 'first Modbus reading');
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => (await conn()).status === 'Charging', 'charging');
      const port = server.port;
      await server.close();
      await until(async () => (await conn()).meter.health === 'offline', 'meter offline', 15_000);
      setEnergyWh(sdm630, regs, 4_000_010); // drawn while unreadable
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await conn()).session === null, 'first session closed');

      // Plugged again before the meter is back: the session starts (free mode), the contactor stays open (EV not ready).
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await until(async () => (await conn()).session !== null, 'second session started');
      expect((await conn()).session.meterStartProvisional).toBe(true);
      expect((await conn()).contactorClosed).toBe(false);
      await server.listen(port);
      await until(async () => (await conn()).session?.meterStartProvisional === false, 'provisional start corrected', 20_000);
      expect((await conn()).session.meterStartWh).toBe(4_000_010);

      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => (await conn()).status === 'Charging', 'charging again');
      setEnergyWh(sdm630, regs, 4_000_013);
      await until(async () => (await conn()).meter.energyWh === 4_000_013, 'register +3 Wh');
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await conn()).session === null, 'second session closed');
      const [first, second] = await sessions();
      // The first session's 10 Wh drawn while unreadable cannot be known any more: visible, not hidden.
      expect(first).toMatchObject({ meterStartWh: 4_000_000, meterStopWh: 4_000_000, energyWh: 0, meterStopProvisional: true });
      expect(second).toMatchObject({ meterStartWh: 4_000_010, meterStopWh: 4_000_013, energyWh: 3, meterStartProvisional: false, meterStopProvisional: false });
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 90_000);

  it('provisional stop survives a restart: corrected after the daemon comes back and then the meter', async () => {
    setEnergyWh(sdm630, regs, 5_000_000);
    const file = configWithGateway();
    let d = await spawnDaemon(file);
    const conn = async () => (await api(d.url, '/api/status')).body.connectors[0];
    const port = server.port;
    try {
      await until(async () => (await conn()).meter.energyWh === 5_000_000, 'first Modbus reading');
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(async () => (await conn()).status === 'Charging', 'charging');
      await server.close();
      await until(async () => (await conn()).meter.health === 'offline', 'meter offline', 15_000);
      setEnergyWh(sdm630, regs, 5_000_009);
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await conn()).session === null, 'session closed');
    } finally {
      expect(await d.stop()).toBe(0);
    }
    // Restart while the meter is still unreadable, then the meter comes back.
    d = await spawnDaemon(file);
    try {
      expect((await api(d.url, '/api/sessions')).body[0]).toMatchObject({ meterStopWh: 5_000_000, meterStopProvisional: true });
      await server.listen(port);
      await until(async () => (await api(d.url, '/api/sessions')).body[0].meterStopProvisional === false, 'corrected after the restart', 20_000);
      expect((await api(d.url, '/api/sessions')).body[0]).toMatchObject({ meterStartWh: 5_000_000, meterStopWh: 5_000_009, energyWh: 9 });
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 90_000);

  /**
   * Power loss mid-session, and the meter (on the same supply, or its gateway) is not back when the
   * daemon restarts: the open session is closed as PowerLoss from its last stored register, flagged
   * provisional, and corrected to the register once the meter answers (the contactor stayed open).
   */
  it('crash recovery with the meter unreadable at start-up: last stored register, provisional, then exact', async () => {
    setEnergyWh(sdm630, regs, 6_000_000);
    const file = configWithGateway('', { flushIntervalS: 1, sampleIntervalS: 1 });
    let d = await spawnDaemon(file);
    const sessions = async () => (await api(d.url, '/api/sessions')).body as Record<string, unknown>[];
    const port = server.port;
    await until(async () => (await api(d.url, '/api/status')).body.connectors[0].meter.energyWh === 6_000_000, 'first Modbus reading');
    await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
    await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(async () => (await api(d.url, '/api/status')).body.connectors[0].status === 'Charging', 'charging');
    setEnergyWh(sdm630, regs, 6_000_004);
    // The checkpoint with the last good register reaches the disk before the power goes.
    await until(async () => (await api(d.url, '/api/status')).body.connectors[0].session?.energyWh === 4, 'register +4 Wh seen');
    await new Promise((r) => setTimeout(r, 2500));
    await d.kill();
    await server.close();
    setEnergyWh(sdm630, regs, 6_000_011); // what flowed after the last stored reading

    d = await spawnDaemon(file);
    try {
      expect((await sessions())[0]).toMatchObject({ status: 'completed', stopReason: 'PowerLoss', recovered: true, meterStartWh: 6_000_000, meterStopWh: 6_000_004, meterStopProvisional: true });
      expect(d.lines.some((l) => l.includes('recovered a session left open') && l.includes('last stored sample'))).toBe(true);
      await server.listen(port);
      await until(async () => (await sessions())[0]!.meterStopProvisional === false, 'recovered stop corrected from the register', 20_000);
      expect((await sessions())[0]).toMatchObject({ stopReason: 'PowerLoss', recovered: true, meterStopWh: 6_000_011, energyWh: 11 });
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 90_000);
  /**
   * issue 17: a meter set otherwise than its map reads is a meter fault at start (whatever
   * requiredForCharging says), named with the register and the fix; never a reading. Set right,
   * the fault clears by itself and the register is read.
   */
  it('SDM630 set to the M energy prefix: meter fault at start naming holding 40031, no charging, no reading; cleared when set back to k', async () => {
    setEnergyWh(sdm630, regs, 4_000_000);
    regs.setWords(3, 0x001e, [0x3f80, 0x0000]); // Energy Units Prefix 1.0 = M
    const file = configWithGateway();
    const d = await spawnDaemon(file);
    const conn = async () => (await api(d.url, '/api/status')).body.connectors[0];
    try {
      await until(async () => (await conn()).faults.includes('meter'), 'meter fault');
      const c = await conn();
      expect(c.status).toBe('Faulted');
      expect(c.meter.energyWh).toBeNull();
      expect(c.meter.reads.lastError).toContain('energy units prefix (holding 40031, wire 0x001E) reads 1 = M (MWh)');
      expect(c.meter.reads.lastError).toContain('fix: set the energy units prefix back to k');
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      await new Promise((r) => setTimeout(r, 500));
      expect((await conn()).contactorClosed).toBe(false);
      regs.setWords(3, 0x001e, [0, 0]); // back to k
      await until(async () => {
        const x = await conn();
        return !x.faults.includes('meter') && x.meter.energyWh === 4_000_000;
      }, 'fault cleared, register read', 15_000);
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
    } finally {
      regs.setWords(3, 0x001e, [0, 0]);
      expect(await d.stop()).toBe(0);
    }
    expect(d.lines.filter((l) => l.includes('"meter misconfigured: its readings are not used"'))).toHaveLength(1);
  }, 60_000);
});
