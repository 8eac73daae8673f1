import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configWarnings } from '../../src/config/warnings.js';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../src/util/password-hash.js';
import { SessionTable } from '../../src/api/auth/session-table.js';
import { problems } from '../support/config-problems.js';

const FAST = { ln: 14, r: 8, p: 1 };

const config = (api: string) => `station: { id: CP-1, vendor: evsed, model: test }
storage: { dir: /tmp/evsed-unused }
auth: { mode: free }
api: ${api}
connectors:
  - { id: 1, maxCurrentA: 16, phases: 1, hardware: { driver: sim }, meter: { model: sim } }
`;

describe('password hashes (api.passwordHash)', () => {
  it('are scrypt with a random salt and the parameters in the string; only the right password matches', async () => {
    const a = await hashPassword('pässword-1', FAST);
    const b = await hashPassword('pässword-1', FAST);
    expect(a).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('pässword-1', a)).toBe(true);
    expect(await verifyPassword('pässword-1', b)).toBe(true);
    // The same text in another Unicode form (a phone keyboard's) is the same password.
    expect(await verifyPassword('pa\u0308ssword-1', a)).toBe(true);
    for (const wrong of ['pässword-2', 'Pässword-1', 'pässword-1 ', '']) expect(await verifyPassword(wrong, a), wrong).toBe(false);
    // The default costs more than the fast one the tests use.
    expect(await hashPassword('x', undefined)).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
  });

  it('a malformed hash or one too cheap or too costly is refused, never verified', async () => {
    const good = await hashPassword('pw', FAST);
    expect(typeof parsePasswordHash(good)).toBe('object');
    for (const bad of ['', 'plain-text-password', good.replace('ln=14', 'ln=10'), good.replace('ln=14', 'ln=30'), good.replace('r=8', 'r=99'), good.slice(0, -4)]) {
      expect(typeof parsePasswordHash(bad), bad).toBe('string');
      expect(await verifyPassword('pw', bad)).toBe(false);
    }
  });

  it('in the config: names the key without echoing the value; a password alone allows a LAN listener, without a warning', async () => {
    const hash = await hashPassword('pw', FAST);
    const p = problems(config('{ listen: "127.0.0.1:8080", passwordHash: "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" }'));
    expect(p).toEqual([expect.stringMatching(/^api\.passwordHash: ln=10 is outside 14\.\.20: set the password again with `evsed passwd`/)]);
    expect(p[0]).not.toContain('c2FsdHNhbHRzYWx0c2FsdA');
    expect(problems(config('{ listen: "127.0.0.1:8080", passwordHash: "hunter2" }'))[0]).not.toContain('hunter2');

    const lan = parseConfig(config(`{ listen: "0.0.0.0:8080", passwordHash: "${hash}" }`), 'test.yaml');
    expect(lan.api.passwordHash).toBe(hash);
    expect(lan.api.signIn).toEqual({ idleHours: 24, maxDays: 30, secureCookie: false });
    expect(configWarnings(lan).filter((w) => w.startsWith('api.'))).toEqual([]);
  });

  it('a LAN listener with neither password nor token: an error, or with trustedNetwork one warning (config check and run share it)', () => {
    expect(problems(config('{ listen: "0.0.0.0:8080" }'))).toEqual([expect.stringContaining('api.listen: listens beyond localhost without a sign-in password or api.token')]);
    const trusted = parseConfig(config('{ listen: "0.0.0.0:8080", trustedNetwork: true }'), 'test.yaml');
    expect(configWarnings(trusted).filter((w) => w.startsWith('api.'))).toEqual([
      'api.trustedNetwork: the API listens beyond localhost (0.0.0.0:8080) without a sign-in password or api.token, so anyone on the network can control the station; set a password for the page (`evsed passwd`) and/or api.token (16 characters or more) unless everyone on this network may',
    ]);
    expect(problems(config('{ listen: "127.0.0.1:8080", signIn: { idleHours: 0, maxDays: 400 } }'))).toEqual([
      expect.stringMatching(/^api\.signIn\.idleHours: /),
      expect.stringMatching(/^api\.signIn\.maxDays: /),
    ]);
  });
});

describe('the session table', () => {
  it('keeps at most `max` sessions, ending the least recently used; ids are 32 random bytes and kept only hashed', () => {
    let now = 0;
    const t = new SessionTable({ idleMs: 1000, maxAgeMs: 10_000, max: 3, now: () => now });
    const ids = [t.create(), t.create(), t.create()];
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    now = 1;
    t.touch(ids[0]!);
    const fourth = t.create();
    expect(t.size).toBe(3);
    expect([ids[0], ids[1], ids[2], fourth].map((id) => t.touch(id!))).toEqual([true, false, true, true]);
    expect(JSON.stringify([...(t as any).entries.keys()])).not.toContain(ids[0]);
    // Expired sessions make room before a live one is ended.
    now = 5000;
    const fresh = t.create();
    expect(t.size).toBe(1);
    expect(t.touch(fresh)).toBe(true);
  });
});
