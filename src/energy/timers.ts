import { WEEKDAYS, type ChargingTimer } from '../config/timers.js';
import { addDays, fromLocal, toLocal } from './local-time.js';

/** What the charging timers say for one connector at one instant. Pure. */
export interface TimerState {
  /** Some window applies to this connector (else the timers leave it alone). */
  applies: boolean;
  /** Inside a window now. */
  open: boolean;
  /** The preference the timers claim: 0 outside every window, a window's maxA inside one, undefined = no claim. */
  maxA: number | undefined;
  /** When the state can next change (a window opens or closes), ms since the epoch; null = never. */
  nextChangeMs: number | null;
  /** When the window open now closes, or the next one opens: for the owner to read. */
  untilMs: number | null;
}

interface Instance {
  startMs: number;
  endMs: number;
  timer: ChargingTimer;
}

function minutes(hhmm: string): [number, number] {
  const [h, m] = hhmm.split(':').map(Number);
  return [h!, m!];
}

/** The windows that apply to a connector, as instants, for the local days from yesterday to a week ahead. */
function instances(timers: readonly ChargingTimer[], connectorId: number, wallMs: number, timeZone: string): Instance[] {
  const today = toLocal(wallMs, timeZone);
  const out: Instance[] = [];
  for (const timer of timers) {
    if (timer.connectors && !timer.connectors.includes(connectorId)) continue;
    const [sh, sm] = minutes(timer.start);
    const [eh, em] = minutes(timer.end);
    const overnight = eh * 60 + em <= sh * 60 + sm;
    for (let k = -1; k <= 8; k++) {
      const d = addDays(today.year, today.month, today.day, k);
      if (!timer.days.includes(WEEKDAYS[d.weekday]!)) continue;
      const e = overnight ? addDays(d.year, d.month, d.day, 1) : d;
      out.push({ timer, startMs: fromLocal(d.year, d.month, d.day, sh, sm, timeZone), endMs: fromLocal(e.year, e.month, e.day, eh, em, timeZone) });
    }
  }
  return out;
}

export function timerState(timers: readonly ChargingTimer[], connectorId: number, wallMs: number, timeZone: string): TimerState {
  const applies = timers.some((t) => !t.connectors || t.connectors.includes(connectorId));
  if (!applies) return { applies, open: false, maxA: undefined, nextChangeMs: null, untilMs: null };
  const all = instances(timers, connectorId, wallMs, timeZone);
  const open = all.filter((i) => i.startMs <= wallMs && wallMs < i.endMs);
  let maxA: number | undefined = 0;
  if (open.length) {
    // Of overlapping windows the most generous one: a window without maxA does not limit at all.
    maxA = open.some((i) => i.timer.maxA === undefined) ? undefined : Math.max(...open.map((i) => i.timer.maxA!));
  }
  const boundaries = all.flatMap((i) => [i.startMs, i.endMs]).filter((t) => t > wallMs);
  const nextChangeMs = boundaries.length ? Math.min(...boundaries) : null;
  // Overlapping or back-to-back windows: the state holds until the last of the chain closes.
  let untilMs: number | null;
  if (open.length) {
    untilMs = Math.max(...open.map((i) => i.endMs));
    for (let grew = true; grew; ) {
      grew = false;
      for (const i of all) if (i.startMs <= untilMs && i.endMs > untilMs) ((untilMs = i.endMs), (grew = true));
    }
  } else {
    const starts = all.map((i) => i.startMs).filter((t) => t > wallMs);
    untilMs = starts.length ? Math.min(...starts) : null;
  }
  return { applies, open: open.length > 0, maxA, nextChangeMs, untilMs };
}
