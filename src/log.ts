import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LogOptions {
  level?: string;
  /** auto: human-readable on a terminal, JSON otherwise (journald). */
  format?: 'auto' | 'pretty' | 'json';
}

/**
 * Levelled logger. Under systemd (no TTY) every line is one JSON object for journald; on a
 * terminal the lines are formatted for people. pino-pretty runs in-process (no worker thread).
 */
export async function createLogger(opts: LogOptions = {}): Promise<Logger> {
  const level = opts.level ?? 'info';
  const pretty = opts.format === 'pretty' || (opts.format !== 'json' && process.stderr.isTTY === true);
  if (pretty) {
    const { default: prettyFactory } = await import('pino-pretty');
    return pino({ level }, prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: 2, sync: true }));
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
