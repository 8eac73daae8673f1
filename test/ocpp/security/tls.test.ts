import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../csms.js';
import { TestCa, type Issued } from '../../support/test-pki.js';
import { loggedTypes, secureStation, tlsCsms, type Cleanups } from './tls-rig.js';

/** TLS to the CSMS with a test CA made in the test (security profiles 2 and 3, whitepaper A00/A02). */
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

let ca: TestCa;
let otherCa: TestCa;
let server: Issued;
let client: Issued;
beforeAll(async () => {
  ca = await TestCa.create('evsed test CSMS root');
  otherCa = await TestCa.create('someone else');
  server = await ca.server();
  client = await ca.client('CP-TEST');
});

describe('connecting over TLS', () => {
  it('profile 2: the CSMS certificate chain is verified against the configured CA; Basic auth inside TLS', async () => {
    const t = await tlsCsms(cleanups, server, [ca]);
    const s = await secureStation(cleanups, (x) => ({ url: t.url, password: 'tls-secret-1234', caFile: x.file('ca.pem', ca.pem) }));
    await waitFor(() => s.cp.online, 'accepted over TLS');
    expect(t.csms.auths[0]).toEqual({ identity: 'CP-TEST', password: 'tls-secret-1234' });
    expect(t.peers[0]).toEqual({ authorized: false }); // profile 2 presents no client certificate
    expect(loggedTypes(s.cp)).not.toContain('InvalidCentralSystemCertificate');
  });

  it('profile 2: a CSMS certificate of another CA → InvalidCentralSystemCertificate, no connection (logged once, not per retry)', async () => {
    const t = await tlsCsms(cleanups, server, [ca]);
    const s = await secureStation(cleanups, (x) => ({ url: t.url, password: 'tls-secret-1234', caFile: x.file('ca.pem', otherCa.pem) }));
    await waitFor(() => s.cp.link.counters.connects === 0 && loggedTypes(s.cp).includes('InvalidCentralSystemCertificate'), 'the event');
    const before = s.cp.link.lastError;
    await new Promise((r) => setTimeout(r, 500)); // several retries
    expect(before).toMatch(/certificate/i);
    expect(t.csms.auths).toHaveLength(0);
    expect(s.cp.link.counters.connects).toBe(0);
    expect(loggedTypes(s.cp).filter((x) => x === 'InvalidCentralSystemCertificate')).toHaveLength(1);
    const line = s.cp.security.securityLog().find((l) => l.includes('InvalidCentralSystemCertificate'))!;
    expect(line).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  });

  it('a 401 at connect (wrong password) → FailedToAuthenticateAtCentralSystem in the security log', async () => {
    const t = await tlsCsms(cleanups, server, [ca]);
    t.csms.server.auth((_accept, reject) => reject(401, 'Unauthorized'));
    const s = await secureStation(cleanups, (x) => ({ url: t.url, password: 'wrong-password-12', caFile: x.file('ca.pem', ca.pem) }));
    await waitFor(() => loggedTypes(s.cp).includes('FailedToAuthenticateAtCentralSystem'), 'the event');
    expect(s.cp.online).toBe(false);
  });

  it('profile 3: mutual TLS with the client certificate, no password', async () => {
    const t = await tlsCsms(cleanups, server, [ca]);
    const s = await secureStation(cleanups, (x) => ({ url: t.url, caFile: x.file('ca.pem', ca.pem), clientCert: x.file('client.pem', client.pem), clientKey: x.file('client.key', client.keyPem) }));
    await waitFor(() => s.cp.online, 'accepted over mutual TLS');
    expect(t.peers[0]).toMatchObject({ cn: 'CP-TEST', authorized: true });
    expect(t.csms.auths[0]).toEqual({ identity: 'CP-TEST', password: undefined });
  });
});
