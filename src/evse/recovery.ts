import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { PERSISTED_FAULTS } from '../domain/faults.js';
import type { FaultKind } from '../domain/types.js';
import type { LockoutStore } from '../store/lockouts.js';
import type { SessionRecord, SessionStore } from '../store/sessions.js';
import type { Connector } from './connector.js';

/**
 * Sessions still `active` in the store were interrupted (crash, power loss, watchdog). Close each
 * with reason PowerLoss: meterStop from the meter's present register (exact: it kept counting
 * whatever flowed) or, if the meter cannot be read, the last stored register, flagged provisional.
 * The stop time is the last moment the session was known alive: its checkpoint.
 */
export async function recoverOpenSessions(sessions: SessionStore, connector: (id: number) => Connector | undefined, log: Logger): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  for (const rec of sessions.active()) {
    const c = connector(rec.connectorId);
    let wh: number | undefined;
    let source = 'meter';
    if (c) wh = await c.readMeter().then((s) => s.energyImportWh, () => undefined);
    if (wh === undefined) {
      const last = sessions.lastSample(rec.id);
      wh = Math.max(last?.energyWh ?? 0, rec.checkpointEnergyWh ?? 0, rec.meterStartWh);
      source = 'last stored sample';
    }
    const stopped = sessions.stop(rec.id, {
      meterStopWh: wh,
      reason: 'PowerLoss',
      at: sessions.checkpointStamp(rec.id)!,
      durationMs: rec.durationMs,
      chargingMs: rec.chargingMs,
      idleMs: rec.idleMs,
      meterGapMs: rec.meterGapMs,
      recovered: true,
      // Not read now: corrected from the meter when it answers, unless a session starts first (Connector).
      meterStopProvisional: source !== 'meter',
    });
    log.warn({ sessionId: rec.id, connectorId: rec.connectorId, meterStopWh: wh, from: source, energyWh: stopped.energyWh }, 'recovered a session left open by a crash or power loss');
    out.push(stopped);
  }
  return out;
}

/** Faults that survive a restart (FAULTS[kind].persisted, e.g. a welded contactor) until a technician clears them. */
export class LockoutKeeper {
  constructor(private readonly store: LockoutStore, private readonly clock: Clock, private readonly log: Logger) {}

  /** Before anything runs: a contactor welded before a crash or power cut is still welded now. */
  restore(c: Connector): void {
    for (const l of this.store.list(c.id)) {
      this.log.warn({ connectorId: c.id, kind: l.kind, since: new Date(l.sinceWallMs).toISOString() }, `fault ${l.kind} restored from the store: the connector stays locked out until a technician clears it`);
      c.dispatch({ type: 'fault', kind: l.kind, active: true });
      c.dispatch({ type: 'fault', kind: l.kind, active: false });
    }
  }

  /** Keep the stored lockouts in step with the connector's faults. */
  track(connectorId: number, now: FaultKind[], before: FaultKind[]): void {
    for (const kind of PERSISTED_FAULTS) {
      try {
        if (now.includes(kind) && !before.includes(kind)) this.store.set(connectorId, kind, this.clock.stamp(), `fault ${kind}`);
        else if (!now.includes(kind) && before.includes(kind)) this.store.clear(connectorId, kind);
      } catch (err) {
        this.log.error({ connectorId, kind, err: (err as Error).message }, 'cannot record the lockout in the store (it holds until restart only)');
      }
    }
  }
}
