/**
 * Synthetic PV days for the PV-surplus bench and test (test/fixtures/pv-day-*.csv): 10 s steps,
 * columns time (local HH:MM:SS), pv_w (AC output), house_w (household load without the EV).
 *
 * - Roof: ~10 kWp, summer in central Europe: sunrise ~5:30, sunset ~21:30 (CEST), solar noon
 *   ~13:30, a clear-sky curve that peaks at ~7.5 kW AC (inverter limit) around noon.
 * - Cloudy: the same envelope with cloud passages (seeded random): minutes-long dips to 20–30 %
 *   with ramps of tens of seconds, and some haze in between.
 * - House: ~300 W base with noise, a fridge cycling, kettle, oven (thermostat cycling), washing
 *   machine (heating, then motor and spin), dishwasher, and evening lighting/TV.
 * Deterministic: the same seed gives the same file.
 */

export const STEP_S = 10;
export const ROWS = 86_400 / STEP_S;
export type DayKind = 'clear' | 'cloudy';

export interface DayRow {
  /** Seconds since local midnight. */
  t: number;
  pvW: number;
  houseW: number;
}

/** mulberry32: small, seedable, good enough for weather. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUNRISE_S = 5.5 * 3600;
const SUNSET_S = 21.5 * 3600;
const PEAK_DC_W = 8000; // 10 kWp in summer at ~80 % of STC near noon (hot modules, soiling, wiring)
const AC_LIMIT_W = 7500;

/** Clear-sky AC power at t (s after midnight): a sine day shaped by air mass, clipped by the inverter. */
export function clearSkyW(t: number): number {
  if (t <= SUNRISE_S || t >= SUNSET_S) return 0;
  const x = Math.sin((Math.PI * (t - SUNRISE_S)) / (SUNSET_S - SUNRISE_S));
  return Math.min(AC_LIMIT_W, PEAK_DC_W * 0.96 * Math.pow(x, 1.6));
}

/** Cloud transmission over the day (1 = clear): passages of 2–15 min down to 20–30 %, ramps of 20–90 s. */
function cloudFactor(rand: () => number): Float64Array {
  const f = new Float64Array(ROWS).fill(1);
  // Haze that drifts slowly between 85 and 100 %.
  let haze = 0.95;
  for (let i = 0; i < ROWS; i++) {
    haze = Math.min(1, Math.max(0.85, haze + (rand() - 0.5) * 0.01));
    f[i] = haze;
  }
  let t = 6 * 3600;
  while (t < 21 * 3600) {
    t += 240 + rand() * 1500; // a passage every 4–29 min
    const dur = 120 + rand() * 780;
    const depth = 0.2 + rand() * 0.1;
    const ramp = 20 + rand() * 70;
    for (let s = 0; s < dur + 2 * ramp; s += STEP_S) {
      const i = Math.floor((t + s) / STEP_S);
      if (i >= ROWS) break;
      const edge = s < ramp ? s / ramp : s > dur + ramp ? (dur + 2 * ramp - s) / ramp : 1;
      f[i] = Math.min(f[i]!, 1 - (1 - depth) * edge);
    }
    t += dur + 2 * ramp;
  }
  return f;
}

/** One appliance run: from `at` (h), `minutes` long, drawing `w` (on/off cycling when `duty` < 1, period in s). */
interface Run {
  at: number;
  minutes: number;
  w: number;
  duty?: number;
  periodS?: number;
}

const HOUSE_RUNS: Run[] = [
  { at: 6.75, minutes: 3, w: 2000 }, // kettle
  { at: 7.0, minutes: 20, w: 150 }, // coffee machine, toaster, radio
  { at: 9.5, minutes: 15, w: 2000 }, // washing machine: heating
  { at: 9.75, minutes: 60, w: 250 }, // washing machine: washing
  { at: 10.75, minutes: 8, w: 550 }, // washing machine: spin
  { at: 11.75, minutes: 70, w: 2400, duty: 0.6, periodS: 300 }, // oven
  { at: 12.0, minutes: 25, w: 1500, duty: 0.5, periodS: 120 }, // hob
  { at: 13.5, minutes: 90, w: 700, duty: 0.5, periodS: 1200 }, // dryer, heat pump
  { at: 15.5, minutes: 3, w: 2000 }, // kettle
  { at: 18.5, minutes: 45, w: 2400, duty: 0.6, periodS: 300 }, // oven
  { at: 19.5, minutes: 240, w: 180 }, // lights, TV
  { at: 20.25, minutes: 20, w: 2000 }, // dishwasher: heating
  { at: 20.6, minutes: 60, w: 120 }, // dishwasher: rest
];

function houseLoad(rand: () => number): Float64Array {
  const h = new Float64Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const t = i * STEP_S;
    // Base: standby, network, heating pump; the fridge compressor 12 min of every 40.
    let w = 300 + (rand() - 0.5) * 40 + (t % 2400 < 720 ? 110 : 0);
    for (const r of HOUSE_RUNS) {
      const from = r.at * 3600;
      if (t < from || t >= from + r.minutes * 60) continue;
      if (r.duty !== undefined && ((t - from) % r.periodS!) >= r.duty * r.periodS!) continue;
      w += r.w;
    }
    h[i] = w;
  }
  return h;
}

export function generateDay(kind: DayKind, seed = kind === 'clear' ? 1 : 7): DayRow[] {
  const rand = rng(seed);
  const clouds = kind === 'cloudy' ? cloudFactor(rand) : null;
  const house = houseLoad(rand);
  const rows: DayRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    const t = i * STEP_S;
    const noise = 1 + (rand() - 0.5) * 0.01;
    const pv = clearSkyW(t) * (clouds ? clouds[i]! : 1) * noise;
    rows.push({ t, pvW: Math.round(Math.min(AC_LIMIT_W, pv)), houseW: Math.round(house[i]!) });
  }
  return rows;
}

export function hhmmss(t: number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor((t % 3600) / 60))}:${p(t % 60)}`;
}

export function toCsv(rows: readonly DayRow[]): string {
  return 'time,pv_w,house_w\n' + rows.map((r) => `${hhmmss(r.t)},${r.pvW},${r.houseW}`).join('\n') + '\n';
}

export function parseCsv(text: string): DayRow[] {
  const lines = text.trim().split('\n');
  if (lines[0] !== 'time,pv_w,house_w') throw new Error(`PV day CSV: header must be time,pv_w,house_w (got ${lines[0]})`);
  return lines.slice(1).map((line, i) => {
    const [time, pv, house] = line.split(',');
    const m = /^(\d\d):(\d\d):(\d\d)$/.exec(time ?? '');
    if (!m || !/^\d+$/.test(pv ?? '') || !/^\d+$/.test(house ?? '')) throw new Error(`PV day CSV line ${i + 2}: ${line}`);
    return { t: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]), pvW: Number(pv), houseW: Number(house) };
  });
}
