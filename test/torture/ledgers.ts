import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { isoSeconds } from '../../src/hal/clock.js';
import { CLI, ROOT, writeSimConfig } from '../support/station.js';
import type { FlakyCsms, TxMsg } from './flaky-csms.js';

/** A session as the station stored it. */
export interface StationSession {
  id: number;
  connectorId: number;
  idTag: string | null;
  status: 'active' | 'completed';
  startWallMs: number;
  meterStartWh: number;
  meterStopWh: number | null;
  checkpointWh: number | null;
  stopReason: string | null;
  recovered: boolean;
}

export interface StationLedger {
  sessions: StationSession[];
  queue: { action: string; status: string; sessionId: number | null }[];
}

/** The station's sessions and OCPP queue, read from its SQLite file read-only (the daemon may be running). */
export function readStation(dataDir: string): StationLedger {
  const db = new Database(join(dataDir, 'evsed.db'), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const sessions = (db.prepare('SELECT * FROM sessions ORDER BY id').all() as any[]).map((r) => ({
      id: r.id,
      connectorId: r.connector_id,
      idTag: r.id_tag,
      status: r.status,
      startWallMs: r.start_wall_ms,
      meterStartWh: r.meter_start_wh,
      meterStopWh: r.meter_stop_wh,
      checkpointWh: r.checkpoint_energy_wh,
      stopReason: r.stop_reason,
      recovered: r.recovered === 1,
    }));
    const queue = (db.prepare('SELECT action, status, session_id FROM ocpp_queue ORDER BY id').all() as any[]).map((r) => ({ action: r.action, status: r.status, sessionId: r.session_id }));
    return { sessions, queue };
  } finally {
    db.close();
  }
}

/** The sim EV's most power (W): its current per phase × phases × voltage. */
export function maxPowerW(evMaxCurrentA: number, phases = 3, voltageV = 230): number {
  return evMaxCurrentA * phases * voltageV;
}

/**
 * The documented bound between the register shown before a kill and the meterStop of the session
 * recovered after it: none. The sim meter's register is part of the simulated world (src/sim/world.ts),
 * on disk before any reading of it leaves the process, and the recovery reads that register; so no
 * register anyone saw is lost. (Energy that flowed after the last reading and before the kill is lost
 * to the simulation, where a real meter keeps counting; nobody saw it, and the upper check allows it.)
 */
export const RECOVERY_BOUND_WH = 0;

/** The energy register values (Wh) of a MeterValues payload. */
export function registerValues(params: any): number[] {
  const out: number[] = [];
  for (const mv of params.meterValue ?? []) {
    for (const sv of mv.sampledValue ?? []) {
      if ((sv.measurand ?? 'Energy.Active.Import.Register') === 'Energy.Active.Import.Register' && (sv.unit ?? 'Wh') === 'Wh') out.push(Number(sv.value));
    }
  }
  return out;
}

export interface CompareOptions {
  /** the CSMS must have processed a Start and a Stop for every station session (end of run) */
  complete: boolean;
  /** how far a MeterValues register may pass the session's meterStop (energy lost by a kill, see recoveryBoundWh) */
  boundWh: number;
  freeIdTag?: string;
}

/**
 * Compares what the station recorded with what the CSMS received and returns every discrepancy
 * (empty = the ledgers agree). Each station session is matched to CSMS StartTransactions by
 * connectorId, idTag, meterStart and timestamp (the power-cut test gives every session its own idTag, so
 * no two sessions can share that identity).
 */
export function compareLedgers(station: StationLedger, csms: FlakyCsms, o: CompareOptions): string[] {
  const problems: string[] = [];
  const starts = csms.distinct('StartTransaction');
  const stops = csms.distinct('StopTransaction');
  const mvs = csms.distinct('MeterValues');
  const firstSeq = (action: string, key: string) => csms.log.find((m) => m.action === action && m.key === key)!.seq;
  const knownTx = new Set<number>();

  for (const s of station.sessions) {
    const label = `session ${s.id} (${s.idTag})`;
    if (s.meterStopWh !== null && s.meterStopWh < s.meterStartWh) problems.push(`${label}: meterStop ${s.meterStopWh} < meterStart ${s.meterStartWh}`);
    const mine = starts.filter((m) => m.params.idTag === (s.idTag ?? o.freeIdTag) && m.params.connectorId === s.connectorId && m.params.meterStart === s.meterStartWh && m.params.timestamp === isoSeconds(s.startWallMs));
    if (mine.length > 1) problems.push(`${label}: ${mine.length} distinct StartTransactions (a duplicate transaction): ${mine.map((m) => m.key).join(' | ')}`);
    const start = mine[0];
    if (!start) {
      if (o.complete) problems.push(`${label}: no StartTransaction reached the CSMS (lost)`);
      continue;
    }
    if (o.complete && !start.processed) problems.push(`${label}: StartTransaction never processed by the CSMS`);
    const txId = csms.txIdOf(start.key);
    if (txId === undefined) {
      if (o.complete) problems.push(`${label}: the CSMS never gave its StartTransaction a transactionId`);
      continue;
    }
    knownTx.add(txId);
    const myStops = stops.filter((m) => m.params.transactionId === txId);
    if (myStops.length > 1) problems.push(`${label}: ${myStops.length} distinct StopTransactions for transaction ${txId}: ${myStops.map((m) => m.key).join(' | ')}`);
    const stop = myStops[0];
    if (stop) {
      if (s.status !== 'completed') problems.push(`${label}: the CSMS got a StopTransaction but the station has the session ${s.status}`);
      if (stop.params.meterStop !== s.meterStopWh) problems.push(`${label}: StopTransaction meterStop ${stop.params.meterStop} != station meterStopWh ${s.meterStopWh}`);
      if (stop.params.reason !== (s.stopReason ?? 'Local')) problems.push(`${label}: StopTransaction reason ${stop.params.reason} != station ${s.stopReason}`);
      if (firstSeq('StopTransaction', stop.key) < firstSeq('StartTransaction', start.key)) problems.push(`${label}: StopTransaction received before its StartTransaction`);
    } else if (o.complete) problems.push(`${label}: no StopTransaction reached the CSMS (lost)`);
    if (o.complete && stop && !stop.processed) problems.push(`${label}: StopTransaction never processed by the CSMS`);
    for (const mv of mvs.filter((m) => m.params.transactionId === txId)) {
      for (const wh of registerValues(mv.params)) {
        const hi = (s.meterStopWh ?? Infinity) + o.boundWh;
        if (wh < s.meterStartWh || wh > hi) problems.push(`${label}: MeterValues register ${wh} outside [${s.meterStartWh}, ${hi}]`);
      }
      if (firstSeq('MeterValues', mv.key) < firstSeq('StartTransaction', start.key)) problems.push(`${label}: MeterValues received before its StartTransaction`);
      if (stop && firstSeq('MeterValues', mv.key) > firstSeq('StopTransaction', stop.key)) problems.push(`${label}: MeterValues received after its StopTransaction (out of order)`);
    }
  }
  const ids = new Set(station.sessions.map((s) => `${s.connectorId}/${s.idTag ?? o.freeIdTag}/${s.meterStartWh}/${isoSeconds(s.startWallMs)}`));
  for (const m of starts) if (!ids.has(`${m.params.connectorId}/${m.params.idTag}/${m.params.meterStart}/${m.params.timestamp}`)) problems.push(`CSMS has a StartTransaction for no station session: ${m.key}`);
  for (const m of stops) if (!knownTx.has(m.params.transactionId)) problems.push(`CSMS has a StopTransaction for an unknown transaction: ${m.key}`);
  for (const m of mvs) if (m.params.transactionId !== undefined && !knownTx.has(m.params.transactionId)) problems.push(`CSMS has MeterValues for an unknown transaction: ${m.key}`);
  if (o.complete) {
    if (station.queue.length) problems.push(`station queue not empty: ${JSON.stringify(station.queue.slice(0, 5))}`);
    if (station.sessions.some((s) => s.status !== 'completed')) problems.push('a station session is still active');
  }
  return problems;
}

/** Messages received more than once with the identical payload (the in-flight-at-kill window). */
export function repeats(log: TxMsg[]): number {
  const seen = new Set<string>();
  let n = 0;
  for (const m of log) {
    const k = `${m.action}:${m.key}`;
    if (seen.has(k)) n++;
    seen.add(k);
  }
  return n;
}

/** `evsed run` without waiting for anything: for kills during start-up. */
export function spawnRaw(configFile: string): { kill(): Promise<void>; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [CLI, 'run', '--config', configFile], { cwd: ROOT, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    exited,
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface TortureConfig {
  dir: string;
  port: number;
  authMode: 'local' | 'free';
  tags?: string[];
  host?: string;
  scheme?: 'ws' | 'wss';
  connectors?: number;
  flushIntervalS?: number;
  evMaxCurrentA?: number;
  keys?: Record<string, string | number | boolean>;
  ocpp?: string;
}

/** A sim station config pointing at the CSMS on 127.0.0.1:port (or `host`), fast reconnects. */
export function tortureConfig(c: TortureConfig): string {
  const keys = { HeartbeatInterval: 300, MeterValueSampleInterval: 1, ...(c.keys ?? {}) };
  return writeSimConfig(c.dir, {
    authMode: c.authMode,
    tags: c.tags,
    connectors: c.connectors,
    flushIntervalS: c.flushIntervalS ?? 1,
    sampleIntervalS: 1,
    evMaxCurrentA: c.evMaxCurrentA,
    extra: `ocpp:
  version: "1.6"
  url: ${c.scheme ?? 'ws'}://${c.host ?? `127.0.0.1:${c.port}`}/ocpp
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
  callTimeoutS: 5
  keys: ${JSON.stringify(keys)}
${c.ocpp ?? ''}`,
  });
}
