import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../../config/errors.js';
import { hardwareDataDir } from '../../config/hardware-data.js';

/**
 * Pilot board register maps are data: hardware/pilot-boards/<model>.json, every register with its
 * meaning and sources. This module checks a map and derives what the driver uses: the addresses,
 * the value tables of the vehicle and board states, the bit positions, and the two read blocks.
 */

const VEHICLE = ['A', 'B', 'C', 'D', 'failure'] as const;
const BOARD = ['steady-12v', 'pwm', 'off'] as const;
export type VehicleState = (typeof VEHICLE)[number];
export type BoardState = (typeof BOARD)[number];

const registerSchema = z.strictObject({
  address: z.number().int().min(0).max(0xffff),
  access: z.enum(['r', 'rw']),
  unit: z.string().optional(),
  saved: z.boolean().optional(),
  values: z.record(z.string().regex(/^\d+$/), z.string()).optional(),
  bits: z.record(z.string(), z.number().int().min(0).max(15)).optional(),
  meaning: z.string().min(1),
  sources: z.array(z.string().min(1)).min(1, { error: 'every register needs at least one source' }),
});

const fileSchema = z.strictObject({
  model: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string(),
  defaults: z.strictObject({
    baudRate: z.number().int().positive(),
    parity: z.enum(['none', 'even', 'odd']),
    dataBits: z.literal(8),
    stopBits: z.union([z.literal(1), z.literal(2)]),
    unitId: z.number().int().min(1).max(247),
    requestGapMs: z.number().int().min(0).max(1000),
  }),
  functionCodes: z.strictObject({ read: z.literal(3), write: z.literal(16) }),
  registers: z.record(z.string(), registerSchema),
  watchdog: z.null(),
  notes: z.string(),
  sources: z.array(z.string()).min(1),
});

/** Registers the driver reads or writes; a map must describe each of them. */
const STATUS_REGISTERS = ['configuredCurrent', 'vehicleState', 'commands', 'firmware', 'evseState', 'statusBits'] as const;
const CONFIG_REGISTERS = ['currentAfterBoot', 'configBits'] as const;
const BITS = {
  commands: ['turnOffCharging'],
  statusBits: ['relayOn', 'diodeCheckFail', 'ventilationRequiredFail', 'rcdCheckError', 'rcdTestInProgress', 'waitingForPilotRelease'],
  configBits: ['highResolution', 'disabled', 'disableAfterCharge', 'chargeInStateD'],
} as const;
type BitName = (typeof BITS)[keyof typeof BITS][number];

export interface PilotBoardModel {
  model: string;
  title: string;
  defaults: z.infer<typeof fileSchema>['defaults'];
  /** Wire addresses (0-based) of the registers the driver uses. */
  reg: Record<(typeof STATUS_REGISTERS)[number] | (typeof CONFIG_REGISTERS)[number], number>;
  /** One FC03 read of every status register, and one of the configuration registers. */
  statusBlock: { start: number; count: number };
  configBlock: { start: number; count: number };
  vehicleStates: ReadonlyMap<number, VehicleState>;
  boardStates: ReadonlyMap<number, BoardState>;
  bit: Record<BitName, number>;
}

function block(addresses: number[]): { start: number; count: number } {
  const start = Math.min(...addresses);
  return { start, count: Math.max(...addresses) - start + 1 };
}

function valueTable<T extends string>(values: Record<string, string> | undefined, allowed: readonly T[], what: string): Map<number, T> {
  const out = new Map<number, T>();
  for (const [raw, name] of Object.entries(values ?? {})) {
    if (!(allowed as readonly string[]).includes(name)) throw new Error(`${what}.values["${raw}"]: must be one of ${allowed.join(' | ')} (got "${name}")`);
    out.set(Number(raw), name as T);
  }
  if (out.size === 0) throw new Error(`${what}: needs a values table`);
  return out;
}

/** Check a map file's content and derive the driver's view of it; errors name the key. */
export function parsePilotBoardModel(json: unknown, file = 'map'): PilotBoardModel {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: invalid pilot board map\n${formatIssues(fileSchema, parsed.error.issues, json).map((p) => `  - ${p}`).join('\n')}`);
  const m = parsed.data;
  const need = (name: string) => {
    const r = m.registers[name];
    if (!r) throw new Error(`${file}: registers.${name} is missing (the driver uses it)`);
    return r;
  };
  const reg = {} as PilotBoardModel['reg'];
  for (const name of [...STATUS_REGISTERS, ...CONFIG_REGISTERS]) reg[name] = need(name).address;
  if (need('configuredCurrent').access !== 'rw' || need('commands').access !== 'rw') throw new Error(`${file}: configuredCurrent and commands must be writable (access rw)`);
  const bit = {} as Record<BitName, number>;
  for (const [register, names] of Object.entries(BITS) as [keyof typeof BITS, readonly BitName[]][]) {
    for (const name of names) {
      const b = need(register).bits?.[name];
      if (b === undefined) throw new Error(`${file}: registers.${register}.bits.${name} is missing (the driver uses it)`);
      bit[name] = b;
    }
  }
  const statusBlock = block(STATUS_REGISTERS.map((n) => reg[n]));
  const configBlock = block(CONFIG_REGISTERS.map((n) => reg[n]));
  if (statusBlock.count > 32 || configBlock.count > 32) throw new Error(`${file}: the status and configuration registers must each lie within 32 registers (one request)`);
  return {
    model: m.model,
    title: m.title,
    defaults: m.defaults,
    reg,
    statusBlock,
    configBlock,
    vehicleStates: valueTable(m.registers.vehicleState!.values, VEHICLE, `${file}: registers.vehicleState`),
    boardStates: valueTable(m.registers.evseState!.values, BOARD, `${file}: registers.evseState`),
    bit,
  };
}

const cache = new Map<string, PilotBoardModel>();

/** hardware/pilot-boards/<model>.json, checked; read once per process. */
export function loadPilotBoardModel(model: string, dir = hardwareDataDir('pilot-boards')): PilotBoardModel {
  const file = join(dir, `${model}.json`);
  let m = cache.get(file);
  if (!m) {
    m = parsePilotBoardModel(JSON.parse(readFileSync(file, 'utf8')), `hardware/pilot-boards/${model}.json`);
    cache.set(file, m);
  }
  return m;
}
