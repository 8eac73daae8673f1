import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { runCli, tempDir, until, writeSimConfig } from '../support/station.js';

/** A sim station config whose api section is `api`. */
function withApi(api: string): string {
  const file = writeSimConfig(tempDir());
  writeFileSync(file, readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', `api: ${api}`));
  return file;
}

/** One request with exactly these headers (fetch would set Host and Origin itself). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Issue 12: the API is safe by default in a browser. What a page on another origin can make a
 * browser send (CORS-simple requests: a form, a text/plain fetch, a beacon) changes nothing; a
 * request that needs a preflight never follows because the preflight is refused; a name rebound to
 * the station (DNS rebinding) is refused by its Host header. The same in real Chromium:
 * test/dashboard/cross-origin.test.ts.
 */
describe('the API against cross-site requests and DNS rebinding', () => {
  let d: Daemon;
  let port: number;
  let host: string;
  beforeAll(async () => {
    const dir = tempDir();
    d = await startDaemon(loadConfig(writeSimConfig(dir)), silentLogger());
    port = d.address.port;
    host = `127.0.0.1:${port}`;
    const hw = d.hardware(1) as SimHardware;
    hw.ev.plug();
    await d.station.presentTag(1, 'TAG-1');
    hw.ev.ready();
    await until(() => d.station.connectorView(1)!.contactorClosed, 'charging');
  });
  afterAll(() => d?.stop());

  const json = (extra: Record<string, string> = {}) => ({ Host: host, 'Content-Type': 'application/json', ...extra });
  const apiLimit = () => d.station.claims(1).find((c) => c.source === 'api')?.maxA;

  it('takes a JSON body only with the exact type application/json (charset utf-8 allowed): text/plain;application/json is refused', async () => {
    for (const type of ['text/plain;application/json', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json; charset=latin1', 'application/json, text/plain']) {
      const r = await send(port, 'POST', '/api/connectors/1/limit', { Host: host, 'Content-Type': type }, '{"maxA":6}');
      expect(r.status, type).toBe(415);
    }
    expect(apiLimit()).toBeUndefined();
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"']) {
      const r = await send(port, 'POST', '/api/connectors/1/limit', { Host: host, 'Content-Type': type }, '{"maxA":null}');
      expect(r.status, type).toBe(200);
    }
  });

  it('every command needs a JSON body: stop, pause, resume, wake and clear-faults without one change nothing', async () => {
    for (const action of ['stop', 'pause', 'resume', 'wake', 'clear-faults']) {
      for (const headers of [{ Host: host } as Record<string, string>, { Host: host, 'Content-Type': 'text/plain' }, { Host: host, 'Content-Type': 'application/x-www-form-urlencoded' }]) {
        const r = await send(port, 'POST', `/api/connectors/1/${action}`, headers, '');
        expect(r.status, `${action} ${JSON.stringify(headers)}`).toBe(415);
      }
      // A body that is not a JSON object is refused as well.
      expect((await send(port, 'POST', `/api/connectors/1/${action}`, json(), 'stop')).status, action).toBe(400);
    }
    const view = d.station.connectorView(1)!;
    expect({ status: view.status, paused: view.paused, session: view.session !== null }).toEqual({ status: 'Charging', paused: false, session: true });
    // With the JSON body the command works.
    const paused = await send(port, 'POST', '/api/connectors/1/pause', json(), '{}');
    expect(paused).toMatchObject({ status: 200, json: { paused: true } });
    expect((await send(port, 'POST', '/api/connectors/1/resume', json(), '')).json).toEqual({ resumed: true });
  });

  it('refuses preflights (no CORS is ever granted) and writes from a foreign Origin', async () => {
    const pre = await send(port, 'OPTIONS', '/api/connectors/1/stop', { Host: host, Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' });
    expect(pre.status).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.headers['access-control-allow-methods']).toBeUndefined();
    for (const origin of ['http://evil.example', 'null', `http://localhost:${port}`, `https://127.0.0.1:${port}`, 'http://127.0.0.1:1']) {
      const r = await send(port, 'POST', '/api/connectors/1/limit', json({ Origin: origin }), '{"maxA":6}');
      expect(r.status, origin).toBe(403);
    }
    expect(apiLimit()).toBeUndefined();
    // The station's own page (same origin) may write.
    const own = await send(port, 'POST', '/api/connectors/1/limit', json({ Origin: `http://${host}` }), '{"maxA":null}');
    expect(own.status).toBe(200);
    // A read answers without any CORS header: another origin cannot read it.
    const get = await send(port, 'GET', '/api/status', { Host: host, Origin: 'http://evil.example' });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a Host that is not an IP address, localhost or a configured name (DNS rebinding)', async () => {
    for (const h of [`evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`, `evse.local:${port}`, 'a b', `${host}@evil.example`]) {
      for (const path of ['/api/status', '/api/sessions', '/api/events', '/']) {
        const r = await send(port, 'GET', path, { Host: h });
        expect(r.status, `${h} ${path}`).toBe(421);
        expect(r.json?.error, h).toMatch(/api\.allowedHosts/);
      }
    }
    for (const h of [host, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, '192.168.1.50:8080', '10.0.0.7', '[fe80::1]:80']) {
      expect((await send(port, 'GET', '/api/status', { Host: h })).status, h).toBe(200);
    }
  });
});

describe('api.allowedHosts', () => {
  it('lets the station be reached by the names listed there', async () => {
    const file = withApi('{ listen: 127.0.0.1:0, allowedHosts: [evse.local, Charger.Fritz.Box.] }');
    const d2 = await startDaemon(loadConfig(file), silentLogger());
    try {
      const port = d2.address.port;
      for (const h of [`evse.local:${port}`, 'EVSE.LOCAL', `charger.fritz.box:${port}`, 'charger.fritz.box.']) expect((await send(port, 'GET', '/api/status', { Host: h })).status, h).toBe(200);
      expect((await send(port, 'GET', '/api/status', { Host: `other.local:${port}` })).status).toBe(421);
    } finally {
      await d2.stop();
    }
  });
});

describe('listening beyond localhost', () => {
  /** The config's problems (one line each), or [] when it is valid. */
  const problems = (api: string): string[] => {
    try {
      loadConfig(withApi(api));
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  const FIX = 'set a password for the page (`evsed passwd`) and/or api.token (16 characters or more) for scripts, listen on 127.0.0.1, or set api.trustedNetwork: true if everyone on this network may';

  it('without api.token is a config error (exit 78) naming the key and the fix, unless api.trustedNetwork says so', async () => {
    const r = await runCli(['config', 'check', withApi('{ listen: "0.0.0.0:8080" }')]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`api.listen: listens beyond localhost without a sign-in password or api.token, so anyone on the network could control the station: ${FIX} (got "0.0.0.0:8080")`);
    for (const api of ['{ listen: "192.168.1.50:8080" }', '{ listen: "[::]:8080" }', '{ listen: "evse.local:8080", trustedNetwork: false }']) {
      expect(problems(api), api).toEqual([expect.stringContaining(FIX)]);
    }
    for (const api of ['{ listen: "0.0.0.0:8080", token: a-long-enough-token-1234 }', '{ listen: "0.0.0.0:8080", trustedNetwork: true }', '{ listen: "127.0.0.1:8080" }', '{ listen: "127.0.0.2:8080" }', '{ listen: "[::1]:8080" }', '{ listen: "localhost:8080" }']) {
      expect(problems(api), api).toEqual([]);
    }
  });

  it('checks the names in api.allowedHosts', () => {
    expect(problems('{ listen: "127.0.0.1:8080", allowedHosts: ["http://evse.local/", "evse.local:8080"] }')).toEqual([
      'api.allowedHosts[0]: must be a host name without scheme, port or path, e.g. evse.local (got "http://evse.local/")',
      'api.allowedHosts[1]: must be a host name without scheme, port or path, e.g. evse.local (got "evse.local:8080")',
    ]);
  });
});
