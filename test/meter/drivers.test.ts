import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModels } from '../../src/meter/modbus/model.js';
import { RegisterFile, loadKnownValues, encodeIskra } from './helpers/registers.js';
import { ModbusTcpServer, RtuTcpServer, freePort } from './helpers/servers.js';
import { VENDOR_FIXTURES, type VendorFixture } from './fixtures/vendor-maps.js';
import { meterFor } from './helpers/meters.js';
import { selfCheckReads } from '../../src/meter/modbus/self-check.js';

/** The test meter's registers: exactly the fixture's raw words; every other register reads 0. */
function registersOf(f: VendorFixture): RegisterFile {
  const regs = new RegisterFile();
  for (const r of f.registers) regs.setWords(r.fc, r.address, r.words);
  return regs;
}

/** The snapshot the fixture's literal values make up (assembled, not computed). */
function expectedSnapshot(f: VendorFixture) {
  const get = (q: string) => f.registers.find((r) => r.quantity === q)?.expected;
  const phases = (p: string) => Array.from({ length: f.phases }, (_, i) => get(`${p}.${i}`));
  const snap: Record<string, unknown> = {
    energyImportWh: get('energyImport'),
    powerW: get('power') ?? f.powerW,
    voltageV: phases('voltage'),
    currentA: phases('current'),
    powerPhaseW: phases('powerPhase'),
  };
  if (get('energyExport') !== undefined) snap.energyExportWh = get('energyExport');
  if (get('frequency') !== undefined) snap.frequencyHz = get('frequency');
  return snap;
}

describe('vendor register fixtures (test/meter/fixtures/vendor-maps.ts) are usable', () => {
  it('one fixture per model file, covering every quantity the model reads', () => {
    const models = loadModels();
    expect(VENDOR_FIXTURES.map((f) => f.model).sort()).toEqual([...models.keys()].sort());
    for (const f of VENDOR_FIXTURES) {
      const quantities = f.registers.filter((r) => !['decoy', 'exponent', 'identify', 'setting'].includes(r.quantity)).map((r) => r.quantity);
      expect(quantities.sort(), f.model).toEqual([...models.get(f.model)!.values.keys()].sort());
    }
  });

  it('values tell swapped addresses and swapped words apart', () => {
    for (const f of VENDOR_FIXTURES) {
      const values = f.registers.filter((r) => r.expected !== undefined).map((r) => r.expected);
      expect(new Set(values).size, `${f.model}: every quantity a different value`).toBe(values.length);
      for (const r of f.registers) if (r.words.length > 1 && r.quantity !== 'setting') expect(new Set(r.words).size, `${f.model} ${r.quantity} words differ`).toBeGreaterThan(1);
      for (const v of Object.values(expectedSnapshot(f))) {
        if (Array.isArray(v)) for (const x of v) expect(x, f.model).toEqual(expect.any(Number));
        else expect(v, f.model).toEqual(expect.any(Number));
      }
    }
  });
});

describe('factory line settings follow the makers\' text', () => {
  for (const f of VENDOR_FIXTURES.filter((x) => x.factoryLine)) {
    it(`${f.model}: ${f.factoryLine!.baudRate} ${f.factoryLine!.dataBits}${f.factoryLine!.parity[0]!.toUpperCase()}${f.factoryLine!.stopBits}, unit ${f.factoryLine!.unitId}`, () => {
      const { source: _source, ...line } = f.factoryLine!;
      expect(loadModels().get(f.model)!.defaults).toEqual(line);
    });
  }
});

describe('every model against the makers\' register tables, over tcp-rtu (own RTU-over-TCP meter, CRC checked both ways)', () => {
  const units = new Map<number, RegisterFile>();
  const server = new RtuTcpServer(units);
  beforeAll(async () => {
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });

  for (const f of VENDOR_FIXTURES) {
    it(`${f.model}: every quantity, word order and the import-only billing register exact`, async () => {
      units.clear();
      units.set(f.unitId, registersOf(f));
      const before = server.responder.stats.requests;
      const meter = await meterFor({ model: f.model, transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, timeoutMs: 500 });
      try {
        const snap = await meter.read();
        expect(snap).toEqual({ ...expectedSnapshot(f), monoMs: expect.any(Number) });
        expect(Number.isInteger(snap.energyImportWh)).toBe(true);
        // The first reading is preceded by the start-up self-check (model code, settings).
        expect(server.responder.stats.requests - before).toBe(selfCheckReads(meter.model).length + meter.plan.length);
        expect(server.responder.stats.badRequestCrc).toBe(0);
      } finally {
        await meter.close();
      }
    });
  }
});

describe('every model against the makers\' register tables, over Modbus TCP (modbus-serial ServerTCP)', () => {
  const units = new Map<number, RegisterFile>();
  const server = new ModbusTcpServer(units);
  let port = 0;
  beforeAll(async () => {
    port = await freePort();
    await server.listen(port);
  });
  afterAll(async () => {
    await server.close();
  });

  for (const f of VENDOR_FIXTURES) {
    it(`${f.model}: every quantity exact`, async () => {
      units.clear();
      units.set(5, registersOf(f));
      const meter = await meterFor({ model: f.model, transport: 'tcp', host: '127.0.0.1', port, unitId: 5, timeoutMs: 500 });
      try {
        expect(await meter.read()).toEqual({ ...expectedSnapshot(f), monoMs: expect.any(Number) });
      } finally {
        await meter.close();
      }
    });
  }
});

describe('word order, exponents, markers and inverted CTs on the wire', () => {
  const units = new Map<number, RegisterFile>();
  const server = new RtuTcpServer(units);
  beforeAll(async () => {
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });
  const read = async (model: string, regs: RegisterFile, extra: object = {}) => {
    // A real meter of this model answers its model-code register (checked before the first reading).
    const id = loadModels().get(model)!.identify;
    if (id) regs.setWords(id.functionCode, id.address, id.values[0]!);
    units.clear();
    units.set(1, regs);
    const meter = await meterFor({ model, transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, unitId: 1, timeoutMs: 500, ...extra });
    try {
      return await meter.read();
    } finally {
      await meter.close();
    }
  };

  it('Carlo Gavazzi INT32 is low word first: 0x34 = 0x5678, 0x35 = 0x1234 is 0x12345678 x 0.1 kWh', async () => {
    const regs = new RegisterFile();
    regs.setWords(4, 0x34, [0x5678, 0x1234]);
    regs.setWords(4, 0x28, [0xfffe, 0xffff]); // -2 x 0.1 W
    const s = await read('em340', regs);
    expect(s.energyImportWh).toBe(0x12345678 * 100);
    expect(s.powerW).toBe(-0.2);
  });

  it('Eastron float32 is high word first: 0x48 = 0x4640, 0xE6B6 is 12345.678 kWh', async () => {
    const regs = new RegisterFile();
    regs.setWords(4, 0x48, [0x4640, 0xe6b6]);
    const s = await read('sdm630', regs);
    const b = Buffer.from([0x46, 0x40, 0xe6, 0xb6]);
    expect(s.energyImportWh).toBe(Math.round(b.readFloatBE(0) * 1000));
    expect(s.energyImportWh).toBe(12_345_678);
  });

  it('Iskra: counter x 10^exponent register, T5/T6 exponent + mantissa', async () => {
    const regs = new RegisterFile();
    regs.setWords(4, 418, [0x075b, 0xcd15]); // 123456789
    regs.setWords(4, 414, [0xffff]); // exponent -1 -> 12345678.9 Wh
    regs.setWords(4, 107, [0xfd01, 0xe240]); // 123456 x 10^-3 = 123.456 V
    regs.setWords(4, 140, encodeIskra(-73203, -1)); // T6 signed: -7320.3 W
    const s = await read('wm3m4c', regs);
    expect(s.energyImportWh).toBe(12_345_679);
    expect(s.voltageV[0]).toBe(123.456);
    expect(s.powerW).toBe(-7320.3);
    // An exponent register far outside any real scale is garbage: the counter is not available, not billed.
    regs.setWords(4, 414, [0x0040]);
    await expect(read('wm3m4c', regs)).rejects.toThrow(/energy import register reads NaN \(not available\)/);
  });

  it('ABB: all-ones means not available (NaN), the energy register must be available', async () => {
    const regs = new RegisterFile();
    regs.setWords(3, 0x5000, [0, 0, 0, 100]);
    regs.setWords(3, 0x5b04, [0xffff, 0xffff]);
    const s = await read('abb-b23', regs);
    expect(s.energyImportWh).toBe(1000);
    expect(s.voltageV[2]).toBeNaN();
    regs.setWords(3, 0x5000, [0xffff, 0xffff, 0xffff, 0xffff]);
    await expect(read('abb-b23', regs)).rejects.toThrow(/energy import register reads NaN \(not available\)/);
  });

  it('invertedCt: import and export swap, power sign flips', async () => {
    const regs = new RegisterFile();
    const b = (x: number) => { const buf = Buffer.alloc(4); buf.writeFloatBE(x); return [buf.readUInt16BE(0), buf.readUInt16BE(2)]; };
    regs.setWords(4, 0x48, b(10)); // import register 10 kWh
    regs.setWords(4, 0x4a, b(250)); // export register 250 kWh: what the car really drew
    regs.setWords(4, 0x34, b(-7000));
    regs.setWords(4, 0x0c, b(-2000));
    const s = await read('sdm630', regs, { invertedCt: true });
    expect(s.energyImportWh).toBe(250_000);
    expect(s.energyExportWh).toBe(10_000);
    expect(s.powerW).toBe(7000);
    expect(s.powerPhaseW[0]).toBe(2000);
  });

  it('several unit ids on one line share one queue: requests never interleave', async () => {
    const a = new RegisterFile();
    const b = new RegisterFile();
    const ka = loadKnownValues(loadModels().get('sdm630')!, a, 1_000_000);
    const kb = loadKnownValues(loadModels().get('em24')!, b, 2_000_000);
    units.clear();
    units.set(1, a);
    units.set(2, b);
    server.responder.answerDelayMs = 15;
    const m1 = await meterFor({ model: 'sdm630', transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, unitId: 1, timeoutMs: 500 });
    const m2 = await meterFor({ model: 'em24', transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, unitId: 2, timeoutMs: 500 });
    try {
      const reads = await Promise.all([m1.read(), m2.read(), m1.read(), m2.read(), m1.read()]);
      expect(reads[0]).toMatchObject(ka.expected);
      expect(reads[1]).toMatchObject(kb.expected);
      expect(reads[4]).toMatchObject(ka.expected);
      expect(server.responder.stats.interleaved).toBe(0);
    } finally {
      server.responder.answerDelayMs = 2;
      await m1.close();
      await m2.close();
    }
  });
});
