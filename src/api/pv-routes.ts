import type { PvControl } from '../energy/pv-service.js';
import { PV_MODES, type PvMode } from '../energy/pv.js';
import { HttpError, readJson, sendJson, type RouteRegistry } from './http.js';

/** GET /api/pv (mode, state, surplus, budget, source) and PUT /api/pv { mode } (kept across restarts). */
export function mountPvRoutes(api: RouteRegistry, pv: PvControl): void {
  api.route('GET', '/api/pv', (_q, res) => sendJson(res, 200, pv.status()));
  api.route('PUT', '/api/pv', async (req, res) => {
    const body = await readJson(req);
    if (!(PV_MODES as readonly unknown[]).includes(body.mode)) throw new HttpError(400, `mode: must be one of ${PV_MODES.join(' | ')}`);
    pv.setMode(body.mode as PvMode, 'api');
    sendJson(res, 200, pv.status());
  });
}
