import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';

/** The local HTTP API over real HTTP, against an in-process daemon on the simulated station. */
describe('local API', () => {
  let d: Daemon;
  let base: string;

  beforeAll(async () => {
    const dir = tempDir();
    d = await startDaemon(loadConfig(writeSimConfig(dir, { tags: ['TAG-1', 'TAG-2'] })), silentLogger());
    base = `http://127.0.0.1:${d.address.port}`;
  });
  afterAll(async () => {
    await d.stop();
  });

  it('GET /api/status describes the station and each connector', async () => {
    const r = await api(base, '/api/status');
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('CP-TEST');
    const c = r.body.connectors[0];
    expect(c).toMatchObject({ id: 1, status: 'Available', pilot: 'A', contactorClosed: false, currentLimitA: 0, session: null });
    await until(async () => (await api(base, '/api/status')).body.connectors[0].meter.energyWh === 1000, 'first meter reading');
  });

  it('runs a session through the sim controls and the tag reader', async () => {
    expect((await api(base, '/api/connectors/1/sim', { action: 'plug' })).body.status).toBe('Preparing');
    const tag = await api(base, '/api/connectors/1/tag', { idTag: 'TAG-1' });
    expect(tag.status).toBe(200);
    expect(tag.body).toMatchObject({ status: 'Accepted', source: 'local' });
    await api(base, '/api/connectors/1/sim', { action: 'ev-ready' });
    const charging = await until(async () => {
      const c = (await api(base, '/api/status')).body.connectors[0];
      return c.status === 'Charging' && c.meter.powerW > 0 ? c : null;
    }, 'charging');
    expect(charging.contactorClosed).toBe(true);
    expect(charging.currentLimitA).toBe(32);
    expect(charging.pilotOutput).toEqual({ mode: 'pwm', dutyPermille: 533 });
    expect(charging.session).toMatchObject({ idTag: 'TAG-1', meterStartWh: 1000 });

    // A different valid tag while charging does not take over the session.
    const other = await api(base, '/api/connectors/1/tag', { idTag: 'TAG-2' });
    expect(other.status).toBe(403);
    expect(other.body.status).toBe('ConcurrentTx');

    // The same tag stops it.
    expect((await api(base, '/api/connectors/1/tag', { idTag: 'TAG-1' })).body.action).toBe('stopped');
    const done = await until(async () => {
      const list = (await api(base, '/api/sessions')).body as any[];
      return list.find((s) => s.status === 'completed');
    }, 'session completed');
    expect(done.stopReason).toBe('Local');
    const status = (await api(base, '/api/status')).body.connectors[0];
    expect(done.meterStopWh).toBe(status.meter.energyWh);
    expect(done.energyWh).toBe(done.meterStopWh - done.meterStartWh);
    await api(base, '/api/connectors/1/sim', { action: 'unplug' });
  });

  it('refuses an unknown tag with 403 and leaves the connector idle', async () => {
    await api(base, '/api/connectors/1/sim', { action: 'plug' });
    const r = await api(base, '/api/connectors/1/tag', { idTag: 'STRANGER' });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ status: 'Invalid', action: 'rejected' });
    expect((await api(base, '/api/status')).body.connectors[0].session).toBeNull();
    await api(base, '/api/connectors/1/sim', { action: 'unplug' });
  });

  it('filters sessions by tag case-insensitively, as the tags compare everywhere', async () => {
    const exact = (await api(base, '/api/sessions?idTag=TAG-1')).body as any[];
    expect(exact.length).toBeGreaterThanOrEqual(1);
    expect(exact.every((s) => s.idTag === 'TAG-1')).toBe(true);
    expect(((await api(base, '/api/sessions?idTag=tag-1')).body as any[]).map((s) => s.id)).toEqual(exact.map((s) => s.id));
    const csv = await fetch(`${base}/api/sessions.csv?idTag=Tag-1`);
    expect((await csv.text()).trim().split('\r\n').length).toBe(exact.length + 1);
    expect((await api(base, '/api/sessions?idTag=TAG-2')).body).toEqual([]);
  });

  it('serves the sessions as CSV with a header row', async () => {
    const res = await fetch(`${base}/api/sessions.csv`);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,uid,connectorId,idTag,/);
    expect(lines.length).toBeGreaterThanOrEqual(2);
  });

  it('sets and clears an API current limit through the arbiter', async () => {
    const set = await api(base, '/api/connectors/1/limit', { maxA: 10 });
    expect(set.status).toBe(200);
    expect(d.station.claims(1)).toContainEqual({ source: 'api', connectorId: 1, maxA: 10 });
    expect(d.station.connectorView(1)!.limitSource).toBe('api');
    await api(base, '/api/connectors/1/limit', { maxA: null });
    expect(d.station.claims(1).filter((c) => c.source === 'api')).toEqual([]);
    expect(d.station.connectorView(1)!.limitSource).toBe('config');
    expect(d.station.claims(1).find((c) => c.source === 'config')!.maxA).toBe(32);
  });

  it('a fault is a 0 A claim: the status names it as the limit until the fault clears', async () => {
    await api(base, '/api/connectors/1/sim', { action: 'plug' });
    await api(base, '/api/connectors/1/sim', { action: 'fault', kind: 'rcd' });
    const faulted = await until(async () => {
      const c = (await api(base, '/api/status')).body.connectors[0];
      return c.faults.includes('rcd') ? c : null;
    }, 'rcd fault reported');
    expect(faulted).toMatchObject({ currentLimitA: 0, limitSource: 'fault', contactorClosed: false });
    await api(base, '/api/connectors/1/sim', { action: 'clear-fault', kind: 'rcd' });
    await api(base, '/api/connectors/1/sim', { action: 'unplug' }); // the fault latches until the EV is unplugged
    await until(async () => (await api(base, '/api/status')).body.connectors[0].faults.length === 0, 'fault cleared');
    expect((await api(base, '/api/status')).body.connectors[0].limitSource).toBe('config');
  });

  it('streams state changes as Server-Sent Events', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${base}/api/events`, { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const read = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);
    await until(() => text.includes('event: status'), 'initial status event');
    await api(base, '/api/connectors/1/sim', { action: 'plug' });
    await until(() => text.includes('"status":"Preparing"'), 'Preparing event');
    await until(() => text.includes('event: sample'), 'a meter sample event');
    ctrl.abort();
    await read;
    await api(base, '/api/connectors/1/sim', { action: 'unplug' });
  });

  describe('bad requests get a 4xx JSON error and the daemon keeps running', () => {
    const cases: [string, string, string, unknown, number, RegExp][] = [
      ['unknown endpoint', 'GET', '/api/nope', undefined, 404, /no such endpoint/],
      ['wrong method', 'DELETE', '/api/status', undefined, 405, /not allowed/],
      ['unknown connector', 'POST', '/api/connectors/9/tag', { idTag: 'x' }, 404, /no connector 9/],
      ['tag missing', 'POST', '/api/connectors/1/tag', {}, 400, /idTag/],
      ['tag too long', 'POST', '/api/connectors/1/tag', { idTag: 'X'.repeat(21) }, 400, /1 to 20/],
      ['unknown sim action', 'POST', '/api/connectors/1/sim', { action: 'fly' }, 400, /action: must be one of/],
      ['unknown fault kind', 'POST', '/api/connectors/1/sim', { action: 'fault', kind: 'fire' }, 400, /kind: must be one of/],
      ['limit out of range', 'POST', '/api/connectors/1/limit', { maxA: 500 }, 400, /maxA/],
      ['energy target not whole Wh', 'POST', '/api/connectors/1/target', { energyWh: 1500.5 }, 400, /energyWh: must be a whole number of Wh from 1 up to 1000000/],
      ['energy target too large', 'POST', '/api/connectors/1/target', { energyWh: 2_000_000 }, 400, /energyWh: must be a whole number of Wh/],
      ['bad date filter', 'GET', '/api/sessions?from=yesterday', undefined, 400, /from: not a date/],
      ['bad limit filter', 'GET', '/api/sessions?limit=-1', undefined, 400, /limit/],
      ['unknown session', 'GET', '/api/sessions/999999', undefined, 404, /no session/],
    ];
    for (const [name, method, path, body, status, msg] of cases) {
      it(name, async () => {
        const r = await api(base, path, body, method);
        expect(r.status).toBe(status);
        expect(r.body.error).toMatch(msg);
      });
    }

    it('not JSON, wrong content type, oversized body', async () => {
      const send = (headers: Record<string, string>, body: string) =>
        fetch(`${base}/api/connectors/1/tag`, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: string } }));
      expect(await send({ 'content-type': 'application/json' }, '{not json')).toMatchObject({ status: 400, body: { error: 'body is not valid JSON' } });
      expect((await send({ 'content-type': 'text/plain' }, 'hi')).status).toBe(415);
      expect((await send({ 'content-type': 'application/json' }, JSON.stringify({ idTag: 'x'.repeat(70_000) }))).status).toBe(413);
      expect((await send({ 'content-type': 'application/json' }, '[1,2]')).status).toBe(400);
    });

    it('a malformed request line does not crash the server', async () => {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port: d.address.port, path: '/%E0%A4%A', method: 'GET' }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      });
      expect((await api(base, '/api/status')).status).toBe(200);
    });
  });
});

describe('API token', () => {
  it('requires the bearer token on every request when configured', async () => {
    const dir = tempDir();
    const token = 'correct-horse-battery-staple';
    const file = writeSimConfig(dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', `api: { listen: 127.0.0.1:0, token: ${token} }`));
    const d2 = await startDaemon(loadConfig(file), silentLogger());
    try {
      const base = `http://127.0.0.1:${d2.address.port}`;
      expect((await fetch(`${base}/api/status`)).status).toBe(401);
      expect((await fetch(`${base}/api/status`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      expect((await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(`${base}/api/status?token=${token}`)).status).toBe(200);
      const post = await fetch(`${base}/api/connectors/1/sim?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"action":"plug"}' });
      expect(post.status).toBe(401); // query tokens only for GET (EventSource)
    } finally {
      await d2.stop();
    }
  });
});
