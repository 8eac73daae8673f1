import type { StationPort } from '../evse/port.js';
import type { OwnerControls } from '../energy/owner.js';
import { TARGET_MODES, type TargetMode } from '../energy/session-limits.js';
import type { StopConditions } from '../energy/stop-conditions.js';
import { chargingTimersSchema } from '../config/timers.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { HttpError, readJson, sendJson, type RouteRegistry } from './http.js';

/** The API's bounds of the owner's stop conditions (the config takes the same). */
const LIMIT_BOUNDS = {
  energyWh: { min: 1, max: MAX_ENERGY_TARGET_WH, what: 'a whole number of Wh' },
  durationS: { min: 60, max: 7 * 86_400, what: 'a whole number of seconds' },
  socPercent: { min: 1, max: 100, what: 'a whole percentage' },
} as const;

/**
 * The owner's controls over HTTP: a session's stop conditions and target mode, "charge now", the
 * charging timers. Mounted by the daemon beside the core routes (server.ts).
 */
export function mountOwnerRoutes(api: RouteRegistry, station: StationPort, owner: OwnerControls): void {
  const connector = (p: Record<string, string>): number => {
    const id = Number(p.id);
    if (!Number.isInteger(id) || !station.connectorIds().includes(id)) throw new HttpError(404, `no connector ${p.id} (connectors: ${station.connectorIds().join(', ')})`);
    return id;
  };
  const view = (id: number) => ({
    limits: owner.limits.limits(id),
    targetMode: owner.limits.targetMode(id),
    effective: owner.limits.effective(id),
    chargeNow: owner.chargeNow.active(id),
    timer: owner.timers.status().connectors.find((c) => c.id === id) ?? null,
  });

  api.route('GET', '/api/connectors/:id/limits', (_q, res, p) => sendJson(res, 200, view(connector(p))));
  api.route('POST', '/api/connectors/:id/limits', async (req, res, p) => {
    const id = connector(p);
    const body = await readJson(req);
    const patch: StopConditions = {};
    for (const [k, b] of Object.entries(LIMIT_BOUNDS) as [keyof typeof LIMIT_BOUNDS, (typeof LIMIT_BOUNDS)[keyof typeof LIMIT_BOUNDS]][]) {
      const v = body[k];
      if (v === undefined) continue;
      if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < b.min || v > b.max)) throw new HttpError(400, `${k}: must be ${b.what} from ${b.min} to ${b.max}, or null to remove it`);
      patch[k] = v;
    }
    const mode = parseMode(body.targetMode, 'targetMode');
    if (!Object.keys(patch).length && mode === undefined) throw new HttpError(400, 'give energyWh, durationS, socPercent (null removes one) and/or targetMode (estimate | stop)');
    if (mode) owner.limits.setTargetMode(id, mode);
    if (Object.keys(patch).length) owner.limits.setLimits(id, patch);
    sendJson(res, 200, view(id));
  });
  api.route('POST', '/api/connectors/:id/charge-now', async (req, res, p) => {
    const id = connector(p);
    const body = await readJson(req);
    if (typeof body.on !== 'boolean') throw new HttpError(400, 'on: must be true (charge now, for the running session) or false');
    if (!owner.chargeNow.set(id, body.on)) throw new HttpError(409, 'no session on this connector: "charge now" is for a running session');
    const { currentLimitA, limitSource } = station.connectorView(id)!;
    sendJson(res, 200, { chargeNow: owner.chargeNow.active(id), currentLimitA, limitSource });
  });
  api.route('GET', '/api/timers', (_q, res) => sendJson(res, 200, owner.timers.status()));
  api.route('PUT', '/api/timers', async (req, res) => {
    const body = await readJson(req);
    if (body.timers === null) owner.timers.set(null);
    else {
      const parsed = chargingTimersSchema.safeParse(body.timers);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        throw new HttpError(400, `timers${i.path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${String(x)}`)).join('')}: ${i.message}`);
      }
      const ids = station.connectorIds();
      for (const [i, t] of parsed.data.entries()) {
        const bad = t.connectors?.find((c) => !ids.includes(c));
        if (bad !== undefined) throw new HttpError(400, `timers[${i}].connectors: no connector ${bad} (connectors: ${ids.join(', ')})`);
      }
      owner.timers.set(parsed.data);
    }
    sendJson(res, 200, owner.timers.status());
  });
}

/** A target mode from a request body; undefined when absent. */
export function parseMode(v: unknown, key: string): TargetMode | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(TARGET_MODES as readonly string[]).includes(v)) throw new HttpError(400, `${key}: must be ${TARGET_MODES.join(' or ')}`);
  return v as TargetMode;
}
