import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { selectWindow, type TimeWindow } from './window.js';

/** Where the daemon's log lines are read from for an archive. */
export type LogSource =
  /** The journal of the unit (run under systemd: INVOCATION_ID / JOURNAL_STREAM set). */
  | { kind: 'journald'; unit: string; journalctl?: string }
  /** log.file and its rotated predecessor (`<file>.1`). */
  | { kind: 'file'; path: string }
  | { kind: 'none'; why: string };

/** Read at most this much of the journal or the files (the archive bounds it further). */
export const MAX_LOG_READ_BYTES = 64 * 1024 * 1024;

/** Whether this process runs as a systemd service (its stdout/stderr go to the journal). */
export function underSystemd(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.INVOCATION_ID || env.JOURNAL_STREAM);
}

/** The service unit this process runs in, from its cgroup (`0::/system.slice/evsed.service`); `fallback` when none is found. */
export function systemdUnit(cgroup: string, fallback = 'evsed.service'): string {
  for (const line of cgroup.split('\n')) {
    const m = /\/([^/\s]+\.service)(?:\/|$)/.exec(line.slice(line.lastIndexOf(':') + 1));
    if (m) return m[1]!;
  }
  return fallback;
}

/** journalctl's arguments for the unit's lines in the window (`@epoch` seconds: no local-time ambiguity). */
export function journalctlArgs(unit: string, w: TimeWindow): string[] {
  const args = ['-u', unit, '-o', 'short-iso', '--no-pager', '-q'];
  if (w.fromMs !== undefined) args.push(`--since=@${Math.floor(w.fromMs / 1000)}`);
  if (w.toMs !== undefined) args.push(`--until=@${Math.ceil(w.toMs / 1000)}`);
  return args;
}

/** The log source this process has: the journal under systemd, else log.file, else none. */
export async function defaultLogSource(logFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LogSource> {
  if (underSystemd(env)) {
    const cgroup = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
    return { kind: 'journald', unit: systemdUnit(cgroup) };
  }
  if (logFile) return { kind: 'file', path: logFile };
  return { kind: 'none', why: 'not run under systemd and no log.file configured: the daemon log went to stderr only' };
}

/** The daemon's log lines of the window (oldest first), or a line saying why there are none. */
export async function readLogLines(src: LogSource, w: TimeWindow): Promise<string[]> {
  if (src.kind === 'none') return [`[evsed: no log available: ${src.why}]`];
  if (src.kind === 'journald') {
    const text = await new Promise<string>((resolve, reject) => {
      execFile(src.journalctl ?? 'journalctl', journalctlArgs(src.unit, w), { maxBuffer: MAX_LOG_READ_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`journalctl: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
    // journalctl selected the window; the lines are taken as they are
    return text.split('\n').filter((l) => l !== '');
  }
  const lines: string[] = [];
  for (const file of [`${src.path}.1`, src.path]) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    lines.push(...text.slice(-MAX_LOG_READ_BYTES).split('\n'));
  }
  return selectWindow(lines, w);
}
