import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import rpc from 'ocpp-rpc';
import { loadConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { silentLogger } from '../src/log.js';
import { simConfig, waitFor } from './core.js';
import { percentiles } from './stats.js';

const { RPCServer } = rpc;

/** One CSMS round trip over a mobile link. */
const ANSWER_DELAY_MS = 50;

/** A loopback CSMS (strict mode) that answers every CALL after `delayMs`, noting when each MeterValues came and was answered. */
async function slowCsms(delayMs: number) {
  const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
  const meterValues = { receivedAt: [] as number[], answeredAt: [] as number[] };
  server.on('client', (client: any) => {
    client.handle(async ({ method }: { method: string }) => {
      if (method === 'MeterValues') meterValues.receivedAt.push(performance.now());
      await sleep(delayMs);
      const now = new Date().toISOString();
      if (method === 'MeterValues') meterValues.answeredAt.push(performance.now());
      if (method === 'BootNotification') return { status: 'Accepted', currentTime: now, interval: 3600 };
      if (method === 'Heartbeat') return { currentTime: now };
      if (method === 'Authorize') return { idTagInfo: { status: 'Accepted' } };
      return {};
    });
  });
  const http = await server.listen(0, '127.0.0.1');
  return {
    port: (http.address() as AddressInfo).port,
    meterValues,
    reset: () => Object.assign(meterValues, { receivedAt: [], answeredAt: [] }),
    close: () => server.close({ force: true }),
  };
}

/**
 * Queues `n` intermediate MeterValues in the station's durable OCPP queue, as a station that was
 * offline for a while has them. Written straight into the table (its columns are a stored format,
 * kept by the OCPP migrations), so the bench does not depend on the module's classes.
 */
function fillQueue(dbFile: string, n: number): void {
  const db = new Database(dbFile);
  try {
    const insert = db.prepare(`INSERT INTO ocpp_queue (action, session_id, payload, bytes, thinnable, created_wall_ms,
      created_boot_id, created_mono_ms, created_quality) VALUES ('MeterValues', NULL, ?, ?, 1, ?, 'bench', ?, 'synced')`);
    const t0 = Date.now() - n * 60_000;
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const wallMs = t0 + i * 60_000;
        const payload = JSON.stringify({
          connectorId: 1,
          meterValue: [{
            timestamp: new Date(wallMs).toISOString().replace(/\.\d+Z$/, 'Z'),
            sampledValue: [{ value: String(1000 + i * 100), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
          }],
        });
        insert.run(payload, Buffer.byteLength(payload), wallMs, i);
      }
    })();
  } finally {
    db.close();
  }
}

function pendingInQueue(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM ocpp_queue WHERE status = 'pending'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * The durable replay through a CSMS that answers after 50 ms (a real backend over a mobile link).
 * OCPP 1.6 allows one CALL in flight, so one message per round trip (1000 / 50 = 20 messages/s) is
 * the bound; `ratioToBound` is the share of it the outbox reaches. The real daemon (sim station)
 * runs once to create its store, `n` MeterValues are queued while it is down, and it is started
 * again: the replay is timed at the CSMS from the first MeterValues received to the last answered.
 */
export async function benchOcppLatency(o: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const n = o.quick ? 40 : 200;
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-ocpp-rtt-'));
  const csms = await slowCsms(ANSWER_DELAY_MS);
  try {
    const extra = `ocpp: { version: '1.6', url: 'ws://127.0.0.1:${csms.port}/ocpp', reconnectMinS: 0.05, keys: { HeartbeatInterval: 3600 } }`;
    const loaded = loadConfig(simConfig(dir, extra));

    const first = await startDaemon(loaded, silentLogger());
    await first.stop();
    fillQueue(loaded.dbFile, n);
    csms.reset();

    const t0 = performance.now();
    const d = await startDaemon(loaded, silentLogger());
    try {
      await waitFor(() => csms.meterValues.answeredAt.length >= n, n * ANSWER_DELAY_MS * 4 + 15_000);
      await waitFor(() => pendingInQueue(loaded.dbFile) === 0, 5_000);
    } finally {
      await d.stop();
    }

    const { receivedAt, answeredAt } = csms.meterValues;
    const firstReceivedAt = receivedAt[0]!;
    const replayMs = answeredAt[answeredAt.length - 1]! - firstReceivedAt;
    // where a round trip beyond answerDelayMs goes: the CSMS's own timer, and the station from an answer to its next call
    const answerMs = answeredAt.map((t, i) => t - receivedAt[i]!);
    const turnaroundMs = receivedAt.slice(1).map((t, i) => t - answeredAt[i]!);
    const ms = (values: number[]) => Object.fromEntries(Object.entries(percentiles(values, [50, 99, 100])).map(([k, v]) => [k, +v.toFixed(1)]));
    const replayPerS = n / (replayMs / 1000);
    const boundPerS = 1000 / ANSWER_DELAY_MS;
    return {
      messages: n,
      answerDelayMs: ANSWER_DELAY_MS,
      replayPerS: +replayPerS.toFixed(2),
      boundPerS,
      ratioToBound: +(replayPerS / boundPerS).toFixed(3),
      replaySeconds: +(replayMs / 1000).toFixed(2),
      startToFirstMessageMs: Math.round(firstReceivedAt - t0),
      csmsAnswerMs: ms(answerMs),
      stationTurnaroundMs: ms(turnaroundMs),
      resent: receivedAt.length - n,
      note: 'real daemon (sim station) replaying a durable backlog of MeterValues to a strict ocpp-rpc CSMS that answers each CALL after answerDelayMs; timed at the CSMS from the first MeterValues received to the last answered; stationTurnaroundMs = from the CSMS answering one MeterValues to it receiving the next (the station: durable delete, next read and both socket hops); startToFirstMessageMs covers daemon start, connect, BootNotification and StatusNotifications (each also answered after answerDelayMs)',
    };
  } finally {
    await csms.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
