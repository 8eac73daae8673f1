import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configWarnings } from '../../src/config/warnings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { Logger } from '../../src/log.js';
import { tempDir, writeSimConfig } from '../support/station.js';

/** A logger at trace level whose lines (parsed) and raw text the test can read. */
function captureLogger(): { log: Logger; lines: Record<string, any>[]; raw: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const raw = () => chunks.join('');
  return {
    log: pino({ level: 'trace' }, stream),
    get lines() {
      return raw().split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, any>);
    },
    raw,
  };
}

/** A sim station with `api` as its api section. */
async function daemonWith(api: string, log: Logger): Promise<Daemon> {
  const file = writeSimConfig(tempDir());
  writeFileSync(file, readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', `api: ${api}`));
  return startDaemon(loadConfig(file), log);
}

const WARNING = 'without a sign-in password or api.token, so anyone on the network can control the station';

describe('API logging', () => {
  const daemons: Daemon[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
  });

  it('never writes a ?token= query token to the log (trace lines of every request, error lines of 5xx)', async () => {
    const token = 'query-token-that-must-not-be-logged';
    const cap = captureLogger();
    const d = await daemonWith(`{ listen: 127.0.0.1:0, token: ${token} }`, cap.log);
    daemons.push(d);
    d.api.route('GET', '/api/test-failure', () => {
      throw new Error('something broke');
    });
    const base = `http://127.0.0.1:${d.address.port}`;
    const ok = await fetch(`${base}/api/status?token=${token}&x=1`);
    expect(ok.status).toBe(200);
    await ok.text();
    const failed = await fetch(`${base}/api/test-failure?a=1&token=${token}`);
    expect(failed.status).toBe(500);
    await failed.text();
    const refused = await fetch(`${base}/api/status?TOKEN=${token.toUpperCase()}x`);
    expect(refused.status).toBe(401);
    await refused.text();
    // The URL parser decodes the name, so the API accepts %74oken= as token=: the log must not show it either.
    const encoded = await fetch(`${base}/api/sessions?%74oken=${token}`);
    expect(encoded.status).toBe(200);
    await encoded.text();

    const lines = cap.lines;
    const requests = lines.filter((l) => l.msg === 'api request');
    expect(requests.map((l) => l.url)).toEqual(['/api/status?token=***&x=1', '/api/test-failure?a=1&token=***', '/api/status?TOKEN=***', '/api/sessions?%74oken=***']);
    expect(lines.find((l) => l.msg === 'API error')).toMatchObject({ level: 50, err: 'something broke', url: '/api/test-failure?a=1&token=***' });
    expect(cap.raw().toLowerCase()).not.toContain(token);
  });

  it('warns when api.listen is beyond localhost without api.token (allowed only with api.trustedNetwork), and only then', () => {
    // A config warning (config check prints it, run logs it: test/config/one-pass.test.ts), not the server's own.
    const cases: [api: string, warns: boolean][] = [
      ['{ listen: "0.0.0.0:0", trustedNetwork: true }', true],
      ['{ listen: "0.0.0.0:0", token: a-long-enough-token-1234 }', false],
      ['{ listen: "127.0.0.1:0" }', false],
      ['{ listen: "[::1]:0" }', false],
      ['{ listen: "127.0.0.2:0" }', false], // all of 127.0.0.0/8 is loopback
    ];
    for (const [api, warns] of cases) {
      const file = writeSimConfig(tempDir());
      writeFileSync(file, readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', `api: ${api}`));
      const warnings = configWarnings(loadConfig(file).config).filter((w) => w.includes(WARNING));
      expect(warnings.length, api).toBe(warns ? 1 : 0);
      if (warns) expect(warnings[0]).toMatch(/^api\.trustedNetwork: the API listens beyond localhost \(0\.0\.0\.0:0\) without a sign-in password or api\.token/);
    }
  });
});
