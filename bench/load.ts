import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/load.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/log.js';
import { SimHardware } from '../src/sim/hardware.js';
import { measureEdgeToContactor, simConfig, waitFor } from './core.js';
import { spawnPeers, type Peers } from './peers.js';
import type { LoadedModule, MemSample } from './mem-probe.js';
import { loopbackCsms, meterValue } from './ocpp.js';
import { migrationSets } from '../src/daemon.js';
import { openDb } from '../src/store/db.js';
import { TxQueue } from '../src/store/ocpp/queue.js';
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
  (d.hardware(1) as SimHardware).ev.plug();
  await waitFor(() => d.station.sessionOn(1) !== undefined);
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
    const hw2 = d.hardware(2) as SimHardware;
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

const PROBE = pathToFileURL(join(ROOT, 'dist/bench/mem-probe.js')).href;
/** Node flags of both memory-bench processes: the same probe (IPC sampling, forced GC) in each. */
const PROBE_ARGS = ['--expose-gc', '--import', PROBE];
/** Both processes are sampled this long after they are ready (daemon: CSMS and broker saw it; bare: modules loaded). */
const SETTLE_MS = 2000;

function ask<T>(proc: ChildProcess, request: 'sample' | 'modules', key: string): Promise<T> {
  return new Promise((res, rej) => {
    const onMessage = (m: unknown) => {
      if (m && typeof m === 'object' && key in m) {
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        res((m as Record<string, T>)[key]!);
      }
    };
    const onExit = (c: number | null) => rej(new Error(`bench: probed process exited ${c} before answering '${request}'`));
    proc.on('message', onMessage);
    proc.once('exit', onExit);
    proc.send(request);
  });
}

async function stopProc(proc: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/**
 * `evsed run` on `config` with the probe; resolves once the API listens and, with `peers`, the CSMS has
 * its BootNotification and the broker a publish: the daemon as it runs in production, connected.
 */
async function probedDaemon(config: string, env: NodeJS.ProcessEnv, peers?: Peers) {
  const proc = spawn(process.execPath, [...PROBE_ARGS, CLI, 'run', '--config', config], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const exited = new Promise((r) => proc.once('exit', r));
  const stop = () => stopProc(proc, exited);
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
    if (peers) {
      await waitFor(async () => {
        const s = await peers.stats();
        return (s.calls.BootNotification ?? 0) > 0 && s.mqttPublishes > 0;
      }, 15_000);
    }
    return { proc, base, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The modules evsed's own code loads when it runs `config` (recorded by the probe in a tracing run
 * of its own, not measured): what the bare process loads.
 */
async function modulesLoadedBy(config: string, peers: Peers): Promise<LoadedModule[]> {
  const d = await probedDaemon(config, { ...process.env, EVSED_BENCH_TRACE_MODULES: '1' }, peers);
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return await ask<LoadedModule[]>(d.proc, 'modules', 'modules');
  } finally {
    await d.stop();
  }
}

/** A bare Node process (the same flags and probe) that loads exactly `modules`, sampled after the settle time. */
async function bareNode(modules: LoadedModule[]): Promise<MemSample> {
  const script = `
    const { createRequire } = await import('node:module');
    for (const m of ${JSON.stringify(modules)}) {
      if (m.kind === 'import') await import(m.specifier);
      else createRequire(m.parent)(m.specifier);
    }
    setInterval(() => undefined, 60_000); // stays up to be sampled (the daemon has its servers)
    process.send('ready');`;
  const proc = spawn(process.execPath, [...PROBE_ARGS, '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await new Promise<void>((res, rej) => {
      proc.once('message', (m) => (m === 'ready' ? res() : rej(new Error(`bare process: ${String(m)}`))));
      proc.once('exit', (c) => rej(new Error(`bare process exited ${c}`)));
    });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return await ask<MemSample>(proc, 'sample', 'sample');
  } finally {
    await stopProc(proc, exited);
  }
}

/**
 * The daemon's memory as it runs in production: OCPP to a loopback CSMS and MQTT to a loopback broker
 * (in another process), sessions through the API. RSS and the V8 heap after a forced GC at start and
 * every N/2 sessions up to 2N (RSS growth per N shows a leak, the heap after GC tells a leak from caches
 * filling). Beside it a bare Node process with the same flags that loads exactly the modules the
 * daemon's code loaded (recorded from the daemon itself), sampled after the same settle time.
 */
export async function benchMemory(sessions: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-mem-'));
  const peers = await spawnPeers();
  try {
    const config = simConfig(dir, `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${peers.csmsPort}/ocpp
mqtt: { url: "mqtt://127.0.0.1:${peers.mqttPort}" }`);
    const modules = await modulesLoadedBy(config, peers);
    const bare = await bareNode(modules);

    const d = await probedDaemon(config, process.env, peers);
    try {
      const post = (p: string, body: unknown) => fetch(d.base + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
      const status = async () => ((await (await fetch(`${d.base}/api/status`)).json()) as any).connectors[0];
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
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const samples: (MemSample & { sessions: number })[] = [{ sessions: 0, ...(await ask<MemSample>(d.proc, 'sample', 'sample')) }];
      const step = Math.max(1, Math.round(sessions / 2));
      for (let done = 0; done < 2 * sessions; ) {
        const n = Math.min(step, 2 * sessions - done);
        await run(n);
        done += n;
        samples.push({ sessions: done, ...(await ask<MemSample>(d.proc, 'sample', 'sample')) });
      }
      const received = await peers.stats();
      const at = (n: number) => samples.find((s) => s.sessions === n)!;
      const start = samples[0]!;
      return {
        config: 'sim station, one connector; ocpp (loopback CSMS) and mqtt (loopback broker) configured and connected',
        nodeFlags: PROBE_ARGS.slice(0, 2).concat('<bench/mem-probe.js>'),
        settleMs: SETTLE_MS,
        rssAtStartMB: start.rssMB,
        [`rssAfter${sessions}SessionsMB`]: at(sessions).rssMB,
        [`rssAfter${2 * sessions}SessionsMB`]: at(2 * sessions).rssMB,
        [`growthPer${sessions}SessionsMB`]: +(at(2 * sessions).rssMB - at(sessions).rssMB).toFixed(1),
        heapUsedAfterGcMB: Object.fromEntries(samples.map((s) => [s.sessions, s.heapUsedAfterGcMB])),
        rssMB: Object.fromEntries(samples.map((s) => [s.sessions, s.rssMB])),
        samples,
        csmsReceivedWhenLastSampled: { StartTransaction: received.calls.StartTransaction ?? 0, StopTransaction: received.calls.StopTransaction ?? 0 },
        bare: {
          what: 'node with the same flags and probe, loading exactly the modules the daemon\'s code loaded, sampled after the same settle time',
          modules: modules.map((m) => (m.kind === 'require' ? `require(${m.specifier})` : m.specifier)),
          rssMB: bare.rssMB,
          heapUsedAfterGcMB: bare.heapUsedAfterGcMB,
        },
        daemonMinusBareAtStart: {
          rssMB: +(start.rssMB - bare.rssMB).toFixed(1),
          heapUsedAfterGcMB: +(start.heapUsedAfterGcMB - bare.heapUsedAfterGcMB).toFixed(2),
        },
      };
    } finally {
      await d.stop();
    }
  } finally {
    await peers.stop();
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
