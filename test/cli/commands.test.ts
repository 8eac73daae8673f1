import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { billingMigrations } from '../../src/store/billing/migrations.js';
import { FIRMWARE_VERSION } from '../../src/domain/version.js';
import { CLI, runCli, tempDir, writeSimConfig } from '../support/station.js';

/** Every command and subcommand a user can type (a new one belongs here, with its help). */
const COMMANDS = [
  ['run'],
  ['config'],
  ['config', 'check'],
  ['sessions'],
  ['sessions', 'list'],
  ['sessions', 'export'],
  ['meter'],
  ['meter', 'read'],
  ['meter', 'scan'],
  ['meter', 'models'],
  ['hw'],
  ['hw', 'test'],
  ['boards-off'],
  ['report'],
  ['update'],
  ['rollback'],
  ['self-check'],
];

const EX_USAGE = 64;
const EX_CONFIG = 78;

describe('evsed --help on every command and subcommand', () => {
  it('prints the usage and an example on stdout and exits 0', async () => {
    const results = await Promise.all(COMMANDS.map(async (path) => ({ path, r: await runCli([...path, '--help']) })));
    for (const { path, r } of results) {
      const name = `evsed ${path.join(' ')}`;
      expect(r.code, `${name} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toContain(`Usage: ${name}`);
      expect(r.stdout, name).toMatch(/Examples?:/);
      // An example is a whole command line of this command.
      expect(r.stdout, name).toContain(`$ ${name}`);
      expect(r.stderr, name).toBe('');
    }
  });

  it('-h and `evsed help COMMAND` are the same help', async () => {
    const [long, short, word] = await Promise.all([runCli(['report', '--help']), runCli(['report', '-h']), runCli(['help', 'report'])]);
    expect(short).toEqual(long);
    expect(word.code).toBe(0);
    expect(word.stdout).toBe(long.stdout);
  });

  it('run --help and config check --help are help, not a parse error or a file name', async () => {
    const run = await runCli(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--config <file>');
    const check = await runCli(['config', 'check', '--help']);
    expect(check.code).toBe(0);
    expect(check.stdout).not.toContain('file not found');
    expect(check.stdout).toContain('Usage: evsed config check');
  });

  it('the top-level help lists every command with its options, --version and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const path of COMMANDS.filter((p) => p.length === 2 || ['run', 'boards-off', 'report', 'update', 'rollback', 'self-check'].includes(p[0]!))) {
      expect(r.stdout).toContain(`evsed ${path.join(' ')}`);
    }
    for (const text of ['meter models', '--version', '--id-tag', '--from', '--to', '--out', '--month', '--format', '--limit', '--yes', '--connector']) {
      expect(r.stdout, text).toContain(text);
    }
    expect(r.stdout).toMatch(/evsed report --month <YYYY-MM>[^\n]*\[--out <file>\]/);
    for (const code of ['64', '65', '66', '69', '75', '78']) expect(r.stdout).toMatch(new RegExp(`^\\s+${code}\\s`, 'm'));
  });
});

describe('evsed --version', () => {
  it('prints the version and exits 0', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await runCli([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout.trim()).toBe(FIRMWARE_VERSION);
    }
  });
});

describe('exit codes', () => {
  it('a usage mistake exits 64 with the usage on stderr', async () => {
    const cases = [[], ['frobnicate'], ['run', '--frobnicate'], ['config'], ['config', 'check'], ['config', 'check', 'a.yaml', 'b.yaml'], ['sessions'], ['sessions', 'purge'], ['sessions', 'list', '--limit', 'ten'], ['sessions', 'export', '--format', 'xml'], ['report'], ['report', '--month', '2026-13'], ['report', '--month', '2026-11', '--format', 'pdf'], ['meter'], ['meter', 'read'], ['hw'], ['hw', 'toast']];
    const results = await Promise.all(cases.map(async (args) => ({ args, r: await runCli(args) })));
    for (const { args, r } of results) {
      expect(r.code, `evsed ${args.join(' ')}: ${r.stderr}`).toBe(EX_USAGE);
      expect(r.stderr, args.join(' ')).toMatch(/usage|Usage|error/);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('a config that is missing or bad exits 78 on every command that reads one', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'station: { id: CP-1 }\n');
    const cases = [
      // No --config and no config/sim.yaml in the working directory.
      [['sessions', 'list'], dir],
      [['sessions', 'export'], dir],
      [['report', '--month', '2026-11'], dir],
      [['hw', 'test'], dir],
      [['boards-off'], dir],
      [['sessions', 'list', '--config', bad], dir],
      [['report', '--month', '2026-11', '--config', bad], dir],
      [['config', 'check', bad], dir],
      [['run', '--config', bad], dir],
    ] as const;
    const results = await Promise.all(cases.map(async ([args, cwd]) => ({ args, r: await runCli([...args], cwd) })));
    for (const { args, r } of results) {
      expect(r.code, `evsed ${args.join(' ')}: ${r.stderr}`).toBe(EX_CONFIG);
      expect(r.stderr, args.join(' ')).toMatch(/invalid configuration/);
    }
    // It says which file and how to give another.
    expect(results[0]!.r.stderr).toContain('config/sim.yaml: invalid configuration');
    expect(results[0]!.r.stderr).toContain('--config');
  });

  it('report and sessions export both default to CSV', async () => {
    const dir = tempDir();
    const config = writeSimConfig(dir);
    mkdirSync(join(dir, 'data'));
    openDb(join(dir, 'data', 'evsed.db'), [coreMigrations, billingMigrations]).close();
    const [exported, report] = await Promise.all([runCli(['sessions', 'export', '--config', config]), runCli(['report', '--month', '2026-11', '--config', config])]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(report.code, report.stderr).toBe(0);
    for (const r of [exported, report]) expect(r.stdout.split(/\r?\n/)[0]).toMatch(/^[\w ]+(,[\w ()]+)+$/);
  });
});

describe('each command loads its own module only', () => {
  /** The files of dist/src a command line loads (a resolve hook writes each to a file). */
  async function loaded(args: string[]): Promise<string[]> {
    const dir = tempDir();
    const log = join(dir, 'loaded.txt');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/dist/src/')) appendFileSync(${JSON.stringify(log)}, r.url.slice(r.url.indexOf('/dist/src/') + 10) + '\\n');
  return r;
}`);
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
    const { spawnSync } = await import('node:child_process');
    const { readFileSync, existsSync } = await import('node:fs');
    const r = spawnSync(process.execPath, ['--import', register, CLI, ...args], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).not.toBe(null);
    return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  }

  it('sessions list and config check do not load the daemon; help loads no command', async () => {
    const dir = tempDir();
    const config = writeSimConfig(dir);
    const [help, list, check] = await Promise.all([loaded(['--help']), loaded(['sessions', 'list', '--config', config]), loaded(['config', 'check', config])]);
    expect(help.filter((f) => f.startsWith('cli/commands/') && f !== 'cli/commands/index.js' && f !== 'cli/commands/args.js')).toEqual([]);
    expect(list).toContain('cli/commands/sessions.js');
    expect(check).toContain('cli/commands/config.js');
    for (const files of [help, list, check]) {
      expect(files).not.toContain('daemon.js');
      expect(files).not.toContain('cli/commands/run.js');
    }
    // The hook sees it when a command does load the daemon.
    expect(await loaded(['run', '--config', join(dir, 'missing.yaml')])).toContain('daemon.js');
  });
});
