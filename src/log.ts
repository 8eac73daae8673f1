import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Where log lines go (stderr unless a test captures them). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LogOptions {
  level?: string;
  /** auto: human-readable on a terminal, JSON otherwise (journald). */
  format?: 'auto' | 'pretty' | 'json';
  destination?: LogDestination;
  /** Also write every line (JSON) to this file, rotated past maxBytes (config log.file). */
  file?: { path: string; maxBytes: number };
}

/**
 * A log file rotated by size: past maxBytes it becomes `<path>.1` (the one before is dropped) and a
 * new file begins. A write that fails (disk full, file removed) loses that line, never the process.
 */
export class RotatingFile implements LogDestination {
  private fd: number | undefined;
  private size = 0;
  private failed = false;

  constructor(private readonly path: string, private readonly maxBytes: number) {}

  write(line: string): void {
    try {
      const bytes = Buffer.byteLength(line);
      if (this.fd !== undefined && this.size > 0 && this.size + bytes > this.maxBytes) {
        closeSync(this.fd);
        this.fd = undefined;
        renameSync(this.path, `${this.path}.1`);
      }
      if (this.fd === undefined) {
        this.fd = openSync(this.path, 'a', 0o640);
        this.size = fstatSync(this.fd).size;
      }
      writeSync(this.fd, line);
      this.size += bytes;
      this.failed = false;
    } catch (err) {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      if (!this.failed) process.stderr.write(`evsed: cannot write the log file ${this.path}: ${(err as Error).message}\n`);
      this.failed = true;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Shorter values are not scrubbed: replacing every "abc" would garble the log, and they protect nothing. */
const MIN_SECRET_LENGTH = 4;

/**
 * Values that never reach the log: api.token, the OCPP and MQTT passwords, the AuthorizationKey
 * (registered from the config at start and by the OCPP key store when the CSMS sets a new one).
 * Every line is scrubbed where it is written, whichever field, message or error text carries the
 * value, as written and in its JSON- and URL-encoded forms.
 */
export class SecretValues {
  private readonly forms = new Set<string>();

  add(value: string | undefined | null): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) this.forms.add(form);
  }

  scrub(text: string): string {
    let out = text;
    for (const form of this.forms) if (out.includes(form)) out = out.split(form).join('***');
    return out;
  }

  get size(): number {
    return this.forms.size;
  }
}

/** The process's secrets, scrubbed from every line of every logger createLogger made. */
export const logSecrets = new SecretValues();

/**
 * Levelled logger. Under systemd (no TTY) every line is one JSON object for journald; on a
 * terminal the lines are formatted for people. pino-pretty runs in-process (no worker thread).
 */
export async function createLogger(opts: LogOptions = {}): Promise<Logger> {
  const level = opts.level ?? 'info';
  const pretty = opts.format === 'pretty' || (opts.format !== 'json' && process.stderr.isTTY === true);
  const file = opts.file ? new RotatingFile(opts.file.path, opts.file.maxBytes) : undefined;
  if (pretty) {
    const { default: prettyFactory } = await import('pino-pretty');
    const out = opts.destination ?? prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: 2, sync: true });
    return pino({ level }, scrubbing(out, file));
  }
  const out = opts.destination ?? pino.destination({ dest: 2, sync: true });
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, scrubbing(out, file));
}

/** Scrubs each line, then writes it to `out` and to the log file (the JSON line, also when `out` prettifies it). */
function scrubbing(out: LogDestination, file?: LogDestination): LogDestination {
  return {
    write: (line: string) => {
      const clean = logSecrets.size ? logSecrets.scrub(line) : line;
      file?.write(clean);
      return out.write(clean);
    },
  };
}

/**
 * A security event (OCPP security whitepaper §8: the security log): one warning line with
 * `securityEvent` set to its type, so `journalctl -u evsed | grep securityEvent` finds every one.
 */
export function logSecurityEvent(log: Logger, type: string, details: Record<string, unknown>, msg: string): void {
  log.warn({ securityEvent: type, ...details }, `security event ${type}: ${msg}`);
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
