import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, writeSimConfig } from '../support/station.js';
import { buildRequest, rawRequest, type RawOutcome } from './http.js';
import { Findings, Rng, banner, deepJson, fuzzCount, fuzzSeed, mutateText, mutateValue, randomBytes, randomString, randomValue, secondsSince, summary } from './prng.js';

/**
 * API fuzzing against a real in-process daemon over real HTTP: random methods, targets, headers and
 * bodies (mutated valid JSON for every POST/PUT route, huge and deep JSON, invalid UTF-8, wrong
 * content types). Every answer is 2xx or a 4xx JSON error, never 5xx; the daemon still answers
 * /api/status afterwards; and the contactor never closes unless the simulated EV is plugged in,
 * asks for energy (pilot C/D) and a session is recorded.
 */

const MAX_BODY = 64 * 1024;

/** Valid bodies per body-taking route: the mutation corpus. */
const BODY_ROUTES: { method: string; path: string; bodies: unknown[] }[] = [
  { method: 'POST', path: '/api/connectors/1/tag', bodies: [{ idTag: 'TAG-1' }, { idTag: 'UNKNOWN' }] },
  { method: 'POST', path: '/api/connectors/1/limit', bodies: [{ maxA: 16 }, { maxA: null }, { maxA: 6.5 }] },
  { method: 'POST', path: '/api/connectors/1/target', bodies: [{ energyWh: 5000 }, { socPercent: 80 }, { energyWh: null, socPercent: 90 }] },
  { method: 'POST', path: '/api/connectors/1/sim', bodies: [{ action: 'plug' }, { action: 'unplug' }, { action: 'ev-ready' }, { action: 'ev-pause' }, { action: 'fault', kind: 'rcd' }, { action: 'clear-fault', kind: 'rcd' }] },
  { method: 'PUT', path: '/api/tags/TAG-1', bodies: [{ name: 'Car' }, { name: null }] },
  { method: 'POST', path: '/api/connectors/1/phases', bodies: [{ phases: 1 }, { phases: 3 }] },
];
const PLAIN_ROUTES: [string, string][] = [
  ['GET', '/api/status'], ['GET', '/api/sessions'], ['GET', '/api/sessions.csv'], ['GET', '/api/sessions/1'], ['GET', '/api/events'],
  ['GET', '/api/tags'], ['GET', '/api/stats'], ['GET', '/'], ['GET', '/index.html'], ['GET', '/dashboard/app.js'],
  ['POST', '/api/connectors/1/stop'], ['POST', '/api/connectors/1/pause'], ['POST', '/api/connectors/1/resume'],
  ['POST', '/api/connectors/1/wake'], ['POST', '/api/connectors/1/clear-faults'],
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'FOO', 'get', 'G\u00c9T', ''];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'APPLICATION/JSON', '', 'application/json, text/html'];
const QUERY_KEYS = ['from', 'to', 'idTag', 'connector', 'status', 'limit', 'offset', 'tz', 'token', 'v'];
const QUERY_VALUES = ['2024-01-01', '2024-13-45', 'yesterday', '-1', '1e309', '99999999999', 'active', 'completed', 'Europe/Berlin', 'Mars/Olympus', '', '%', '%E0%A4%A', '\u0000', 'NaN'];
const ID_SEGMENTS = ['1', '0', '2', '-1', '1.5', 'abc', '%31', '%', '%E0%A4%A', '%00', '1%2F2', '99999999999999999999', '', ' ', '..'];

interface Req {
  how: string;
  method: string;
  target: Buffer | string;
  headers: [string, string | Buffer][];
  body?: Buffer;
  chunked?: boolean;
}

function target(rng: Rng, path: string): string | Buffer {
  let p = path;
  if (rng.chance(0.25)) p = p.replace(/\/1(\/|$)/, `/${rng.pick(ID_SEGMENTS)}$1`);
  if (rng.chance(0.1)) p = p.replace('/TAG-1', `/${rng.pick(ID_SEGMENTS)}`);
  if (rng.chance(0.15)) p = mutateText(rng, p, 1).replace(/[\s\r\n]/g, '');
  if (rng.chance(0.3)) {
    const q = Array.from({ length: rng.range(1, 3) }, () => `${rng.pick(QUERY_KEYS)}=${encodeURIComponent(rng.pick(QUERY_VALUES)).replace(/%25/g, rng.chance(0.5) ? '%' : '%25')}`);
    p += `?${q.join('&')}`;
  }
  if (rng.chance(0.05)) return rng.pick(['*', '//', 'http://[', 'http://127.0.0.1/api/status', '/api/../api/status', '/%', '/api/connectors/%/tag', `/${'a'.repeat(10_000)}`]);
  if (rng.chance(0.04)) return Buffer.concat([Buffer.from(p), Buffer.from([0xc3, 0x28, 0xff, 0xfe])]); // invalid UTF-8
  return p;
}

function body(rng: Rng, valid: unknown): { how: string; body: Buffer } {
  switch (rng.int(10)) {
    case 0:
      return { how: 'valid', body: Buffer.from(JSON.stringify(valid)) };
    case 1:
    case 2:
    case 3:
      return { how: 'mutated JSON', body: Buffer.from(JSON.stringify(mutateValue(rng, valid)) ?? 'null') };
    case 4:
      return { how: 'mutated JSON text', body: Buffer.from(mutateText(rng, JSON.stringify(valid))) };
    case 5:
      return { how: 'random JSON', body: Buffer.from(JSON.stringify(randomValue(rng, 4)) ?? '') };
    case 6:
      return { how: 'deep JSON', body: Buffer.from(deepJson(rng.pick([100, 5_000, 12_000]), rng.chance(0.5) ? 'array' : 'object')) };
    case 7:
      return { how: 'huge JSON', body: Buffer.from(JSON.stringify({ ...(valid as object), pad: 'x'.repeat(rng.pick([MAX_BODY - 100, MAX_BODY + 10, 300_000])) })) };
    case 8:
      return { how: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"idTag":"'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff]), Buffer.from('","action":"plug"}')]) };
    default:
      return { how: 'random bytes', body: randomBytes(rng, rng.range(0, 200)) };
  }
}

function generate(rng: Rng): Req {
  const headers: [string, string | Buffer][] = [];
  let method: string;
  let path: string;
  let how: string;
  let b: Buffer | undefined;
  if (rng.chance(0.6)) {
    const r = rng.pick(BODY_ROUTES);
    const made = body(rng, rng.pick(r.bodies));
    method = rng.chance(0.9) ? r.method : rng.pick(METHODS);
    path = r.path;
    how = `${r.method} ${r.path} ${made.how}`;
    b = made.body;
    const ct = rng.chance(0.7) ? 'application/json' : rng.pick(CONTENT_TYPES);
    if (ct) headers.push(['Content-Type', ct]);
  } else {
    const [m, p] = rng.pick(PLAIN_ROUTES);
    method = rng.chance(0.85) ? m : rng.pick(METHODS);
    path = p;
    how = `${m} ${p}`;
    if (rng.chance(0.2)) {
      b = Buffer.from(randomString(rng, rng.int(100)));
      headers.push(['Content-Type', rng.pick(CONTENT_TYPES) || 'text/plain']);
    }
  }
  if (rng.chance(0.1)) headers.push(['Authorization', rng.pick(['Bearer ', 'Bearer x', 'Basic Zm9vOmJhcg==', randomString(rng, 20)])]);
  if (rng.chance(0.05)) headers.push(['Accept-Encoding', rng.pick(['gzip', 'br, gzip;q=0', '*'])]);
  if (rng.chance(0.05)) headers.push(['If-None-Match', rng.pick(['*', '"x"', 'W/"y", *'])]);
  if (rng.chance(0.03)) headers.push(['X-Big', 'y'.repeat(rng.pick([1000, 20_000]))]);
  if (rng.chance(0.03)) headers.push(['X-Bin', Buffer.from([0xff, 0x00, 0x7f])]);
  if (rng.chance(0.03)) headers.push([rng.pick(['Bad Header', 'X:Y', '']), 'v']);
  return { how, method, target: target(rng, path), headers, body: b, chunked: b !== undefined && rng.chance(0.1) };
}

function describeReq(i: number, r: Req): string {
  const t = Buffer.isBuffer(r.target) ? `<bytes ${r.target.toString('hex').slice(0, 80)}>` : r.target.slice(0, 120);
  const bodyText = r.body ? JSON.stringify(r.body.toString('latin1').slice(0, 160)) : '';
  return `case ${i} (${r.how}): ${JSON.stringify(r.method)} ${t} headers=${JSON.stringify(r.headers.map(([k, v]) => [k, String(v).slice(0, 40)]))} body=${bodyText}${r.body && r.body.length > 160 ? `...(${r.body.length} bytes)` : ''}`;
}

/** Node's own HTTP parser answers malformed requests with a bare 4xx before any route runs. */
const PARSER_STATUSES = new Set([400, 413, 414, 431, 505]);

export function checkOutcome(o: RawOutcome, r: Req): string | null {
  if (o.kind === 'timeout') return `no answer within 10 s (hang)`;
  if (o.kind === 'reset') {
    // The server may answer 413 and close before a large body is fully written: only then is a reset fine.
    if ((r.body?.length ?? 0) > MAX_BODY) return null;
    return `connection dropped without an answer (${o.error})`;
  }
  const { status, headers, body: b } = o.res;
  if (status >= 500) return `${status} ${b.toString('utf8').slice(0, 160)}`;
  if (status < 200 || (status >= 300 && status < 400 && status !== 304)) return `unexpected status ${status}`;
  if (status >= 400) {
    const json = /application\/json/.test(headers['content-type'] ?? '');
    if (!json) return PARSER_STATUSES.has(status) && !headers['content-type'] ? null : `${status} without a JSON error body`;
    if (r.method === 'HEAD') return null;
    try {
      const parsed = JSON.parse(b.toString('utf8')) as { error?: unknown };
      if (typeof parsed.error !== 'string' || !parsed.error) return `${status} JSON without an "error" text`;
    } catch {
      return `${status} body is not JSON`;
    }
  }
  return null;
}

describe('API fuzzing against an in-process daemon over real HTTP', () => {
  let dir: string;
  let daemon: Daemon;
  let hw: SimHardware;
  const unsafeCloses: string[] = [];
  let currentCase = '';

  beforeAll(async () => {
    dir = tempDir('evsed-fuzz-api-');
    const loaded = loadConfig(writeSimConfig(dir, { authMode: 'local', tags: ['TAG-1'] }));
    daemon = await startDaemon(loaded, silentLogger());
    hw = daemon.hardware(1) as SimHardware;
    // Spy at the device boundary: the state when the contactor is commanded closed.
    const set = hw.contactor.set.bind(hw.contactor);
    hw.contactor.set = (closed: boolean) => {
      if (closed) {
        const pilot = hw.ev.pilotState();
        const session = daemon.station.connectorView(1)!.session;
        if (!hw.ev.plugged || (pilot !== 'C' && pilot !== 'D') || !session) {
          unsafeCloses.push(`${currentCase}: closed with plugged=${hw.ev.plugged} pilot=${pilot} session=${session ? 'yes' : 'none'}`);
        }
      }
      set(closed);
    };
  });

  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('random requests: 2xx or a 4xx JSON error, never 5xx or a hang; status still answers; contactor safe', async () => {
    const t0 = performance.now();
    const seed = fuzzSeed();
    const cases = fuzzCount(2_000, 20_000);
    banner('API requests', seed, cases);
    const rng = new Rng(seed);
    const port = daemon.address.port;
    const found = new Findings();
    const statuses = new Map<number, number>();
    let resets = 0;
    for (let i = 0; i < cases; i++) {
      const r = generate(rng.fork());
      currentCase = describeReq(i, r);
      const out = await rawRequest(port, buildRequest(r));
      if (out.kind === 'response') statuses.set(out.res.status, (statuses.get(out.res.status) ?? 0) + 1);
      else resets++;
      const why = checkOutcome(out, r);
      if (why) found.add(why.slice(0, 60), `${why}\n  ${currentCase}`);
      if (i % 200 === 199) {
        const s = await rawRequest(port, buildRequest({ method: 'GET', target: '/api/status', headers: [] }));
        if (s.kind !== 'response' || s.res.status !== 200) found.add('status no longer answers', currentCase);
      }
    }
    const final = await rawRequest(port, buildRequest({ method: 'GET', target: '/api/status', headers: [] }));
    console.log(`[fuzz] API requests: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}, resets after a large body ${resets}, contactor closings ${hw.contactorLog.filter((e) => e.closed).length}`);
    summary('api-fuzz', { seed, cases, statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])), connectionResets: resets, contactorClosings: hw.contactorLog.filter((e) => e.closed).length, unsafeClosings: unsafeCloses.length, findings: found.total(), durationS: secondsSince(t0) });
    expect(final.kind === 'response' && final.res.status).toBe(200);
    expect(unsafeCloses.slice(0, 3)).toEqual([]);
    expect(found.report(), `seed ${seed}`).toEqual([]);
  }, 600_000);
});
