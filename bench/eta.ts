import { SimEv } from '../src/sim/ev.js';
import { SimMeter } from '../src/sim/meter.js';
import { dutyForCurrent } from '../src/domain/pwm.js';
import { SessionEtaTracker, type EtaTarget } from '../src/billing/eta.js';
import { percentiles } from './stats.js';

interface Scenario {
  name: string;
  capacityWh: number;
  startSocPercent: number;
  evMaxCurrentA: number;
  phases: number;
  offerA: number;
  /** The tracker is told the capacity (ISO 15118 / sim) or must infer it from the SoC rise. */
  capacityKnown: boolean;
  target: (socKnown: boolean) => EtaTarget;
  /** Stop the session when this much energy has gone in (energy-target scenarios). */
  stopAtWh?: number;
}

/**
 * Time-to-finish error against whole simulated sessions: the simulated EV (with its battery and
 * taper above 80 %) charges on a fake clock, a reading every 10 s feeds the estimator, and each
 * estimate is compared with the time the session really took to reach its target. Reported as the
 * absolute error relative to the true remaining time, over every reading with at least 10 min left.
 */
function run(s: Scenario) {
  let mono = 0;
  const ev = new SimEv({ maxCurrentA: s.evMaxCurrentA, phases: s.phases, voltageV: 230, battery: { capacityWh: s.capacityWh, startSocPercent: s.startSocPercent, taperAbovePercent: 80 } });
  ev.reactionMs = 0;
  const meter = new SimMeter({ monoMs: () => mono }, ev, 0, 230);
  ev.plug();
  ev.ready();
  ev.setPilotOutput({ mode: 'pwm', dutyPermille: dutyForCurrent(s.offerA) });
  ev.setContactor(true);
  const readings: { t: number; energyWh: number; powerW: number; soc: number }[] = [];
  for (let t = 0; t <= 24 * 3600; t += 10) {
    mono = t * 1000;
    const wh = meter.registerWh();
    const power = ev.currentA() * ev.phases() * 230;
    readings.push({ t, energyWh: wh, powerW: power, soc: ev.socPercent ?? 0 });
    if (power === 0 || (s.stopAtWh !== undefined && wh >= s.stopAtWh)) break;
  }
  ev.dispose();
  const end = readings[readings.length - 1]!.t;
  const tracker = new SessionEtaTracker({ batteryCapacityWh: s.capacityKnown ? s.capacityWh : null });
  const errors: number[] = [];
  for (const r of readings) {
    tracker.observe({ monoMs: r.t * 1000, powerW: r.powerW, sessionEnergyWh: r.energyWh, socPercent: s.stopAtWh ? null : r.soc });
    const eta = tracker.estimate(s.target(!s.stopAtWh));
    const remaining = end - r.t;
    if (eta.etaS !== null && remaining >= 600) errors.push(Math.abs(eta.etaS - remaining) / remaining);
  }
  const pct = percentiles(errors, [50, 90, 100]);
  return {
    sessionMinutes: Math.round(end / 60),
    estimates: errors.length,
    absErrorPercent: Object.fromEntries(Object.entries(pct).map(([k, v]) => [k, +(v * 100).toFixed(1)])),
  };
}

export async function benchEta(): Promise<Record<string, unknown>> {
  const scenarios: Scenario[] = [
    { name: '40 kWh, 20->100 %, 11 kW, capacity known', capacityWh: 40_000, startSocPercent: 20, evMaxCurrentA: 16, phases: 3, offerA: 16, capacityKnown: true, target: () => ({}) },
    { name: '60 kWh, 50->100 %, 7.4 kW 1-phase, capacity inferred from the SoC rise', capacityWh: 60_000, startSocPercent: 50, evMaxCurrentA: 32, phases: 1, offerA: 32, capacityKnown: false, target: () => ({}) },
    { name: 'energy target 10 kWh, no SoC, 11 kW', capacityWh: 80_000, startSocPercent: 10, evMaxCurrentA: 16, phases: 3, offerA: 16, capacityKnown: false, target: () => ({ energyWh: 10_000 }), stopAtWh: 10_000 },
  ];
  return Object.fromEntries(scenarios.map((s) => [s.name, run(s)]));
}
