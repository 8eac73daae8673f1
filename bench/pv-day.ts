import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_PV_SETTINGS, minPowerW, PvController, type Phases, type PvMode, type PvSettings } from '../src/energy/pv.js';
import { MIN_CURRENT_A } from '../src/domain/pwm.js';
import { parseCsv, STEP_S, type DayKind, type DayRow } from './pv-day-profile.js';

/**
 * The PV day: the daemon's PV logic (src/energy/pv.ts) on a fake clock through a whole day of
 * PV production and house load (test/fixtures/pv-day-*.csv), with a simple EV: 1p/3p, up to 16 A,
 * following the offer 5 s late, a 60 kWh battery from 30 %. A phase switch takes the station's
 * sequence (offer withdrawn, pause, switch) as a 15 s gap. Beside it two oracles that know the
 * whole day, capped by the EV (16 A on 3 phases) and its battery: all surplus above the 1-phase
 * minimum at any time (what a station can use without the grid), and all surplus at all (a strict
 * upper bound: a station charging at the minimum uses a smaller surplus too, with some grid).
 * The ratios say how much of the sun the logic caught.
 */

const VOLTAGE_V = 230;
const EV_MAX_A = 16;
const EV_REACTION_S = 5;
const SWITCH_GAP_S = 15;
const BATTERY_WH = 60_000;
const START_SOC = 0.3;

export interface PvDayOptions {
  mode: PvMode;
  phaseSwitching: 'auto' | 'off';
  /** The station starts on (and without switching stays on) this many phases. */
  phases?: Phases;
  /** EV plugged in from/to (s after midnight). */
  plugInS?: number;
  plugOutS?: number;
  settings?: Partial<PvSettings>;
}

export interface PvDayResult {
  mode: PvMode;
  phaseSwitching: 'auto' | 'off';
  chargedWh: number;
  /** Charged while the house exported at least as much (from the sun). */
  fromSurplusWh: number;
  /** The part of the EV's energy the grid delivered. */
  gridImportForChargingWh: number;
  /** Charged while the roof produced nothing at all. */
  nightChargedWh: number;
  starts: number;
  stops: number;
  phaseSwitches: number;
  maxSwitchesPerSession: number;
  /** All surplus at or above the 1-phase minimum (1.38 kW), capped by the EV and its battery. */
  oracleWh: number;
  /** fromSurplusWh / oracleWh. */
  ratio: number;
  /** All surplus at all, capped by the EV and its battery: no station charges more from the sun. */
  oracleAllWh: number;
  /** fromSurplusWh / oracleAllWh: at most 1 by construction. */
  ratioAll: number;
  endSocPercent: number;
}

export function loadDay(kind: DayKind): DayRow[] {
  const root = resolve(import.meta.dirname, import.meta.dirname.includes('/dist/') ? '../..' : '..');
  return parseCsv(readFileSync(join(root, 'test/fixtures', `pv-day-${kind}.csv`), 'utf8'));
}

export function simulateDay(rows: readonly DayRow[], o: PvDayOptions): PvDayResult {
  const settings: PvSettings = { ...DEFAULT_PV_SETTINGS, phaseSwitching: o.phaseSwitching, ...o.settings };
  const pv = new PvController(settings, o.mode);
  const plugIn = o.plugInS ?? 0;
  const plugOut = o.plugOutS ?? 86_400;
  let phases: Phases = o.phases ?? 3;
  let storedWh = BATTERY_WH * START_SOC;
  /** The offer of each of the last seconds: the EV follows the one EV_REACTION_S ago. */
  const offers: number[] = new Array<number>(EV_REACTION_S).fill(0);
  let evA = 0;
  let switchingUntil = -1;
  let pendingPhases: Phases | null = null;
  const r: PvDayResult = { mode: o.mode, phaseSwitching: o.phaseSwitching, chargedWh: 0, fromSurplusWh: 0, gridImportForChargingWh: 0, nightChargedWh: 0, starts: 0, stops: 0, phaseSwitches: 0, maxSwitchesPerSession: settings.maxSwitchesPerSession, oracleWh: 0, ratio: 0, oracleAllWh: 0, ratioAll: 0, endSocPercent: 0 };
  let oracleLeftWh = BATTERY_WH - storedWh;
  let oracleAllLeftWh = oracleLeftWh;

  for (let t = 0; t < 86_400; t++) {
    const row = rows[Math.min(rows.length - 1, Math.floor(t / STEP_S))]!;
    const plugged = t >= plugIn && t < plugOut;
    const full = storedWh >= BATTERY_WH;
    const evW = evA * VOLTAGE_V * phases;

    // The oracle: all surplus above the 1-phase minimum, capped by the EV and what its battery takes.
    const surplus = row.pvW - row.houseW;
    const usable = Math.min(surplus, EV_MAX_A * VOLTAGE_V * 3) / 3600;
    if (plugged && surplus >= minPowerW(1, VOLTAGE_V) && oracleLeftWh > 0) {
      const wh = Math.min(oracleLeftWh, usable);
      r.oracleWh += wh;
      oracleLeftWh -= wh;
    }
    if (plugged && surplus > 0 && oracleAllLeftWh > 0) {
      const wh = Math.min(oracleAllLeftWh, usable);
      r.oracleAllWh += wh;
      oracleAllLeftWh -= wh;
    }

    // The station: the PV logic on this second's grid reading (import positive), then its offer.
    if (switchingUntil >= 0 && t >= switchingUntil) {
      phases = pendingPhases!;
      pendingPhases = null;
      switchingUntil = -1;
      pv.phaseSwitchEnded('Accepted');
    }
    const d = pv.tick({ nowMs: t * 1000, gridW: row.houseW + evW - row.pvW, evW, phases, switchable: switchingUntil < 0, sessionActive: plugged });
    if (d.phaseRequest !== null && switchingUntil < 0) {
      r.phaseSwitches++;
      pendingPhases = d.phaseRequest;
      switchingUntil = t + SWITCH_GAP_S;
    }
    const budget = d.budgetA === null ? EV_MAX_A : d.budgetA;
    const offer = !plugged || switchingUntil >= 0 || budget < MIN_CURRENT_A ? 0 : Math.min(EV_MAX_A, budget);
    offers.push(offer);
    // The EV: the offer of EV_REACTION_S ago, at once when it is withdrawn (it must stop within 3 s), nothing when full.
    const target = full || !plugged ? 0 : offer === 0 ? 0 : offers[offers.length - 1 - EV_REACTION_S]!;
    offers.shift();
    const was = evA;
    evA = target;
    if (was === 0 && evA > 0 && switchingUntil < 0) r.starts++;
    if (was > 0 && evA === 0 && switchingUntil < 0) r.stops++;

    const drawnW = evA * VOLTAGE_V * phases;
    const wh = drawnW / 3600;
    const importW = Math.max(0, Math.min(drawnW, row.houseW + drawnW - row.pvW));
    storedWh += wh;
    r.chargedWh += wh;
    r.gridImportForChargingWh += importW / 3600;
    r.fromSurplusWh += (drawnW - importW) / 3600;
    if (row.pvW === 0) r.nightChargedWh += wh;
  }
  r.ratio = r.oracleWh > 0 ? +(r.fromSurplusWh / r.oracleWh).toFixed(3) : 0;
  r.ratioAll = r.oracleAllWh > 0 ? +(r.fromSurplusWh / r.oracleAllWh).toFixed(3) : 0;
  r.endSocPercent = Math.round((Math.min(storedWh, BATTERY_WH) / BATTERY_WH) * 100);
  for (const k of ['chargedWh', 'fromSurplusWh', 'gridImportForChargingWh', 'nightChargedWh', 'oracleWh', 'oracleAllWh'] as const) r[k] = Math.round(r[k]);
  return r;
}

/** `npm run bench` part: both days, pv with and without automatic switching, and minpv while at home 7:00–19:00. */
export async function benchPvDay(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    ev: { maxA: EV_MAX_A, phases: '1 or 3', reactionS: EV_REACTION_S, batteryWh: BATTERY_WH, startSocPercent: START_SOC * 100, phaseSwitchGapS: SWITCH_GAP_S },
    settings: DEFAULT_PV_SETTINGS,
  };
  for (const day of ['clear', 'cloudy'] as const) {
    const rows = loadDay(day);
    out[day] = {
      pvAuto: simulateDay(rows, { mode: 'pv', phaseSwitching: 'auto' }),
      pv3pOnly: simulateDay(rows, { mode: 'pv', phaseSwitching: 'off', phases: 3 }),
      pv1pOnly: simulateDay(rows, { mode: 'pv', phaseSwitching: 'off', phases: 1 }),
      minpvAuto7to19: simulateDay(rows, { mode: 'minpv', phaseSwitching: 'auto', plugInS: 7 * 3600, plugOutS: 19 * 3600 }),
    };
  }
  return out;
}
