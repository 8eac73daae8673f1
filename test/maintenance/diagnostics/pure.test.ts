import { describe, expect, it } from 'vitest';
import { capText, fitParts } from '../../../src/maintenance/diagnostics/bounds.js';
import { journalctlArgs, systemdUnit, underSystemd } from '../../../src/maintenance/diagnostics/log-source.js';
import { Redactor } from '../../../src/maintenance/diagnostics/redact.js';
import { lineTime, selectWindow, windowOf } from '../../../src/maintenance/diagnostics/window.js';
import { redactConfig } from '../../../src/config/secrets.js';

const T = (iso: string) => Date.parse(iso);

describe('the time window of a request', () => {
  it('reads the time of pino JSON lines (ISO and epoch ms) and of journal short-iso lines', () => {
    expect(lineTime('{"level":30,"time":"2026-12-03T10:00:00.250Z","msg":"x"}')).toBe(T('2026-12-03T10:00:00.250Z'));
    expect(lineTime(`{"level":30,"time":${T('2026-12-03T10:00:01Z')},"msg":"x"}`)).toBe(T('2026-12-03T10:00:01Z'));
    expect(lineTime('2026-12-03T11:00:02+0100 pi evsed[42]: {"msg":"x"}')).toBe(T('2026-12-03T10:00:02Z'));
    expect(lineTime('2026-12-03T10:00:03+00:00 pi evsed[42]: started')).toBe(T('2026-12-03T10:00:03Z'));
    expect(lineTime('    at Object.<anonymous> (file.js:1:1)')).toBeUndefined();
  });

  it('keeps exactly the lines inside [from, to], a stampless continuation with its line', () => {
    const lines = [
      'continuation of a line before the file began',
      '{"time":"2026-12-03T09:59:59.999Z","msg":"before"}',
      '{"time":"2026-12-03T10:00:00.000Z","msg":"first"}',
      '    at the stack of first',
      '{"time":"2026-12-03T10:30:00.000Z","msg":"middle"}',
      '{"time":"2026-12-03T11:00:00.000Z","msg":"last"}',
      '{"time":"2026-12-03T11:00:00.001Z","msg":"after"}',
      '    at the stack of after',
    ];
    const w = windowOf('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z');
    expect(selectWindow(lines, w)).toEqual([lines[2], lines[3], lines[4], lines[5]]);
    expect(selectWindow(lines, windowOf(undefined, '2026-12-03T10:00:00Z'))).toEqual([lines[1], lines[2], lines[3]]);
    expect(selectWindow(lines, windowOf('2026-12-03T11:00:00.001Z'))).toEqual([lines[6], lines[7]]);
    expect(selectWindow(lines, {})).toEqual(lines.slice(1));
  });
});

describe('bounds', () => {
  it('a part over its bound keeps its newest whole lines and says what was left out', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')}`).join('\n') + '\n';
    const b = capText('log.txt', text, 300);
    expect(Buffer.byteLength(b.text)).toBeLessThanOrEqual(300);
    expect(b.text).toMatch(/^\[evsed: \d+ earlier line\(s\), \d+ bytes, left out: this part is bounded to 300 bytes\]\n/);
    const kept = b.text.split('\n').slice(1).filter(Boolean);
    expect(kept.at(-1)).toBe('line 099');
    expect(kept).toEqual(kept.map((_, i) => `line ${String(100 - kept.length + i).padStart(3, '0')}`));
    expect(b.droppedBytes).toBe(Buffer.byteLength(text) - Buffer.byteLength(kept.join('\n') + '\n'));
    expect(capText('x', 'short\n', 300)).toEqual({ name: 'x', text: 'short\n', droppedBytes: 0 });
    const head = capText('c', text, 200, 'head');
    expect(head.text.startsWith('line 000\n')).toBe(true);
    expect(head.text).toMatch(/later line\(s\).*\n$/);
    expect(Buffer.byteLength(head.text)).toBeLessThanOrEqual(200);
  });

  it('the parts together stay within the total: later parts get what is left', () => {
    const big = 'y'.repeat(50) + '\n';
    const parts = fitParts([{ name: 'a', text: 'x'.repeat(100) }, { name: 'b', text: big.repeat(20) }, { name: 'c', text: big.repeat(20) }], 600, 900);
    const sizes = parts.map((p) => Buffer.byteLength(p.text));
    expect(sizes[0]).toBe(100);
    expect(sizes[1]).toBeLessThanOrEqual(600);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(900);
    expect(parts[2]!.droppedBytes).toBeGreaterThan(0);
  });
});

describe('redaction', () => {
  it('an AuthorizationKey is scrubbed as hex (either case), decoded, base64 and inside Basic credentials', () => {
    const hex = Buffer.from('EvsedSecret123456').toString('hex');
    const r = new Redactor('CP-1').add(hex);
    const basic = Buffer.from('CP-1:EvsedSecret123456').toString('base64');
    const text = `a ${hex} b ${hex.toUpperCase()} c EvsedSecret123456 d ${Buffer.from('EvsedSecret123456').toString('base64')} e Basic ${basic}`;
    const out = r.scrub(text);
    for (const form of [hex, hex.toUpperCase(), 'EvsedSecret123456', basic, 'EvsedSecret']) expect(out).not.toContain(form);
    expect(out).toContain('a *** b *** c *** d *** e Basic ***');
  });

  it('removes every PEM private key block, and the key lines of a given key file wherever they are', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
    const r = new Redactor().addPem(pem);
    expect(r.scrub(`x ${pem} y -----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY----- z`)).toBe('x [private key removed]\n y [private key removed] z');
    expect(r.scrub('a line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe('a line: ***');
  });

  it('the config: secret keys, keys named like secrets and URL passwords', () => {
    const out = redactConfig({
      api: { token: 'api-token-0123456789', listen: '127.0.0.1:8080' },
      ocpp: { url: 'ws://csms/ocpp', password: 'p', keys: { AuthorizationKey: 'abcd', HeartbeatInterval: '60' }, clientKey: '/etc/evsed/key.pem' },
      mqtt: { url: 'mqtts://user:pw-secret@broker:8883', password: 'mq' },
      site: { gridMeter: { source: { mqtt: { password: 'x', somethingToken: 'y' } } } },
    });
    expect(out).toEqual({
      api: { token: '***', listen: '127.0.0.1:8080' },
      ocpp: { url: 'ws://csms/ocpp', password: '***', keys: { AuthorizationKey: '***', HeartbeatInterval: '60' }, clientKey: '/etc/evsed/key.pem' },
      mqtt: { url: 'mqtts://user:***@broker:8883', password: '***' },
      site: { gridMeter: { source: { mqtt: { password: '***', somethingToken: '***' } } } },
    });
  });
});

describe('the log source', () => {
  it('systemd: detected by INVOCATION_ID / JOURNAL_STREAM; the unit from the cgroup; journalctl for the window', () => {
    expect(underSystemd({ INVOCATION_ID: 'abc' })).toBe(true);
    expect(underSystemd({ JOURNAL_STREAM: '8:1234' })).toBe(true);
    expect(underSystemd({})).toBe(false);
    expect(systemdUnit('0::/system.slice/evsed.service\n')).toBe('evsed.service');
    expect(systemdUnit('1:name=systemd:/system.slice/evsed@2.service/x\n0::/user.slice')).toBe('evsed@2.service');
    expect(systemdUnit('0::/user.slice/user-1000.slice/session-2.scope')).toBe('evsed.service');
    expect(journalctlArgs('evsed.service', windowOf('2026-12-03T10:00:00.500Z', '2026-12-03T11:00:00.500Z'))).toEqual([
      '-u', 'evsed.service', '-o', 'short-iso', '--no-pager', '-q', `--since=@${T('2026-12-03T10:00:00Z') / 1000}`, `--until=@${T('2026-12-03T11:00:01Z') / 1000}`,
    ]);
  });
});

describe('log.file', () => {
  it('gets every line as JSON with its ISO time, scrubbed, and is rotated past its size keeping one previous file', async () => {
    const { mkdtempSync, readFileSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createLogger, logSecrets } = await import('../../../src/log.js');
    const dir = mkdtempSync(join(tmpdir(), 'evsed-logfile-'));
    try {
      const path = join(dir, 'evsed.log');
      logSecrets.add('file-secret-value-1');
      const stderr: string[] = [];
      const log = await createLogger({ format: 'json', destination: { write: (l) => stderr.push(l) }, file: { path, maxBytes: 2000 } });
      log.info('hello file-secret-value-1');
      const first = readFileSync(path, 'utf8');
      expect(first).toBe(stderr[0]);
      expect(JSON.parse(first)).toMatchObject({ msg: 'hello ***' });
      expect(lineTime(first)).toBeTypeOf('number');
      for (let i = 0; i < 40; i++) log.info({ i }, 'x'.repeat(80));
      expect(existsSync(`${path}.1`)).toBe(true);
      expect(readFileSync(path).length).toBeLessThanOrEqual(2000);
      expect(readFileSync(`${path}.1`).length).toBeLessThanOrEqual(2000);
      const last = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).i);
      expect(last.at(-1)).toBe(39);
      // pretty on stderr: the file still gets the JSON line
      const pretty = await createLogger({ format: 'pretty', destination: { write: () => undefined }, file: { path, maxBytes: 1_000_000 } });
      pretty.warn('pretty line');
      const tail = readFileSync(path, 'utf8').trim().split('\n').at(-1)!;
      expect(JSON.parse(tail)).toMatchObject({ msg: 'pretty line', level: 40 });
      expect(lineTime(tail)).toBeTypeOf('number');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
