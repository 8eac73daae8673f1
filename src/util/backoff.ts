/**
 * Exponential back-off with jitter, for every reconnect and retry loop (MQTT, OCPP, meter bus):
 * base, base x factor, ... capped at maxMs, each spread by ±jitter so that many stations do not
 * hammer a restarted server in step.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Relative spread, 0..1 (0.2 = ±20 %); default 0.2. */
  jitter?: number;
  random?: () => number;
}

/** The delay before retry `attempt` (0 = the first after a failure). */
export function backoffDelayMs(attempt: number, o: BackoffOptions): number {
  const factor = o.factor ?? 2;
  const jitter = o.jitter ?? 0.2;
  const random = o.random ?? Math.random;
  const raw = Math.min(o.maxMs, o.baseMs * factor ** Math.min(Math.max(0, attempt), 30));
  return Math.round(raw * (1 + jitter * (2 * random() - 1)));
}

/** The same as a counter: `next()` gives the next delay, `reset()` after a success. */
export class Backoff {
  private n = 0;
  constructor(private readonly o: BackoffOptions) {}

  next(): number {
    return backoffDelayMs(this.n++, this.o);
  }

  reset(): void {
    this.n = 0;
  }

  /** Retries since the last reset. */
  get attempt(): number {
    return this.n;
  }
}
