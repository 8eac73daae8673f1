import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { silentLogger } from '../src/log.js';
import { currentForDuty } from '../src/domain/pwm.js';
import type { SimHardware } from '../src/sim/hardware.js';
import type { SimGridMeter } from '../src/sim/grid-meter.js';
import { percentiles } from './stats.js';
import { simConfig, waitFor } from './core.js';

const FUSE_A = 25;
const MARGIN_A = 1;
const GRID_POLL_MS = 1000;

/**
 * Load management's reaction: from a step of the house load (the simulated grid meter's house
 * current rises) to the new, lower PWM duty at the sim board's pilot output, ms. The grid meter is
 * polled every second (the default), so most of the figure is the wait for the next poll; the rest
 * is the fresh connector-meter read, the budget, the sharing and the state machine. One EV charges
 * (it draws 16 A, the offer is at least that); each cycle steps the house load on L1 from 9 A to 18 A one ampere at a time (each
 * step lowers the offer by 1 A, a decrease applies at once), then back to 2 A (the rise waits out
 * IEC 61851's 5 s before the next cycle).
 */
export async function benchLoadManagement(o: { quick: boolean }): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-load-'));
  const extra = `site:
  fuseA: ${FUSE_A}
  marginA: ${MARGIN_A}
  fallbackA: 6
  gridMeter: { model: sim, houseLoadA: 2, pollIntervalMs: ${GRID_POLL_MS}, staleAfterS: 5 }
`;
  const d = await startDaemon(loadConfig(simConfig(dir, extra)), silentLogger());
  try {
    const hw = d.hardware(1) as SimHardware;
    const grid = d.gridMeter as SimGridMeter;
    const offeredA = () => {
      const out = hw.pilotOutput();
      return out.mode === 'pwm' ? currentForDuty(out.dutyPermille) : 0;
    };
    hw.ev.plug();
    if ((await d.station.presentTag(1, 'BENCH')).status !== 'Accepted') throw new Error('bench: tag refused');
    hw.ev.ready();
    await waitFor(() => offeredA() >= 16, 20_000);

    // The first grid read after the step: what follows it is evsed's own part of the reaction.
    let readAfterStep: number | null = null;
    let stepAt = Infinity;
    const read = grid.read.bind(grid);
    grid.read = () => {
      const now = performance.now();
      if (readAfterStep === null && now >= stepAt) readAfterStep = now;
      return read();
    };
    const reactions: number[] = [];
    const afterRead: number[] = [];
    const cycles = o.quick ? 1 : 3;
    for (let c = 0; c < cycles; c++) {
      for (let house = 9; house <= 18; house++) {
        const expected = FUSE_A - MARGIN_A - house;
        // The moment the board's output carries the new duty ('draw' is emitted on every pilot output change).
        const seen = new Promise<number>((resolve) => {
          const onDraw = () => {
            if (Math.round(offeredA()) <= expected) {
              hw.ev.off('draw', onDraw);
              resolve(performance.now());
            }
          };
          hw.ev.on('draw', onDraw);
        });
        // A step at a random moment of the poll cycle, as a kettle switches on whenever it likes.
        await new Promise((r) => setTimeout(r, Math.random() * GRID_POLL_MS));
        readAfterStep = null;
        const t0 = (stepAt = performance.now());
        grid.setHouseLoad([house, 2, 2]);
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`bench: no new duty ${expected} A within 10 s`)), 10_000).unref());
        const t1 = await Promise.race([seen, timeout]);
        reactions.push(t1 - t0);
        if (readAfterStep !== null) afterRead.push(t1 - readAfterStep);
        stepAt = Infinity;
      }
      grid.setHouseLoad([2, 2, 2]);
      await waitFor(() => offeredA() >= 16, 30_000);
    }
    const p = percentiles(reactions, [50, 99, 100]);
    const q = percentiles(afterRead, [50, 99, 100]);
    const r1 = (x: number | undefined) => +(x ?? NaN).toFixed(1);
    return {
      what: 'house load step -> new PWM duty at the sim board (ms); the step at a random moment of the grid poll cycle',
      gridPollMs: GRID_POLL_MS,
      steps: reactions.length,
      p50Ms: Math.round(p.p50!),
      p99Ms: Math.round(p.p99!),
      maxMs: Math.round(p.max!),
      fromGridReadP50Ms: r1(q.p50),
      fromGridReadP99Ms: r1(q.p99),
      fromGridReadMaxMs: r1(q.max),
    };
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
