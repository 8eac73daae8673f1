/**
 * Event-loop stall detector: a timer that should fire every `intervalMs` measures how late it
 * fires. A lag above `thresholdMs` means the loop was blocked (GC, sync I/O on a slow SD card, a
 * runaway computation) and nothing time-critical ran meanwhile: `onStall` drives the outputs safe.
 * The hardware interlock covers the stall itself; this reacts as soon as the loop runs again.
 */
export interface StallDetectorOptions {
  intervalMs?: number;
  thresholdMs?: number;
  onStall: (lagMs: number) => void;
  /** Monotonic time source (ms). */
  now?: () => number;
  /** Lags kept for stats(). */
  window?: number;
}

export interface LagStats {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  stalls: number;
}

export class StallDetector {
  private readonly intervalMs: number;
  private readonly thresholdMs: number;
  private readonly now: () => number;
  private readonly lags: number[] = [];
  private readonly window: number;
  private timer?: NodeJS.Timeout;
  private expected = 0;
  private maxLag = 0;
  stalls = 0;

  constructor(private readonly opts: StallDetectorOptions) {
    this.intervalMs = opts.intervalMs ?? 20;
    this.thresholdMs = opts.thresholdMs ?? 250;
    this.now = opts.now ?? (() => performance.now());
    this.window = opts.window ?? 5000;
  }

  start(): void {
    if (this.timer) return;
    this.expected = this.now() + this.intervalMs;
    this.timer = setTimeout(() => this.fire(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stats(): LagStats {
    const s = [...this.lags].sort((a, b) => a - b);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : 0);
    return { samples: s.length, p50: q(0.5), p99: q(0.99), max: this.maxLag, stalls: this.stalls };
  }

  private fire(): void {
    const t = this.now();
    const lag = Math.max(0, t - this.expected);
    this.lags.push(lag);
    if (this.lags.length > this.window) this.lags.shift();
    if (lag > this.maxLag) this.maxLag = lag;
    if (lag > this.thresholdMs) {
      this.stalls++;
      try {
        this.opts.onStall(lag);
      } catch {
        // the callback drives outputs safe; a failure there must not stop the detector
      }
    }
    if (!this.timer) return;
    this.expected = t + this.intervalMs;
    this.timer = setTimeout(() => this.fire(), this.intervalMs);
  }
}
