export interface ThrottleOptions {
  /** Failures without any wait. */
  free: number;
  /** The wait after the first failure beyond `free`; it doubles with each further one... */
  baseMs: number;
  /** ...up to this. */
  maxMs: number;
  /** A key's failures are forgotten this long after its last one. */
  forgetMs: number;
  now: () => number;
}

interface Record {
  failures: number;
  lastMs: number;
}

/**
 * Failed sign-ins per client: the first few are free, then each further attempt must wait,
 * doubling up to a bound. Never a lock-out: the wait is bounded, and forgotten a while after the
 * last failure or at a success.
 */
export class AttemptThrottle {
  private readonly records = new Map<string, Record>();

  constructor(private readonly o: ThrottleOptions) {}

  /** Milliseconds `key` must still wait before its next attempt (0: it may try now). */
  waitMs(key: string): number {
    const r = this.current(key);
    if (!r || r.failures < this.o.free) return 0;
    const delay = Math.min(this.o.baseMs * 2 ** (r.failures - this.o.free), this.o.maxMs);
    return Math.max(0, r.lastMs + delay - this.o.now());
  }

  failed(key: string): number {
    const r = this.current(key) ?? { failures: 0, lastMs: 0 };
    r.failures++;
    r.lastMs = this.o.now();
    this.records.set(key, r);
    if (this.records.size > 10_000) this.prune();
    return r.failures;
  }

  succeeded(key: string): void {
    this.records.delete(key);
  }

  /** Failures of `key` not yet forgotten. */
  failures(key: string): number {
    return this.current(key)?.failures ?? 0;
  }

  private current(key: string): Record | undefined {
    const r = this.records.get(key);
    if (r && this.o.now() - r.lastMs >= this.o.forgetMs) {
      this.records.delete(key);
      return undefined;
    }
    return r;
  }

  private prune(): void {
    const now = this.o.now();
    for (const [k, r] of this.records) if (now - r.lastMs >= this.o.forgetMs) this.records.delete(k);
    // Still full (very many addresses at once): the oldest records go; memory stays bounded.
    for (const k of this.records.keys()) {
      if (this.records.size <= 10_000) break;
      this.records.delete(k);
    }
  }
}
