/** The time window of a diagnostics or log request, as epoch milliseconds; an open end is unbounded. */
export interface TimeWindow {
  fromMs?: number;
  toMs?: number;
}

/** The window of two optional ISO timestamps (GetDiagnostics startTime/stopTime, GetLog oldest/latestTimestamp). */
export function windowOf(from?: string, to?: string): TimeWindow {
  const f = from ? Date.parse(from) : NaN;
  const t = to ? Date.parse(to) : NaN;
  return { ...(Number.isFinite(f) ? { fromMs: f } : {}), ...(Number.isFinite(t) ? { toMs: t } : {}) };
}

export function inWindow(ms: number, w: TimeWindow): boolean {
  return (w.fromMs === undefined || ms >= w.fromMs) && (w.toMs === undefined || ms <= w.toMs);
}

const JSON_TIME = /"time":\s*(?:"([^"]+)"|(\d+(?:\.\d+)?))/;
/** journalctl -o short-iso: `2026-12-03T23:47:38+0000 host evsed[123]: …` (newer systemd writes +00:00). */
const ISO_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:?\d\d)?\s/;

/**
 * When a log line was written: pino's `"time"` (ISO text, or epoch ms in the pretty mode's JSON),
 * else the ISO stamp a journal line starts with. undefined for a line without one (a continuation).
 */
export function lineTime(line: string): number | undefined {
  if (line.startsWith('{')) {
    const m = JSON_TIME.exec(line);
    if (m) {
      const t = m[1] !== undefined ? Date.parse(m[1]) : Number(m[2]);
      if (Number.isFinite(t)) return t;
    }
  }
  const p = ISO_PREFIX.exec(line);
  if (p) {
    const zone = p[2] === undefined ? 'Z' : p[2] === 'Z' ? 'Z' : p[2].replace(/^([+-]\d\d)(\d\d)$/, '$1:$2');
    const t = Date.parse(`${p[1]}${zone}`);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

/**
 * The lines written inside the window, in their order. A line without a time of its own (the
 * rest of a multi-line message) goes with the line before it; lines before the first stamped one
 * are left out (their time is unknown).
 */
export function selectWindow(lines: readonly string[], w: TimeWindow): string[] {
  const out: string[] = [];
  let keep = false;
  for (const line of lines) {
    if (line === '') continue;
    const t = lineTime(line);
    if (t !== undefined) keep = inWindow(t, w);
    if (keep) out.push(line);
  }
  return out;
}
