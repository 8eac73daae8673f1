import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFtpServer } from '../support/file-servers.js';
import { ended, fwStation, killedAt, NEW, OLD, serve, statuses, timeline, updateFirmware, type FwStation } from '../support/firmware-rig.js';

/**
 * Firmware updates with real processes: a station tree as on a Pi (releases side by side, `current`,
 * the update state in storage.dir), the real boot guard before every start, the built daemon run
 * from `current` by a tiny service manager that restarts it whenever it exits (Restart=always) and
 * can SIGKILL it at any step; the CSMS is the strict ocpp-rpc fixture, bundles come from the http
 * fixture, signed with a key made here. SIGKILL at every step: test/torture/firmware-kills.test.ts.
 */
const DB_FILE = 'evsed.db';

let r: FwStation | undefined;
afterEach(async () => {
  await r?.dispose();
  r = undefined;
});

describe('firmware update with real processes', { timeout: 120_000 }, () => {
  it('a good signed release: Downloading, Downloaded, Installing, the new version boots, Installed; current points at it', async () => {
    r = await fwStation();
    await updateFirmware(r, await serve(r, await r.st.bundle(NEW)));
    expect(await ended(r), r.mgr.output()).toBe('Installed');
    expect(statuses(r)).toEqual(['Downloading', 'Downloaded', 'Installing', 'Installed']);
    const t = timeline(r);
    expect(t.slice(t.indexOf('fw:Installing'))).toEqual(['fw:Installing', `boot:${NEW}`, 'fw:Installed']);
    expect(r.st.current()).toBe(NEW);
    // The process that runs now was started from the new release and stays up.
    expect(r.mgr.runs.map((x) => x.release)).toEqual([OLD, NEW]);
    expect(r.mgr.runs.at(-1)!.code).toBeUndefined();
    // It proved itself: the guard counts no more starts.
    expect(existsSync(join(r.st.storage, 'update/trial'))).toBe(false);
  });

  it('the same over ftp (many 1.6 backends use it): Installed and the new version boots', async () => {
    r = await fwStation();
    const ftp = await startFtpServer();
    try {
      writeFileSync(join(ftp.root, 'evsed.tar'), await r.st.bundle(NEW));
      await updateFirmware(r, `${ftp.url}/evsed.tar`);
      expect(await ended(r), r.mgr.output()).toBe('Installed');
      expect(timeline(r)).toEqual([`boot:${OLD}`, 'fw:Downloading', 'fw:Downloaded', 'fw:Installing', `boot:${NEW}`, 'fw:Installed']);
      expect(r.st.current()).toBe(NEW);
    } finally {
      await ftp.close();
    }
  });

  it('a bundle with a bad signature: InstallationFailed, the InvalidFirmwareSignature security event, nothing switched', async () => {
    r = await fwStation();
    await updateFirmware(r, await serve(r, await r.st.bundle(NEW, 'ok', r.st.wrongKey)));
    expect(await ended(r), r.mgr.output()).toBe('InstallationFailed');
    expect(statuses(r)).toEqual(['Downloading', 'Downloaded', 'InstallationFailed']);
    expect(r.st.current()).toBe(OLD);
    expect(readdirSync(join(r.st.root, 'releases'))).toEqual([OLD]);
    expect(r.mgr.runs).toHaveLength(1);
    // Not a critical event (no SecurityEventNotification): it is in the station's security log.
    await r.mgr.stop();
    const db = new Database(join(r.st.storage, DB_FILE), { readonly: true });
    const events = db.prepare('SELECT type, tech_info FROM ocpp_security_log').all() as { type: string; tech_info: string }[];
    db.close();
    expect(events.filter((e) => e.type === 'InvalidFirmwareSignature').map((e) => e.tech_info)).toEqual([expect.stringMatching(/signature/)]);
  });

  it('a release that crashes at start: the guard rolls back after trialStarts starts, the old release runs and the CSMS hears InstallationFailed', async () => {
    r = await fwStation({ trialStarts: 2 });
    await updateFirmware(r, await serve(r, await r.st.bundle(NEW, 'crash')));
    expect(await ended(r), r.mgr.output()).toBe('InstallationFailed');
    expect(statuses(r)).toEqual(['Downloading', 'Downloaded', 'Installing', 'InstallationFailed']);
    expect(r.st.current()).toBe(OLD);
    // The old release, the new one twice (trialStarts: 2, each exits 1 at once), the old one again.
    expect(r.mgr.runs.map((x) => x.release)).toEqual([OLD, NEW, NEW, OLD]);
    expect(r.mgr.runs.slice(1, 3).map((x) => x.code)).toEqual([1, 1]);
    expect(r.mgr.runs[3]!.guard).toMatch(/rolled back from 0\.2\.0 to 0\.1\.0/);
    expect(r.mgr.runs.at(-1)!.code).toBeUndefined();
    expect(timeline(r).filter((x) => x.startsWith('boot:'))).toEqual([`boot:${OLD}`, `boot:${OLD}`]);
  });
});

// The other steps (after verify, during the unpack, during the first start) run under npm run test:torture.
describe('SIGKILL during a firmware update, then the service manager starts it again', { timeout: 120_000 }, () => {
  it.each(['download', 'switch'] as const)('killed at %s: a working release starts and the CSMS hears Installed', async (step) => {
    await killedAt(step);
  });
});
