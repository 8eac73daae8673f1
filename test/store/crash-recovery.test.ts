import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { api, runCli, spawnDaemon, tempDir, until, writeSimConfig } from '../support/station.js';

type Row = Record<string, any>;

function readDb(dir: string): { sessions: Row[]; samples: Row[] } {
  const db = new Database(join(dir, 'data', 'evsed.db'), { readonly: true });
  try {
    return {
      sessions: db.prepare('SELECT * FROM sessions ORDER BY id').all() as Row[],
      samples: db.prepare('SELECT * FROM meter_samples ORDER BY id').all() as Row[],
    };
  } finally {
    db.close();
  }
}

async function chargeSession(url: string, tag: string, minWh: number): Promise<void> {
  await api(url, '/api/connectors/1/sim', { action: 'plug' });
  await api(url, '/api/connectors/1/tag', { idTag: tag });
  await api(url, '/api/connectors/1/sim', { action: 'ev-ready' });
  await until(async () => ((await api(url, '/api/status')).body.connectors[0].session?.energyWh ?? 0) >= minWh, `${minWh} Wh charged`, 15_000);
}

/**
 * Power loss as the process sees it: SIGKILL, no chance to clean up. Everything committed before
 * must be there after the restart, and the interrupted session must be closed exactly once with
 * reason PowerLoss and its meterStop from the meter register.
 */
describe('crash recovery (SIGKILLed daemon)', () => {
  it('keeps completed sessions and closes the interrupted one as PowerLoss', async () => {
    const dir = tempDir();
    const config = writeSimConfig(dir, { tags: ['TAG-1'], flushIntervalS: 1, sampleIntervalS: 1 });

    const first = await spawnDaemon(config);
    // Two completed sessions...
    for (let i = 0; i < 2; i++) {
      await chargeSession(first.url, 'TAG-1', 2);
      await api(first.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await api(first.url, '/api/status')).body.connectors[0].session === null, 'session closed');
    }
    // ...and one that is running when the power goes.
    await chargeSession(first.url, 'TAG-1', 4);
    // Let at least one checkpoint with samples reach the disk.
    await until(() => readDb(dir).sessions.some((s) => s.status === 'active' && s.checkpoint_energy_wh > s.meter_start_wh), 'a checkpoint of the running session');
    const committed = readDb(dir);
    const completedBefore = committed.sessions.filter((s) => s.status === 'completed');
    expect(committed.samples.some((r) => r.session_id === completedBefore[0]!.id)).toBe(true);
    await first.kill();

    const onDisk = readDb(dir);
    expect(onDisk.sessions.filter((s) => s.status === 'completed')).toEqual(completedBefore);
    // Every meter sample committed before the kill is still there, unchanged (more may have been committed since).
    expect(onDisk.samples.slice(0, committed.samples.length)).toEqual(committed.samples);
    const open = onDisk.sessions.filter((s) => s.status === 'active');
    expect(open).toHaveLength(1);
    const checkpointWh = open[0]!.checkpoint_energy_wh as number;

    const second = await spawnDaemon(config);
    try {
      const after = readDb(dir);
      expect(after.samples.slice(0, onDisk.samples.length)).toEqual(onDisk.samples);
      expect(after.sessions).toHaveLength(3);
      expect(after.sessions.filter((s) => s.status === 'completed').slice(0, 2)).toEqual(completedBefore);
      const recovered = after.sessions[2]!;
      expect(recovered).toMatchObject({ status: 'completed', stop_reason: 'PowerLoss', recovered: 1 });
      // The sim meter restarts from the last register the station recorded: that is the register now.
      const register = await until(async () => (await api(second.url, '/api/status')).body.connectors[0].meter.energyWh, 'meter reading');
      expect(recovered.meter_stop_wh).toBe(register);
      expect(recovered.meter_stop_wh).toBeGreaterThanOrEqual(checkpointWh);
      expect(recovered.energy_wh).toBe(recovered.meter_stop_wh - recovered.meter_start_wh);
      expect(recovered.stop_wall_ms).toBe(open[0]!.checkpoint_wall_ms);
      expect(second.lines.some((l) => l.includes('recovered a session left open'))).toBe(true);
    } finally {
      expect(await second.stop()).toBe(0);
    }

    // A third start finds nothing to recover: the recovery happened exactly once.
    const third = await spawnDaemon(config);
    expect(third.lines.some((l) => l.includes('recovered a session left open'))).toBe(false);
    await third.stop();
    const csv = await runCli(['sessions', 'export', '--format', 'csv', '--config', config]);
    expect(csv.stdout.trim().split('\r\n')).toHaveLength(4);
    expect(csv.stdout).toContain(',PowerLoss,true,');
  });
});
