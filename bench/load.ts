import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/load.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/log.js';
import { SimHardware } from '../src/sim/hardware.js';
import { measureEdgeToContactor, simConfig, waitFor } from './core.js';
import { spawnPeers } from './peers.js';
import { loopbackCsms, meterValue } from './ocpp.js';
import { migrationSets } from '../src/daemon.js';
import { openDb } from '../src/store/db.js';
import { TxQueue } from '../src/ocpp/queue.js';
import { percentiles } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

const SECOND_CONNECTOR = `  - id: 2
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 } }
    meter: { model: sim }`;

/** A daemon in this process (the sim hardware must be reachable), free mode, a session running on connector 1. */
async function benchDaemon(dir: string, extra: string, prepare?: (dbFile: string) => Promise<void>): Promise<Daemon> {
  const file = simConfig(dir, `${SECOND_CONNECTOR}
${extra}`);
  const loaded = loadConfig(file);
  loaded.config.auth = { ...loaded.config.auth, mode: 'free' };
  loaded.config.storage.flushIntervalS = 1;
  loaded.config.storage.sampleIntervalS = 1;
  await prepare?.(loaded.dbFile);
  const d = await startDaemon(loaded, silentLogger());
  (d.station.hardware(1) as SimHardware).ev.plug();
  await waitFor(() => d.station.connector(1)!.session() !== null);
  return d;
}

/**
 * The loaded run: meter polling every second on both connectors (the default), OCPP with
 * MeterValues every second and a replay of 10,000 queued messages, MQTT publishing (5 Hz per topic),
 * 5 SSE clients, an API client polling /api/status 10 times a second, and sessions back to back on
 * connector 2 (store writes every second). The CSMS and the broker run in another process.
 */
async function loadedRun(events: number, queued: number) {
  const peers = await spawnPeers();
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-loaded-'));
  const extra = `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${peers.csmsPort}/ocpp
  keys: { MeterValueSampleInterval: 1, MeterValuesSampledData: "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage", HeartbeatInterval: 60 }
  maxQueuedMessages: ${queued * 2}
mqtt: { url: mqtt://127.0.0.1:${peers.mqttPort}, publishIntervalS: 0.2, homeAssistant: true }`;
  const stops: (() => Promise<void> | void)[] = [];
  let d: Daemon | undefined;
  try {
    d = await benchDaemon(dir, extra, async (dbFile) => {
      // The backlog a station brings back after an outage: queued before the daemon starts.
      const db = openDb(dbFile, await migrationSets());
      const q = new TxQueue(db, { maxMessages: queued * 2, maxBytes: 1e9 });
      const stamp = { wallMs: Date.now(), quality: 'synced' as const, bootId: 'bench-backlog', monoMs: 0 };
      for (let i = 0; i < queued; i++) q.enqueue('MeterValues', null, meterValue(i), stamp, true);
      db.close();
    });
    const base = `http://127.0.0.1:${d.address.port}`;
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
    const station = d.station;
    const hw2 = station.hardware(2) as SimHardware;
    const cycle = (async () => {
      while (cycling) {
        hw2.ev.plug();
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
    await waitFor(async () => ((await peers.stats()).calls.BootNotification ?? 0) > 0, 15_000);
    const before = await peers.stats();
    const t0 = performance.now();
    const result = await measureEdgeToContactor(d, events);
    const seconds = (performance.now() - t0) / 1000;
    const after = await peers.stats();
    const delta = (k: string) => (after.calls[k] ?? 0) - (before.calls[k] ?? 0);
    return {
      ...result,
      during: {
        seconds: +seconds.toFixed(1),
        ocppMeterValuesReceived: delta('MeterValues'),
        ocppTransactionsStarted: delta('StartTransaction'),
        mqttPublishesReceived: after.mqttPublishes - before.mqttPublishes,
      },
    };
  } finally {
    for (const s of stops) await s();
    await d?.stop();
    await peers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchLatencyUnderLoad(events: number, queued = 10_000): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-idle-'));
  let idle;
  const d = await benchDaemon(dir, '');
  try {
    idle = await measureEdgeToContactor(d, events);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const loaded = await loadedRun(events, queued);
  return {
    events,
    load: ['meter polling 1 Hz x2', `OCPP MeterValues every 1 s + replay of ${queued} queued messages`, 'MQTT publishing (5 Hz per topic)', '5 SSE clients', 'API polling 10 Hz', 'back-to-back sessions on connector 2'],
    idle,
    loaded,
    loadedToIdleRatio: {
      openP99: +(loaded.openMs.p99! / idle.openMs.p99!).toFixed(2),
      closeP99: +(loaded.closeMs.p99! / idle.closeMs.p99!).toFixed(2),
    },
  };
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

/** From spawning `evsed run` to its BootNotification arriving at a loopback CSMS (median of runs). */
export async function benchTimeToBootNotification(runs: number): Promise<Record<string, unknown>> {
  let arrived: (() => void) | undefined;
  const csms = await loopbackCsms((m) => {
    if (m === 'BootNotification') arrived?.();
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-boot-'));
      const config = simConfig(dir, `ocpp: { version: "1.6", url: "ws://127.0.0.1:${csms.port}/ocpp" }`);
      const booted = new Promise<void>((r) => (arrived = r));
      const t0 = performance.now();
      const proc = spawn(process.execPath, [CLI, 'run', '--config', config], { cwd: ROOT, stdio: 'ignore' });
      await booted;
      times.push(performance.now() - t0);
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await csms.close();
  }
  return { runs, processStartToBootNotificationMs: Math.round(percentiles(times, [50]).p50!) };
}

export async function benchLoad(o: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  return {
    timeToBootNotification: await benchTimeToBootNotification(o.quick ? 2 : 5),
    latencyUnderLoad: await benchLatencyUnderLoad(o.quick ? 300 : 10_000, o.quick ? 2000 : 10_000),
    memory: await benchMemory(o.quick ? 100 : 1000),
  };
}
