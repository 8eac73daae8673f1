import { afterEach, describe, expect, it } from 'vitest';
import { accepted, rig, waitFor, type Rig } from '../harness.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.cleanup();
  r = undefined;
});

const notifications = (x: Rig) => x.csms.of('SecurityEventNotification').map((p) => p.type);

describe('security events (whitepaper A04)', () => {
  it('critical events are queued offline, survive a restart and are delivered after the boot, in order', async () => {
    r = await rig({ csmsDown: true });
    // StartupOfTheDevice of the first start, then a restart while still offline: its own StartupOfTheDevice
    await waitFor(() => r!.cp.queue.stats().length === 1, 'the first StartupOfTheDevice queued');
    await r.restart({ csmsDown: true });
    await waitFor(() => r!.cp.queue.stats().length === 2, 'the second StartupOfTheDevice queued');
    await r.csms.listen(r.port);
    await accepted(r);
    await waitFor(() => notifications(r!).length === 2, 'both notifications delivered');
    expect(notifications(r)).toEqual(['StartupOfTheDevice', 'StartupOfTheDevice']);
    const boot = r.csms.received.findIndex((x) => x.action === 'BootNotification');
    const first = r.csms.received.findIndex((x) => x.action === 'SecurityEventNotification');
    expect(first).toBeGreaterThan(boot);
    expect(r.csms.of('SecurityEventNotification')[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.cp.queue.stats().length).toBe(0);
    // both in the local security log too
    expect(r.cp.security.securityLog().filter((l) => l.includes('StartupOfTheDevice'))).toHaveLength(2);
  });

  it('Reset: ResetOrReboot is sent before the station restarts; non-critical events stay in the log only', async () => {
    r = await rig();
    await accepted(r);
    await waitFor(() => notifications(r!).length === 1, 'StartupOfTheDevice sent');
    expect(await r.csms.call('Reset', { type: 'Soft' })).toEqual({ status: 'Accepted' });
    await waitFor(() => notifications(r!).includes('ResetOrReboot'), 'ResetOrReboot sent');
    r.cp.security.report('InvalidMessages', 'a test');
    await new Promise((res) => setTimeout(res, 100));
    expect(notifications(r)).toEqual(['StartupOfTheDevice', 'ResetOrReboot']);
    const log = r.cp.security.securityLog();
    expect(log.map((l) => l.split(' ')[1])).toEqual(['StartupOfTheDevice', 'ResetOrReboot', 'InvalidMessages']);
    expect(log[2]).toMatch(/ info a test$/);
  });

  it('SettingSystemTime when the CSMS sets the clock; the log window filters by time', async () => {
    r = await rig({ trust: 'never' });
    await accepted(r);
    await waitFor(() => notifications(r!).includes('SettingSystemTime'), 'SettingSystemTime sent');
    const now = Date.now();
    expect(r.cp.security.securityLog(new Date(now - 60_000), new Date(now + 60_000)).length).toBeGreaterThanOrEqual(2);
    expect(r.cp.security.securityLog(new Date(now + 3_600_000))).toEqual([]);
  });

  it('the security log is bounded (oldest dropped) and clearing it is itself an event', async () => {
    r = await rig({ csmsDown: true });
    const { SecurityLogRepository } = await import('../../../src/store/ocpp/security-log.js');
    const small = new SecurityLogRepository(r.db, 3);
    const at = r.station.clock.stamp();
    for (const t of ['A', 'B', 'C', 'D', 'E']) small.add(t, undefined, false, at);
    expect(small.all().map((e) => e.type)).toEqual(['C', 'D', 'E']);
    r.cp.security.clear();
    expect(r.cp.security.securityLog().map((l) => l.split(' ')[1])).toEqual(['SecurityLogWasCleared']);
  });

  it('AuthorizationKey changed: ReconfigurationOfSecurityParameters in the log (never the key)', async () => {
    r = await rig({ ocpp: { password: 'old-password-1234' } });
    await accepted(r);
    const key = '0123456789abcdef0123456789abcdef';
    expect(await r.csms.call('ChangeConfiguration', { key: 'AuthorizationKey', value: key })).toEqual({ status: 'Accepted' });
    await waitFor(() => r!.cp.security.securityLog().some((l) => l.includes('ReconfigurationOfSecurityParameters')), 'logged');
    expect(r.cp.security.securityLog().join('\n')).not.toContain(key);
  });
});

describe('migration 5 (security log, SecurityEventNotification in the queue)', () => {
  it('an existing queue keeps its rows and its id sequence; the new action is accepted', async () => {
    const { openDb } = await import('../../../src/store/db.js');
    const { coreMigrations } = await import('../../../src/store/core-migrations.js');
    const { createOcppRepositories, ocppMigrations } = await import('../../../src/store/ocpp/index.js');
    const { tempDir } = await import('../helpers.js');
    const tmp = tempDir();
    try {
      const file = `${tmp.dir}/evsed.db`;
      const v4 = openDb(file, [coreMigrations, { ...ocppMigrations, migrations: ocppMigrations.migrations.filter((m) => m.version <= 4) }]);
      const insert = v4.prepare(`INSERT INTO ocpp_queue (action, session_id, payload, bytes, created_wall_ms, created_boot_id, created_mono_ms, created_quality)
        VALUES ('MeterValues', 1, '{}', 2, 0, 'b', 0, 'synced')`);
      for (let i = 0; i < 3; i++) insert.run();
      v4.prepare('DELETE FROM ocpp_queue WHERE id <> 2').run(); // ids 1 and 3 delivered: the next id is 4, not 3
      expect(() => v4.prepare(`INSERT INTO ocpp_queue (action, payload, bytes, created_wall_ms, created_boot_id, created_mono_ms, created_quality)
        VALUES ('SecurityEventNotification', '{}', 2, 0, 'b', 0, 'synced')`).run()).toThrow(/CHECK/);
      v4.close();
      const db = openDb(file, [coreMigrations, ocppMigrations]);
      const repos = createOcppRepositories(db, { queueBounds: { maxMessages: 100, maxBytes: 1e6 } });
      expect(repos.queue.head()).toMatchObject({ id: 2, action: 'MeterValues' });
      const id = repos.queue.enqueue('SecurityEventNotification', null, { type: 'StartupOfTheDevice' }, { wallMs: 0, quality: 'synced', bootId: 'b', monoMs: 0 });
      expect(id).toBe(4);
      db.close();
    } finally {
      tmp.cleanup();
    }
  });
});
