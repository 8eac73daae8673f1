import type { TagNameRepository } from '../store/billing/tag-names.js';
import { LearnError, type TagLearner } from '../panel/learn.js';
import { parseTagsCsv, tagsToCsv, TagCsvError } from '../panel/tag-list.js';
import { HttpError, readJson, sendJson, type RouteRegistry } from './http.js';

/** The longest a learn request may wait (s). */
export const MAX_LEARN_TIMEOUT_S = 120;

/**
 * The owner's tag list over HTTP (issue 16):
 *  - GET /api/tags.csv: the list as CSV (name, idTag, expiry, parent, enabled);
 *  - PUT /api/tags.csv {"csv": "..."}: the list becomes exactly that CSV (JSON like every write, so
 *    a browser cannot send it across origins); 400 names every bad record;
 *  - POST /api/tags/learn {"name", "connectorId"?, "timeoutS"?}: waits for the next card at a reader
 *    (30 s by default) and adds it under the name; 408 no card in time, 409 a learn already waits
 *    or there is no reader.
 */
export function mountTagRoutes(api: RouteRegistry, o: { tags: TagNameRepository; learner?: TagLearner; stationId: string }): void {
  api.route('GET', '/api/tags.csv', (_q, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${o.stationId}-tags.csv"`,
      'Cache-Control': 'no-store',
    });
    res.end(tagsToCsv(o.tags.list()));
  });
  api.route('PUT', '/api/tags.csv', async (req, res) => {
    const body = await readJson(req);
    if (typeof body.csv !== 'string') throw new HttpError(400, 'csv: send {"csv": "<the CSV text>"} (columns name,idTag,expiry,parent,enabled)');
    let tags;
    try {
      tags = parseTagsCsv(body.csv);
    } catch (err) {
      if (err instanceof TagCsvError) throw new HttpError(400, err.message);
      throw err;
    }
    o.tags.replaceList(tags);
    sendJson(res, 200, { tags: tags.length });
  });
  api.route('POST', '/api/tags/learn', async (req, res) => {
    const body = await readJson(req);
    if (!o.learner) throw new HttpError(409, 'learn mode needs a card reader (readers: or connectors[].reader)');
    const name = body.name;
    if (typeof name !== 'string' || !name.trim() || name.length > 80) throw new HttpError(400, 'name: must be a text of 1 to 80 characters');
    const timeoutS = body.timeoutS ?? 30;
    if (typeof timeoutS !== 'number' || !Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > MAX_LEARN_TIMEOUT_S) throw new HttpError(400, `timeoutS: must be a whole number of seconds between 1 and ${MAX_LEARN_TIMEOUT_S}`);
    const connectorId = body.connectorId;
    if (connectorId !== undefined && (typeof connectorId !== 'number' || !Number.isInteger(connectorId))) throw new HttpError(400, 'connectorId: must be a connector id');
    let r;
    try {
      r = await o.learner.learn(name, { timeoutMs: timeoutS * 1000, connectorId });
    } catch (err) {
      if (err instanceof LearnError) throw new HttpError(400, err.message);
      throw err;
    }
    if (r.result === 'learned') sendJson(res, 200, r);
    else if (r.result === 'timeout') sendJson(res, 408, { error: `no card was presented within ${timeoutS} s`, ...r });
    else if (r.result === 'busy') sendJson(res, 409, { error: `learn mode is already waiting for a card (for "${r.name}"): try again when it ended`, ...r });
    else sendJson(res, 409, { error: connectorId === undefined ? 'learn mode needs a card reader (readers: or connectors[].reader)' : `no card reader serves connector ${connectorId}`, ...r });
  });
}
