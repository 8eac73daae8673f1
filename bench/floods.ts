import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.js';
import { DEFAULT_STALL_THRESHOLD_MS } from '../src/config/schema.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/log.js';
import type { SimHardware } from '../src/sim/hardware.js';
import { simConfig, waitFor } from './core.js';
import { Hostile, type HostileOptions } from './hostile.js';
import { spawnPeers } from './peers.js';

/**
 * The event loop's lag while hostile network clients try to stall it (issue 12), beside the same
 * daemon idle: a session charging on the sim station, nothing else, then an HTTP flood (half-sent
 * requests, a slowloris, slow bodies, idle event streams, each from its own loopback address),
 * then MQTT storms (Home Assistant `online`, commands) through a broker in another process. The
 * hostile clients run in another process at the lowest CPU priority (on the LAN they would have a
 * CPU of their own). Lag from a histogram of the daemon's loop (1 ms resolution subtracted);
 * stalls are what the daemon's stall detector counted (threshold 250 ms, the default).
 */

type Lag = { p50: number; p99: number; max: number };

/** Half-sent requests from one client, as fast as it can open them (10,000 stalled the code before issue 12 for 330 ms). */
const FLOOD = (quick: boolean) => (quick ? 3000 : 10_000);

async function measure<T>(d: Daemon, during: () => Promise<T>): Promise<{ seconds: number; eventLoopLagMs: Lag; stalls: number; result: T }> {
  const stallsBefore = d.loopLag().stalls;
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  h.enable();
  const result = await during();
  h.disable();
  const ms = (ns: number) => +Math.max(0, ns / 1e6 - 1).toFixed(2);
  return {
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    eventLoopLagMs: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) },
    stalls: d.loopLag().stalls - stallsBefore,
    result,
  };
}

async function chargingDaemon(dir: string, extra = ''): Promise<Daemon> {
  const loaded = loadConfig(simConfig(dir, extra));
  const d = await startDaemon(loaded, silentLogger());
  const hw = d.hardware(1) as SimHardware;
  hw.ev.plug();
  await d.station.presentTag(1, 'BENCH');
  hw.ev.ready();
  await waitFor(() => d.station.connectorView(1)!.contactorClosed);
  return d;
}

function stillCharging(d: Daemon): boolean {
  const v = d.station.connectorView(1)!;
  return v.status === 'Charging' && v.contactorClosed && v.faults.length === 0;
}

/** GET /api/status on a new connection every 100 ms from 127.0.0.1; the slowest answer. */
function probeApi(port: number): () => Promise<{ requests: number; failed: number; slowestMs: number }> {
  let running = true;
  let requests = 0;
  let failed = 0;
  let slowest = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/status', agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
        req.end();
      });
      requests++;
      if (!ok) failed++;
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { requests, failed, slowestMs: Math.round(slowest) };
  };
}

async function httpFlood(d: Daemon, quick: boolean) {
  const port = d.address.port;
  const attacks: HostileOptions[] = [
    { kind: 'flood', port, localAddress: '127.0.0.2', count: FLOOD(quick) },
    { kind: 'slowloris', port, localAddress: '127.0.0.3', count: 30, intervalMs: 500 },
    { kind: 'slow-body', port, localAddress: '127.0.0.4', count: 30, intervalMs: 500 },
    { kind: 'sse', port, localAddress: '127.0.0.5', count: 30 },
  ];
  const stopProbe = probeApi(port);
  const hostile: Hostile[] = [];
  try {
    for (const a of attacks) hostile.push(await Hostile.start(a));
    // Until the server has closed everything that does not complete (the event streams stay).
    const [flood, loris, body] = await Promise.all(hostile.slice(0, 3).map((h, i) => h.until(attacks[i]!.kind, (s) => s.opened > 0 && s.closed === s.opened, 60_000)));
    const longest = (l: number[]) => +(Math.max(0, ...l) / 1000).toFixed(1);
    return {
      api: await stopProbe(),
      floodConnections: flood!.opened,
      floodClosedAtAccept: flood!.lifetimesMs.filter((ms) => ms < 1000).length,
      longestHeldS: { flood: longest(flood!.lifetimesMs), slowloris: longest(loris!.lifetimesMs), slowBody: longest(body!.lifetimesMs) },
    };
  } finally {
    for (const h of hostile) await h.stop();
  }
}

function mosquittoPath(): string | null {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto']) {
    if (!spawnSync(p, ['-h'], { stdio: 'ignore' }).error) return p;
  }
  return null;
}

/** mosquitto when installed, else aedes (bench/peers.ts); either way in another process. */
async function startBroker(dir: string): Promise<{ name: string; port: number; stop: () => Promise<void> }> {
  const bin = mosquittoPath();
  if (!bin) {
    const peers = await spawnPeers();
    return { name: 'aedes (another process)', port: peers.mqttPort, stop: () => peers.stop() };
  }
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc: ChildProcess = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      }),
    10_000,
  );
  return {
    name: 'mosquitto',
    port,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function storm(port: number, topic: string, payload: string, count: number): Promise<void> {
  const h = await Hostile.start({ kind: 'mqtt-storm', port, topic, payload, count });
  try {
    await h.until('the storm sent', (s) => s.done, 30_000);
  } finally {
    await h.stop();
  }
}

export async function benchFloods(o: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const quick = o.quick === true;
  const idleS = quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-floods-'));
  const broker = await startBroker(dir);
  try {
    // A daemon per attack, so each window starts from a charging session (a stall in one does not carry over).
    const mqttYaml = `mqtt: { url: "mqtt://127.0.0.1:${broker.port}", publishIntervalS: 1, commands: true }`;
    const withDaemon = async <T>(fn: (d: Daemon) => Promise<T>): Promise<T> => {
      const d = await chargingDaemon(dir, mqttYaml);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        return await fn(d);
      } finally {
        await d.stop();
      }
    };
    const [idle, http] = await withDaemon(async (d) => {
      const quiet = await measure(d, () => new Promise((r) => setTimeout(r, idleS * 1000)));
      const flood = await measure(d, () => httpFlood(d, quick));
      return [quiet, { ...flood, stillCharging: stillCharging(d) }] as const;
    });
    const onlines = quick ? 200 : 500;
    const commands = quick ? 500 : 2000;
    const mqtt = await withDaemon(async (d) => {
      const m = await measure(d, async () => {
        await storm(broker.port, 'homeassistant/status', 'online', onlines);
        await storm(broker.port, 'evsed/CP-BENCH/connector/1/current_limit/set', '16', commands);
        // The debounced republish comes a second after the first online: let it run inside the window.
        await new Promise((r) => setTimeout(r, 2000));
      });
      return { ...m, stillCharging: stillCharging(d) };
    });
    return {
      stallThresholdMs: DEFAULT_STALL_THRESHOLD_MS,
      idle: { what: 'a session charging, nothing else', seconds: idle.seconds, eventLoopLagMs: idle.eventLoopLagMs, stalls: idle.stalls },
      httpFlood: {
        what: `${FLOOD(quick)} half-sent requests from one client, 30 slowloris connections, 30 slow bodies, 30 idle event streams (each from its own address); API polled on new connections every 100 ms`,
        seconds: http.seconds,
        eventLoopLagMs: http.eventLoopLagMs,
        stalls: http.stalls,
        stillCharging: http.stillCharging,
        ...http.result,
      },
      mqttStorm: {
        broker: broker.name,
        what: `${onlines} "homeassistant/status online", then ${commands} current_limit/set commands, each in one burst`,
        seconds: mqtt.seconds,
        eventLoopLagMs: mqtt.eventLoopLagMs,
        stalls: mqtt.stalls,
        stillCharging: mqtt.stillCharging,
      },
    };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
