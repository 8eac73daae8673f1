import { describe, expect, it } from 'vitest';
import { ocppConfigSchema } from '../../src/config/ocpp.js';
import { formatIssues } from '../../src/config/errors.js';
import { KeyStore } from '../../src/ocpp/v16/key-store.js';
import { KeyRepository } from '../../src/store/ocpp/keys.js';
import { openTestDb, tempDir } from './helpers.js';

function problems(input: unknown): string[] {
  const r = ocppConfigSchema.safeParse(input, { reportInput: true });
  return r.success ? [] : formatIssues(ocppConfigSchema, r.error.issues, input);
}

describe('ocpp config section', () => {
  it('derives the security profile and strips a trailing slash', () => {
    expect(ocppConfigSchema.parse({ version: '1.6', url: 'ws://127.0.0.1:9000/ocpp/' })).toMatchObject({ url: 'ws://127.0.0.1:9000/ocpp', securityProfile: 0, callTimeoutS: 30 });
    expect(ocppConfigSchema.parse({ version: '1.6', url: 'ws://h/ocpp', password: 'secret' }).securityProfile).toBe(1);
    expect(ocppConfigSchema.parse({ version: '1.6', url: 'wss://h/ocpp', password: 'secret' }).securityProfile).toBe(2);
    expect(ocppConfigSchema.parse({ version: '1.6', url: 'wss://h/ocpp', clientCert: 'c.pem', clientKey: 'k.pem' }).securityProfile).toBe(3);
  });

  it('explains inconsistent security settings', () => {
    expect(problems({ version: '1.6', url: 'ws://h/ocpp', securityProfile: 2, password: 'x' })).toEqual(['url: securityProfile 2 needs a wss:// URL (TLS) (got "ws://h/ocpp")']);
    expect(problems({ version: '1.6', url: 'wss://h/ocpp', securityProfile: 3 })).toEqual(['clientCert: securityProfile 3 (mutual TLS) needs clientCert and clientKey (got nothing)']);
    expect(problems({ version: '1.6', url: 'wss://h', clientCert: 'c.pem' })[0]).toMatch(/^clientKey: clientCert and clientKey go together/);
    expect(problems({ version: '1.6', url: 'ws://h', securityProfile: 1 })).toEqual(['password: securityProfile 1 needs a password (HTTP Basic auth) (got nothing)']);
    expect(problems({ version: '1.6', url: 'http://h' })[0]).toMatch(/^url: must be a ws:\/\/ or wss:\/\/ URL/);
    expect(problems({ version: '2.0.1', url: 'ws://h' })[0]).toMatch(/^version: must be "1.6"/);
    expect(problems({ version: '1.6', url: 'ws://h', pasword: 'x' })).toEqual(['ocpp.pasword: unknown key (did you mean password?)'.replace('ocpp.', '')]);
  });

  it('checks initial configuration keys', () => {
    expect(ocppConfigSchema.parse({ version: '1.6', url: 'ws://h', keys: { HeartbeatInterval: 60, LocalPreAuthorize: true } }).keys).toEqual({ HeartbeatInterval: '60', LocalPreAuthorize: 'true' });
    expect(problems({ version: '1.6', url: 'ws://h', keys: { Testing: 1 } })).toEqual(['keys.Testing: unknown OCPP configuration key (docs/ocpp.md lists the supported ones) (got 1)']);
    expect(problems({ version: '1.6', url: 'ws://h', keys: { NumberOfConnectors: 2 } })[0]).toMatch(/is read-only/);
    expect(problems({ version: '1.6', url: 'ws://h', keys: { MeterValuesSampledData: 'Energy.Active.Import.Register,SoC' } })[0]).toMatch(/unsupported measurand SoC/);
  });

  it('AuthorizationKey is Rejected (not stored) where no Basic auth is used: security profiles 0 and 3', () => {
    const tmp = tempDir();
    const db = openTestDb(tmp.dir);
    try {
      const key = Buffer.from('0123456789abcdef0123').toString('hex');
      for (const securityProfile of [0, 1, 2, 3]) {
        const ks = new KeyStore(new KeyRepository(db), { connectorIds: [1], phases: new Map([[1, 3]]), securityProfile, cableLock: true }, {});
        expect(ks.change('AuthorizationKey', key).status).toBe(securityProfile === 1 || securityProfile === 2 ? 'Accepted' : 'Rejected');
      }
      db.prepare("DELETE FROM ocpp_keys WHERE key = 'AuthorizationKey'").run();
      for (const securityProfile of [0, 3]) {
        new KeyStore(new KeyRepository(db), { connectorIds: [1], phases: new Map([[1, 3]]), securityProfile, cableLock: true }, {}).change('AuthorizationKey', key);
        expect(db.prepare("SELECT count(*) FROM ocpp_keys WHERE key = 'AuthorizationKey'").pluck().get()).toBe(0);
      }
    } finally {
      db.close();
      tmp.cleanup();
    }
    expect(problems({ version: '1.6', url: 'ws://h', keys: { AuthorizationKey: '00112233445566778899aabbccddeeff' } })[0]).toMatch(/^keys.AuthorizationKey: is the Basic-auth password of security profiles 1 and 2; securityProfile 0/);
  });
});
