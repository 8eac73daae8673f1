import type { MeterSnapshot } from '../../hal/types.js';
import { loadModels, type MeterModel } from './model.js';
import { ModbusBus, ModbusError, describeBus, type BusSpec } from '../../hal/modbus/bus.js';
import { ModbusMeter } from './meter.js';

export interface ScanTarget {
  bus: Omit<BusSpec, 'timeoutMs'>;
  /** Serial line settings to try (ignored over TCP). */
  lines: { baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: number; stopBits: number }[];
  unitIds: number[];
  models?: string[];
  timeoutMs: number;
}

export interface ScanHit {
  line: string;
  unitId: number;
  /** Models whose full register map reads back plausible values. */
  models: string[];
  snapshot?: MeterSnapshot;
}

/** Plausible for a live meter: voltages absent (0) or mains-like, frequency mains-like. */
export function plausibleReading(s: MeterSnapshot): boolean {
  const voltsOk = s.voltageV.every((v) => Number.isFinite(v) && (Math.abs(v) < 1 || (v >= 80 && v <= 300)));
  const anyVoltage = s.voltageV.some((v) => v >= 80);
  const freqOk = s.frequencyHz === undefined || (s.frequencyHz >= 45 && s.frequencyHz <= 65);
  return voltsOk && anyVoltage && freqOk;
}

/**
 * Which unit ids answer, and as which models, on each line setting. A unit is present when it
 * answers anything (data or an exception) to a one-register read; present units are then read
 * with each model's map and the models whose values are plausible are reported.
 */
export async function scanBus(t: ScanTarget, onProgress?: (msg: string) => void): Promise<ScanHit[]> {
  const all = [...loadModels().values()].filter((m) => !t.models || t.models.includes(m.model));
  const lines = t.bus.transport === 'serial' ? t.lines : [undefined];
  const hits: ScanHit[] = [];
  for (const line of lines) {
    const spec: BusSpec = { ...t.bus, ...(line ?? {}), timeoutMs: t.timeoutMs };
    const bus = new ModbusBus(spec, { reopenAfterFailures: 1000, quietAfterErrorMs: 20 });
    const name = describeBus(spec);
    onProgress?.(`scanning ${name}, unit ids ${formatIds(t.unitIds)}`);
    try {
      for (const unitId of t.unitIds) {
        if (!(await present(bus, unitId))) continue;
        let models: string[] = [];
        let snapshot: MeterSnapshot | undefined;
        const identified: string[] = [];
        for (const model of all) {
          const s = await tryModel(bus, model, unitId);
          if (!s || !plausibleReading(s)) continue;
          const id = await identify(bus, model, unitId);
          if (id === false) continue;
          if (id === true) identified.push(model.model);
          models.push(model.model);
          snapshot ??= s;
        }
        // A model code that matches beats maps that merely read plausible values.
        if (identified.length) models = identified;
        hits.push({ line: name, unitId, models, snapshot });
        onProgress?.(`  unit ${unitId} answers${models.length ? `: ${models.join(' | ')}` : ' (no known model map reads plausible values)'}`);
      }
    } catch (err) {
      if (err instanceof ModbusError && err.kind === 'port') throw new Error(err.message);
      throw err;
    } finally {
      await bus.close();
    }
  }
  return hits;
}

async function present(bus: ModbusBus, unitId: number): Promise<boolean> {
  for (const fc of [4, 3] as const) {
    try {
      await bus.read(unitId, fc, 0, 1);
      return true;
    } catch (err) {
      if (err instanceof ModbusError && err.kind === 'exception') return true;
      if (err instanceof ModbusError && err.kind === 'port' && /cannot open/.test(err.message)) throw err;
      if (err instanceof ModbusError && (err.kind === 'crc' || err.kind === 'garbage')) return true; // something is there, on other settings
    }
  }
  return false;
}

/** true: the model code register matches; false: it answers something else; undefined: the map has none. */
async function identify(bus: ModbusBus, model: MeterModel, unitId: number): Promise<boolean | undefined> {
  const id = model.identify;
  if (!id) return undefined;
  try {
    const { words } = await bus.read(unitId, id.functionCode, id.address, id.count);
    return id.values.some((v) => v.length === words.length && v.every((w, i) => w === words[i]));
  } catch {
    return false;
  }
}

async function tryModel(bus: ModbusBus, model: MeterModel, unitId: number): Promise<MeterSnapshot | undefined> {
  // The scan asks every map; its own identify step tells look-alikes apart, so the self-check is left to `meter read`.
  const meter = new ModbusMeter(model, { bus, release: async () => undefined }, { unitId, tries: 1, selfCheck: false });
  try {
    return await meter.read();
  } catch {
    return undefined;
  }
}

export function formatIds(ids: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(j > i ? `${ids[i]}-${ids[j]}` : `${ids[i]}`);
    i = j;
  }
  return out.join(',');
}

/** "1-10,33" -> [1..10, 33] */
export function parseIds(s: string): number[] {
  const ids = new Set<number>();
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a unit id or range (e.g. 1-10,33)`);
    const a = Number(m[1]);
    const b = Number(m[2] ?? m[1]);
    if (a < 1 || b > 247 || a > b) throw new Error(`unit ids must be within 1-247 (got ${part})`);
    for (let i = a; i <= b; i++) ids.add(i);
  }
  return [...ids].sort((x, y) => x - y);
}

/** Line settings worth trying: each model's factory setting, most common first. */
export function defaultLines(): ScanTarget['lines'] {
  const seen = new Map<string, ScanTarget['lines'][number]>();
  const add = (l: ScanTarget['lines'][number]) => seen.set(`${l.baudRate}${l.parity}${l.dataBits}${l.stopBits}`, l);
  add({ baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 });
  for (const m of loadModels().values()) add({ ...m.defaults });
  return [...seen.values()].map(({ baudRate, parity, dataBits, stopBits }) => ({ baudRate, parity, dataBits, stopBits }));
}

export function defaultUnitIds(): number[] {
  const ids = new Set<number>([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const m of loadModels().values()) ids.add(m.defaults.unitId);
  return [...ids].sort((a, b) => a - b);
}
