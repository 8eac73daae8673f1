import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { tempDir, writeSimConfig } from '../support/station.js';
import { buildRequest, rawRequest } from './http.js';

/**
 * Minimal reproductions of what the API fuzzer (test/fuzz/api.test.ts, seed 388823, 2,000 cases)
 * found in src/api/server.ts: bad request targets answered 500 instead of a 4xx JSON error, and a
 * refused tag answered 403 without the documented {"error": "..."}.
 */
describe('API bugs found by fuzzing', () => {
  let dir: string;
  let daemon: Daemon;
  let port: number;
  beforeAll(async () => {
    dir = tempDir('evsed-fuzz-api-bugs-');
    daemon = await startDaemon(loadConfig(writeSimConfig(dir)), silentLogger());
    port = daemon.address.port;
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = async (method: string, target: string, body?: unknown) => {
    const out = await rawRequest(port, buildRequest({ method, target, headers: body === undefined ? [] : [['Content-Type', 'application/json']], body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)) }));
    if (out.kind !== 'response') throw new Error(`no response: ${JSON.stringify(out)}`);
    return { status: out.res.status, json: JSON.parse(out.res.body.toString('utf8') || 'null') as Record<string, unknown> };
  };

  it('regression: a malformed percent-escape in a path parameter (POST /api/connectors/%/tag) answers 500 "URI malformed" instead of 4xx', async () => {
    // server.ts: params[k] = decodeURIComponent(m[i + 1]) throws URIError outside any HttpError.
    const r = await send('POST', '/api/connectors/%/tag', { idTag: 'TAG-1' });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });

  it('regression: an absolute-form request target that is not a URL (GET http://[) answers 500 "Invalid URL" instead of 400', async () => {
    // server.ts: new URL(req.url, "http://localhost") throws TypeError for "http://[".
    const r = await send('GET', 'http://[');
    expect(r.status).toBe(400);
  });

  it('regression: HEAD /api/events never answers (headers are not flushed for HEAD; the request holds an event-stream slot until the client gives up)', async () => {
    const out = await rawRequest(port, buildRequest({ method: 'HEAD', target: '/api/events', headers: [] }), 3000);
    expect(out.kind).toBe('response');
  });

  it('regression: a refused tag answers 403 without the documented {"error": "..."} body', async () => {
    const r = await send('POST', '/api/connectors/1/tag', { idTag: 'NOT-LISTED' });
    expect(r.status).toBe(403);
    expect(typeof r.json.error).toBe('string');
  });
});
