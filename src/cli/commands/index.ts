import { DEFAULT_CONFIG } from './args.js';

/**
 * Every evsed command, in the order the help lists them: its words, options and examples. A new
 * command is an entry here and its runner in src/cli/program.ts (RUNNERS, which imports the
 * command's module only when it runs, so `evsed sessions list` does not load the daemon). The
 * command modules parse an argv with these entries too (src/cli/define.ts), so they cannot be
 * imported from here. Options reach the command as commander names them (--id-tag as idTag).
 */

export interface OptionSpec {
  /** As commander spells them: '-y, --yes', '--config <file>'. */
  flags: string;
  description: string;
  default?: string | boolean;
  /** The only values allowed (shown in the help). */
  choices?: readonly string[];
  /** Checks and converts the value; throw an Error whose message says what is wrong. */
  parse?: (value: string) => unknown;
  required?: boolean;
}

export interface CommandSpec {
  /** The words after `evsed`: ['sessions', 'export']. */
  path: readonly string[];
  summary: string;
  /** More lines for the command's own help, after its options. */
  details?: string;
  /** Positional arguments as commander spells them: '<file>'. */
  args?: readonly { name: string; description: string }[];
  options?: readonly OptionSpec[];
  /** Whole command lines, without the `$ `. */
  examples: readonly string[];
}

/** Commands that only group subcommands (`evsed sessions`): their summary and examples. */
export const GROUPS: Record<string, { summary: string; examples: readonly string[] }> = {
  config: { summary: 'check a config file', examples: ['evsed config check /etc/evsed/evsed.yaml'] },
  sessions: { summary: 'sessions in the local store (read while the daemon runs)', examples: ['evsed sessions list --limit 10', 'evsed sessions export --from 2026-11-01 --to 2026-11-30 --out november.csv'] },
  meter: { summary: "technician's Modbus meter tools", examples: ['evsed meter models', 'evsed meter scan --transport serial --path /dev/ttyUSB0'] },
  hw: { summary: "technician's hardware tools", examples: ['evsed hw test --config /etc/evsed/evsed.yaml'] },
  tags: { summary: "the owner's tag list, through the running daemon's API", examples: ['evsed tags learn --name "Anna (company car)"', 'evsed tags export --out tags.csv'] },
};

export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${what} must be a positive whole number (got "${value}")`);
    return n;
  };
}

function month(value: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value)) throw new Error(`must be YYYY-MM, e.g. 2026-11 (got "${value}")`);
  return value;
}

const config = (what = 'the station config'): OptionSpec => ({ flags: '--config <file>', description: what, default: DEFAULT_CONFIG });
const from: OptionSpec = { flags: '--from <date>', description: 'first day (YYYY-MM-DD, UTC) or an ISO timestamp with a zone' };
const to: OptionSpec = { flags: '--to <date>', description: 'last day, inclusive (YYYY-MM-DD, UTC) or an ISO timestamp with a zone' };
const idTag: OptionSpec = { flags: '--id-tag <tag>', description: 'only this tag (case-insensitive)' };
const force: OptionSpec = { flags: '--force', description: 'go on while a session runs (the restart that follows ends it)', default: false };
const out: OptionSpec = { flags: '--out <file>', description: 'write to this file instead of standard output' };

/** Modbus line options shared by meter read and meter scan. */
const line: OptionSpec[] = [
  { flags: '--transport <serial|tcp-rtu|tcp>', description: 'serial: an RS-485 adapter; tcp-rtu: an RS-485/Ethernet gateway in transparent mode; tcp: Modbus TCP' },
  { flags: '--path <device>', description: 'serial: the adapter, e.g. /dev/ttyUSB0' },
  { flags: '--host <host>', description: "tcp-rtu and tcp: the gateway's or meter's address" },
  { flags: '--port <n>', description: 'tcp-rtu and tcp: the TCP port (tcp: default 502)' },
  { flags: '--timeout-ms <n>', description: 'answer timeout per request' },
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['run'],
    summary: 'run the station daemon',
    details: 'SIGTERM or Ctrl-C opens every contactor, closes the sessions and the store, and exits 0.',
    options: [config()],
    examples: ['evsed run --config /etc/evsed/evsed.yaml', 'evsed run   (the simulated station of config/sim.yaml)'],
  },
  {
    path: ['config', 'check'],
    summary: 'check a config file: every problem with its line, and the warnings that run would log',
    details: 'Exit 0 when valid (warnings on stderr), 78 with one line per problem when not.',
    args: [{ name: '<file>', description: 'the config file' }],
    examples: ['evsed config check /etc/evsed/evsed.yaml'],
  },
  {
    path: ['sessions', 'list'],
    summary: 'recent sessions as a table',
    options: [config(), { flags: '--limit <n>', description: 'at most this many, the latest', default: '50', parse: positiveInt('--limit') }, from, to, idTag],
    examples: ['evsed sessions list --limit 10', 'evsed sessions list --from 2026-11-01 --id-tag 04A1B2C3'],
  },
  {
    path: ['sessions', 'export'],
    summary: 'every session in a date range, for a spreadsheet or a script',
    details: 'Dates are UTC days (--to inclusive) or ISO timestamps with a zone; anything else is a usage error.',
    options: [config(), { flags: '--format <format>', description: 'csv for a spreadsheet, json for a script', choices: ['csv', 'json'], default: 'csv' }, from, to, idTag, out],
    examples: ['evsed sessions export --from 2026-11-01 --to 2026-11-30 --out november.csv', 'evsed sessions export --format json --id-tag 04A1B2C3'],
  },
  {
    path: ['meter', 'read'],
    summary: "read a meter: checks its model and settings first, then shows its registers",
    details: `Serial settings and unit id default to the model's factory settings (hardware/meters/MODEL.json).
The meter is checked first (model code, settings its map assumes): another model or a wrong setting is
reported with the register and the fix, exit 78; no answer exits 69.`,
    options: [
      { flags: '--model <model>', description: 'the meter model (evsed meter models lists them)', required: true },
      ...line,
      { flags: '--unit-id <n>', description: 'Modbus unit id' },
      { flags: '--baud-rate <n>', description: 'serial line speed' },
      { flags: '--parity <none|even|odd>', description: 'serial parity' },
      { flags: '--stop-bits <1|2>', description: 'serial stop bits' },
      { flags: '--data-bits <7|8>', description: 'serial data bits' },
      { flags: '--watch', description: 'read again and again (Ctrl-C stops)' },
      { flags: '--interval-ms <n>', description: 'with --watch: time between reads', default: '1000' },
      { flags: '--count <n>', description: 'with --watch: stop after this many reads' },
      { flags: '--json', description: 'one JSON object per read' },
    ],
    examples: ['evsed meter read --model sdm630 --transport serial --path /dev/ttyUSB0', 'evsed meter read --model em340 --transport tcp --host 192.168.1.40 --unit-id 2 --watch'],
  },
  {
    path: ['meter', 'scan'],
    summary: 'find the meters on a line: unit ids, line settings and models',
    details: 'Without --baud-rates a serial scan tries the usual line settings of the known models.',
    options: [
      ...line,
      { flags: '--unit-ids <list>', description: 'unit ids to try, e.g. 1-10,33' },
      { flags: '--baud-rates <list>', description: 'serial line speeds to try, e.g. 9600,2400' },
      { flags: '--parity <none|even|odd>', description: 'serial parity (default: none and even)' },
      { flags: '--models <list>', description: 'only these models, e.g. sdm630,em340' },
    ],
    examples: ['evsed meter scan --transport serial --path /dev/ttyUSB0 --unit-ids 1-3', 'evsed meter scan --transport tcp --host 192.168.1.40'],
  },
  {
    path: ['meter', 'models'],
    summary: 'the meter models evsed has register maps for, with their factory settings',
    examples: ['evsed meter models'],
  },
  {
    path: ['hw', 'test'],
    summary: "a technician's self-test of the Pi wiring: each output once, each input, the pilot",
    details: 'Asks before the contactor closes (unless --yes). Refuses while the daemon holds the hardware (exit 75): stop it first.',
    options: [
      config(),
      { flags: '-y, --yes', description: 'do not ask before closing the contactor', default: false },
      { flags: '--connector <id>', description: 'only this connector (its pins, readers and light)' },
      { flags: '--reader <id>', description: 'only this card reader: wait for a card and print its idTag (skips the pins)' },
      { flags: '--card-timeout-s <s>', description: 'how long the reader test waits for a card (default 30)' },
    ],
    examples: ['evsed hw test --config /etc/evsed/evsed.yaml', 'evsed hw test --config /etc/evsed/evsed.yaml --connector 2', 'evsed hw test --config /etc/evsed/evsed.yaml --reader front'],
  },
  {
    path: ['tags', 'learn'],
    summary: "wait for the next card at a reader and add it to the owner's tag list under a name",
    details: 'The running daemon does the work (api.listen and api.token of the config). Exit 75 when no card came in time or a learn already waits, 69 when the daemon cannot be reached.',
    options: [{ flags: '--name <name>', description: 'the name the new card is to carry', required: true }, { flags: '--connector <id>', description: "a reader of this connector only" }, { flags: '--timeout-s <s>', description: 'how long to wait for the card (default 30)' }, config(), { flags: '--url <url>', description: "the daemon's API (default: from api.listen)" }],
    examples: ['evsed tags learn --name "Anna (company car)"', 'evsed tags learn --name Guest --connector 2 --timeout-s 60'],
  },
  {
    path: ['tags', 'export'],
    summary: "the owner's tag list as CSV (name,idTag,expiry,parent,enabled)",
    options: [out, config(), { flags: '--url <url>', description: "the daemon's API (default: from api.listen)" }],
    examples: ['evsed tags export --out tags.csv'],
  },
  {
    path: ['tags', 'import'],
    summary: "replace the owner's tag list with a CSV file (exit 65 naming every bad record)",
    args: [{ name: '<file>', description: 'the CSV file (as tags export writes it)' }],
    options: [config(), { flags: '--url <url>', description: "the daemon's API (default: from api.listen)" }],
    examples: ['evsed tags import tags.csv'],
  },
  {
    path: ['passwd'],
    summary: "set the station page's sign-in password (stored as a hash in api.passwordHash)",
    details: `Asks for the password twice without echo (or reads one line from standard input when it is not a
terminal), and writes its scrypt hash to api.passwordHash of the config file, keeping the file's comments,
mode and owner (the config is root's: run it with sudo). Restart evsed to use it. With a password every page
and API route needs the sign-in or api.token (docs/security.md). Exit 64 for a password under 8 characters
or two that differ, 78 when the file cannot be read or written.`,
    options: [config(), { flags: '--print', description: 'only print the passwordHash line, change no file' }, { flags: '--remove', description: 'remove the password: the page is open again as api.token and api.listen allow' }],
    examples: ['sudo evsed passwd --config /etc/evsed/evsed.yaml', 'echo "$NEW_PASSWORD" | evsed passwd --print', 'sudo evsed passwd --config /etc/evsed/evsed.yaml --remove'],
  },
  {
    path: ['boards-off'],
    summary: 'turn every pilot board off (the unit runs it after every stop)',
    details: `A pilot board has no Modbus watchdog: after the daemon died it would charge on at the last current.
The systemd unit's ExecStopPost runs this. Exit 0 when every board is off, 69 when one is not.`,
    options: [config()],
    examples: ['evsed boards-off --config /etc/evsed/evsed.yaml'],
  },
  {
    path: ['report'],
    summary: 'energy and cost per tag for a month, for reimbursement',
    details: 'Months are in tariff.timeZone (default: the system time zone).',
    options: [
      { flags: '--month <YYYY-MM>', description: 'the month', required: true, parse: month },
      idTag,
      { flags: '--format <format>', description: 'csv for a spreadsheet, html to print or mail', choices: ['csv', 'html'], default: 'csv' },
      config(),
      out,
    ],
    examples: ['evsed report --month 2026-11 --out november.csv', 'evsed report --month 2026-11 --id-tag 04A1B2C3 --format html --out alex-november.html'],
  },
  {
    path: ['update'],
    summary: 'install a release bundle beside the running one and switch to it on trial',
    details: 'Checks the bundle (signature against update.releaseKey, checksum, Node range, arch), unpacks it into <update.root>/releases/<version>/, runs its self-check, and points <update.root>/current at it. The daemon runs it from the next start of the service (sudo systemctl restart evsed); the boot guard goes back to the previous release if it does not prove itself within update.trialStarts starts. Run it as the service user (sudo -u evsed). Exit 65 the bundle is refused, 69 the URL cannot be downloaded, 75 a session runs (without --force), 77 no permission.',
    args: [{ name: '<bundle>', description: 'a bundle file (evsed-<version>-<arch>.tar) or an http(s)/ftp(s) URL' }],
    options: [config('the station config (update.root, storage.dir, api.listen)'), force],
    examples: ['evsed update /tmp/evsed-1.2.0-arm64.tar --config /etc/evsed/evsed.yaml', 'evsed update https://example.com/evsed-1.2.0-arm64.tar --config /etc/evsed/evsed.yaml'],
  },
  {
    path: ['rollback'],
    summary: 'point current back at the previous release',
    details: 'Run it as the service user (sudo -u evsed). The daemon runs it from the next start of the service. Exit 1 when there is no previous release, 75 a session runs (without --force), 77 no permission.',
    options: [config('the station config (update.root, storage.dir, api.listen)'), force],
    examples: ['evsed rollback --config /etc/evsed/evsed.yaml'],
  },
  {
    path: ['self-check'],
    summary: "load every module of this release, the SQLite addon and the config, start nothing (the installer's check)",
    details: 'Exit 0 when everything loads, 1 with one line per problem.',
    options: [{ flags: '--config <file>', description: 'also load this station config' }],
    examples: ['evsed self-check --config /etc/evsed/evsed.yaml'],
  },
];

/** What each exit code means, for the help and the README. */
export const EXIT_CODES: readonly [number, string][] = [
  [0, 'success'],
  [1, 'the command ran and found a fault (a hw test check failed), or an internal error'],
  [64, 'usage: an unknown command or option, a missing or malformed value'],
  [65, 'the data cannot be reported as asked (e.g. a month priced in two currencies); update: the bundle is refused'],
  [66, 'no session store yet (the daemon creates it on first start)'],
  [69, 'a device does not answer (meter, pilot board), or a download server'],
  [75, 'the hardware is busy: the daemon holds it (stop it first); update/rollback: a session runs'],
  [77, 'update/rollback: no permission to change the releases (run as the service user)'],
  [78, 'configuration: the config file is missing or invalid, or a meter is set otherwise than its map'],
];
