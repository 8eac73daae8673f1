import { chownSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { parseDocument, isMap } from 'yaml';
import { ConfigError, EXIT_CONFIG } from '../../config/errors.js';
import { loadConfig } from '../../config/load.js';
import { hashPassword } from '../../util/password-hash.js';
import { UsageError } from './args.js';

export const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

export interface PasswdOptions {
  config: string;
  print?: boolean;
  remove?: boolean;
}

export interface PasswdIo {
  /** The new password: asked twice without echo on a terminal, else one line of standard input. */
  readPassword(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

/**
 * `evsed passwd`: the page's sign-in password, stored as a scrypt hash in api.passwordHash of the
 * config file (the file stays root's, read-only to the daemon; the daemon reads it at start).
 * The file is edited in place with its comments, written to a temporary file beside it and
 * renamed over it with the same mode and owner. --print only prints the line; --remove turns
 * the sign-in off.
 */
export async function passwd(o: PasswdOptions, io: PasswdIo = terminalIo()): Promise<number> {
  if (o.print && o.remove) throw new UsageError('--print and --remove do not go together');
  let text: string | undefined;
  if (!o.print) {
    try {
      text = readFileSync(o.config, 'utf8');
    } catch (err) {
      io.err(`evsed passwd: cannot read ${o.config}: ${(err as Error).message} (give the station's config with --config FILE)`);
      return EXIT_CONFIG;
    }
  }
  const doc = text === undefined ? undefined : parseDocument(text);
  if (doc && (doc.errors.length || !isMap(doc.contents))) {
    io.err(`evsed passwd: ${o.config} is not a YAML mapping (${doc.errors[0]?.message ?? 'empty'}): run evsed config check ${o.config}`);
    return EXIT_CONFIG;
  }
  if (doc && doc.has('api') && !isMap(doc.get('api'))) {
    io.err(`evsed passwd: api in ${o.config} is not a mapping: run evsed config check ${o.config}`);
    return EXIT_CONFIG;
  }

  if (o.remove) {
    if (!doc!.hasIn(['api', 'passwordHash'])) {
      io.out(`${o.config}: no sign-in password is set (nothing changed)`);
      return 0;
    }
    doc!.deleteIn(['api', 'passwordHash']);
    const code = write(o.config, doc!.toString({ lineWidth: 0 }), io);
    if (code === 0) io.out(`api.passwordHash removed from ${o.config}: restart evsed to turn the sign-in off (sudo systemctl restart evsed)`);
    return code === 0 ? validate(o.config, io) : code;
  }

  const password = await io.readPassword();
  if (password.length < MIN_PASSWORD) throw new UsageError(`the password must have at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw new UsageError(`the password must have at most ${MAX_PASSWORD} characters`);
  const hash = await hashPassword(password);
  if (o.print) {
    io.out(`passwordHash: "${hash}"`);
    return 0;
  }
  doc!.setIn(['api', 'passwordHash'], hash);
  const code = write(o.config, doc!.toString({ lineWidth: 0 }), io);
  if (code !== 0) return code;
  io.out(`api.passwordHash set in ${o.config}: restart evsed to use it (sudo systemctl restart evsed); the station page then asks for this password`);
  return validate(o.config, io);
}

/** Replaces `file` by `text` at once (a reader sees the old file or the new one), keeping its mode and owner. */
function write(file: string, text: string, io: PasswdIo): number {
  const tmp = `${file}.passwd-${process.pid}.tmp`;
  try {
    const st = statSync(file);
    const fd = openSync(tmp, 'wx', st.mode & 0o777);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (process.getuid?.() === 0) chownSync(tmp, st.uid, st.gid);
    renameSync(tmp, file);
    return 0;
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied: run it as root (sudo evsed passwd --config FILE), or use --print and put the line under api: yourself' : e.message;
    io.err(`evsed passwd: cannot write ${file}: ${why}`);
    return EXIT_CONFIG;
  }
}

/** The hash is written; other problems of the file are reported too (run would refuse it). */
function validate(file: string, io: PasswdIo): number {
  try {
    loadConfig(file);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`the config has other problems that evsed run would refuse:\n${err.message}`);
    return EXIT_CONFIG;
  }
}

function terminalIo(): PasswdIo {
  return {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
    async readPassword() {
      if (!process.stdin.isTTY) return (await readStdinLine()) ?? '';
      const first = await askHidden('New password for the station page: ');
      const second = await askHidden('The same again: ');
      if (first !== second) throw new UsageError('the two passwords differ: nothing changed');
      return first;
    },
  };
}

/** The first line of standard input (a script: `echo "$PW" | evsed passwd`). */
async function readStdinLine(): Promise<string | undefined> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const line = text.split(/\r?\n/)[0];
  return line === undefined || line === '' ? undefined : line;
}

/** Reads a line from the terminal without echoing it. */
function askHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('cancelled: nothing changed'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
