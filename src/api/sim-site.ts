import type { Phases } from '../domain/phases.js';
import { HttpError, readJson, sendJson, type RouteRegistry } from './http.js';

/** The simulated grid meter's house load, as the API may change it (src/sim/grid-meter.ts). */
export interface SimHouseLoad {
  houseLoadA(): Phases;
  setHouseLoad(a: Phases | null): void;
}

const MAX_HOUSE_A = 200;

/**
 * `POST /api/sim/site {"houseLoadA": 12 | [12, 2, 2] | null}`: the simulated house draws that much
 * per phase from now on (negative = PV export); null returns to the configured profile. Mounted
 * only with a simulated grid meter (`site.gridMeter.model: sim`).
 */
export function mountSimSite(api: RouteRegistry, grid: SimHouseLoad): void {
  api.route('POST', '/api/sim/site', async (req, res) => {
    const body = await readJson(req);
    const v = body.houseLoadA;
    const ok = (a: unknown): a is number => typeof a === 'number' && Number.isFinite(a) && Math.abs(a) <= MAX_HOUSE_A;
    let load: Phases | null;
    if (v === null) load = null;
    else if (ok(v)) load = [v, v, v];
    else if (Array.isArray(v) && v.length === 3 && v.every(ok)) load = [v[0]!, v[1]!, v[2]!];
    else throw new HttpError(400, `houseLoadA: must be a number of A (-${MAX_HOUSE_A}..${MAX_HOUSE_A}), three of them [L1, L2, L3], or null for the configured profile`);
    grid.setHouseLoad(load);
    sendJson(res, 200, { houseLoadA: grid.houseLoadA() });
  });
}
