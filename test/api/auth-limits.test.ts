import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiServer } from '../../src/api/server.js';
import { CLIENT_FREE_FAILURES, GLOBAL_DELAY_MS, GLOBAL_FREE_FAILURES } from '../../src/api/auth/sign-in.js';
import type { StationPort } from '../../src/evse/port.js';
import { silentLogger } from '../../src/log.js';
import { hashPassword } from '../../src/util/password-hash.js';
import { cookieOf, http, jsonBody, openStream, within } from './auth-http.js';

const PASSWORD = 'the-owners-password';

/** What GET /api/status needs of a station: nothing here is about the station. */
function fakeStation(): StationPort {
  const events = new EventEmitter();
  return Object.assign(events, {
    info: { id: 'CP-FAKE' },
    view: () => ({ id: 'CP-FAKE', connectors: [] }),
    extraStatus: () => ({}),
    connectorIds: () => [1],
  }) as unknown as StationPort;
}

/**
 * Expiry and throttling of the sign-in with a fake monotonic clock (no waiting in real time): an
 * API server with only the sign-in's routes that matter here, over real HTTP.
 */
describe('sign-in expiry and throttling (fake clock)', () => {
  let api: ApiServer;
  let base: string;
  let now = 1_000_000;
  const slept: number[] = [];
  const attempt = (password: string, from?: string) => http(base, 'POST', '/api/session', { ...jsonBody({ password }, { origin: base }), ...(from ? { from } : {}) });
  const status = (id: string) => http(base, 'GET', '/api/status', { headers: { cookie: `evsed_session=${id}` } }).then((r) => r.status);

  beforeAll(async () => {
    api = new ApiServer({
      station: fakeStation(),
      sessions: { list: () => [], get: () => undefined, samples: () => [] },
      log: silentLogger(),
      host: '127.0.0.1',
      port: 0,
      signIn: {
        passwordHash: await hashPassword(PASSWORD, { ln: 14, r: 8, p: 1 }),
        idleHours: 2,
        maxDays: 1,
        secureCookie: true,
        now: () => now,
        sleep: async (ms) => {
          slept.push(ms);
        },
        sweepMs: 20,
      },
    });
    base = `http://127.0.0.1:${(await api.listen()).port}`;
  });
  afterAll(() => api?.close());
  beforeEach(() => {
    // Past every throttle's memory (15 min): each test starts without failures.
    now += 3_600_000;
    slept.length = 0;
  });

  it('a session ends after idleHours without a request, is kept alive by use, and ends after maxDays whatever', async () => {
    const r = await attempt(PASSWORD);
    expect(r.status).toBe(200);
    // secureCookie: true marks it Secure.
    expect(String(r.headers['set-cookie'])).toMatch(/; Max-Age=86400; Secure$/);
    const id = cookieOf(r);
    expect(await status(id)).toBe(200);
    // Used every 1 h 59 min: never idle for 2 h, alive until 24 h after the sign-in.
    const signedInAt = now;
    while (now + 119 * 60_000 < signedInAt + 86_400_000) {
      now += 119 * 60_000;
      expect(await status(id), `${(now - signedInAt) / 3_600_000} h after the sign-in`).toBe(200);
    }
    now = signedInAt + 86_400_000;
    expect(await status(id)).toBe(401);

    const idle = cookieOf(await attempt(PASSWORD));
    now += 2 * 3_600_000 - 1;
    expect(await status(idle)).toBe(200);
    now += 2 * 3_600_000;
    expect(await status(idle)).toBe(401);
  });

  it('the event stream of an expired session is ended by the sweep, without waiting for a request', async () => {
    const id = cookieOf(await attempt(PASSWORD));
    const stream = await openStream(base, '/api/events', { cookie: `evsed_session=${id}` });
    try {
      expect(stream.status).toBe(200);
      now += 2 * 3_600_000;
      await within(stream.ended, 'the stream ended by the sweep');
    } finally {
      stream.close();
    }
  });

  it(`per client: ${CLIENT_FREE_FAILURES} failures are free, then each attempt waits 1 s, 2 s, 4 s, … at most a minute; never a lock-out`, async () => {
    for (let i = 0; i < CLIENT_FREE_FAILURES; i++) expect((await attempt('wrong')).status).toBe(401);
    // Even the right password is not checked while the client must wait.
    let r = await attempt(PASSWORD);
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json().retryAfterS).toBe(1);
    // Another client is not held up by this one.
    expect((await attempt(PASSWORD, '127.0.0.2')).status).toBe(200);

    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      r = await attempt('wrong');
      expect(r.status).toBe(429);
      const wait = Number(r.headers['retry-after']);
      waits.push(wait);
      now += wait * 1000;
      expect((await attempt('wrong')).status).toBe(401);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    // The owner, after the longest wait, gets in, and the count starts again.
    now += 60_000;
    r = await attempt(PASSWORD);
    expect(r.status).toBe(200);
    expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt(PASSWORD)).status).toBe(200);
  });

  it(`in all: after ${GLOBAL_FREE_FAILURES} failures from any clients every check is slowed by ${GLOBAL_DELAY_MS} ms, none refused`, async () => {
    let failures = 0;
    for (let client = 2; failures < GLOBAL_FREE_FAILURES; client++) {
      for (let i = 0; i < CLIENT_FREE_FAILURES && failures < GLOBAL_FREE_FAILURES; i++, failures++) {
        expect((await attempt('wrong', `127.0.1.${client}`)).status).toBe(401);
      }
    }
    expect(slept).toEqual([]);
    // A client that never failed: its attempt waits the global delay, then is checked.
    expect((await attempt(PASSWORD, '127.0.2.1')).status).toBe(200);
    expect(slept).toEqual([GLOBAL_DELAY_MS]);
    // Forgotten 15 minutes after the last failure.
    now += 15 * 60_000;
    expect((await attempt(PASSWORD, '127.0.2.2')).status).toBe(200);
    expect(slept).toEqual([GLOBAL_DELAY_MS]);
  });
});
