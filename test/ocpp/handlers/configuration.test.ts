import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import rpc from 'ocpp-rpc';
import { changeConfiguration, getConfiguration } from '../../../src/ocpp/v16/handlers/configuration.js';
import { KEY_DEFS } from '../../../src/config/ocpp16-keys.js';
import { KeyStore } from '../../../src/ocpp/v16/key-store.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

describe('GetConfiguration', () => {
  it('without keys: every key of the table with its access and value; the write-only AuthorizationKey without its value', () => {
    const conf = getConfiguration(r.ctx, {});
    assertSchema('GetConfiguration', 'conf', conf);
    expect(conf.configurationKey!.map((k) => k.key)).toEqual([...KEY_DEFS.values()].map((d) => d.key));
    expect(conf.configurationKey!.find((k) => k.key === 'AuthorizationKey')).toEqual({ key: 'AuthorizationKey', readonly: false });
    expect(conf.configurationKey!.find((k) => k.key === 'NumberOfConnectors')).toEqual({ key: 'NumberOfConnectors', readonly: true, value: '2' });
    expect(conf.configurationKey!.find((k) => k.key === 'ConnectorPhaseRotation')).toEqual({ key: 'ConnectorPhaseRotation', readonly: false, value: '1.NotApplicable,2.RST' });
    expect(conf.unknownKey).toEqual([]);
  });

  it('asked keys: known ones answered (a write-only one without its value), unknown ones as unknownKey', () => {
    const conf = getConfiguration(r.ctx, { key: ['HeartbeatInterval', 'NoSuchKey', 'AuthorizationKey'] });
    assertSchema('GetConfiguration', 'conf', conf);
    expect(conf).toEqual({ configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }, { key: 'AuthorizationKey', readonly: false }], unknownKey: ['NoSuchKey'] });
  });

  it('exactly GetConfigurationMaxKeys keys are answered; one more is a CALLERROR OccurenceConstraintViolation', () => {
    const max = r.keys.int('GetConfigurationMaxKeys');
    expect(getConfiguration(r.ctx, { key: Array.from({ length: max }, () => 'HeartbeatInterval') }).configurationKey).toHaveLength(max);
    let err: unknown;
    try {
      getConfiguration(r.ctx, { key: Array.from({ length: max + 1 }, (_, i) => `K${i}`) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(rpc.RPCError);
    expect((err as { rpcErrorCode: string }).rpcErrorCode).toBe('OccurenceConstraintViolation');
  });
});

describe('ChangeConfiguration', () => {
  it('unknown key: NotSupported; read-only or invalid value: Rejected; nothing stored', () => {
    expect(changeConfiguration(r.ctx, { key: 'NoSuchKey', value: '1' })).toEqual({ status: 'NotSupported' });
    expect(changeConfiguration(r.ctx, { key: 'NumberOfConnectors', value: '3' })).toEqual({ status: 'Rejected' });
    expect(changeConfiguration(r.ctx, { key: 'HeartbeatInterval', value: 'soon' })).toEqual({ status: 'Rejected' });
    expect(changeConfiguration(r.ctx, { key: 'HeartbeatInterval', value: '86401' })).toEqual({ status: 'Rejected' });
    expect(changeConfiguration(r.ctx, { key: 'MeterValuesSampledData', value: 'Energy.Reactive.Import.Register' })).toEqual({ status: 'Rejected' });
    expect(r.repos.keys.all()).toEqual([]);
    expect(r.deferred).toEqual([]);
  });

  it('Accepted: persisted (normalised) before the answer, effective for listeners only after it', async () => {
    const seen: string[] = [];
    r.keys.onChange('AuthorizeRemoteTxRequests', (v) => seen.push(v));
    const conf = changeConfiguration(r.ctx, { key: 'AuthorizeRemoteTxRequests', value: 'TRUE' });
    assertSchema('ChangeConfiguration', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.repos.keys.all()).toEqual([{ key: 'AuthorizeRemoteTxRequests', value: 'true' }]);
    expect(r.keys.bool('AuthorizeRemoteTxRequests')).toBe(true);
    expect(seen).toEqual([]);
    await r.afterReply();
    expect(seen).toEqual(['true']);
    // a new KeyStore over the same database (a restart) has the CSMS's value
    const again = new KeyStore(r.repos.keys, { connectorIds: [1, 2], phases: new Map(), securityProfile: 0, cableLock: true }, { AuthorizeRemoteTxRequests: 'false' });
    expect(again.bool('AuthorizeRemoteTxRequests')).toBe(true);
  });

  it('AuthorizationKey: Rejected outside security profiles 1 and 2, Accepted (and its value never listed) within', () => {
    const key = '00112233445566778899aabbccddeeff';
    expect(changeConfiguration(r.ctx, { key: 'AuthorizationKey', value: key })).toEqual({ status: 'Rejected' });
    r.cleanup();
    r = handlerRig({ securityProfile: 1 });
    expect(changeConfiguration(r.ctx, { key: 'AuthorizationKey', value: 'abc' })).toEqual({ status: 'Rejected' });
    expect(changeConfiguration(r.ctx, { key: 'AuthorizationKey', value: key })).toEqual({ status: 'Accepted' });
    expect(getConfiguration(r.ctx, { key: ['AuthorizationKey'] })).toEqual({ configurationKey: [{ key: 'AuthorizationKey', readonly: false }], unknownKey: [] });
  });
});
