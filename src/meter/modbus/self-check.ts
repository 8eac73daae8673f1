import { formatCode, type MeterModel, type SelfCheck } from './model.js';

/**
 * The start-up self-check of a meter: before its first reading is trusted, the maker's model-code
 * register must hold a code of this map, and every configuration register the map's readings
 * depend on (e.g. an energy-units prefix, the float word order) must hold the value the map
 * assumes. A wrong answer is a problem text naming the register, what it reads and the fix; the
 * driver turns it into a meter fault, so a misconfigured or different meter never yields numbers.
 */

/** Reads `count` words; rejects like the driver's reads (an exception answer carries its `modbusCode`). */
export type WordReader = (fc: 3 | 4, address: number, count: number) => Promise<number[]>;

const ILLEGAL_ADDRESS = 2;

/** Registers a self-check reads, for request counting and documentation. */
export function selfCheckReads(model: MeterModel): { fc: 3 | 4; start: number; count: number }[] {
  const out: { fc: 3 | 4; start: number; count: number }[] = [];
  if (model.identify) out.push({ fc: model.identify.functionCode, start: model.identify.address, count: model.identify.count });
  for (const c of model.selfChecks) out.push({ fc: c.functionCode, start: c.address, count: c.type === 'float32' ? 2 : 1 });
  return out;
}

const sameWords = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((w, i) => w === b[i]);

/** Reads a register, or `absent` when the meter answers "illegal data address" (it has no such register). */
async function readOrAbsent(read: WordReader, fc: 3 | 4, address: number, count: number): Promise<number[] | 'absent'> {
  try {
    return await read(fc, address, count);
  } catch (err) {
    if ((err as { modbusCode?: number }).modbusCode === ILLEGAL_ADDRESS) return 'absent';
    throw err;
  }
}

function float(hi: number, lo: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(hi, 0);
  b.writeUInt16BE(lo, 2);
  return b.readFloatBE(0);
}

/** A setting's value in the map's word order (float32 follows the map; 16-bit types have none). */
function decode(c: SelfCheck, words: number[], lowFirst: boolean): number {
  if (c.type === 'uint16') return words[0]!;
  if (c.type === 'int16') return (words[0]! << 16) >> 16;
  return lowFirst ? float(words[1]!, words[0]!) : float(words[0]!, words[1]!);
}

const show = (v: number) => (Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toPrecision(6) : String(v));

async function identifyProblem(model: MeterModel, read: WordReader, others: Iterable<MeterModel>): Promise<string | undefined> {
  const id = model.identify!;
  const words = await readOrAbsent(read, id.functionCode, id.address, id.count);
  const expected = id.values.map(formatCode).join(' or ');
  if (words === 'absent') {
    return `is not a ${model.title}: it has no ${id.register} (answered illegal data address, expected ${expected}); fix: check the type plate and set meter.model to the map of this meter (evsed meter models)`;
  }
  if (id.values.some((v) => sameWords(v, words))) return undefined;
  const code = formatCode(words);
  const known = id.others.find((o) => sameWords(o.code, words));
  if (known) return `is not a ${model.title}: ${id.register} reads ${code} = ${known.is} (expected ${expected}); fix: use a meter this map supports`;
  for (const other of others) {
    const oid = other.identify;
    if (other.model === model.model || !oid || oid.functionCode !== id.functionCode || oid.address !== id.address || oid.count !== id.count) continue;
    if (oid.values.some((v) => sameWords(v, words))) {
      return `is not a ${model.title}: ${id.register} reads ${code} = ${other.title} (expected ${expected}); fix: set meter.model: ${other.model}`;
    }
  }
  return `is not a ${model.title}: ${id.register} reads ${code}, a code this map does not know (expected ${expected}); fix: check the type plate and set meter.model to its map (evsed meter models); for a ${model.title} with a new code, compare evsed meter read with the meter's display and set meter.selfCheck: false`;
}

async function settingProblem(model: MeterModel, c: SelfCheck, read: WordReader, unitId: number): Promise<string | undefined> {
  const words = await readOrAbsent(read, c.functionCode, c.address, c.type === 'float32' ? 2 : 1);
  if (words === 'absent') {
    return c.whenAbsent === 'pass' ? undefined : `has no ${c.register} (answered illegal data address); fix: ${c.fix}`;
  }
  const lowFirst = model.wordOrder === 'low-first';
  if (c.check === 'word-order') {
    const asMap = decode(c, words, lowFirst);
    const swapped = decode(c, words, !lowFirst);
    // Only a swapped read that equals the unit id is evidence; anything else (a gateway that renumbers units) proves nothing.
    if (asMap !== unitId && swapped === unitId) {
      return `sends floats ${lowFirst ? 'most' : 'least'} significant word first: ${c.register} reads the unit id ${unitId} only with its words swapped, so its ${c.name} is not the one this map reads and every value would be garbage; fix: ${c.fix}`;
    }
    return undefined;
  }
  const value = decode(c, words, lowFirst);
  if (c.accept!.includes(value)) return undefined;
  const meaning = c.meanings[String(value)];
  const accepted = c.accept!.map((a) => (c.meanings[String(a)] ? `${a} = ${c.meanings[String(a)]}` : String(a))).join(' or ');
  return `${c.name} (${c.register}) reads ${show(value)}${meaning ? ` = ${meaning}` : ''}, this map needs ${accepted}; fix: ${c.fix}`;
}

/**
 * Runs the model's checks against the meter: undefined when it is the meter the map describes,
 * set as the map assumes; else the first problem. Read failures other than "illegal data
 * address" reject as they came (the meter is unreadable, not misconfigured).
 */
export async function selfCheckProblem(model: MeterModel, read: WordReader, ctx: { unitId: number; models: Iterable<MeterModel> }): Promise<string | undefined> {
  if (model.identify) {
    const p = await identifyProblem(model, read, ctx.models);
    if (p) return p;
  }
  // Word order first: with floats reversed every other setting would be misread.
  const ordered = [...model.selfChecks].sort((a, b) => Number(b.check === 'word-order') - Number(a.check === 'word-order'));
  for (const c of ordered) {
    const p = await settingProblem(model, c, read, ctx.unitId);
    if (p) return p;
  }
  return undefined;
}
