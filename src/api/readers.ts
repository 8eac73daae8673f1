import type { ReaderService } from '../panel/readers.js';
import { HttpError, readJson, sendJson, type RouteRegistry } from './http.js';

/**
 * The card readers over HTTP: their state (GET /api/readers; also the `readers` section of
 * GET /api/status) and, for a simulated reader (driver sim), a card held to it:
 * POST /api/sim/readers/:id/card { "idTag": "..." }, which goes exactly the way a real reader's
 * card goes (normalised, same-card guard, then the station) and answers with what it did.
 */
export function mountReaderRoutes(api: RouteRegistry, readers: ReaderService): void {
  api.route('GET', '/api/readers', (_q, res) => sendJson(res, 200, readers.status()));
  api.route('POST', '/api/sim/readers/:id/card', async (req, res, p) => {
    const id = p.id!;
    if (!readers.has(id)) throw new HttpError(404, `no reader ${id} (readers: ${readers.list().map((r) => r.id).join(', ') || 'none configured'})`);
    const sim = readers.simulated(id);
    if (!sim) throw new HttpError(409, `reader ${id} is a real reader: cards can be presented through the API only to readers with driver sim`);
    const body = await readJson(req);
    const idTag = body.idTag;
    if (typeof idTag !== 'string' || idTag.length < 1 || idTag.length > 20) throw new HttpError(400, 'idTag: must be a text of 1 to 20 characters');
    try {
      sim.present(idTag);
    } catch (err) {
      throw new HttpError(409, `reader ${id}: ${(err as Error).message}`);
    }
    // null: ignored (the same card again within the guard time) or taken by learn mode
    const outcome = await readers.lastOutcome(id);
    sendJson(res, 200, { reader: id, idTag, outcome });
  });
}
