import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModels, modelsDir, parseModelFile } from '../../src/meter/modbus/model.js';
import { planForModel, planReads, quantitiesIn, rtuBusTimeMs, splitBlock } from '../../src/meter/modbus/plan.js';
import { applyScale, decodeValue } from '../../src/meter/modbus/codec.js';

const REQUIRED = ['sdm630', 'sdm120', 'sdm72', 'abb-b23', 'em340', 'em24', 'or-we-517', 'pro380', 'wm3m4c'];

describe('meter register maps (hardware/meters)', () => {
  it('loads every model file and has the required models', () => {
    const models = loadModels();
    for (const m of REQUIRED) expect(models.has(m), m).toBe(true);
  });

  it('bills on the import register, not the total, at the documented addresses', () => {
    const m = loadModels();
    const imp = (name: string) => m.get(name)!.values.get('energyImport')!;
    expect(imp('sdm630')).toMatchObject({ fc: 4, address: 0x48, type: 'float32' });
    expect(imp('sdm120')).toMatchObject({ fc: 4, address: 0x48 });
    expect(imp('sdm72')).toMatchObject({ fc: 4, address: 0x48 });
    expect(imp('abb-b23')).toMatchObject({ fc: 3, address: 0x5000, type: 'uint64' });
    expect(imp('em340')).toMatchObject({ fc: 4, address: 0x34, wordOrder: 'low-first' });
    expect(imp('em24')).toMatchObject({ fc: 4, address: 0x3e, wordOrder: 'low-first' }); // kWh(+) TOT; 0x42 is the partial counter
    expect(imp('or-we-517')).toMatchObject({ fc: 3, address: 0x108 });
    expect(imp('pro380')).toMatchObject({ fc: 3, address: 0x600c });
    expect(imp('wm3m4c')).toMatchObject({ fc: 4, address: 418, exponentAddress: 414 });
  });

  it('requests per snapshot stay within the ranges the sources show each meter answering', () => {
    // Eastron: at most 50 registers per request (openWB/core#2890: some SDMs refuse more with exception 2).
    // Carlo Gavazzi: only registers defined in the map between the values, at most 11 words per request on the EM24
    // and 50 on the EM340 (the makers' protocol documents); the export counter some EM24s lack (evcc#31736:
    // exception 2) in a request of its own.
    const expected: Record<string, number> = { 'abb-b23': 2, em24: 6, em340: 3, 'or-we-517': 2, pro380: 2, sdm120: 2, sdm630: 2, sdm72: 2, wm3m4c: 2 };
    for (const [name, m] of loadModels()) {
      const plan = planForModel(m);
      expect(plan.length, name).toBe(expected[name]);
      for (const b of plan) expect(b.count, name).toBeLessThanOrEqual(m.quirks.maxRegistersPerRead);
    }
    expect(planForModel(loadModels().get('sdm630')!)).toEqual([{ fc: 4, start: 0, count: 18 }, { fc: 4, start: 0x34, count: 24 }]);
    // The SDM120 never reads the unused 0x0024..0x0045.
    expect(planForModel(loadModels().get('sdm120')!)).toEqual([{ fc: 4, start: 0, count: 14 }, { fc: 4, start: 0x46, count: 6 }]);
    expect(planForModel(loadModels().get('em24')!).map((b) => [b.start, b.count])).toEqual([[0, 6], [0x0c, 10], [0x16, 2], [0x28, 2], [0x37, 9], [0x5c, 2]]);
    expect(planForModel(loadModels().get('em340')!).map((b) => [b.start, b.count])).toEqual([[0, 0x2a], [0x33, 3], [0x4e, 2]]);
  });

  it('a refused request splits into runs of adjacent values, then into single values', () => {
    const sdm630 = loadModels().get('sdm630')!;
    expect(splitBlock(sdm630, { fc: 4, start: 0x34, count: 24 })).toEqual([{ fc: 4, start: 0x34, count: 2 }, { fc: 4, start: 0x46, count: 6 }]);
    expect(splitBlock(sdm630, { fc: 4, start: 0x46, count: 6 })).toEqual([{ fc: 4, start: 0x46, count: 2 }, { fc: 4, start: 0x48, count: 2 }, { fc: 4, start: 0x4a, count: 2 }]);
    expect(splitBlock(sdm630, { fc: 4, start: 0x48, count: 2 })).toEqual([{ fc: 4, start: 0x48, count: 2 }]);
    expect(quantitiesIn(sdm630, { fc: 4, start: 0x46, count: 6 }).sort()).toEqual(['energyExport', 'energyImport', 'frequency']);
    const iskra = loadModels().get('wm3m4c')!;
    // The counter's exponent register belongs to the counter.
    expect(quantitiesIn(iskra, { fc: 4, start: 414, count: 1 })).toEqual(['energyImport']);
  });

  it('honours a per-value word order override and the identify block', () => {
    const good = JSON.parse(readFileSync(join(modelsDir(), 'sdm630.json'), 'utf8'));
    good.registers.frequency = { ...good.registers.frequency, wordOrder: 'low-first' };
    const m = parseModelFile(JSON.stringify(good), '/x/sdm630.json');
    expect(m.values.get('frequency')!.wordOrder).toBe('low-first');
    expect(m.values.get('voltage.0')!.wordOrder).toBe('high-first');
    expect(m.identify).toMatchObject({ functionCode: 3, address: 0xfc02, count: 1, values: [[0x70], [0x79], [0]], others: [{ code: [0x84] }] });
    const iskra = loadModels().get('wm3m4c')!;
    expect(iskra.identify).toMatchObject({ functionCode: 4, address: 1, count: 2, values: [[0x574d, 0x334d]] }); // "WM3M"
  });

  it('every map states its facts with sources, and a self-check names its register and fix (issue 17)', () => {
    for (const [name, m] of loadModels()) {
      for (const k of ['energyImport', 'defaults', 'maxRegistersPerRead', 'powerSign'] as const) expect(m.facts[k].length, `${name} facts.${k}`).toBeGreaterThan(20);
      for (const c of m.selfChecks) expect([c.register, c.fix, c.source].every((t) => t.length > 10), `${name} ${c.name}`).toBe(true);
    }
    const good = JSON.parse(readFileSync(join(modelsDir(), 'sdm630.json'), 'utf8'));
    const { powerSign: _p, ...facts } = good.facts;
    expect(() => parseModelFile(JSON.stringify({ ...good, facts }), '/x/sdm630.json')).toThrow(/facts\.powerSign/);
    const check = { ...good.selfChecks[1], accept: undefined };
    expect(() => parseModelFile(JSON.stringify({ ...good, selfChecks: [check] }), '/x/sdm630.json')).toThrow(/selfChecks\[0\]\.accept: is required for check "value"/);
  });

  it('rejects a broken map with a message naming the key', () => {
    const good = JSON.parse(readFileSync(join(modelsDir(), 'sdm120.json'), 'utf8'));
    const bad = { ...good, registers: { ...good.registers, voltage: [] , energyImport: { address: '0x48', type: 'float33', unit: 'kWh' } } };
    const dir = mkdtempSync(join(tmpdir(), 'evsed-meters-'));
    const file = join(dir, 'sdm120.json');
    writeFileSync(file, JSON.stringify(bad));
    expect(() => parseModelFile(readFileSync(file, 'utf8'), file)).toThrow(/registers\.energyImport\.type: must be one of float32/);
    writeFileSync(file, JSON.stringify({ ...good, model: 'other' }));
    expect(() => loadModels(dir)).toThrow(/must match the file name/);
  });
});

describe('codec', () => {
  const v = (over: object) => ({ fc: 4 as const, address: 0, words: 2, type: 'float32' as const, wordOrder: 'high-first' as const, scale: 1, pow10: 0, ...over });

  it('scales by powers of ten exactly', () => {
    expect(applyScale(2301, 0.1, 0)).toBe(230.1);
    expect(applyScale(123456, 0.1, 3)).toBe(12345600);
    expect(applyScale(7, 0.01, 3)).toBe(70);
  });

  it('decodes float32, int32 word-swapped, uint64, int16 and Iskra T5/T6', () => {
    expect(decodeValue(v({}), [0x4366, 0x199a])).toBe(Math.fround(230.1));
    expect(decodeValue(v({ type: 'int32', wordOrder: 'low-first', scale: 0.1 }), [0xfffe, 0xffff])).toBe(-0.2);
    expect(decodeValue(v({ type: 'int32', wordOrder: 'high-first' }), [0x0001, 0x0000])).toBe(65536);
    expect(decodeValue(v({ type: 'uint64', words: 4, scale: 0.01, pow10: 3 }), [0, 0, 0x0001, 0x0005])).toBe(655410);
    expect(decodeValue(v({ type: 'int16', words: 1 }), [0xffff])).toBe(-1);
    expect(decodeValue(v({ type: 'iskra-t5' }), [0xfd01, 0xe240])).toBe(123.456);
    expect(decodeValue(v({ type: 'iskra-t6' }), [0xfeff, 0xff9c])).toBe(-1);
    expect(decodeValue(v({ type: 'uint32', words: 2 }), [0xffff, 0xffff], { notAvailableMarkers: true })).toBeNaN();
    expect(decodeValue(v({ type: 'uint32', words: 2 }), [0x0000, 0x0010], { exponent: -1 })).toBe(1.6);
  });

  it('coalesces with gaps and limits and computes bus time', () => {
    const vals = [v({ address: 0 }), v({ address: 10 }), v({ address: 100 })];
    expect(planReads(vals, { maxRegisters: 125, maxGap: 10 })).toEqual([{ fc: 4, start: 0, count: 12 }, { fc: 4, start: 100, count: 2 }]);
    expect(planReads(vals, { maxRegisters: 10, maxGap: 200 })).toEqual([{ fc: 4, start: 0, count: 2 }, { fc: 4, start: 10, count: 2 }, { fc: 4, start: 100, count: 2 }]);
    expect(rtuBusTimeMs(2, 9600, 10)).toBeCloseTo(25.0, 1);
    expect(rtuBusTimeMs(125, 9600, 10)).toBeCloseTo(281.3, 1);
  });
});
