import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/load.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { silentLogger } from '../src/log.js';
import { SimHardware } from '../src/sim/hardware.js';
import { percentiles } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

export function simConfig(dir: string, extra = ''): string {
  const file = join(dir, 'evsed.yaml');
  writeFileSync(file, `station: { id: CP-BENCH, vendor: evsed, model: bench }
storage: { dir: ${JSON.stringify(join(dir, 'data'))} }
auth: { mode: local, tags: [{ idTag: BENCH }] }
api: { listen: 127.0.0.1:0 }
log: { level: info, format: json }
clock: { trust: always }
connectors:
  - id: 1
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 } }
    meter: { model: sim }
${extra}`);
  return file;
}

async function post(base: string, path: string, body: unknown): Promise<any> {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}

export async function waitFor(fn: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Start `evsed run` as a child; ms from spawn until GET /api/status answers. */
async function startChild(config: string) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [CLI, 'run', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((res, rej) => {
    const rl = createInterface({ input: proc.stderr! });
    rl.on('line', (l) => {
      try {
        const j = JSON.parse(l) as { msg?: string; url?: string };
        if (j.msg === 'API listening' && j.url) res(j.url.replace(/\/$/, ''));
      } catch {
        /* ignore */
      }
    });
    proc.once('exit', (c) => rej(new Error(`daemon exited ${c}`)));
  });
  await waitFor(async () => (await fetch(`${url}/api/status`)).ok);
  const readyMs = performance.now() - t0;
  const exited = new Promise((r) => proc.once('exit', r));
  return { proc, url, readyMs, stop: async () => (proc.kill('SIGTERM'), await exited) };
}

async function runSession(url: string): Promise<void> {
  await post(url, '/api/connectors/1/sim', { action: 'plug' });
  await post(url, '/api/connectors/1/tag', { idTag: 'BENCH' });
  await post(url, '/api/connectors/1/sim', { action: 'ev-ready' });
  await waitFor(async () => ((await (await fetch(`${url}/api/status`)).json()) as any).connectors[0].contactorClosed);
  await post(url, '/api/connectors/1/sim', { action: 'unplug' });
  await waitFor(async () => ((await (await fetch(`${url}/api/status`)).json()) as any).connectors[0].session === null);
}

/** Start-up to API ready (median of runs) and the daemon's RSS idle and after N simulated sessions. */
export async function benchStartupAndMemory(opts: { runs: number; sessions: number }): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-'));
  try {
    const config = simConfig(dir);
    const ready: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const c = await startChild(config);
      ready.push(c.readyMs);
      await c.stop();
    }
    const c = await startChild(config);
    await new Promise((r) => setTimeout(r, 500));
    const idleKb = rssKb(c.proc.pid!);
    for (let i = 0; i < opts.sessions; i++) await runSession(c.url);
    await new Promise((r) => setTimeout(r, 500));
    const afterKb = rssKb(c.proc.pid!);
    await c.stop();
    return {
      startupToApiReadyMs: Math.round(percentiles(ready, [50]).p50!),
      startupRuns: opts.runs,
      rssIdleMB: +(idleKb / 1024).toFixed(1),
      [`rssAfter${opts.sessions}SessionsMB`]: +(afterKb / 1024).toFixed(1),
      sessions: opts.sessions,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lagMs = (ns: number) => +Math.max(0, ns / 1e6 - 1).toFixed(2);
const round3 = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +v.toFixed(3)]));

/**
 * Pilot edge -> contactor command on connector 1 (a session must be running there): the time from
 * the simulated EV changing its pilot state (the physical edge) to the contactor output being
 * commanded, through the whole path: the driver's interrupt delivery, the state machine, the
 * supervisor. Close (B->C) and open (C->B) measured apart; opening is the safety-critical one
 * (IEC: within 100 ms). The event loop's lag is measured over the same window.
 */
export async function measureEdgeToContactor(d: Daemon, events: number) {
  const hw = d.hardware(1) as SimHardware;
  const log = hw.contactorLog;
  const open: number[] = [];
  const close: number[] = [];
  // The histogram records the whole timer interval: subtract the 1 ms resolution to get the lag itself.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  for (let i = 0; i < events; i++) {
    let n = log.length;
    let t0 = performance.now();
    hw.ev.ready();
    await waitFor(() => log.length > n && log[log.length - 1]!.closed);
    close.push(log[log.length - 1]!.monoMs - t0);
    n = log.length;
    t0 = performance.now();
    hw.ev.pause();
    await waitFor(() => log.length > n && !log[log.length - 1]!.closed);
    open.push(log[log.length - 1]!.monoMs - t0);
  }
  lag.disable();
  return {
    openMs: round3(percentiles(open, [50, 99, 100])),
    closeMs: round3(percentiles(close, [50, 99, 100])),
    eventLoopLagMs: { p50: lagMs(lag.percentile(50)), p99: lagMs(lag.percentile(99)), max: lagMs(lag.max) },
  };
}

/** Edge -> contactor latency on an otherwise idle sim station, or beside a `load` (e.g. an OCPP replay). */
export async function benchControlLatency(opts: { events: number; load?: () => Promise<() => Promise<void>> }): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-'));
  // The load is set up first: filling its backlog blocks the loop for seconds, which the station's
  // stall detector would rightly latch as fault 'stall' (the contactor then never closes).
  const stopLoad = opts.load ? await opts.load() : undefined;
  const d = await startDaemon(loadConfig(simConfig(dir)), silentLogger());
  try {
    (d.hardware(1) as SimHardware).ev.plug();
    await d.station.presentTag(1, 'BENCH');
    await waitFor(() => d.station.sessionOn(1) !== undefined);
    const m = await measureEdgeToContactor(d, opts.events);
    return { events: opts.events, pilotToContactorOpenMs: m.openMs, pilotToContactorCloseMs: m.closeMs, eventLoopLagMs: m.eventLoopLagMs };
  } finally {
    await stopLoad?.();
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
