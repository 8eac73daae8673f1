import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULT_STALL_THRESHOLD_MS } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

/** The daemon's own default (no supervision section): what a flood must stay below. */
export const STALL_THRESHOLD_MS = DEFAULT_STALL_THRESHOLD_MS;

export interface ChargingDaemon {
  d: Daemon;
  port: number;
  base: string;
  close(): Promise<void>;
}

/** An in-process daemon (its Daemon.loopLag is what is measured) with a session charging on connector 1. */
export async function chargingDaemon(extra = '', log: Logger = silentLogger()): Promise<ChargingDaemon> {
  const dir = tempDir('evsed-hostile-');
  const d = await startDaemon(loadConfig(writeSimConfig(dir, { extra })), log);
  const hw = d.hardware(1) as SimHardware;
  hw.ev.plug();
  expect((await d.station.presentTag(1, 'TAG-1')).status).toBe('Accepted');
  hw.ev.ready();
  await until(() => d.station.connectorView(1)!.contactorClosed, 'charging');
  return {
    d,
    port: d.address.port,
    base: `http://127.0.0.1:${d.address.port}`,
    async close() {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The loop's lag over an attack: the daemon's stall detector (Daemon.loopLag, counted from the
 * start) and a histogram of the same loop over the attack alone, so what start-up cost is not
 * counted against the attack.
 */
export function watchLag(c: ChargingDaemon): { stop(): { stalls: number; maxMs: number } } {
  const stallsBefore = c.d.loopLag().stalls;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return {
    stop() {
      h.disable();
      // The histogram records the whole timer interval: less its 1 ms resolution is the lag.
      return { stalls: c.d.loopLag().stalls - stallsBefore, maxMs: Math.max(0, h.max / 1e6 - 1) };
    },
  };
}

/** The session is still charging (contactor closed, no fault), no stall was seen, the loop's lag stayed below the threshold. */
export function expectStillCharging(c: ChargingDaemon, lag: { stalls: number; maxMs: number }): void {
  const view = c.d.station.connectorView(1)!;
  const lagText = `event-loop lag max ${lag.maxMs.toFixed(1)} ms, ${lag.stalls} stalls`;
  expect({ status: view.status, contactorClosed: view.contactorClosed, faults: view.faults }, lagText).toEqual({ status: 'Charging', contactorClosed: true, faults: [] });
  expect(lag.stalls, lagText).toBe(0);
  expect(lag.maxMs).toBeLessThan(STALL_THRESHOLD_MS);
}

/**
 * GET /api/status from 127.0.0.1 every `everyMs`, each on a new connection (the connection must be
 * accepted too, not only answered), a second at most each.
 */
export function probeApi(port: number, everyMs = 100): { stop(): Promise<{ requests: number; failures: string[]; maxMs: number }> } {
  let running = true;
  const times: number[] = [];
  const failures: string[] = [];
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request({ host: '127.0.0.1', port, path: '/api/status', agent: false, timeout: 1000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
          times.push(performance.now() - t0);
          resolve();
        });
      });
      req.on('timeout', () => {
        failures.push('no answer within 1 s');
        req.destroy();
      });
      req.on('error', (err) => {
        if (!failures.at(-1)?.startsWith('no answer')) failures.push(err.message);
        resolve();
      });
      req.end();
    });
  const loop = (async () => {
    while (running) {
      await one();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { requests: times.length, failures, maxMs: Math.max(0, ...times) };
    },
  };
}
