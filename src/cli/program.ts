import { Command, CommanderError } from 'commander';
import { FIRMWARE_VERSION } from '../domain/version.js';
import { COMMANDS, EXIT_CODES, GROUPS, type CommandSpec } from './commands/index.js';
import { UsageError } from './commands/args.js';
import { define, examplesText } from './define.js';

type Runner = (options: Record<string, any>, args: string[]) => Promise<number>;

/**
 * What each command of the table (commands/index.ts) runs, by its words. Each imports its module
 * only when the command runs: `evsed sessions list` does not load the daemon.
 */
const RUNNERS: Record<string, Runner> = {
  run: async (o) => (await import('./commands/run.js')).runCommand({ config: o.config }),
  'config check': async (_o, [file]) => (await import('./commands/config.js')).configCommand(file!),
  'sessions list': async (o) => (await import('./commands/sessions.js')).sessionsList(o as never),
  'sessions export': async (o) => (await import('./commands/sessions.js')).sessionsExport(o as never),
  'meter read': async (o) => (await import('./commands/meter.js')).meterMain('read', o),
  'meter scan': async (o) => (await import('./commands/meter.js')).meterMain('scan', o),
  'meter models': async (o) => (await import('./commands/meter.js')).meterMain('models', o),
  'hw test': async (o) => (await import('./commands/hw-test.js')).hwTest(o as never),
  'tags learn': async (o) => (await import('./commands/tags.js')).tagsCommand('learn', o),
  'tags export': async (o) => (await import('./commands/tags.js')).tagsCommand('export', o),
  'tags import': async (o, [file]) => (await import('./commands/tags.js')).tagsCommand('import', o, [file!]),
  'boards-off': async (o) => (await import('./commands/boards-off.js')).boardsOff(o as never),
  report: async (o) => (await import('./commands/report.js')).report(o as never),
};

/** sysexits EX_USAGE. */
export const EXIT_USAGE = 64;

const HINT = '(add --help for usage and examples)';

/**
 * The evsed command line (commander) from the table in commands/index.ts. Help goes to stdout and
 * exits 0; a usage mistake prints the error and a hint on stderr and exits 64; a command's result
 * is its exit code (`exitCode` after parseAsync).
 */
export function buildProgram(): { program: Command; exitCode: () => number } {
  let code = 0;
  const program = new Command('evsed')
    .description('AC charging station daemon: IEC 61851 control pilot, Modbus meters, OCPP 1.6J, session store')
    .version(FIRMWARE_VERSION, '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show the help of a command')
    .exitOverride()
    // Through console, which ignores a closed pipe (evsed --help | head) instead of throwing EPIPE.
    .configureOutput({ writeOut: (s) => console.log(s.replace(/\n$/, '')), writeErr: (s) => console.error(s.replace(/\n$/, '')) })
    .showHelpAfterError(HINT)
    .configureHelp({ sortSubcommands: false });
  program.addHelpText('after', () => `\n${overview()}`);

  const groups = new Map<string, Command>();
  for (const spec of COMMANDS) {
    let parent = program;
    for (const word of spec.path.slice(0, -1)) {
      let group = groups.get(word);
      if (!group) {
        const g = GROUPS[word];
        group = parent.command(word).description(g?.summary ?? '');
        if (g) group.addHelpText('after', examplesText(g.examples));
        groups.set(word, group);
      }
      parent = group;
    }
    const run = RUNNERS[spec.path.join(' ')];
    if (!run) throw new Error(`evsed ${spec.path.join(' ')}: no runner in RUNNERS`);
    const cmd = define(parent.command(spec.path[spec.path.length - 1]!), spec);
    cmd.action(async (...received: unknown[]) => {
      const args = received.slice(0, spec.args?.length ?? 0) as string[];
      code = await run(cmd.opts(), args);
    });
  }
  return { program, exitCode: () => code };
}

/** One line per command with all its options: the top-level help shows everything at once. */
export function synopsis(spec: CommandSpec): string {
  const parts = [`evsed ${spec.path.join(' ')}`, ...(spec.args ?? []).map((a) => a.name)];
  for (const o of spec.options ?? []) {
    const long = o.flags.split(/,\s*/).pop()!;
    const flag = o.choices ? long.replace(/<[^>]+>/, `<${o.choices.join('|')}>`) : long;
    parts.push(o.required ? flag : `[${flag}]`);
  }
  // Wrapped before an option, indented under the command.
  const lines: string[] = [];
  let current = '';
  for (const p of parts) {
    if (current && current.length + 1 + p.length > 108) {
      lines.push(current);
      current = `      ${p}`;
    } else current = current ? `${current} ${p}` : p;
  }
  lines.push(current);
  return lines.join('\n  ');
}

function overview(): string {
  return [
    'Every command and its options (evsed COMMAND --help: its details and examples):',
    ...COMMANDS.map((c) => `  ${synopsis(c)}`),
    '',
    `--config defaults to ${String(COMMANDS[0]!.options![0]!.default)}; dates are YYYY-MM-DD (UTC) or ISO timestamps with a zone.`,
    '',
    'Exit codes:',
    ...EXIT_CODES.map(([code, what]) => `  ${String(code).padEnd(3)} ${what}`),
    examplesText(['evsed config check /etc/evsed/evsed.yaml', 'evsed run --config /etc/evsed/evsed.yaml', 'evsed sessions list']),
  ].join('\n');
}

/** Runs the command line; resolves with the exit code. */
export async function runProgram(argv: readonly string[]): Promise<number> {
  const { program, exitCode } = buildProgram();
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (err instanceof UsageError) {
      console.error(`evsed: ${err.message}\n${HINT}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
