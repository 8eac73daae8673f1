import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../../config/errors.js';
import { modelsDir } from '../../config/meter-models.js';

export { modelNames, modelsDir } from '../../config/meter-models.js';

/**
 * Meter register maps are data: one JSON file per model in hardware/meters/. Addresses are
 * 0-based wire addresses (datasheet 30073 = input register 0x0048 = 72). Adding a meter is
 * adding a file; quirks are named flags here, never model checks in code.
 */

export const VALUE_TYPES = ['float32', 'int32', 'uint32', 'int16', 'uint16', 'int64', 'uint64', 'iskra-t5', 'iskra-t6'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** Registers each type occupies. */
export const TYPE_WORDS: Record<ValueType, number> = {
  float32: 2, int32: 2, uint32: 2, int16: 1, uint16: 1, int64: 4, uint64: 4, 'iskra-t5': 2, 'iskra-t6': 2,
};

export type WordOrder = 'high-first' | 'low-first';

/** Units a register may carry, with the power of ten that turns it into the snapshot's unit. */
const UNITS = {
  energy: { Wh: 0, kWh: 3 },
  power: { W: 0, kW: 3 },
  voltage: { V: 0 },
  current: { A: 0, mA: -3 },
  frequency: { Hz: 0 },
} as const;
type Kind = keyof typeof UNITS;

const address = z.union([
  z.number().int().min(0).max(0xffff),
  z.string().regex(/^0x[0-9a-fA-F]{1,4}$/, { error: 'must be a number or a hex string like "0x0048"' }).transform((s) => parseInt(s, 16)),
]);

const valueSchema = z.strictObject({
  address,
  type: z.enum(VALUE_TYPES, { error: `must be one of ${VALUE_TYPES.join(' | ')}` }),
  unit: z.string(),
  /** Multiplier of the raw value, e.g. 0.01 for "x 0.01 kWh". Powers of ten are applied exactly. */
  scale: z.number().positive().default(1),
  /** Overrides the map's word order for this value. */
  wordOrder: z.enum(['high-first', 'low-first']).optional(),
  /** An int16 register holding a decade exponent applied to this value (Iskra energy counters). */
  exponentAddress: address.optional(),
  functionCode: z.union([z.literal(3), z.literal(4)]).optional(),
});

const serialDefaults = z.strictObject({
  baudRate: z.number().int().positive(),
  parity: z.enum(['none', 'even', 'odd']),
  dataBits: z.union([z.literal(7), z.literal(8)]),
  stopBits: z.union([z.literal(1), z.literal(2)]),
  unitId: z.number().int().min(1).max(247),
});

const quirksSchema = z.strictObject({
  /** Largest request the meter answers (Modbus allows 125). */
  maxRegistersPerRead: z.number().int().min(1).max(125).default(125),
  /** Unused registers read rather than splitting into a second request (only where the sources show the meter answers them; a refused read is split by the driver). */
  maxGapRegisters: z.number().int().min(0).max(124).default(0),
  /** Silence on the bus before each request to this meter. */
  minRequestSpacingMs: z.number().int().min(0).max(5000).default(0),
  /** CT/meter mounted backwards: import and export registers swap, power sign flips. */
  invertedCt: z.boolean().default(false),
  /** All-ones (unsigned) / max-positive (signed) values mean "not available" (ABB). */
  notAvailableMarkers: z.boolean().default(false),
});

/** A model code: one 16-bit word (number or "0x0070"), or ASCII text filling `count` registers (two characters each). */
const identifyCode = z.union([address, z.strictObject({ ascii: z.string().min(1).max(8) })]);

const identifySchema = z
  .strictObject({
    /** As the maker names and numbers it, e.g. "meter code, holding 464515". */
    register: z.string().min(1),
    functionCode: z.union([z.literal(3), z.literal(4)]),
    address,
    count: z.number().int().min(1).max(4).default(1),
    values: z.array(identifyCode).min(1),
    /** Codes of meters this map must not be used for, with what they are (e.g. an unsupported older version). */
    others: z.array(z.strictObject({ code: identifyCode, is: z.string().min(1) })).default([]),
    source: z.string().min(1),
  })
  .superRefine((id, ctx) => {
    [...id.values, ...id.others.map((o) => o.code)].forEach((c, i) => {
      const words = typeof c === 'number' ? 1 : Math.ceil(c.ascii.length / 2);
      if (words !== id.count) ctx.addIssue({ code: 'custom', path: ['values', i], message: `is ${words} register(s) long, count is ${id.count}` });
    });
  });

const selfCheckSchema = z
  .strictObject({
    name: z.string().min(1),
    /** As the maker names and numbers it, e.g. "holding 40031, wire 0x001E". */
    register: z.string().min(1),
    functionCode: z.union([z.literal(3), z.literal(4)]),
    address,
    type: z.enum(['float32', 'uint16', 'int16']),
    /**
     * `value`: the register must hold one of `accept`. `word-order`: a float32 register that holds the unit id
     * the meter is addressed with; read with its words swapped it shows the meter sends floats in the other order.
     */
    check: z.enum(['value', 'word-order']),
    accept: z.array(z.number()).optional(),
    /** What values mean, for the message (e.g. "1": "M (MWh): ..."). */
    meanings: z.record(z.string(), z.string()).default({}),
    /** A meter that answers "illegal data address" for the register: `pass` (the setting does not exist there) or `fault`. */
    whenAbsent: z.enum(['pass', 'fault']).default('pass'),
    fix: z.string().min(1),
    source: z.string().min(1),
  })
  .superRefine((c, ctx) => {
    if (c.check === 'value' && !c.accept?.length) ctx.addIssue({ code: 'custom', path: ['accept'], message: 'is required for check "value"' });
    if (c.check === 'word-order' && c.type !== 'float32') ctx.addIssue({ code: 'custom', path: ['type'], message: 'must be float32 for check "word-order"' });
  });

/** Each map states what it follows for the facts that reach the bill or the installer, with the source. */
const factsSchema = z.strictObject({
  energyImport: z.string().min(1),
  defaults: z.string().min(1),
  maxRegistersPerRead: z.string().min(1),
  powerSign: z.string().min(1),
  unconfirmed: z.string().min(1).optional(),
});

export const modelFileSchema = z
  .strictObject({
    model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'must be lower-case letters, digits and dashes' }),
    title: z.string().min(1),
    phases: z.union([z.literal(1), z.literal(3)]),
    functionCode: z.union([z.literal(3), z.literal(4)]),
    wordOrder: z.enum(['high-first', 'low-first']),
    defaults: serialDefaults,
    quirks: quirksSchema,
    registers: z.strictObject({
      energyImport: valueSchema,
      energyExport: valueSchema.optional(),
      power: valueSchema.optional(),
      voltage: z.array(valueSchema),
      current: z.array(valueSchema),
      powerPhase: z.array(valueSchema),
      frequency: valueSchema.optional(),
    }),
    /** The maker's model-code register: checked at start (a different code is a meter fault) and by `evsed meter scan`. */
    identify: identifySchema.optional(),
    /** Configuration registers whose setting the map's readings assume, checked at start (e.g. an energy prefix). */
    selfChecks: z.array(selfCheckSchema).default([]),
    /** What the map decided and from which source: the billed register, the factory line, the request limit, the power sign. */
    facts: factsSchema,
    notes: z.string().optional(),
    sources: z.array(z.string()).min(1, { error: 'cite where the addresses come from' }),
  })
  .superRefine((m, ctx) => {
    const r = m.registers;
    const check = (v: z.infer<typeof valueSchema> | undefined, kind: Kind, path: (string | number)[]) => {
      if (!v) return;
      const units = UNITS[kind] as Record<string, number>;
      if (!(v.unit in units)) ctx.addIssue({ code: 'custom', path: ['registers', ...path, 'unit'], message: `must be one of ${Object.keys(units).join(' | ')}`, input: v.unit });
      const end = v.address + TYPE_WORDS[v.type];
      if (end > 0x10000) ctx.addIssue({ code: 'custom', path: ['registers', ...path, 'address'], message: 'runs past register 0xFFFF', input: v.address });
      if (TYPE_WORDS[v.type] > m.quirks.maxRegistersPerRead) ctx.addIssue({ code: 'custom', path: ['registers', ...path], message: 'is wider than quirks.maxRegistersPerRead' });
    };
    check(r.energyImport, 'energy', ['energyImport']);
    check(r.energyExport, 'energy', ['energyExport']);
    check(r.power, 'power', ['power']);
    check(r.frequency, 'frequency', ['frequency']);
    for (const [key, kind] of [['voltage', 'voltage'], ['current', 'current'], ['powerPhase', 'power']] as const) {
      if (r[key].length !== m.phases) ctx.addIssue({ code: 'custom', path: ['registers', key], message: `must list ${m.phases} value(s), one per phase` });
      r[key].forEach((v, i) => check(v, kind, [key, i]));
    }
    if (m.quirks.invertedCt && !r.energyExport) ctx.addIssue({ code: 'custom', path: ['quirks', 'invertedCt'], message: 'needs registers.energyExport (import and export swap)' });
  });

export type ModelFile = z.infer<typeof modelFileSchema>;
export type SelfCheck = z.infer<typeof selfCheckSchema>;

/** A model-code register with every code as the register words it reads. */
export interface ResolvedIdentify {
  register: string;
  functionCode: 3 | 4;
  address: number;
  count: number;
  values: number[][];
  others: { code: number[]; is: string }[];
  source: string;
}

/** The register words of a model code ("WM3M" -> [0x574D, 0x334D]). */
export function codeWords(c: number | { ascii: string }): number[] {
  if (typeof c === 'number') return [c];
  const text = c.ascii.padEnd(Math.ceil(c.ascii.length / 2) * 2, '\0');
  const words: number[] = [];
  for (let i = 0; i < text.length; i += 2) words.push((text.charCodeAt(i) << 8) | text.charCodeAt(i + 1));
  return words;
}

/** A model code as a technician reads it: hex and decimal for a word, text for ASCII codes. */
export function formatCode(words: readonly number[]): string {
  if (words.length === 1) return `0x${words[0]!.toString(16).toUpperCase().padStart(4, '0')} (${words[0]})`;
  const text = words.map((w) => String.fromCharCode(w >> 8, w & 0xff)).join('');
  return /^[\x20-\x7e\0]+$/.test(text) ? `"${text.replace(/\0+$/, '')}"` : words.map((w) => `0x${w.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}
export type ValueSpec = z.infer<typeof valueSchema>;
export type Quirks = ModelFile['quirks'];

/** A register value resolved for decoding: its function code, width, order and exact decimal scaling. */
export interface ResolvedValue {
  fc: 3 | 4;
  address: number;
  words: number;
  type: ValueType;
  wordOrder: WordOrder;
  /** value = raw x scale x 10^pow10 (pow10 from the unit, e.g. kWh -> Wh = 3). */
  scale: number;
  pow10: number;
  exponentAddress?: number;
}

export type Quantity = 'energyImport' | 'energyExport' | 'power' | 'frequency' | `voltage.${number}` | `current.${number}` | `powerPhase.${number}`;

export interface MeterModel {
  model: string;
  title: string;
  phases: 1 | 3;
  wordOrder: WordOrder;
  defaults: ModelFile['defaults'];
  quirks: Quirks;
  values: Map<Quantity, ResolvedValue>;
  identify?: ResolvedIdentify;
  selfChecks: SelfCheck[];
  facts: ModelFile['facts'];
  notes?: string;
  sources: string[];
  file: string;
}

function unitPow10(kind: Kind, unit: string): number {
  return (UNITS[kind] as Record<string, number>)[unit] ?? 0;
}

export function resolveModel(m: ModelFile, file: string): MeterModel {
  const values = new Map<Quantity, ResolvedValue>();
  const add = (q: Quantity, v: ValueSpec | undefined, kind: Kind) => {
    if (!v) return;
    values.set(q, {
      fc: v.functionCode ?? m.functionCode,
      address: v.address,
      words: TYPE_WORDS[v.type],
      type: v.type,
      wordOrder: v.wordOrder ?? m.wordOrder,
      scale: v.scale,
      pow10: unitPow10(kind, v.unit),
      exponentAddress: v.exponentAddress,
    });
  };
  const r = m.registers;
  add('energyImport', r.energyImport, 'energy');
  add('energyExport', r.energyExport, 'energy');
  add('power', r.power, 'power');
  add('frequency', r.frequency, 'frequency');
  r.voltage.forEach((v, i) => add(`voltage.${i}`, v, 'voltage'));
  r.current.forEach((v, i) => add(`current.${i}`, v, 'current'));
  r.powerPhase.forEach((v, i) => add(`powerPhase.${i}`, v, 'power'));
  const identify = m.identify && {
    register: m.identify.register,
    functionCode: m.identify.functionCode,
    address: m.identify.address,
    count: m.identify.count,
    values: m.identify.values.map(codeWords),
    others: m.identify.others.map((o) => ({ code: codeWords(o.code), is: o.is })),
    source: m.identify.source,
  };
  return { model: m.model, title: m.title, phases: m.phases, wordOrder: m.wordOrder, defaults: m.defaults, quirks: m.quirks, values, identify, selfChecks: m.selfChecks, facts: m.facts, notes: m.notes, sources: m.sources, file };
}

/** Parse and validate one model file's text; throws with "file: key: problem" lines. */
export function parseModelFile(text: string, file: string): MeterModel {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const res = modelFileSchema.safeParse(data);
  if (!res.success) {
    throw new Error(`${file}: invalid meter map\n${formatIssues(modelFileSchema, res.error.issues, data).map((l) => `  - ${l}`).join('\n')}`);
  }
  const expected = file.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  if (res.data.model !== expected) throw new Error(`${file}: model "${res.data.model}" must match the file name "${expected}.json"`);
  return resolveModel(res.data, file);
}

const cache = new Map<string, Map<string, MeterModel>>();

/** All model files of a directory, validated. Any invalid file is an error (a broken map must not ship). */
export function loadModels(dir = modelsDir()): Map<string, MeterModel> {
  const hit = cache.get(dir);
  if (hit) return hit;
  const out = new Map<string, MeterModel>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const file = join(dir, f);
    const m = parseModelFile(readFileSync(file, 'utf8'), file);
    out.set(m.model, m);
  }
  cache.set(dir, out);
  return out;
}

export function getModel(name: string): MeterModel {
  const m = loadModels().get(name);
  if (!m) throw new Error(`unknown meter model "${name}" (known: ${[...loadModels().keys()].join(', ')})`);
  return m;
}
