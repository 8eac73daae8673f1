import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import rpc from 'ocpp-rpc';
import { SystemClock } from '../src/hal/clock.js';
import { openDb } from '../src/store/db.js';
import { coreMigrations } from '../src/store/core-migrations.js';
import { SessionStore } from '../src/store/sessions.js';
import { silentLogger } from '../src/log.js';
import { startOcpp } from '../src/ocpp/index.js';
import { ocppConfigSchema } from '../src/config/ocpp.js';
import { createOcppRepositories, ocppMigrations, type OcppRepositories } from '../src/store/ocpp/index.js';
import type { Config } from '../src/config/schema.js';
import type { StationPort, StationView } from '../src/evse/port.js';
import { benchControlLatency } from './core.js';

const { RPCServer, RPCClient } = rpc;

/** A loopback CSMS (strict mode) that answers every CALL at once; `onCall` sees each method as it arrives. */
export async function loopbackCsms(onCall?: (method: string) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
  let txId = 1;
  server.on('client', (client: any) => {
    client.handle(({ method }: { method: string }) => {
      onCall?.(method);
      const now = new Date().toISOString();
      if (method === 'BootNotification') return { status: 'Accepted', currentTime: now, interval: 3600 };
      if (method === 'StartTransaction') return { transactionId: txId++, idTagInfo: { status: 'Accepted' } };
      if (method === 'Heartbeat') return { currentTime: now };
      if (method === 'Authorize') return { idTagInfo: { status: 'Accepted' } };
      return {};
    });
  });
  const http = await server.listen(0, '127.0.0.1');
  return { port: (http.address() as AddressInfo).port, close: () => server.close({ force: true }) };
}

/** The smallest station the OCPP layer can run against: one idle connector, a real session store. */
function benchStation(db: ReturnType<typeof openDb>): StationPort & { sessions: SessionStore; repos: OcppRepositories; close(): void } {
  const ev = new EventEmitter();
  const clock = new SystemClock('always');
  const view = (): StationView => ({
    id: 'CP-BENCH', vendor: 'evsed', model: 'bench', firmwareVersion: '0', clock: { wall: '', quality: 'synced' }, uptimeS: 0,
    connectors: [{
      id: 1, status: 'Available', pilot: 'A', diodeOk: true, pilotOutput: { mode: 'x1' } as any, contactorClosed: false, currentLimitA: 16,
      limitSource: 'config', faults: [], available: true, paused: false, session: null,
      phases: { installed: 3, active: 3, switchable: false, switching: false, switchesThisSession: 0 },
      meter: { energyWh: 0, powerW: 0, voltageV: [], currentA: [], powerPhaseW: [], frequencyHz: null, health: 'ok', stale: false, ageS: 0, reads: { ok: 0, failed: 0, rejected: 0, consecutiveFailures: 0, errors: {}, lastError: null } },
    }],
  });
  return {
    info: { id: 'CP-BENCH', vendor: 'evsed', model: 'bench', firmwareVersion: '0' },
    view,
    connectorIds: () => [1],
    connectorView: (id) => view().connectors.find((c) => c.id === id),
    liveDurations: () => null,
    vehicle: () => ({ socPercent: null, batteryCapacityWh: null }),
    claims: () => [],
    health: () => ({ ok: true }),
    extraStatus: () => ({}),
    on: (e, l) => void ev.on(e, l as any),
    off: (e, l) => void ev.off(e, l as any),
    presentTag: async () => ({ status: 'Invalid', source: 'local', action: 'rejected' }),
    pause: () => false,
    resume: () => false,
    wake: () => false,
    clearFaults: () => false,
    simulator: () => undefined,
    setSessionExtras: () => undefined,
    onReset: () => undefined,
    setAuthorizer: () => undefined,
    remoteStart: async () => false,
    stopSession: async () => false,
    sessionOn: () => undefined,
    setAvailability: () => 'Accepted',
    unlock: async () => 'NotSupported',
    hasLock: () => false,
    holdLock: () => false,
    setConnectionTimeout: () => undefined,
    readMeter: async () => {
      throw new Error('no meter');
    },
    setClaim: () => undefined,
    clearClaim: () => undefined,
    setBudget: () => undefined,
    clearBudget: () => undefined,
    budgets: () => [],
    setPhases: async () => 'NotSupported' as const,
    reserve: () => 'Rejected' as const,
    cancelReservation: () => false,
    reservations: () => [],
    sessions: new SessionStore(db),
    repos: createOcppRepositories(db, { queueBounds: { maxMessages: 1_000_000, maxBytes: 1e9 } }),
    clock,
    requestReset: () => undefined,
    registerStatus: () => undefined,
    close: () => clock.close(),
  };
}

export function meterValue(i: number): Record<string, unknown> {
  return {
    connectorId: 1,
    meterValue: [{
      timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      sampledValue: [
        { value: String(10_000 + i), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh' },
        { value: '7360.5', context: 'Sample.Periodic', measurand: 'Power.Active.Import', location: 'Outlet', unit: 'W' },
      ],
    }],
  };
}

/**
 * Replay throughput: 10,000 MeterValues queued durably (SQLite, synchronous=FULL) are drained
 * through the real charge point to a loopback CSMS; beside it the bare ocpp-rpc call rate (same
 * strict mode, one call at a time) to the same CSMS, i.e. the ceiling set by the round trip.
 */
export async function benchOcpp(o: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const n = o.quick ? 2000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-ocpp-'));
  const csms = await loopbackCsms();
  try {
    const db = openDb(join(dir, 'evsed.db'), [coreMigrations, ocppMigrations]);
    const station = benchStation(db);
    const q = station.repos.queue;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) q.enqueue('MeterValues', null, meterValue(i), station.clock.stamp(), true);
    const enqueueMs = performance.now() - t0;

    const config = {
      ocpp: ocppConfigSchema.parse({ version: '1.6', url: `ws://127.0.0.1:${csms.port}/ocpp`, reconnectMinS: 0.05, keys: { HeartbeatInterval: 3600 } }),
      auth: { freeIdTag: 'FREE' },
      connectors: [{ id: 1, phases: 3 }],
    } as unknown as Config;
    const t1 = performance.now();
    const h = await startOcpp({ config, station, repos: station.repos, sessionHooks: station.sessions, log: silentLogger() });
    while (q.head()) await new Promise((r) => setTimeout(r, 20));
    const replayMs = performance.now() - t1;
    await h.stop();
    station.close();
    db.close();

    const client = new RPCClient({ identity: 'CP-BARE', endpoint: `ws://127.0.0.1:${csms.port}/ocpp`, protocols: ['ocpp1.6'], strictMode: true, callConcurrency: 1 } as any);
    await client.connect();
    const t2 = performance.now();
    for (let i = 0; i < n; i++) await client.call('MeterValues', meterValue(i));
    const bareMs = performance.now() - t2;
    await client.close({ force: true });

    // Control latency (pilot edge → contactor) of the sim station while a replay runs in the same process.
    const latency = await benchControlLatency({ events: o.quick ? 100 : 500, load: () => replayLoad(csms.port, n) });

    return {
      controlLatencyWithOcppReplay: latency,
      messages: n,
      enqueuePerS: Math.round(n / (enqueueMs / 1000)),
      replayPerS: Math.round(n / (replayMs / 1000)),
      replaySeconds: +(replayMs / 1000).toFixed(2),
      bareOcppRpcCallsPerS: Math.round(n / (bareMs / 1000)),
      note: 'replay includes connect + BootNotification + 2 StatusNotifications; each message is one SQLite read and one durable delete (synchronous=FULL) plus one round trip',
    };
  } finally {
    await csms.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a charge point draining `n` queued messages to the CSMS; returns its stopper. The backlog is
 * filled once and not refilled: the replay load lasts until those `n` messages are delivered (about
 * n / replayPerS seconds), and a latency run that outlasts it measures the rest beside an idle link.
 */
async function replayLoad(port: number, n: number): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-ocpp-load-'));
  const db = openDb(join(dir, 'evsed.db'), [coreMigrations, ocppMigrations]);
  const station = benchStation(db);
  const q = station.repos.queue;
  for (let i = 0; i < n; i++) q.enqueue('MeterValues', null, meterValue(i), station.clock.stamp(), true);
  const config = {
    ocpp: ocppConfigSchema.parse({ version: '1.6', url: `ws://127.0.0.1:${port}/ocpp`, reconnectMinS: 0.05, keys: { HeartbeatInterval: 3600 } }),
    auth: { freeIdTag: 'FREE' },
    connectors: [{ id: 1, phases: 3 }],
  } as unknown as Config;
  const h = await startOcpp({ config, station, repos: station.repos, sessionHooks: station.sessions, log: silentLogger() });
  return async () => {
    await h.stop();
    station.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
