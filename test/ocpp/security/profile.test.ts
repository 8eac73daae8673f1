import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../csms.js';
import { TestCa, type Issued } from '../../support/test-pki.js';
import { loggedTypes, secureStation, tlsCsms, type Cleanups, type SecureStation, type TlsCsms } from './tls-rig.js';

/** The SecurityProfile key (whitepaper A05; OCTT TC_083 upgrade, TC_084 refused downgrade). */
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

let ca: TestCa;
let server: Issued;
let client: Issued;
beforeAll(async () => {
  ca = await TestCa.create('evsed test CSMS root');
  server = await ca.server();
  client = await ca.client('CP-TEST');
});

async function profile2(withCert: boolean): Promise<{ t: TlsCsms; s: SecureStation }> {
  const t = await tlsCsms(cleanups, server, [ca]);
  const s = await secureStation(cleanups, (x) => ({
    url: t.url, securityProfile: 2, password: 'tls-secret-1234', caFile: x.file('ca.pem', ca.pem),
    ...(withCert ? { clientCert: x.file('client.pem', client.pem), clientKey: x.file('client.key', client.keyPem) } : {}),
  }));
  await waitFor(() => s.cp.online, 'accepted on profile 2');
  return { t, s };
}

async function profileKey(t: TlsCsms): Promise<string> {
  const conf = await t.csms.call('GetConfiguration', { key: ['SecurityProfile'] });
  expect(conf.configurationKey[0]).toMatchObject({ key: 'SecurityProfile', readonly: false });
  return conf.configurationKey[0].value;
}

describe('SecurityProfile', () => {
  it('raised 2 → 3: Accepted, the answer first, then a reconnect with the client certificate and no password; kept after a restart', async () => {
    const { t, s } = await profile2(true);
    expect(await t.csms.call('ChangeConfiguration', { key: 'SecurityProfile', value: '3' })).toEqual({ status: 'Accepted' });
    await waitFor(() => t.csms.auths.length === 2 && s.cp.online, 'reconnected');
    expect(t.csms.closes[0]).toMatchObject({ code: 1000 }); // a clean close after the answer
    expect(t.peers.at(-1)).toMatchObject({ cn: 'CP-TEST', authorized: true });
    expect(t.csms.auths[1]).toEqual({ identity: 'CP-TEST', password: undefined });
    expect(await profileKey(t)).toBe('3');
    expect(s.cp.status().security).toMatchObject({ securityProfile: 3, chargePointCertificate: 'config', switching: null });
    expect(loggedTypes(s.cp)).toContain('ReconfigurationOfSecurityParameters');
    await s.restart();
    await waitFor(() => s.cp.online, 'accepted after the restart');
    expect(t.csms.auths.at(-1)).toEqual({ identity: 'CP-TEST', password: undefined });
    expect(await profileKey(t)).toBe('3');
  });

  it('never lowered nor kept: lower, equal or no number is Rejected; 3 without a client certificate is Rejected', async () => {
    const { t, s } = await profile2(false);
    for (const value of ['1', '2', '0', 'three', '4']) {
      expect([value, await t.csms.call('ChangeConfiguration', { key: 'SecurityProfile', value })]).toEqual([value, { status: 'Rejected' }]);
    }
    expect(await t.csms.call('ChangeConfiguration', { key: 'SecurityProfile', value: '3' })).toEqual({ status: 'Rejected' });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.csms.auths).toHaveLength(1);
    expect(await profileKey(t)).toBe('2');
    expect(s.cp.online).toBe(true);
  });

  it('3 cannot connect (the CSMS refuses client certificates): back to 2, which connects; the key stays 2, also after a restart', async () => {
    const { t, s } = await profile2(true);
    t.admit = (p) => p.cn === undefined;
    expect(await t.csms.call('ChangeConfiguration', { key: 'SecurityProfile', value: '3' })).toEqual({ status: 'Accepted' });
    await waitFor(() => t.peers.filter((p) => p.cn).length >= 3, 'three tries on profile 3');
    await waitFor(() => s.cp.online && t.csms.auths.length === 2, 'back on profile 2');
    expect(t.csms.auths[1]).toEqual({ identity: 'CP-TEST', password: 'tls-secret-1234' });
    expect(await profileKey(t)).toBe('2');
    expect(s.cp.security.securityLog().some((l) => /SecurityProfile 3 could not connect; back to 2/.test(l))).toBe(true);
    await s.restart();
    await waitFor(() => s.cp.online, 'accepted after the restart');
    expect(await profileKey(t)).toBe('2');
  });
});

describe('SecurityProfile in the config file', () => {
  it('ocpp.keys.SecurityProfile is an error naming ocpp.securityProfile', async () => {
    const { ocppConfigSchema } = await import('../../../src/config/ocpp.js');
    const r = ocppConfigSchema.safeParse({ version: '1.6', url: 'ws://h', password: 'secret-password', keys: { SecurityProfile: 2 } });
    expect(r.success).toBe(false);
    const issue = r.error!.issues.find((i) => i.path.join('.') === 'keys.SecurityProfile');
    expect(issue?.message).toMatch(/ocpp.securityProfile/);
  });
});
