import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { hashPassword } from '../../src/util/password-hash.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';
import { cookieOf, form, http, jsonBody, openStream, streamHead, within } from './auth-http.js';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'script-token-for-the-sign-in-test';

/**
 * The page's sign-in against a real daemon (simulated station) with api.passwordHash and api.token:
 * every route needs the cookie or the token, the cookie's attributes, same-origin writes only,
 * sign-out, and the hash in no output.
 */
describe('sign-in (api.passwordHash)', () => {
  let d: Daemon;
  let base: string;
  let hash: string;
  let logged = '';
  const origin = () => ({ origin: base });

  beforeAll(async () => {
    hash = await hashPassword(PASSWORD, { ln: 14, r: 8, p: 1 });
    const file = writeSimConfig(tempDir());
    writeFileSync(file, readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', `api: { listen: 127.0.0.1:0, token: ${TOKEN}, passwordHash: "${hash}" }`));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged += String(chunk);
        cb();
      },
    });
    d = await startDaemon(loadConfig(file), pino({ level: 'trace' }, sink));
    base = `http://127.0.0.1:${d.address.port}`;
  });
  afterAll(() => d?.stop());

  async function signIn(extra: Record<string, string> = {}): Promise<string> {
    const f = form(PASSWORD);
    const r = await http(base, 'POST', '/api/session', { ...f, headers: { ...f.headers, ...origin(), ...extra } });
    expect(r.status).toBe(303);
    return cookieOf(r);
  }

  it('without cookie or token: pages go to the sign-in, API routes (SSE and sim included) answer 401', async () => {
    const page = await http(base, 'GET', '/');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/signin');
    expect((await http(base, 'GET', '/dashboard/app.js')).status).toBe(303);
    for (const path of ['/api/status', '/api/sessions', '/api/sessions.csv', '/api/stats', '/api/tags']) {
      const r = await http(base, 'GET', path);
      expect(r.status, path).toBe(401);
      expect(r.json()).toMatchObject({ signIn: '/signin' });
    }
    expect((await streamHead(base, '/api/events')).status).toBe(401);
    const sim = await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'plug' }, origin()));
    expect(sim.status).toBe(401);
    expect(d.station.connectorView(1)!.status).toBe('Available');
  });

  it('serves a sign-in page that works without script: a labelled password field in a form posting to /api/session', async () => {
    const r = await http(base, 'GET', '/signin');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['content-security-policy']).toContain("form-action 'self'");
    expect(r.text).toMatch(/<form[^>]*method="post"[^>]*action="\/api\/session"/);
    expect(r.text).toMatch(/<label for="password">Password<\/label>/);
    expect(r.text).toMatch(/<input id="password" name="password" type="password" autocomplete="current-password"/);
    expect(r.text).not.toContain('<script');
    expect((await http(base, 'GET', '/signin.css')).status).toBe(200);
  });

  it('a wrong password is 401 with a page that does not say what was wrong, and sets no cookie', async () => {
    const f = form('not the password');
    const r = await http(base, 'POST', '/api/session', { ...f, headers: { ...f.headers, ...origin() } });
    expect(r.status).toBe(401);
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.text).toContain('Sign-in failed. Check the password and try again.');
    const j = await http(base, 'POST', '/api/session', jsonBody({ password: 'still not it' }, origin()));
    expect(j.status).toBe(401);
    expect(j.json()).toEqual({ error: 'sign-in failed' });
  });

  it('the right password sets an HttpOnly, SameSite=Strict session cookie of 32 random bytes and leads to the page', async () => {
    const f = form(PASSWORD);
    const r = await http(base, 'POST', '/api/session', { ...f, headers: { ...f.headers, ...origin() } });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
    expect(set).toHaveLength(1);
    const attrs = set[0]!.split(/;\s*/);
    expect(attrs[0]).toMatch(/^evsed_session=[A-Za-z0-9_-]{43}$/);
    expect(attrs.slice(1).sort()).toEqual(['HttpOnly', `Max-Age=${30 * 86400}`, 'Path=/', 'SameSite=Strict']);
    expect(Buffer.from(cookieOf(r), 'base64url')).toHaveLength(32);
    // JSON works the same (the page's script), and each sign-in is a new id.
    const j = await http(base, 'POST', '/api/session', jsonBody({ password: PASSWORD }, origin()));
    expect(j.status).toBe(200);
    expect(cookieOf(j)).not.toBe(cookieOf(r));
  });

  it('the cookie opens every GET, the event stream and same-origin writes', async () => {
    const cookie = `evsed_session=${await signIn()}`;
    expect((await http(base, 'GET', '/', { headers: { cookie } })).status).toBe(200);
    const st = await http(base, 'GET', '/api/status', { headers: { cookie } });
    expect(st.status).toBe(200);
    expect(st.json().id).toBe('CP-TEST');
    expect((await http(base, 'GET', '/api/session', { headers: { cookie } })).json()).toEqual({ passwordSet: true, via: 'cookie' });
    expect(await streamHead(base, '/api/events', { cookie })).toEqual({ status: 200, type: 'text/event-stream; charset=utf-8' });
    const plug = await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'plug' }, { cookie, ...origin() }));
    expect(plug.status).toBe(200);
    expect(plug.json().status).toBe('Preparing');
    // A browser that sends no Origin but says same-origin.
    const unplug = await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'unplug' }, { cookie, 'sec-fetch-site': 'same-origin' }));
    expect(unplug.status).toBe(200);
  });

  it('refuses writes with the cookie from another origin, a sibling site, or a client that declares no origin', async () => {
    const cookie = `evsed_session=${await signIn()}`;
    const cases: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      {},
    ];
    for (const h of cases) {
      const r = await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'plug' }, { cookie, ...h }));
      expect(r.status, JSON.stringify(h)).toBe(403);
    }
    expect(d.station.connectorView(1)!.status).toBe('Available');
    // Nor may another site sign a browser in (or out).
    const f = form(PASSWORD);
    expect((await http(base, 'POST', '/api/session', { ...f, headers: { ...f.headers, origin: 'http://evil.example' } })).status).toBe(403);
    expect((await http(base, 'POST', '/api/session', { ...f, headers: { ...f.headers, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await http(base, 'DELETE', '/api/session', { headers: { cookie, origin: 'http://evil.example' } })).status).toBe(403);
    expect((await http(base, 'GET', '/api/status', { headers: { cookie } })).status).toBe(200);
  });

  it('api.token keeps working for scripts, unchanged (header, or ?token= on a GET)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await http(base, 'GET', '/api/status', { headers: auth })).status).toBe(200);
    expect((await http(base, 'GET', `/api/status?token=${TOKEN}`)).status).toBe(200);
    expect((await http(base, 'GET', '/api/session', { headers: auth })).json()).toEqual({ passwordSet: true, via: 'token' });
    const plug = await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'plug' }, auth));
    expect(plug.status).toBe(200);
    expect((await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'unplug' }, auth))).status).toBe(200);
    expect((await http(base, 'GET', '/api/status', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  });

  it('sign-out ends the session on the station and deletes the cookie; a new sign-in does not revive an old id', async () => {
    const id = await signIn();
    const cookie = `evsed_session=${id}`;
    const out = await http(base, 'DELETE', '/api/session', { headers: { cookie, ...origin() } });
    expect(out.status).toBe(200);
    const set = ([] as string[]).concat(out.headers['set-cookie'] ?? []);
    expect(set[0]).toMatch(/^evsed_session=; .*Max-Age=0/);
    expect((await http(base, 'GET', '/api/status', { headers: { cookie } })).status).toBe(401);
    // Signing in with an old cookie in the request rotates: the old id stays dead, the new one works.
    const again = await signIn({ cookie });
    expect(again).not.toBe(id);
    expect((await http(base, 'GET', '/api/status', { headers: { cookie } })).status).toBe(401);
    const other = await signIn();
    const rotated = await signIn({ cookie: `evsed_session=${other}` });
    expect((await http(base, 'GET', '/api/status', { headers: { cookie: `evsed_session=${other}` } })).status).toBe(401);
    expect((await http(base, 'GET', '/api/status', { headers: { cookie: `evsed_session=${rotated}` } })).status).toBe(200);
  });

  it('an event stream opened with the cookie ends when its session is signed out', async () => {
    const cookie = `evsed_session=${await signIn()}`;
    const stream = await openStream(base, '/api/events', { cookie });
    const withToken = await openStream(base, '/api/events', { authorization: `Bearer ${TOKEN}` });
    try {
      expect(stream.status).toBe(200);
      await until(() => stream.text().includes('event: status'), 'the first status event');
      expect((await http(base, 'DELETE', '/api/session', { headers: { cookie, ...origin() } })).status).toBe(200);
      await within(stream.ended, 'the stream ended by the sign-out');
      // The station goes on: later events reach the other streams, nothing is written to the ended one.
      const before = withToken.text().length;
      expect((await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'plug' }, { authorization: `Bearer ${TOKEN}` }))).status).toBe(200);
      await until(() => withToken.text().length > before, 'an event after the sign-out');
      expect((await http(base, 'POST', '/api/connectors/1/sim', jsonBody({ action: 'unplug' }, { authorization: `Bearer ${TOKEN}` }))).status).toBe(200);
    } finally {
      stream.close();
      withToken.close();
    }
  });

  it('never shows the hash: not in /api/status, not in the log (trace), not the password either', async () => {
    const status = await http(base, 'GET', '/api/status', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(status.text).not.toContain(hash);
    expect(status.text).not.toContain(hash.split('$')[4]!);
    expect(logged).toContain('signed in');
    expect(logged).toContain('sign-in failed');
    for (const secret of [hash, hash.split('$')[4]!, hash.split('$')[5]!, PASSWORD, TOKEN]) expect(logged).not.toContain(secret);
  });
});
