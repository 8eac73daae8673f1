import type { Clock } from './clock.js';

/**
 * The RCD / RDC-DD module's self-test. Pure timing (monotonic ms passed in), so it runs on a FakeClock.
 * Sources: ../shared/reference/iec61851.md §1.3-1.8.
 */

export interface RcdTestIo {
  /** Drive the module's test input (true = inject the test current). */
  setTest(on: boolean): void;
  /** The module's fault output right now (true = tripped). */
  faultActive(): boolean;
  /** Subscribe to fault output changes; returns the unsubscribe function. */
  onFault(listener: (active: boolean) => void): () => void;
}

export interface RcdTestResult {
  ok: boolean;
  /** What failed, in words a technician can act on. */
  reason?: string;
  /** Time from test on to trip, and from test off to clear (ms). */
  tripMs?: number;
  clearMs?: number;
}

/**
 * RCD / RDC-DD self-test (SmartEVSE: test input 1000 ms, expect the fault line; Tinkerforge:
 * in state A after every charge and at least every 24 h). Run only with the contactor open.
 * The test input is always released, also on failure.
 */
export async function runRcdSelfTest(
  io: RcdTestIo,
  clock: Clock,
  opts: { testMs?: number; clearMs?: number } = {},
): Promise<RcdTestResult> {
  const testMs = opts.testMs ?? 1000;
  const clearMs = opts.clearMs ?? 1500;
  if (io.faultActive()) return { ok: false, reason: 'the RCD fault output was already active before the test (tripped, or wiring/polarity wrong: check gpio.activeLow)' };

  const waitFor = (want: boolean, ms: number) =>
    new Promise<number | undefined>((resolve) => {
      const t0 = clock.monoMs();
      if (io.faultActive() === want) return resolve(0);
      let off = () => {};
      const timer = clock.setTimeout(() => {
        off();
        resolve(undefined);
      }, ms);
      off = io.onFault((active) => {
        if (active !== want) return;
        timer.cancel();
        off();
        resolve(clock.monoMs() - t0);
      });
    });

  io.setTest(true);
  let tripMs: number | undefined;
  try {
    tripMs = await waitFor(true, testMs);
  } finally {
    io.setTest(false);
  }
  if (tripMs === undefined) return { ok: false, reason: `the RCD module did not trip within ${testMs} ms of its test input` };
  const clearedMs = await waitFor(false, clearMs);
  if (clearedMs === undefined) return { ok: false, reason: `the RCD fault output did not clear within ${clearMs} ms after the test`, tripMs };
  return { ok: true, tripMs, clearMs: clearedMs };
}
