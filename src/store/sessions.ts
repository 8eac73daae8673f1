import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';
import type { ClockQuality, Stamp } from '../hal/clock.js';
import type { AuthSource, StopReason } from '../domain/types.js';
import { ID_TAG_COLLATION } from '../domain/tags.js';

export interface SessionRecord {
  id: number;
  uid: string;
  connectorId: number;
  idTag: string | null;
  authSource: AuthSource;
  status: 'active' | 'completed';
  startWallMs: number;
  startQuality: ClockQuality;
  startBootId: string;
  startMonoMs: number;
  meterStartWh: number;
  checkpointWallMs: number | null;
  checkpointEnergyWh: number | null;
  durationMs: number;
  chargingMs: number;
  idleMs: number;
  meterGapMs: number;
  stopWallMs: number | null;
  stopQuality: ClockQuality | null;
  stopBootId: string | null;
  stopMonoMs: number | null;
  meterStopWh: number | null;
  energyWh: number | null;
  stopReason: StopReason | null;
  stopIdTag: string | null;
  recovered: boolean;
  /** meterStartWh is the meter's last good register, not a reading at the start (meter unreadable then). */
  meterStartProvisional: boolean;
  /** meterStopWh is the meter's last good register, not a reading at the stop: energyWh may be too low. */
  meterStopProvisional: boolean;
  /** The reservation this session used (and ended), e.g. OCPP StartTransaction.reservationId; null = none. */
  reservationId: number | null;
}

export interface Durations {
  durationMs: number;
  chargingMs: number;
  idleMs: number;
  meterGapMs: number;
}

/**
 * Whole seconds for display and export. One part is the remainder, so charging + idle = duration
 * holds in seconds as it does in milliseconds (flooring each part alone can lose a second): idle,
 * unless the live durations say the time now counts as charging (`charging`), then charging.
 */
export function wholeSeconds(d: (Partial<Durations> & { charging?: boolean }) | null | undefined): { durationS: number; chargingS: number; idleS: number; meterGapS: number } {
  const durationS = Math.floor((d?.durationMs ?? 0) / 1000);
  const meterGapS = Math.floor((d?.meterGapMs ?? 0) / 1000);
  // The second lost to flooring goes to the part that grows now, so the part that stands still
  // keeps its value (charging time = duration − idle flipped idle between 0 and 1 every second).
  if (d?.charging) {
    const idleS = Math.min(durationS, Math.floor((d.idleMs ?? 0) / 1000));
    return { durationS, chargingS: durationS - idleS, idleS, meterGapS };
  }
  const chargingS = Math.min(durationS, Math.floor((d?.chargingMs ?? 0) / 1000));
  return { durationS, chargingS, idleS: durationS - chargingS, meterGapS };
}

export interface SampleRow {
  connectorId: number;
  sessionId: number | null;
  at: Stamp;
  energyWh: number;
  powerW: number;
  /** per phase [V, A, W] */
  phases?: [number, number, number][];
}

export interface StoredSample {
  id: number;
  connectorId: number;
  sessionId: number | null;
  wallMs: number;
  quality: ClockQuality;
  bootId: string;
  monoMs: number;
  energyWh: number;
  powerW: number;
}

/**
 * Hooks run inside the same SQLite transaction as the session write, so whatever they record
 * (e.g. the OCPP StartTransaction/StopTransaction queue entry) is durable together with the
 * session or not at all.
 */
export interface SessionHooks {
  onStart?: (session: SessionRecord) => void;
  onStop?: (session: SessionRecord) => void;
  /**
   * A provisional meterStartWh/meterStopWh was replaced by the meter's register (see
   * SessionStore.correctMeter): e.g. billing recomputes the cost; OCPP can correct the meterStop of
   * a StopTransaction still waiting in its queue (`before` has the values that were recorded).
   */
  onCorrect?: (session: SessionRecord, before: SessionRecord) => void;
}

export interface SessionFilter {
  fromMs?: number;
  toMs?: number;
  connectorId?: number;
  idTag?: string;
  status?: 'active' | 'completed';
  limit?: number;
  offset?: number;
  order?: 'asc' | 'desc';
}

type Row = Record<string, any>;

function toRecord(r: Row): SessionRecord {
  return {
    id: r.id,
    uid: r.uid,
    connectorId: r.connector_id,
    idTag: r.id_tag,
    authSource: r.auth_source,
    status: r.status,
    startWallMs: r.start_wall_ms,
    startQuality: r.start_quality,
    startBootId: r.start_boot_id,
    startMonoMs: r.start_mono_ms,
    meterStartWh: r.meter_start_wh,
    checkpointWallMs: r.checkpoint_wall_ms,
    checkpointEnergyWh: r.checkpoint_energy_wh,
    durationMs: r.duration_ms,
    chargingMs: r.charging_ms,
    idleMs: r.idle_ms,
    meterGapMs: r.meter_gap_ms,
    stopWallMs: r.stop_wall_ms,
    stopQuality: r.stop_quality,
    stopBootId: r.stop_boot_id,
    stopMonoMs: r.stop_mono_ms,
    meterStopWh: r.meter_stop_wh,
    energyWh: r.energy_wh,
    stopReason: r.stop_reason,
    stopIdTag: r.stop_id_tag,
    recovered: r.recovered === 1,
    // Absent when read through a store opened read-only before migration core#2.
    meterStartProvisional: r.meter_start_provisional === 1,
    meterStopProvisional: r.meter_stop_provisional === 1,
    // Absent before migration core#4 (a store opened read-only).
    reservationId: r.reservation_id ?? null,
  };
}

/** A single-row result mapped, or undefined when there is no row. */
function one<T>(row: unknown, map: (r: Row) => T): T | undefined {
  return row ? map(row as Row) : undefined;
}

export class SessionStore {
  private readonly hooks: SessionHooks[] = [];
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      insertBoot: db.prepare('INSERT OR IGNORE INTO boots (id, started_wall_ms, started_quality) VALUES (?, ?, ?)'),
      insert: db.prepare(`INSERT INTO sessions (uid, connector_id, id_tag, auth_source, status, start_wall_ms, start_quality,
        start_boot_id, start_mono_ms, meter_start_wh, checkpoint_wall_ms, checkpoint_quality, checkpoint_boot_id,
        checkpoint_mono_ms, checkpoint_energy_wh, meter_start_provisional, reservation_id)
        VALUES (@uid, @connectorId, @idTag, @authSource, 'active', @wallMs, @quality, @bootId, @monoMs, @meterStartWh,
        @wallMs, @quality, @bootId, @monoMs, @meterStartWh, @provisional, @reservationId)`),
      get: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      checkpoint: db.prepare(`UPDATE sessions SET checkpoint_wall_ms = @wallMs, checkpoint_quality = @quality,
        checkpoint_boot_id = @bootId, checkpoint_mono_ms = @monoMs, checkpoint_energy_wh = @energyWh,
        duration_ms = @durationMs, charging_ms = @chargingMs, idle_ms = @idleMs, meter_gap_ms = @meterGapMs
        WHERE id = @id AND status = 'active'`),
      stop: db.prepare(`UPDATE sessions SET status = 'completed', stop_wall_ms = @wallMs, stop_quality = @quality,
        stop_boot_id = @bootId, stop_mono_ms = @monoMs, meter_stop_wh = @meterStopWh, energy_wh = @energyWh,
        duration_ms = @durationMs, charging_ms = @chargingMs, idle_ms = @idleMs, meter_gap_ms = @meterGapMs,
        stop_reason = @reason, stop_id_tag = @stopIdTag, recovered = @recovered,
        checkpoint_energy_wh = @meterStopWh, meter_stop_provisional = @provisional
        WHERE id = @id AND status = 'active'`),
      correct: db.prepare(`UPDATE sessions SET meter_start_wh = @meterStartWh, meter_start_provisional = @startProvisional,
        meter_stop_wh = @meterStopWh, meter_stop_provisional = @stopProvisional, energy_wh = @energyWh,
        checkpoint_energy_wh = CASE WHEN status = 'completed' THEN @meterStopWh ELSE MAX(COALESCE(checkpoint_energy_wh, @meterStartWh), @meterStartWh) END
        WHERE id = @id`),
      latestOn: db.prepare('SELECT * FROM sessions WHERE connector_id = ? ORDER BY id DESC LIMIT 1'),
      active: db.prepare("SELECT * FROM sessions WHERE status = 'active' ORDER BY id"),
      insertSample: db.prepare(`INSERT INTO meter_samples (connector_id, session_id, wall_ms, quality, boot_id, mono_ms,
        energy_wh, power_w, phases) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      lastSample: db.prepare('SELECT * FROM meter_samples WHERE session_id = ? ORDER BY id DESC LIMIT 1'),
      lastConnectorSample: db.prepare('SELECT * FROM meter_samples WHERE connector_id = ? ORDER BY id DESC LIMIT 1'),
      samples: db.prepare('SELECT * FROM meter_samples WHERE session_id = ? ORDER BY id'),
      checkpointStamp: db.prepare('SELECT checkpoint_wall_ms w, checkpoint_quality q, checkpoint_boot_id b, checkpoint_mono_ms m FROM sessions WHERE id = ?'),
      lastKnownRegister: db.prepare(`SELECT MAX(v) v FROM (
        SELECT MAX(COALESCE(meter_stop_wh, checkpoint_energy_wh, meter_start_wh)) v FROM sessions WHERE connector_id = ?
        UNION ALL SELECT MAX(energy_wh) FROM meter_samples WHERE connector_id = ?)`),
    };
  }

  addHooks(hooks: SessionHooks): void {
    this.hooks.push(hooks);
  }

  recordBoot(at: Stamp): void {
    this.stmt.insertBoot.run(at.bootId, at.wallMs, at.quality);
  }

  /** Durably opens a session. Returns only after the commit (synchronous=FULL). */
  start(input: { connectorId: number; idTag: string | null; authSource: AuthSource; meterStartWh: number; at: Stamp; meterStartProvisional?: boolean; reservationId?: number | null }): SessionRecord {
    assertWh(input.meterStartWh, 'meterStartWh');
    return this.db.transaction(() => {
      const info = this.stmt.insert.run({
        uid: randomUUID(),
        connectorId: input.connectorId,
        idTag: input.idTag,
        authSource: input.authSource,
        wallMs: input.at.wallMs,
        quality: input.at.quality,
        bootId: input.at.bootId,
        monoMs: input.at.monoMs,
        meterStartWh: input.meterStartWh,
        provisional: input.meterStartProvisional ? 1 : 0,
        reservationId: input.reservationId ?? null,
      });
      const rec = this.get(Number(info.lastInsertRowid))!;
      for (const h of this.hooks) h.onStart?.(rec);
      return rec;
    })();
  }

  /** Records progress, so a crash loses at most one checkpoint interval of durations. */
  checkpoint(id: number, input: { energyWh: number; at: Stamp } & Durations): void {
    assertWh(input.energyWh, 'energyWh');
    this.stmt.checkpoint.run({ id, ...stampParams(input.at), energyWh: input.energyWh, ...roundDurations(input) });
  }

  /** Durably closes a session. Energy is always the register difference. */
  stop(
    id: number,
    input: { meterStopWh: number; reason: StopReason; stopIdTag?: string | null; at: Stamp; recovered?: boolean; meterStopProvisional?: boolean } & Durations,
  ): SessionRecord {
    assertWh(input.meterStopWh, 'meterStopWh');
    return this.db.transaction(() => {
      const cur = this.get(id);
      if (!cur) throw new Error(`session ${id} does not exist`);
      if (cur.status !== 'active') return cur;
      // The register never runs backwards; a lower stop value means a meter swap or a bad read.
      const meterStopWh = Math.max(input.meterStopWh, cur.meterStartWh);
      this.stmt.stop.run({
        id,
        ...stampParams(input.at),
        meterStopWh,
        energyWh: meterStopWh - cur.meterStartWh,
        ...roundDurations(input),
        reason: input.reason,
        stopIdTag: input.stopIdTag ?? null,
        recovered: input.recovered ? 1 : 0,
        provisional: input.meterStopProvisional ? 1 : 0,
      });
      const rec = this.get(id)!;
      for (const h of this.hooks) h.onStop?.(rec);
      return rec;
    })();
  }

  /**
   * Replace a provisional meterStartWh and/or meterStopWh with the meter's register and clear its
   * flag; energy stays the register difference. Only the caller knows the value is exact (the
   * contactor stayed open since it was recorded); values that are not provisional are left alone.
   * Runs the onCorrect hooks in the same transaction. Returns undefined when nothing changed.
   */
  correctMeter(id: number, input: { meterStartWh?: number; meterStopWh?: number }): SessionRecord | undefined {
    if (input.meterStartWh !== undefined) assertWh(input.meterStartWh, 'meterStartWh');
    if (input.meterStopWh !== undefined) assertWh(input.meterStopWh, 'meterStopWh');
    return this.db.transaction(() => {
      const before = this.get(id);
      if (!before) throw new Error(`session ${id} does not exist`);
      const fixStart = input.meterStartWh !== undefined && before.meterStartProvisional;
      const fixStop = input.meterStopWh !== undefined && before.meterStopProvisional && before.status === 'completed';
      if (!fixStart && !fixStop) return undefined;
      const meterStartWh = fixStart ? input.meterStartWh! : before.meterStartWh;
      const stopRaw = fixStop ? input.meterStopWh! : before.meterStopWh;
      // As at stop: the register never runs backwards within a session.
      const meterStopWh = stopRaw === null ? null : Math.max(stopRaw, meterStartWh);
      this.stmt.correct.run({
        id,
        meterStartWh,
        startProvisional: fixStart ? 0 : before.meterStartProvisional ? 1 : 0,
        meterStopWh,
        stopProvisional: fixStop ? 0 : before.meterStopProvisional ? 1 : 0,
        energyWh: meterStopWh === null ? null : meterStopWh - meterStartWh,
      });
      const rec = this.get(id)!;
      for (const h of this.hooks) h.onCorrect?.(rec, before);
      return rec;
    })();
  }

  /** The most recent session of a connector (active or completed). */
  latestOn(connectorId: number): SessionRecord | undefined {
    return one(this.stmt.latestOn.get(connectorId), toRecord);
  }

  get(id: number): SessionRecord | undefined {
    return one(this.stmt.get.get(id), toRecord);
  }

  active(): SessionRecord[] {
    return (this.stmt.active.all() as Row[]).map(toRecord);
  }

  list(f: SessionFilter = {}): SessionRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (f.fromMs !== undefined) (where.push('start_wall_ms >= @fromMs'), (params.fromMs = f.fromMs));
    if (f.toMs !== undefined) (where.push('start_wall_ms < @toMs'), (params.toMs = f.toMs));
    if (f.connectorId !== undefined) (where.push('connector_id = @connectorId'), (params.connectorId = f.connectorId));
    if (f.idTag !== undefined) (where.push(`id_tag = @idTag COLLATE ${ID_TAG_COLLATION}`), (params.idTag = f.idTag));
    if (f.status !== undefined) (where.push('status = @status'), (params.status = f.status));
    const sql =
      `SELECT * FROM sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY start_wall_ms ${f.order === 'asc' ? 'ASC' : 'DESC'}, id ${f.order === 'asc' ? 'ASC' : 'DESC'} ` +
      `LIMIT ${f.limit === undefined ? -1 : Math.max(0, Math.floor(f.limit))} OFFSET ${Math.max(0, Math.floor(f.offset ?? 0))}`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toRecord);
  }

  /** Writes a batch of samples in one transaction (one commit for many rows spares the SD card). */
  addSamples(rows: SampleRow[]): void {
    if (!rows.length) return;
    this.db.transaction(() => {
      for (const s of rows) {
        this.stmt.insertSample.run(
          s.connectorId, s.sessionId, s.at.wallMs, s.at.quality, s.at.bootId, s.at.monoMs,
          Math.round(s.energyWh), s.powerW, s.phases ? JSON.stringify(s.phases) : null,
        );
      }
    })();
  }

  lastSample(sessionId: number): StoredSample | undefined {
    return one(this.stmt.lastSample.get(sessionId), toSample);
  }

  lastConnectorSample(connectorId: number): StoredSample | undefined {
    return one(this.stmt.lastConnectorSample.get(connectorId), toSample);
  }

  /** When the session was last known alive: its checkpoint (the stop time of a session recovered after a crash). */
  checkpointStamp(id: number): Stamp | undefined {
    const r = this.stmt.checkpointStamp.get(id) as { w: number; q: 'synced' | 'unsynced'; b: string; m: number } | undefined;
    return r ? { wallMs: r.w, quality: r.q, bootId: r.b, monoMs: r.m } : undefined;
  }

  /** The highest register this station has recorded for a connector (to continue a simulated meter). */
  lastKnownRegister(connectorId: number): number {
    const r = this.stmt.lastKnownRegister.get(connectorId, connectorId) as { v: number | null };
    return r.v ?? 0;
  }

  samples(sessionId: number): StoredSample[] {
    return (this.stmt.samples.all(sessionId) as Row[]).map(toSample);
  }

  /**
   * The wall clock of boot `bootId` became known: rewrite every timestamp of that boot that was
   * taken before, from its monotonic reading. Returns the number of rows repaired.
   */
  repairBoot(bootId: string, monoToWallMs: number, source: string): number {
    let n = 0;
    this.db.transaction(() => {
      this.db.prepare('UPDATE boots SET mono_to_wall_ms = ?, synced_by = ? WHERE id = ?').run(Math.round(monoToWallMs), source, bootId);
      for (const col of ['start', 'checkpoint', 'stop']) {
        n += this.db
          .prepare(`UPDATE sessions SET ${col}_wall_ms = CAST(ROUND(${col}_mono_ms + ?) AS INTEGER), ${col}_quality = 'synced'
                    WHERE ${col}_boot_id = ? AND ${col}_quality = 'unsynced'`)
          .run(monoToWallMs, bootId).changes;
      }
      n += this.db
        .prepare(`UPDATE meter_samples SET wall_ms = CAST(ROUND(mono_ms + ?) AS INTEGER), quality = 'synced'
                  WHERE boot_id = ? AND quality = 'unsynced'`)
        .run(monoToWallMs, bootId).changes;
    })();
    return n;
  }
}

function toSample(r: Row): StoredSample {
  return {
    id: r.id,
    connectorId: r.connector_id,
    sessionId: r.session_id,
    wallMs: r.wall_ms,
    quality: r.quality,
    bootId: r.boot_id,
    monoMs: r.mono_ms,
    energyWh: r.energy_wh,
    powerW: r.power_w,
  };
}

function stampParams(at: Stamp) {
  return { wallMs: Math.round(at.wallMs), quality: at.quality, bootId: at.bootId, monoMs: at.monoMs };
}

function roundDurations(d: Durations) {
  return {
    durationMs: Math.round(d.durationMs),
    chargingMs: Math.round(d.chargingMs),
    idleMs: Math.round(d.idleMs),
    meterGapMs: Math.round(d.meterGapMs),
  };
}

function assertWh(v: number, name: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer Wh (got ${v})`);
}
