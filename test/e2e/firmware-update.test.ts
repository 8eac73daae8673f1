import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Csms, waitFor } from '../ocpp/csms.js';
import { startHttpFileServer, type HttpFileServer } from '../support/file-servers.js';
import { PiStation, ServiceManager } from '../support/service-manager.js';
import { writeSimConfig } from '../support/station.js';

/**
 * Firmware updates with real processes: a station tree as on a Pi (releases side by side, `current`,
 * the update state in storage.dir), the real boot guard before every start, the built daemon run
 * from `current` by a tiny service manager that restarts it whenever it exits (Restart=always) and
 * can SIGKILL it at any step; the CSMS is the strict ocpp-rpc fixture, bundles come from the http
 * fixture, signed with a key made here.
 */
const OLD = '0.1.0';
const NEW = '0.2.0';
const WAIT_MS = 60_000;
const DB_FILE = 'evsed.db';

let st: PiStation | undefined;
let mgr: ServiceManager | undefined;
let csms: Csms | undefined;
let http: HttpFileServer | undefined;
afterEach(async () => {
  await mgr?.stop();
  await csms?.close();
  await http?.close();
  st?.dispose();
  st = mgr = csms = http = undefined;
});

interface Rig {
  st: PiStation;
  mgr: ServiceManager;
  csms: Csms;
  http: HttpFileServer;
}

async function station(): Promise<Rig> {
  st = new PiStation();
  st.installFirst(OLD);
  csms = new Csms();
  const port = await csms.listen();
  http = await startHttpFileServer();
  const config = writeSimConfig(st.dir, {
    extra: `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${port}/ocpp
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
update: { root: ${JSON.stringify(st.root)}, releaseKey: ${JSON.stringify(st.keyFile)}, trialStarts: 2 }
`,
  });
  mgr = new ServiceManager(st, config);
  mgr.start();
  await booted(csms, OLD, 1);
  return { st, mgr, csms, http };
}

/** The n-th BootNotification that reports `version` (the answer is Accepted: the fixture's default). */
function booted(c: Csms, version: string, n = 1): Promise<unknown> {
  return waitFor(() => c.of('BootNotification').filter((b) => b.firmwareVersion === version).length >= n, `BootNotification #${n} with firmwareVersion ${version}\n${mgr?.output()}`, WAIT_MS);
}

const statuses = (c: Csms): string[] => c.of('FirmwareStatusNotification').map((p) => p.status as string);

/** The CSMS's log as "Action:detail" lines: firmware statuses and boots in the order they arrived. */
function timeline(c: Csms): string[] {
  return c.received.flatMap((r) => (r.action === 'FirmwareStatusNotification' ? [`fw:${r.params.status}`] : r.action === 'BootNotification' ? [`boot:${r.params.firmwareVersion}`] : []));
}

const ENDS = ['Installed', 'InstallationFailed', 'DownloadFailed'];
function ended(c: Csms): Promise<string> {
  return waitFor(() => statuses(c).find((s) => ENDS.includes(s)), `the update ended\n${mgr?.output()}`, WAIT_MS);
}

async function updateFirmware(r: Rig, bundle: Buffer, path = '/fw/evsed.tar'): Promise<void> {
  r.http.files.set(path, bundle);
  expect(await r.csms.call('UpdateFirmware', { location: `${r.http.url}${path}`, retrieveDate: new Date().toISOString(), retries: 3, retryInterval: 1 })).toEqual({});
}

describe('firmware update with real processes', { timeout: 120_000 }, () => {
  it('a good signed release: Downloading, Downloaded, Installing, the new version boots, Installed; current points at it', async () => {
    const r = await station();
    await updateFirmware(r, await r.st.bundle(NEW));
    const how = await ended(r.csms);
    if (how !== 'Installed') console.log(r.mgr.output().split('\n').filter((l) => /"level":[456]0|firmware/.test(l)).join('\n'));
    expect(how).toBe('Installed');
    expect(statuses(r.csms)).toEqual(['Downloading', 'Downloaded', 'Installing', 'Installed']);
    const t = timeline(r.csms);
    expect(t.slice(t.indexOf('fw:Installing'))).toEqual(['fw:Installing', `boot:${NEW}`, 'fw:Installed']);
    expect(r.st.current()).toBe(NEW);
    // The new process is the one that runs now, started from the new release.
    expect(r.mgr.runs.at(-1)!.release).toBe(NEW);
    expect(r.mgr.runs.at(-1)!.code).toBeUndefined();
    // The trial ended: the guard does not count starts any more.
    expect(existsSync(join(r.st.storage, 'update/trial'))).toBe(false);
  });

  it('a bundle with a bad signature: InstallationFailed, the InvalidFirmwareSignature security event, nothing switched', async () => {
    const r = await station();
    await updateFirmware(r, await r.st.bundle(NEW, 'ok', r.st.wrongKey));
    expect(await ended(r.csms)).toBe('InstallationFailed');
    expect(statuses(r.csms)).toEqual(['Downloading', 'Downloaded', 'InstallationFailed']);
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
    const r = await station();
    await updateFirmware(r, await r.st.bundle(NEW, 'crash'));
    expect(await ended(r.csms)).toBe('InstallationFailed');
    expect(statuses(r.csms)).toEqual(['Downloading', 'Downloaded', 'Installing', 'InstallationFailed']);
    expect(r.st.current()).toBe(OLD);
    // The old release, its first start, the new one twice (trialStarts: 2, each exits 1), the old one again.
    expect(r.mgr.runs.map((x) => x.release)).toEqual([OLD, NEW, NEW, OLD]);
    expect(r.mgr.runs.slice(1, 3).map((x) => x.code)).toEqual([1, 1]);
    expect(r.mgr.runs[3]!.guard).toMatch(/rolled back from 0\.2\.0 to 0\.1\.0/);
    expect(timeline(r.csms).filter((x) => x.startsWith('boot:'))).toEqual([`boot:${OLD}`, `boot:${OLD}`]);
  });
});
