/**
 * Change detection and rate limiting for retained values, per topic: a value goes out when it
 * differs from what the broker has, and a topic goes out at most once per interval. Changes within
 * the interval are coalesced: the newest value is sent when the interval has passed, so the last
 * value always gets out. A value that changes and changes back before it was sent is not sent.
 * Pure: time comes from the caller (monotonic ms).
 */
export class Coalescer {
  private readonly latest = new Map<string, string>();
  private readonly sent = new Map<string, string>();
  private readonly sentAtMs = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Record the newest value of a topic. */
  set(topic: string, payload: string): void {
    this.latest.set(topic, payload);
  }

  /** The newest value recorded for a topic. */
  get(topic: string): string | undefined {
    return this.latest.get(topic);
  }

  /** Values to publish now, oldest topic first; they count as sent from here on. */
  take(nowMs: number): [topic: string, payload: string][] {
    const out: [string, string][] = [];
    for (const [topic, payload] of this.latest) {
      if (this.sent.get(topic) === payload) continue;
      const at = this.sentAtMs.get(topic);
      if (at !== undefined && nowMs - at < this.intervalMs) continue;
      out.push([topic, payload]);
      this.sent.set(topic, payload);
      this.sentAtMs.set(topic, nowMs);
    }
    return out;
  }

  /** When the earliest held-back change may go out (ms), or null when nothing is waiting. */
  nextDueMs(): number | null {
    let due: number | null = null;
    for (const [topic, payload] of this.latest) {
      if (this.sent.get(topic) === payload) continue;
      const t = (this.sentAtMs.get(topic) ?? -Infinity) + this.intervalMs;
      if (due === null || t < due) due = t;
    }
    return due === null ? null : Math.max(due, 0);
  }

  /** The broker lost its copies (reconnect, broker restart): every value is due again, at once. */
  resendAll(): void {
    this.sent.clear();
    this.sentAtMs.clear();
  }
}
