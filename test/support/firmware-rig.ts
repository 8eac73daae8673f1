import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'vitest';
import { Csms, waitFor } from '../ocpp/csms.js';
import { startHttpFileServer, type HttpFileServer } from './file-servers.js';
import { PiStation, ServiceManager, type Run } from './service-manager.js';
import { writeSimConfig } from './station.js';

/**
 * A Pi-like station run by the test's service manager against the strict CSMS fixture, with the
 * http file fixture for bundles (test/e2e/firmware-update.test.ts, test/torture/firmware-kills.test.ts).
 */
export const OLD = '0.1.0';
export const NEW = '0.2.0';
export const WAIT_MS = 60_000;

export interface FwStation {
  st: PiStation;
  mgr: ServiceManager;
  csms: Csms;
  http: HttpFileServer;
  dispose(): Promise<void>;
}

export async function fwStation(o: { trialStarts?: number } = {}): Promise<FwStation> {
  const st = new PiStation();
  st.installFirst(OLD);
  const csms = new Csms();
  const port = await csms.listen();
  const http = await startHttpFileServer();
  const config = writeSimConfig(st.dir, {
    extra: `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${port}/ocpp
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
update: { root: ${JSON.stringify(st.root)}, releaseKey: ${JSON.stringify(st.keyFile)}, trialStarts: ${o.trialStarts ?? 2} }
`,
  });
  const mgr = new ServiceManager(st, config);
  const r: FwStation = {
    st,
    mgr,
    csms,
    http,
    dispose: async () => {
      await mgr.stop();
      await csms.close();
      await http.close();
      st.dispose();
    },
  };
  mgr.start();
  await booted(r, OLD, 1);
  return r;
}

/** The n-th BootNotification that reports `version` (answered Accepted: the fixture's default). */
export function booted(r: FwStation, version: string, n = 1): Promise<unknown> {
  return waitFor(() => r.csms.of('BootNotification').filter((b) => b.firmwareVersion === version).length >= n, `BootNotification #${n} with firmwareVersion ${version}\n${r.mgr.output()}`, WAIT_MS);
}

export const statuses = (r: FwStation): string[] => r.csms.of('FirmwareStatusNotification').map((p) => p.status as string);

/** The CSMS's log as "fw:Status" and "boot:version", in the order they arrived. */
export function timeline(r: FwStation): string[] {
  return r.csms.received.flatMap((x) => (x.action === 'FirmwareStatusNotification' ? [`fw:${x.params.status}`] : x.action === 'BootNotification' ? [`boot:${x.params.firmwareVersion}`] : []));
}

const ENDS = ['Installed', 'InstallationFailed', 'DownloadFailed'];
/** How the update ended, as the CSMS heard it. */
export function ended(r: FwStation): Promise<string> {
  return waitFor(() => statuses(r).find((s) => ENDS.includes(s)), `the update ended\n${r.mgr.output()}`, WAIT_MS);
}

export async function updateFirmware(r: FwStation, url: string): Promise<void> {
  expect(await r.csms.call('UpdateFirmware', { location: url, retrieveDate: new Date().toISOString(), retries: 3, retryInterval: 1 })).toEqual({});
}

export async function serve(r: FwStation, bundle: Buffer, path = '/fw/evsed.tar'): Promise<string> {
  r.http.files.set(path, bundle);
  return `${r.http.url}${path}`;
}

/**
 * Serves one file: the first GET sends `stallAt` bytes and then nothing (the socket stays open: a
 * download under way when the power goes); later ones answer a Range with 206.
 */
export async function stallingServer(file: Buffer, stallAt: number): Promise<{ url: string; ranges: (string | undefined)[]; close(): Promise<void> }> {
  const ranges: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    if (ranges.length === 1) {
      res.writeHead(200, { 'content-length': file.length });
      res.write(file.subarray(0, stallAt));
      return;
    }
    res.writeHead(from ? 206 : 200, { 'content-length': file.length - from, ...(from ? { 'content-range': `bytes ${from}-${file.length - 1}/${file.length}` } : {}) });
    res.end(file.subarray(from));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw/evsed.tar`,
    ranges,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

export type KillStep = 'download' | 'verified' | 'unpack' | 'switch' | 'first-start';
export const KILL_STEPS: readonly KillStep[] = ['download', 'verified', 'unpack', 'switch', 'first-start'];

/**
 * UpdateFirmware with a good bundle, SIGKILL at `step`, the service manager starts it again: a
 * working release starts and the CSMS hears how the update ended (here every one ends Installed:
 * the job continues where it was, or the new release already runs on trial).
 */
export async function killedAt(step: KillStep): Promise<void> {
  const r = await fwStation();
  const stalls: { close(): Promise<void> }[] = [];
  try {
    const bundle = await r.st.bundle(NEW);
    let url = await serve(r, bundle);
    let ranges: (string | undefined)[] = [];
    const half = Math.floor(bundle.length / 2);
    if (step === 'download') {
      const s = await stallingServer(bundle, half);
      stalls.push(s);
      url = s.url;
      ranges = s.ranges;
    }
    const firmwareDir = join(r.st.storage, 'firmware');
    const killed: Promise<Run> =
      step === 'download'
        ? r.mgr.killWhenSeen(() => partBytes(firmwareDir) >= half, 'half the bundle on disk')
        : step === 'verified'
          ? r.mgr.killWhenSeen(() => statuses(r).includes('Downloaded'), 'Downloaded at the CSMS')
          : step === 'unpack'
            ? r.mgr.killWhenSeen(() => existsSync(join(r.st.root, 'releases', `${NEW}.tmp`)), 'the unpack beside the running release')
            : new Promise<Run>((res) =>
                r.mgr.killAt((line, run) => {
                  const hit = step === 'switch' ? line.includes('new release activated') : run.release === NEW;
                  if (hit) setImmediate(() => res(run));
                  return hit;
                }),
              );
    await updateFirmware(r, url);
    const run = await killed;
    await waitFor(() => run.signal !== undefined, 'the killed process gone');
    expect(run.signal, r.mgr.output()).toBe('SIGKILL');
    if (step === 'switch' || step === 'first-start') expect(r.st.current()).toBe(NEW);
    else expect(r.st.current()).toBe(OLD);

    expect(await ended(r)).toBe('Installed');
    const t = timeline(r);
    expect(t.slice(-2)).toEqual([`boot:${NEW}`, 'fw:Installed']);
    expect(t.filter((x) => x === 'fw:Installed')).toHaveLength(1);
    // In order across the restarts: a step may be told again after a restart, never one told before it.
    const order = ['Downloading', 'Downloaded', 'Installing', 'Installed'];
    const ranks = statuses(r).map((x) => order.indexOf(x));
    expect(ranks.every((k, i) => k >= 0 && (i === 0 || k >= ranks[i - 1]!)), t.join(' ')).toBe(true);
    console.log(`killed at ${step}: ${t.join(' ')}`);
    expect(r.st.current()).toBe(NEW);
    const last = r.mgr.runs.at(-1)!;
    expect(last.release).toBe(NEW);
    expect(last.code).toBeUndefined();
    if (step === 'download') expect(ranges[1], 'the download resumed').toBe(`bytes=${half}-`);
  } finally {
    await r.dispose();
    for (const s of stalls) await s.close();
  }
}

function partBytes(dir: string): number {
  try {
    return Math.max(0, ...readdirSync(dir).filter((f) => f.endsWith('.part')).map((f) => statSync(join(dir, f)).size));
  } catch {
    return 0;
  }
}
