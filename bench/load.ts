import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/log.js';
import { SimHardware } from '../src/sim/hardware.js';
import { simConfig } from './core.js';
import { percentiles } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

/** Extra load a module can add to the loaded run (MQTT publishing, OCPP MeterValues...). */
export type LoadSource = (d: Daemon, dir: string) => Promise<{ name: string; stop(): Promise<void> }>;
const extraLoadSources: LoadSource[] = [];
export function addLoadSource(s: LoadSource): void {
  extraLoadSources.push(s);
}

async function waitFor(fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const lagMs = (ns: number) => +Math.max(0, ns / 1e6 - 1).toFixed(2);

/** Edge -> contactor latency (open and close) with the event loop's lag over the same window. */
async function measure(d: Daemon, events: number) {
  const hw = d.station.hardware(1) as SimHardware;
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
  const r = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +v.toFixed(3)]));
  return {
    openMs: r(percentiles(open, [50, 99, 100])),
    closeMs: r(percentiles(close, [50, 99, 100])),
    eventLoopLagMs: { p50: lagMs(lag.percentile(50)), p99: lagMs(lag.percentile(99)), max: lagMs(lag.max) },
  };
}

/**
 * The loaded run: meter polling every second (the default), 5 SSE clients, an API client polling
 * /api/status 10 times a second, a second connector running sessions back to back (a busy store:
 * samples and checkpoints every second), plus whatever load sources other modules registered.
 */
async function withLoad(d: Daemon, dir: string): Promise<{ names: string[]; stop(): Promise<void> }> {
  const base = `http://127.0.0.1:${d.address.port}`;
  const stops: (() => Promise<void> | void)[] = [];
  const names = ['meter polling 1 Hz', '5 SSE clients', 'API polling 10 Hz', 'back-to-back sessions on connector 2 (store writes every second)'];
  for (let i = 0; i < 5; i++) {
    const ctrl = new AbortController();
    const res = await fetch(`${base}/api/events`, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    void (async () => {
      for (;;) if ((await reader.read()).done) return;
    })().catch(() => undefined);
    stops.push(() => ctrl.abort());
  }
  let polling = true;
  void (async () => {
    while (polling) {
      await fetch(`${base}/api/status`).then((r) => r.text()).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  stops.push(() => void (polling = false));
  let cycling = true;
  const hw2 = d.station.hardware(2) as SimHardware;
  const cycle = (async () => {
    while (cycling) {
      hw2.ev.plug();
      await d.station.presentTag(2, 'BENCH');
      hw2.ev.ready();
      await new Promise((r) => setTimeout(r, 1500));
      hw2.ev.unplug();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  stops.push(async () => {
    cycling = false;
    await cycle;
  });
  for (const src of extraLoadSources) {
    const s = await src(d, dir);
    names.push(s.name);
    stops.push(() => s.stop());
  }
  return { names, stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}

export async function benchLatencyUnderLoad(events: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-load-'));
  const second = `  - id: 2
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 } }
    meter: { model: sim }`;
  const config = loadConfig(simConfig(dir, second));
  config.config.storage.flushIntervalS = 1;
  config.config.storage.sampleIntervalS = 1;
  const d = await startDaemon(config, silentLogger());
  try {
    const hw = d.station.hardware(1) as SimHardware;
    hw.ev.plug();
    await d.station.presentTag(1, 'BENCH');
    await waitFor(() => d.station.connector(1)!.session() !== null);
    const idle = await measure(d, events);
    const load = await withLoad(d, dir);
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = await measure(d, events);
    await load.stop();
    return {
      events,
      load: load.names,
      idle,
      loaded,
      loadedToIdleRatio: {
        openP99: +(loaded.openMs.p99! / idle.openMs.p99!).toFixed(2),
        closeP99: +(loaded.closeMs.p99! / idle.closeMs.p99!).toFixed(2),
      },
    };
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? +(Number(m[1]) / 1024).toFixed(1) : NaN;
}

/** RSS of a bare Node process that only loads the modules evsed loads: what Node and the libraries cost. */
function bareNodeRssMB(): number {
  const script = `
    await import('better-sqlite3'); await import('ocpp-rpc'); await import('mqtt'); await import('modbus-serial');
    await import('yaml'); await import('zod'); await import('pino'); await import('node:http');
    await new Promise((r) => setTimeout(r, 300));
    const m = /VmRSS:\\s+(\\d+) kB/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'));
    console.log(Number(m[1]) / 1024);`;
  return +Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' })).toFixed(1);
}

/** RSS of the daemon process at start, after N and 2N sessions (growth per N shows a leak). */
export async function benchMemory(sessions: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-mem-'));
  const proc = spawn(process.execPath, [CLI, 'run', '--config', simConfig(dir)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    const base = await new Promise<string>((res, rej) => {
      createInterface({ input: proc.stderr! }).on('line', (l) => {
        try {
          const j = JSON.parse(l) as { msg?: string; url?: string };
          if (j.msg === 'API listening' && j.url) res(j.url.replace(/\/$/, ''));
        } catch {
          /* ignore */
        }
      });
      proc.once('exit', (c) => rej(new Error(`daemon exited ${c}`)));
    });
    const post = (p: string, body: unknown) => fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
    const status = async () => ((await (await fetch(`${base}/api/status`)).json()) as any).connectors[0];
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await post('/api/connectors/1/sim', { action: 'plug' });
        await post('/api/connectors/1/tag', { idTag: 'BENCH' });
        await post('/api/connectors/1/sim', { action: 'ev-ready' });
        await waitFor(async () => (await status()).contactorClosed);
        await post('/api/connectors/1/sim', { action: 'unplug' });
        await waitFor(async () => (await status()).session === null);
      }
    };
    await new Promise((r) => setTimeout(r, 1000));
    const start = rssMB(proc.pid!);
    await run(sessions);
    const afterN = rssMB(proc.pid!);
    await run(sessions);
    const after2N = rssMB(proc.pid!);
    return {
      rssAtStartMB: start,
      [`rssAfter${sessions}SessionsMB`]: afterN,
      [`rssAfter${2 * sessions}SessionsMB`]: after2N,
      [`growthPer${sessions}SessionsMB`]: +(after2N - afterN).toFixed(1),
      bareNodeSameModulesRssMB: bareNodeRssMB(),
    };
  } finally {
    proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchLoad(o: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  return {
    latencyUnderLoad: await benchLatencyUnderLoad(o.quick ? 300 : 10_000),
    memory: await benchMemory(o.quick ? 100 : 1000),
  };
}
