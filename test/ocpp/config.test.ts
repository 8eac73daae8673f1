import { describe, expect, it } from 'vitest';
import { ocppConfigSchema } from '../../src/ocpp/config.js';
import { formatIssues } from '../../src/config/errors.js';

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
});
