import { describe, expect, it } from 'vitest';
import { ClientConnections, clientKey } from '../../src/api/clients.js';
import { hostNameOf } from '../../src/api/browser-guard.js';
import { isJsonContentType } from '../../src/api/http.js';

describe('clientKey: who a connection comes from, for per-client limits', () => {
  it('is the IPv4 address (also when IPv4-mapped), and the /64 of an IPv6 address', () => {
    expect(clientKey('192.168.1.20')).toBe('192.168.1.20');
    expect(clientKey('::ffff:192.168.1.20')).toBe('192.168.1.20');
    expect(clientKey('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    // One host can use its whole /64: every address in it is one client.
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
    expect(clientKey('1:2:3')).toBe('1:2:3'); // malformed: as it is
  });
});

describe('ClientConnections', () => {
  it('admits up to the maximum per client, independently per client, and frees a place on release', () => {
    const c = new ClientConnections(2);
    expect([c.admit('a'), c.admit('a'), c.admit('a')]).toEqual([true, true, false]);
    expect(c.admit('b')).toBe(true);
    expect(c.count('a')).toBe(2);
    c.release('a');
    expect(c.admit('a')).toBe(true);
    c.release('b');
    expect(c.count('b')).toBe(0);
  });
});

describe('the browser guard\'s parsing', () => {
  it('takes the host name of a Host header: lower-case, without port or trailing dot; null when malformed', () => {
    expect(hostNameOf('EVSE.local:8080')).toBe('evse.local');
    expect(hostNameOf('evse.local.')).toBe('evse.local');
    expect(hostNameOf('[::1]:8080')).toBe('[::1]');
    expect(hostNameOf('127.0.0.1')).toBe('127.0.0.1');
    for (const bad of ['', 'a b', 'user@evil.example', 'evil.example/x', 'evil:1:2', '[::1', 'x:99999999']) expect(hostNameOf(bad), bad).toBeNull();
  });

  it('takes application/json only, with charset utf-8 at most', () => {
    for (const ok of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) expect(isJsonContentType(ok), ok).toBe(true);
    for (const bad of [undefined, '', 'text/plain;application/json', 'application/json-patch+json', 'application/jsonx', 'application/json; charset=latin1', 'application/json, text/plain', 'application/json; x=1']) {
      expect(isJsonContentType(bad), String(bad)).toBe(false);
    }
  });
});
