import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { verifyPassword } from '../../src/util/password-hash.js';
import { CLI, ROOT, tempDir, writeSimConfig } from '../support/station.js';

/** The built CLI with `input` on its standard input (not a terminal: it reads one line). */
function cli(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

/** A sim config with comments and the api section in block style, mode 0640 as installed. */
function configFile(): string {
  const file = writeSimConfig(tempDir());
  const text = readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', '# the station page\napi:\n  listen: 127.0.0.1:0 # loopback only\n');
  writeFileSync(file, `# Garage charger, installed 2026-11\n${text}`);
  chmodSync(file, 0o640);
  return file;
}

describe('evsed passwd', () => {
  it('--help shows usage, options and examples (exit 0)', async () => {
    const r = await cli(['passwd', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: evsed passwd \[options\]/);
    for (const s of ['--config <file>', '--print', '--remove', 'Examples:', '$ sudo evsed passwd --config /etc/evsed/evsed.yaml']) expect(r.stdout).toContain(s);
  });

  it('writes the hash of the password (one line of stdin) to api.passwordHash, keeping comments, mode and the rest', async () => {
    const file = configFile();
    const before = loadConfig(file).config;
    const r = await cli(['passwd', '--config', file], 'a new page password\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`api.passwordHash set in ${file}: restart evsed`);
    expect(r.stdout).not.toContain('a new page password');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# Garage charger, installed 2026-11');
    expect(text).toContain('listen: 127.0.0.1:0 # loopback only');
    expect(text).not.toContain('a new page password');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    const after = loadConfig(file).config;
    expect(after.api.passwordHash).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(await verifyPassword('a new page password', after.api.passwordHash!)).toBe(true);
    expect({ ...after, api: { ...after.api, passwordHash: undefined } }).toEqual({ ...before, api: { ...before.api, passwordHash: undefined } });

    // Again: a new hash replaces the old; --remove takes it out.
    expect((await cli(['passwd', '--config', file], 'another password\n')).code).toBe(0);
    expect(await verifyPassword('another password', loadConfig(file).config.api.passwordHash!)).toBe(true);
    const removed = await cli(['passwd', '--config', file, '--remove']);
    expect(removed.code).toBe(0);
    expect(loadConfig(file).config.api.passwordHash).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toContain('listen: 127.0.0.1:0 # loopback only');
  });

  it('--print prints the line and changes nothing; a short password is a usage error (64); a missing config 78', async () => {
    const file = configFile();
    const text = readFileSync(file, 'utf8');
    const printed = await cli(['passwd', '--print'], 'printed password\n');
    expect(printed.code).toBe(0);
    const m = /^passwordHash: "(\$scrypt\$[^"]+)"\n$/.exec(printed.stdout);
    expect(m).not.toBeNull();
    expect(await verifyPassword('printed password', m![1]!)).toBe(true);

    const short = await cli(['passwd', '--config', file], 'short\n');
    expect(short.code).toBe(64);
    expect(short.stderr).toContain('at least 8 characters');
    expect((await cli(['passwd', '--config', file], '')).code).toBe(64);
    expect(readFileSync(file, 'utf8')).toBe(text);

    const missing = await cli(['passwd', '--config', join(tempDir(), 'nope.yaml')], 'long enough password\n');
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('cannot read');
  });
});
