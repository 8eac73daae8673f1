#!/usr/bin/env node
import { EXIT_CONFIG } from '../config/errors.js';

/** evsed command line: one word picks the command, the rest is its own argv. */
const USAGE = `usage: evsed <command> [options]

  run --config FILE                      run the station daemon
  config check FILE                      validate a config file (exit 0 valid, 78 invalid)
  sessions list [--config FILE] [--limit N]
  sessions export --format csv|json [--from DATE] [--to DATE] [--config FILE] [--out FILE]
  meter read|scan ...                    technician's Modbus meter tools (evsed meter --help)
  hw test --config FILE                  technician's hardware self-test
  boards-off --config FILE               turn every pilot board off (the unit's ExecStopPost: a board
                                         has no Modbus watchdog and charges on after the daemon died)
  tags learn --name NAME | export | import FILE
                                         the owner's tag list through the running daemon (evsed tags --help)
  report --month YYYY-MM --format csv|html [--id-tag TAG] [--config FILE]

  --config defaults to config/sim.yaml; dates are YYYY-MM-DD (UTC) or ISO timestamps.`;

type Command = (argv: string[]) => Promise<number>;

/** Commands in their own modules, loaded on demand so `evsed sessions` does not load the daemon. */
const COMMANDS: Record<string, { module: string; fn: string; sub?: string }> = {
  run: { module: './commands/run.js', fn: 'runCommand' },
  config: { module: './commands/config.js', fn: 'configCommand' },
  sessions: { module: './commands/sessions.js', fn: 'sessionsCommand' },
  meter: { module: './commands/meter.js', fn: 'meterCommand' },
  hw: { module: './commands/hw-test.js', fn: 'hwTestCommand', sub: 'test' },
  report: { module: './commands/report.js', fn: 'reportCommand' },
  tags: { module: './commands/tags.js', fn: 'tagsCommand' },
  'boards-off': { module: './commands/boards-off.js', fn: 'boardsOffCommand' },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 64;
  }
  if (name === '--version' || name === '-v') {
    const { FIRMWARE_VERSION } = await import('../domain/version.js');
    console.log(FIRMWARE_VERSION);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`evsed: unknown command "${name}"\n\n${USAGE}`);
    return 64;
  }
  let args = rest;
  if (entry.sub) {
    if (rest[0] !== entry.sub) {
      console.error(`evsed ${name}: unknown subcommand "${rest[0] ?? ''}" (use: evsed ${name} ${entry.sub})`);
      return 64;
    }
    args = rest.slice(1);
  }
  let fn: Command | undefined;
  try {
    const mod = (await import(entry.module)) as Record<string, Command>;
    fn = mod[entry.fn];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  if (!fn) {
    console.error(`evsed ${name}: not available in this build`);
    return 69;
  }
  return fn(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error & { exitCode?: number };
    console.error(`evsed: ${e.message}`);
    process.exitCode = e.exitCode ?? (e.name === 'ConfigError' ? EXIT_CONFIG : 1);
  },
);
