import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterFile } from './helpers/registers.js';
import { RtuTcpServer } from './helpers/servers.js';
import { meterFor } from './helpers/meters.js';
import { VENDOR_FIXTURES } from './fixtures/vendor-maps.js';

/**
 * The start-up self-check against emulated meters over a real socket (our RTU-over-TCP meter):
 * a meter set otherwise than its map reads, or another model, is a fault naming the register and
 * the fix, and never gives numbers.
 */

/** The emulated meter of a model: exactly the makers' words of its fixture (model code and factory settings included). */
function meterOf(model: string): RegisterFile {
  const regs = new RegisterFile();
  for (const r of VENDOR_FIXTURES.find((f) => f.model === model)!.registers) regs.setWords(r.fc, r.address, r.words);
  return regs;
}

/** An Eastron meter whose Register Order is set to reversed: every float comes least significant word first. */
function reversedFloats(model: string): RegisterFile {
  const regs = new RegisterFile();
  for (const r of VENDOR_FIXTURES.find((f) => f.model === model)!.registers) {
    regs.setWords(r.fc, r.address, r.words.length === 2 && r.quantity !== 'identify' ? [r.words[1]!, r.words[0]!] : r.words);
  }
  return regs;
}

const floatWords = (x: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatBE(x);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
};

describe('meter self-check at start (emulated meters over RTU-over-TCP)', () => {
  const units = new Map<number, RegisterFile>();
  const server = new RtuTcpServer(units);
  beforeAll(async () => {
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });
  const where = () => `127.0.0.1:${server.port} (RTU over TCP)`;
  const open = (model: string, regs: RegisterFile, extra: object = {}) => {
    units.clear();
    units.set(1, regs);
    return meterFor({ model, transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, timeoutMs: 400, tries: 1, ...extra });
  };

  it('SDM630 with the energy units prefix at M: a fault naming holding 40031 and the fix, no reading; set back to k it reads', async () => {
    const regs = meterOf('sdm630');
    regs.setWords(3, 0x001e, floatWords(1)); // 1.0 = M: 201.25 kWh would read 0.20125
    const m = await open('sdm630', regs);
    try {
      const err = await m.read().then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ kind: 'misconfigured' });
      expect((err as Error).message).toBe(
        `unit 1 on ${where()} energy units prefix (holding 40031, wire 0x001E) reads 1 = M (MWh): every energy register would read 1000 times too small, this map needs 0 = k (kWh); fix: set the energy units prefix back to k: write 0.0 to holding 40031 (wire 0x001E) or change it in the meter's set-up menu`,
      );
      // Still misconfigured: checked again on every read, never a number.
      await expect(m.read()).rejects.toMatchObject({ kind: 'misconfigured' });
      regs.setWords(3, 0x001e, floatWords(0));
      expect((await m.read()).energyImportWh).toBe(201_250);
    } finally {
      await m.close();
    }
  });

  it('SDM630 with the register order reversed: a fault naming the register order (40041) and the fix', async () => {
    const m = await open('sdm630', reversedFloats('sdm630'));
    try {
      const err = await m.read().then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ kind: 'misconfigured' });
      expect((err as Error).message).toBe(
        `unit 1 on ${where()} sends floats least significant word first: Network Node, holding 40021 (wire 0x0014) reads the unit id 1 only with its words swapped, so its register order is not the one this map reads and every value would be garbage; fix: set the meter's Register Order back to normal (most significant register first): write 2141.0, high word first, to holding 40041 (wire 0x0028) - the meter adopts the word order of that write - or reset it in the meter's set-up menu`,
      );
    } finally {
      await m.close();
    }
  });

  it('SDM630 map on a meter answering the SDM72 v2 code: names the register, the code and the model to configure', async () => {
    const regs = meterOf('sdm630');
    regs.setWords(3, 0xfc02, [0x0089]);
    const m = await open('sdm630', regs);
    try {
      await expect(m.read()).rejects.toThrow(
        `unit 1 on ${where()} is not a Eastron SDM630 (v2, SDM630MCT): meter code, holding 464515 (wire 0xFC02) reads 0x0089 (137) = Eastron SDM72D-M v2 (expected 0x0070 (112) or 0x0079 (121) or 0x0000 (0)); fix: set meter.model: sdm72`,
      );
    } finally {
      await m.close();
    }
  });

  it('SDM72 map on an SDM72 v1 (code 0x0084): not supported, said so', async () => {
    const regs = meterOf('sdm72');
    regs.setWords(3, 0xfc02, [0x0084]);
    const m = await open('sdm72', regs);
    try {
      await expect(m.read()).rejects.toThrow(/reads 0x0084 \(132\) = Eastron SDM72D-M v1 \(no per-phase registers; not supported\)/);
    } finally {
      await m.close();
    }
  });

  it('EM24 map on a Carlo Gavazzi EM340 (code 341), on an unknown code, and on a meter without the register', async () => {
    const regs = meterOf('em24');
    regs.setWords(4, 0x000b, [341]);
    const m = await open('em24', regs);
    try {
      await expect(m.read()).rejects.toThrow(
        `unit 1 on ${where()} is not a Carlo Gavazzi EM24 (RS-485 versions; not EM24_E1 Ethernet): Carlo Gavazzi Controls identification code, input 300012 (wire 0x000B), read a word at a time reads 0x0155 (341) = Carlo Gavazzi EM340 / ET340 / EM330 / ET330 (expected 0x0047 (71) or 0x0048 (72) or 0x0049 (73)); fix: set meter.model: em340`,
      );
      regs.setWords(4, 0x000b, [1650]);
      await expect(m.read()).rejects.toThrow(/reads 0x0672 \(1650\), a code this map does not know .*fix: check the type plate and set meter\.model to its map/);
      regs.refuse(4, 0x000b);
      await expect(m.read()).rejects.toThrow(/is not a Carlo Gavazzi EM24 .*: it has no Carlo Gavazzi Controls identification code, .* \(answered illegal data address/);
    } finally {
      await m.close();
    }
  });

  it('EM340 engineering sample (code 340, most significant word first): refused with the reason', async () => {
    const regs = meterOf('em340');
    regs.setWords(4, 0x000b, [340]);
    const m = await open('em340', regs);
    try {
      await expect(m.read()).rejects.toThrow(/reads 0x0154 \(340\) = Carlo Gavazzi EM340 engineering sample \(sends the most significant word first; this map reads least significant first\)/);
    } finally {
      await m.close();
    }
  });

  it('Iskra map on a meter with another model text', async () => {
    const regs = meterOf('wm3m4c');
    regs.setWords(4, 1, [0x4d43, 0x3333]); // "MC33"
    const m = await open('wm3m4c', regs, { unitId: 33 });
    units.set(33, regs);
    try {
      await expect(m.read()).rejects.toThrow(/is not a Iskra WM3M4C: model, input registers 2-3 \(1-based; wire 0x0001\), ASCII reads "MC33", a code this map does not know \(expected "WM3M"\)/);
    } finally {
      await m.close();
    }
  });

  it('a unit without the prefix register (exception 2) passes: the setting does not exist there', async () => {
    const regs = meterOf('sdm630');
    regs.refuse(3, 0x001e, 2);
    const m = await open('sdm630', regs);
    try {
      expect((await m.read()).energyImportWh).toBe(201_250);
    } finally {
      await m.close();
    }
  });

  it('meter.selfCheck: false reads a meter with an unknown code (the technician has compared it with the display)', async () => {
    const regs = meterOf('sdm630');
    regs.setWords(3, 0xfc02, [0x00aa]);
    const checked = await open('sdm630', regs);
    try {
      await expect(checked.read()).rejects.toMatchObject({ kind: 'misconfigured' });
    } finally {
      await checked.close();
    }
    const unchecked = await open('sdm630', regs, { selfCheck: false });
    try {
      expect((await unchecked.read()).energyImportWh).toBe(201_250);
    } finally {
      await unchecked.close();
    }
  });
});
