import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearCache, getLocalListVersion, sendLocalList } from '../../../src/ocpp/v16/handlers/local-auth.js';
import { assertSchema, handlerRig, type HandlerRig } from './fixture.js';

let r: HandlerRig;
beforeEach(() => {
  r = handlerRig();
});
afterEach(() => r.cleanup());

const accepted = { status: 'Accepted' as const };

describe('ClearCache', () => {
  it('empties the authorization cache and leaves the local list', () => {
    r.repos.auth.remember('CACHED', { status: 'Accepted', expiryMs: null, parentIdTag: null }, r.clock.wallMs());
    sendLocalList(r.ctx, { listVersion: 1, updateType: 'Full', localAuthorizationList: [{ idTag: 'LISTED', idTagInfo: accepted }] });
    const conf = clearCache(r.ctx, {});
    assertSchema('ClearCache', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.repos.auth.fromCache('CACHED')).toBeUndefined();
    expect(r.repos.auth.fromList('LISTED')).toBeDefined();
  });
});

describe('GetLocalListVersion / SendLocalList', () => {
  it('version 0 before any list; a Full list sets it and replaces the list', () => {
    expect(getLocalListVersion(r.ctx, {})).toEqual({ listVersion: 0 });
    expect(sendLocalList(r.ctx, { listVersion: 3, updateType: 'Full', localAuthorizationList: [{ idTag: 'A', idTagInfo: accepted }, { idTag: 'B', idTagInfo: { status: 'Blocked', parentIdTag: 'P' } }] })).toEqual({ status: 'Accepted' });
    const v = getLocalListVersion(r.ctx, {});
    assertSchema('GetLocalListVersion', 'conf', v);
    expect(v).toEqual({ listVersion: 3 });
    expect(r.repos.auth.fromList('b')).toEqual({ status: 'Blocked', expiryMs: null, parentIdTag: 'P' });
    expect(sendLocalList(r.ctx, { listVersion: 4, updateType: 'Full', localAuthorizationList: [{ idTag: 'C', idTagInfo: { status: 'Accepted', expiryDate: '2030-01-01T00:00:00Z' } }] })).toEqual({ status: 'Accepted' });
    expect(r.repos.auth.fromList('A')).toBeUndefined();
    expect(r.repos.auth.fromList('C')?.expiryMs).toBe(Date.UTC(2030, 0, 1));
  });

  it('Differential: VersionMismatch unless newer; adds and removes (case-insensitively)', () => {
    sendLocalList(r.ctx, { listVersion: 5, updateType: 'Full', localAuthorizationList: [{ idTag: 'Tag1', idTagInfo: accepted }] });
    expect(sendLocalList(r.ctx, { listVersion: 5, updateType: 'Differential', localAuthorizationList: [{ idTag: 'X', idTagInfo: accepted }] })).toEqual({ status: 'VersionMismatch' });
    expect(r.repos.auth.fromList('X')).toBeUndefined();
    const conf = sendLocalList(r.ctx, { listVersion: 6, updateType: 'Differential', localAuthorizationList: [{ idTag: 'TAG1' }, { idTag: 'X', idTagInfo: accepted }] });
    assertSchema('SendLocalList', 'conf', conf);
    expect(conf).toEqual({ status: 'Accepted' });
    expect(r.repos.auth.fromList('tag1')).toBeUndefined();
    expect(r.repos.auth.fromList('x')).toBeDefined();
    expect(getLocalListVersion(r.ctx, {})).toEqual({ listVersion: 6 });
  });

  it('Failed, nothing changed: a tag twice (any case), a Full entry without idTagInfo, more than SendLocalListMaxLength entries', () => {
    sendLocalList(r.ctx, { listVersion: 1, updateType: 'Full', localAuthorizationList: [{ idTag: 'KEEP', idTagInfo: accepted }] });
    expect(sendLocalList(r.ctx, { listVersion: 2, updateType: 'Full', localAuthorizationList: [{ idTag: 'abc', idTagInfo: accepted }, { idTag: 'ABC', idTagInfo: accepted }] })).toEqual({ status: 'Failed' });
    expect(sendLocalList(r.ctx, { listVersion: 2, updateType: 'Full', localAuthorizationList: [{ idTag: 'abc' }] })).toEqual({ status: 'Failed' });
    const max = r.keys.int('SendLocalListMaxLength');
    const many = Array.from({ length: max + 1 }, (_, i) => ({ idTag: `T${i}`, idTagInfo: accepted }));
    expect(sendLocalList(r.ctx, { listVersion: 2, updateType: 'Full', localAuthorizationList: many })).toEqual({ status: 'Failed' });
    expect(sendLocalList(r.ctx, { listVersion: 2, updateType: 'Full', localAuthorizationList: many.slice(0, max) })).toEqual({ status: 'Accepted' });
    expect(r.repos.auth.fromList('KEEP')).toBeUndefined();
  });

  it('Failed when the list would outgrow LocalAuthListMaxLength; the list and its version stay as they were', () => {
    const per = r.keys.int('SendLocalListMaxLength');
    const total = r.keys.int('LocalAuthListMaxLength');
    let version = 0;
    for (let n = 0; n < total; n += per) {
      const items = Array.from({ length: Math.min(per, total - n) }, (_, i) => ({ idTag: `T${n + i}`, idTagInfo: accepted }));
      expect(sendLocalList(r.ctx, { listVersion: ++version, updateType: 'Differential', localAuthorizationList: items })).toEqual({ status: 'Accepted' });
    }
    expect(sendLocalList(r.ctx, { listVersion: version + 1, updateType: 'Differential', localAuthorizationList: [{ idTag: 'ONE-TOO-MANY', idTagInfo: accepted }] })).toEqual({ status: 'Failed' });
    expect(r.repos.auth.fromList('ONE-TOO-MANY')).toBeUndefined();
    expect(getLocalListVersion(r.ctx, {})).toEqual({ listVersion: version });
  });
});
