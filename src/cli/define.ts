import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { COMMANDS, type CommandSpec, type OptionSpec } from './commands/index.js';
import { UsageError } from './commands/args.js';

/** A commander command's options, arguments and help from its table entry (commands/index.ts). */
export function define(cmd: Command, spec: CommandSpec): Command {
  cmd.summary(spec.summary).description(spec.summary + (spec.details ? `\n\n${spec.details}` : ''));
  for (const a of spec.args ?? []) cmd.argument(a.name, a.description);
  for (const o of spec.options ?? []) cmd.addOption(option(o));
  cmd.addHelpText('after', examplesText(spec.examples));
  return cmd;
}

function option(o: OptionSpec): Option {
  const opt = new Option(o.flags, o.description);
  if (o.choices) opt.choices(o.choices);
  if (o.parse) {
    const parse = o.parse;
    opt.argParser((value: string) => {
      try {
        return parse(value);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });
  }
  if (o.default !== undefined) opt.default(o.parse && typeof o.default === 'string' ? o.parse(o.default) : o.default, typeof o.default === 'string' ? o.default : undefined);
  if (o.required) opt.makeOptionMandatory();
  return opt;
}

export const examplesText = (examples: readonly string[]) => `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}`;

/**
 * The options of one command from its words after `evsed` (for calling a command's module with an
 * argv, as tests do). A usage mistake throws UsageError with commander's message; so does --help.
 */
export function parseArgv<T = Record<string, any>>(path: readonly string[], argv: readonly string[]): T & { args: string[] } {
  const spec = COMMANDS.find((c) => c.path.join(' ') === path.join(' '));
  if (!spec) throw new Error(`no command evsed ${path.join(' ')}`);
  let message = '';
  const cmd = define(new Command(`evsed ${path.join(' ')}`), spec)
    .exitOverride()
    .configureOutput({ writeOut: (s) => (message += s), writeErr: (s) => (message += s), outputError: (s) => (message += s) });
  let args: string[] = [];
  cmd.action((...received: unknown[]) => {
    args = received.slice(0, spec.args?.length ?? 0) as string[];
  });
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new UsageError(message.trim() || err.message);
    throw err;
  }
  return { ...cmd.opts(), args } as T & { args: string[] };
}
