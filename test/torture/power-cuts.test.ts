import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { api, spawnDaemon, tempDir, until, type DaemonProcess } from '../support/station.js';
import { freePort } from '../ocpp/csms.js';
import { FlakyCsms } from './flaky-csms.js';
import { FULL, Rng, count, secondsSince, seedFromEnv, sleep, summary } from './env.js';
import { compareLedgers, maxPowerW, readStation, RECOVERY_BOUND_WH, repeats, spawnRaw, tortureConfig } from './ledgers.js';

/**
 * Power cuts: `evsed run` as a child process, SIGKILLed at a random point of each cycle (start-up,
 * charging, right after a stop, queue replay, store writes) while the CSMS fixture flaps (down and
 * refusing, up again, replies held back). After every restart and at the end (CSMS up, queue drained)
 * three ledgers are compared: the sim meter's register as seen in /api/status, the station's sessions
 * (its SQLite file, read-only) and what the CSMS received.
 */
const CYCLES = count(5, 200);
const SEED = seedFromEnv();
const FLUSH_S = 1;
const EV_A = 16;
const POWER_W = maxPowerW(EV_A);
const BOUND_WH = RECOVERY_BOUND_WH;
const KILL_POINTS = ['startup', 'charging', 'stop', 'replay', 'store-write'] as const;
type KillPoint = (typeof KILL_POINTS)[number];

/** What the test saw of the meter register for one session (its idTag is unique). */
interface Seen {
  tag: string;
  cycle: number;
  /** meterStartWh shown in /api/status once the session ran */
  startWh?: number;
  /** register in /api/status read just before a kill that hit the open session, and when */
  lastWh?: number;
  lastAtMs?: number;
  killAtMs?: number;
  /** register after a stop the test waited for (the contactor is open: it no longer moves) */
  stopWh?: number;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe(`power cuts: ${CYCLES} SIGKILL cycles against a flapping CSMS (seed ${SEED})`, () => {
  it('no session lost, no transaction twice, meterStop = station = register within the bound', { timeout: CYCLES > 10 ? CYCLES * 20_000 : 90_000 }, async () => {
    const t0 = performance.now();
    console.log(`power cuts: seed ${SEED} (EVSED_FUZZ_SEED=${SEED} to replay), ${CYCLES} cycles, recovery bound ${BOUND_WH} Wh (the sim meter keeps its register in the simulated world)`);
    const rng = new Rng(SEED);
    const dir = tempDir('evsed-torture-power-');
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const csms = new FlakyCsms(port);
    const tags = Array.from({ length: CYCLES * 3 + 2 }, (_, i) => `PC${String(i).padStart(5, '0')}`);
    let nextTag = 0;
    const file = tortureConfig({ dir, port, authMode: 'local', tags, flushIntervalS: FLUSH_S, evMaxCurrentA: EV_A, keys: { AllowOfflineTxForUnknownId: true } });
    const seen = new Map<string, Seen>();
    const counts: Record<string, number> = {};
    const deviations: number[] = [];
    let daemon: DaemonProcess | undefined;

    const status = async (d: DaemonProcess) => (await api(d.url, '/api/status')).body;
    const fail = (cycle: number, kill: string, problems: string[]) => {
      expect(problems, `cycle ${cycle} (${kill}), seed ${SEED}`).toEqual([]);
    };

    /** After a restart: recovery done, no session open, the ledgers agree so far. */
    async function checkAfterRestart(d: DaemonProcess, cycle: number, kill: string): Promise<void> {
      const st = await until(async () => {
        const s = await status(d);
        return s.connectors[0].meter.energyWh !== null ? s : null;
      }, 'first meter reading');
      const register: number = st.connectors[0].meter.energyWh;
      const ledger = readStation(dataDir);
      const problems = compareLedgers(ledger, csms, { complete: false, boundWh: BOUND_WH });
      let prevStop = -Infinity;
      for (const s of ledger.sessions) {
        const label = `session ${s.id} (${s.idTag})`;
        if (s.status !== 'completed') problems.push(`${label}: still ${s.status} after the restart (not recovered)`);
        if (s.meterStartWh < prevStop) problems.push(`${label}: meterStart ${s.meterStartWh} below the previous session's meterStop ${prevStop}`);
        prevStop = s.meterStopWh ?? prevStop;
        if (s.meterStopWh !== null && register < s.meterStopWh) problems.push(`register after restart ${register} below ${label} meterStop ${s.meterStopWh}`);
        const o = s.idTag ? seen.get(s.idTag) : undefined;
        if (!o) continue;
        if (o.startWh !== undefined && o.startWh !== s.meterStartWh) problems.push(`${label}: meterStart ${s.meterStartWh} != register ${o.startWh} shown at its start`);
        if (o.stopWh !== undefined && s.meterStopWh !== o.stopWh) problems.push(`${label}: meterStop ${s.meterStopWh} != register ${o.stopWh} shown after its stop`);
        if (o.lastWh !== undefined && s.meterStopWh !== null) {
          // true register at the kill is in [lastWh, lastWh + (poll age 1 s + time to the kill) x P];
          // the stored meterStop is at most BOUND_WH below it
          const upper = o.lastWh + Math.ceil(((o.killAtMs! - o.lastAtMs! + 1000) * POWER_W) / 3_600_000) + 1;
          if (s.meterStopWh < o.lastWh - BOUND_WH || s.meterStopWh > upper) problems.push(`${label}: meterStop ${s.meterStopWh} outside [${o.lastWh - BOUND_WH}, ${upper}] (register ${o.lastWh} before the kill)`);
          if (s.recovered) deviations.push(o.lastWh - s.meterStopWh);
        }
        if (s.recovered && s.stopReason !== 'PowerLoss') problems.push(`${label}: recovered with reason ${s.stopReason}`);
      }
      for (const o of seen.values()) {
        if (o.startWh !== undefined && !ledger.sessions.some((s) => s.idTag === o.tag)) problems.push(`session of ${o.tag} (cycle ${o.cycle}) seen running but not in the store (lost)`);
      }
      fail(cycle, kill, problems);
    }

    async function plugAndTag(d: DaemonProcess, cycle: number): Promise<Seen> {
      const tag = tags[nextTag++]!;
      const o: Seen = { tag, cycle };
      seen.set(tag, o);
      // Every session is a new car. The one before may still be plugged in (the simulated world
      // outlives a kill, as the real one does): it drives away first, and the next one arrives once
      // the station has seen it go (not during a state F, which hides an unplug). That also clears
      // what latches until unplug: a 'stall' of a loaded machine stays while the EV stays plugged.
      if ((await status(d)).connectors[0].pilot !== 'A') {
        await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
        await until(async () => (await status(d)).connectors[0].pilot === 'A', 'the previous car unplugged');
      }
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      const r = await api(d.url, '/api/connectors/1/tag', { idTag: tag });
      expect(r.body.status, `tag ${tag} (online: CSMS Authorize; offline: AllowOfflineTxForUnknownId)`).toBe('Accepted');
      return o;
    }

    async function charging(d: DaemonProcess, o: Seen): Promise<void> {
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      const c = await until(async () => {
        const x = (await status(d)).connectors[0];
        return x.session && x.contactorClosed ? x : null;
      }, `session of ${o.tag} charging`);
      o.startWh = c.session.meterStartWh;
    }

    async function observeThenKill(d: DaemonProcess, o: Seen, delayMs = 0): Promise<void> {
      const c = (await status(d)).connectors[0];
      if (c.session) {
        o.lastWh = c.meter.energyWh;
        o.lastAtMs = Date.now();
      }
      if (delayMs) await sleep(delayMs);
      o.killAtMs = Date.now();
      await d.kill();
    }

    async function fullSession(d: DaemonProcess, cycle: number, r: Rng): Promise<void> {
      const o = await plugAndTag(d, cycle);
      await charging(d, o);
      await sleep(r.int(200, 1200));
      if (r.chance(0.5)) await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      else await api(d.url, '/api/connectors/1/tag', { idTag: o.tag });
      const c = await until(async () => {
        const x = (await status(d)).connectors[0];
        return x.session === null && !x.contactorClosed ? x : null;
      }, `session of ${o.tag} stopped`);
      o.stopWh = c.meter.energyWh;
      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
    }

    function flapping(r: Rng): { stop(): Promise<void> } {
      let on = true;
      const done = (async () => {
        while (on) {
          await sleep(r.int(150, 1200));
          if (!on) break;
          if (csms.isUp) await csms.down();
          else await csms.up();
          if (r.chance(0.3)) csms.hold();
          else csms.release();
        }
      })();
      return { stop: async () => ((on = false), await done) };
    }

    try {
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const kill: KillPoint = rng.pick(KILL_POINTS);
        const plan = kill === 'replay' ? 'down' : rng.pick(['up', 'down', 'flap', 'hold'] as const);
        counts[kill] = (counts[kill] ?? 0) + 1;
        counts[`csms-${plan}`] = (counts[`csms-${plan}`] ?? 0) + 1;
        if (plan === 'down') await csms.down();
        else await csms.up();
        if (plan === 'hold') csms.hold();
        else csms.release();

        if (kill === 'startup') {
          const p = spawnRaw(file);
          await sleep(rng.int(0, 1500));
          await p.kill();
          continue;
        }
        daemon = await spawnDaemon(file);
        const d = daemon;
        await checkAfterRestart(d, cycle, kill);
        const flap = plan === 'flap' ? flapping(new Rng(rng.int(0, 2 ** 31))) : null;
        try {
          if (kill !== 'replay' && rng.chance(0.4)) await fullSession(d, cycle, rng);
          switch (kill) {
            case 'charging': {
              const o = await plugAndTag(d, cycle);
              await charging(d, o);
              await sleep(rng.int(300, 2500));
              await observeThenKill(d, o);
              break;
            }
            case 'store-write': {
              // around the session-start commit, or at a random moment of the batched sample/checkpoint commits
              const o = await plugAndTag(d, cycle);
              if (rng.chance(0.3)) {
                await sleep(rng.int(0, 30));
                o.killAtMs = Date.now();
                await d.kill();
                break;
              }
              await charging(d, o);
              await observeThenKill(d, o, rng.int(0, 1500));
              break;
            }
            case 'stop': {
              const o = await plugAndTag(d, cycle);
              await charging(d, o);
              await sleep(rng.int(300, 1500));
              const c = (await status(d)).connectors[0];
              o.lastWh = c.meter.energyWh;
              o.lastAtMs = Date.now();
              if (rng.chance(0.5)) await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
              else await api(d.url, '/api/connectors/1/tag', { idTag: o.tag });
              await sleep(rng.int(0, 300));
              o.killAtMs = Date.now();
              await d.kill();
              break;
            }
            case 'replay': {
              // sessions while the CSMS is down, then kill while the queue is being replayed
              const n = rng.int(1, 2);
              for (let k = 0; k < n; k++) await fullSession(d, cycle, rng);
              const queued: number = (await status(d)).ocpp.queue.length;
              const base = csms.log.length;
              // held replies: replay stops at its first message (one call at a time), killed while in flight
              const holding = rng.chance(0.3);
              const k = holding ? 1 : rng.int(1, Math.max(1, Math.min(queued, 8)));
              if (holding) csms.hold();
              await csms.up();
              await until(() => csms.log.length >= base + k, `replay reached message ${k} of ${queued}`, 15_000);
              if (rng.chance(0.5)) await sleep(rng.int(0, 100));
              await d.kill();
              break;
            }
          }
        } finally {
          await flap?.stop();
          if (d.proc.exitCode === null && d.proc.signalCode === null) await d.kill();
        }
      }

      // The end: the CSMS stays up and answers; the last start drains the queue.
      csms.release();
      await csms.up();
      daemon = await spawnDaemon(file);
      await checkAfterRestart(daemon, CYCLES + 1, 'final');
      const d = daemon;
      const st = await until(async () => {
        const s = (await status(d)).ocpp;
        return s.boot === 'Accepted' && s.queue.length === 0 ? s : null;
      }, 'queue drained', 60_000);
      expect(st.queue.failed).toBe(0);
      const ledger = readStation(dataDir);
      fail(CYCLES + 1, 'final', compareLedgers(ledger, csms, { complete: true, boundWh: BOUND_WH }));
      expect(await d.stop()).toBe(0);
      const recovered = ledger.sessions.filter((s) => s.recovered).length;
      const fields = {
        seed: SEED,
        cycles: CYCLES,
        killPoints: Object.fromEntries(Object.entries(counts).filter(([k]) => !k.startsWith('csms-'))),
        csmsPlans: Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith('csms-')).map(([k, v]) => [k.slice(5), v])),
        sessions: ledger.sessions.length,
        recoveredPowerLoss: recovered,
        csmsServerStarts: csms.instances.length,
        txMessagesReceived: csms.log.length,
        distinctTxMessages: csms.log.length - repeats(csms.log),
        receivedTwiceSamePayload: repeats(csms.log),
        boots: csms.allReceived('BootNotification').length,
        boundWh: BOUND_WH,
        maxRecoveryShortfallWh: deviations.length ? Math.max(...deviations) : null,
        durationS: secondsSince(t0),
      };
      summary('power-cuts', fields);
      expect(ledger.sessions.length).toBeGreaterThan(0);
    } finally {
      if (daemon && daemon.proc.exitCode === null && daemon.proc.signalCode === null) await daemon.kill();
      await csms.close();
    }
  });
});
