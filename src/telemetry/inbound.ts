/**
 * Inbound MQTT, bounded: whatever anyone who can publish to the broker sends, the station does a
 * bounded amount of work for it. Messages are grouped by a key (the topic); per key at most one
 * action runs per interval, and messages in between only replace the value that will run (the last
 * one wins). Pure: time comes from the caller (monotonic ms).
 *
 * - `leading: true` (commands): the first message acts at once, a burst after it once more when
 *   the interval has passed.
 * - `leading: false` (Home Assistant's `online`): nothing acts at once; the action runs `delayMs`
 *   after the first message (a burst is over by then) and at most once per interval, so a storm
 *   costs one action.
 */
export interface ThrottleOptions {
  intervalMs: number;
  leading: boolean;
  /** Trailing only: how long after the first message of a quiet key the action runs. */
  delayMs?: number;
  /** Keys held at once; a message for a further key is dropped (the topics are few and known). */
  maxKeys?: number;
}

export type Offer<V> = { act: 'now'; value: V } | { act: 'later' } | { act: 'dropped' };

interface KeyState<V> {
  lastRunMs?: number;
  pending?: { value: V; dueMs: number; count: number };
}

export class InboundThrottle<V> {
  private readonly keys = new Map<string, KeyState<V>>();
  private readonly maxKeys: number;

  constructor(private readonly o: ThrottleOptions) {
    this.maxKeys = o.maxKeys ?? 64;
  }

  /** A message for `key`: act on it now, later (when take() hands it out), or not at all. */
  offer(key: string, value: V, nowMs: number): Offer<V> {
    let k = this.keys.get(key);
    if (!k) {
      if (this.keys.size >= this.maxKeys) return { act: 'dropped' };
      k = {};
      this.keys.set(key, k);
    }
    if (k.pending) {
      k.pending.value = value;
      k.pending.count++;
      return { act: 'later' };
    }
    const free = k.lastRunMs === undefined || nowMs - k.lastRunMs >= this.o.intervalMs;
    if (this.o.leading && free) {
      k.lastRunMs = nowMs;
      return { act: 'now', value };
    }
    const earliest = k.lastRunMs === undefined ? nowMs : k.lastRunMs + this.o.intervalMs;
    const dueMs = this.o.leading ? earliest : Math.max(earliest, nowMs + (this.o.delayMs ?? 0));
    k.pending = { value, dueMs, count: 1 };
    return { act: 'later' };
  }

  /** The values due at `nowMs`, each with the number of messages it stands for; they count as run. */
  take(nowMs: number): { key: string; value: V; count: number }[] {
    const out: { key: string; value: V; count: number }[] = [];
    for (const [key, k] of this.keys) {
      if (!k.pending || k.pending.dueMs > nowMs) continue;
      out.push({ key, value: k.pending.value, count: k.pending.count });
      k.pending = undefined;
      k.lastRunMs = nowMs;
    }
    return out;
  }

  /** When the earliest pending value is due, or null when nothing waits. */
  nextDueMs(): number | null {
    let due: number | null = null;
    for (const k of this.keys.values()) if (k.pending && (due === null || k.pending.dueMs < due)) due = k.pending.dueMs;
    return due;
  }
}
