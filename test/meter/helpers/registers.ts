import type { MeterModel, ResolvedValue } from '../../../src/meter/modbus/model.js';

/**
 * The test meter's register file, written independently of the driver's decoder: values are
 * encoded here with plain arithmetic per type and word order.
 */
export class RegisterFile {
  private regs = new Map<number, number>();
  private refused = new Set<number>();

  get(fc: number, addr: number): number {
    return this.regs.get(fc * 0x10000 + addr) ?? 0;
  }

  setWords(fc: number, addr: number, words: number[]): void {
    words.forEach((w, i) => this.regs.set(fc * 0x10000 + addr + i, w & 0xffff));
  }

  /** Registers this meter does not have: a request touching any of them is answered with exception 2. */
  refuse(fc: number, addr: number, count = 1): void {
    for (let i = 0; i < count; i++) this.refused.add(fc * 0x10000 + addr + i);
  }

  /** The meter answers every register again (e.g. reconfigured). */
  answerAll(): void {
    this.refused.clear();
  }

  refuses(fc: number, addr: number, count: number): boolean {
    for (let i = 0; i < count; i++) if (this.refused.has(fc * 0x10000 + addr + i)) return true;
    return false;
  }

  /** Encode `raw` (already in the register's own unit and scale) into the value's registers. */
  setRaw(v: ResolvedValue, raw: number | bigint): void {
    this.setWords(v.fc, v.address, encodeRaw(v, raw));
  }
}

export function encodeRaw(v: Pick<ResolvedValue, 'type' | 'wordOrder'>, raw: number | bigint): number[] {
  let hiFirst: number[];
  switch (v.type) {
    case 'float32': {
      const b = Buffer.alloc(4);
      b.writeFloatBE(Number(raw));
      hiFirst = [b.readUInt16BE(0), b.readUInt16BE(2)];
      break;
    }
    case 'int16':
    case 'uint16':
      hiFirst = [Number(raw) & 0xffff];
      break;
    case 'int32':
    case 'uint32': {
      const b = Buffer.alloc(4);
      if (v.type === 'int32') b.writeInt32BE(Number(raw));
      else b.writeUInt32BE(Number(raw));
      hiFirst = [b.readUInt16BE(0), b.readUInt16BE(2)];
      break;
    }
    case 'int64':
    case 'uint64': {
      const b = Buffer.alloc(8);
      if (v.type === 'int64') b.writeBigInt64BE(BigInt(raw));
      else b.writeBigUInt64BE(BigInt(raw));
      hiFirst = [0, 2, 4, 6].map((o) => b.readUInt16BE(o));
      break;
    }
    default:
      throw new Error(`use encodeIskra for ${v.type}`);
  }
  return v.wordOrder === 'low-first' ? hiFirst.reverse() : hiFirst;
}

/** Iskra T5/T6: exponent byte + 24-bit mantissa, e.g. (123456, -3) -> 0xFD01 0xE240. */
export function encodeIskra(mantissa: number, exponent: number): number[] {
  const m = mantissa & 0xffffff;
  return [((exponent & 0xff) << 8) | (m >> 16), m & 0xffff];
}

export interface KnownValues {
  /** What the snapshot must contain, exactly. */
  expected: {
    energyImportWh: number;
    energyExportWh?: number;
    powerW: number;
    voltageV: number[];
    currentA: number[];
    powerPhaseW: number[];
    frequencyHz?: number;
  };
}

/**
 * Fill a model's registers with known readings and return the snapshot values a correct driver
 * must produce. NOTE: this writes at the addresses, word order and scaling of the map under test,
 * so it cannot catch a wrong map; it is for transport, queue and poller tests. The maps themselves
 * are checked against the makers' register tables in test/meter/fixtures/vendor-maps.ts. Expected values are computed here from the raw register contents with plain
 * arithmetic, so a decoder bug (word order, sign, scale) shows as a mismatch.
 */
export function loadKnownValues(model: MeterModel, regs: RegisterFile, energyImportWh = 12_345_678): KnownValues {
  const v = (q: string) => model.values.get(q as never);
  const phases = model.phases;
  const volts = [230.1, 231.2, 229.8].slice(0, phases);
  const amps = [16.012, 15.987, 0.5].slice(0, phases);
  const watts = [3680.5, 3650.2, -10.4].slice(0, phases);
  const out: KnownValues['expected'] = { energyImportWh: 0, powerW: 0, voltageV: [], currentA: [], powerPhaseW: [] };
  // A real meter answers its model-code register with its own code (the driver checks it at start).
  if (model.identify) regs.setWords(model.identify.functionCode, model.identify.address, model.identify.values[0]!);

  switch (model.model) {
    case 'sdm630':
    case 'sdm72':
    case 'sdm120':
    case 'or-we-517':
    case 'pro380': {
      const kW = (q: string) => v(q)!.pow10 === 3; // power in kW on Orno/Inepro
      const kwh = energyImportWh / 1000;
      regs.setRaw(v('energyImport')!, kwh);
      out.energyImportWh = Math.round(Math.fround(kwh) * 1000);
      regs.setRaw(v('energyExport')!, 1.5);
      out.energyExportWh = 1500;
      volts.forEach((x, i) => { regs.setRaw(v(`voltage.${i}`)!, x); out.voltageV.push(Math.fround(x)); });
      amps.forEach((x, i) => { regs.setRaw(v(`current.${i}`)!, x); out.currentA.push(Math.fround(x)); });
      watts.forEach((x, i) => {
        const q = `powerPhase.${i}`;
        if (kW(q)) { regs.setRaw(v(q)!, x / 1000); out.powerPhaseW.push(Math.fround(x / 1000) * 1000); }
        else { regs.setRaw(v(q)!, x); out.powerPhaseW.push(Math.fround(x)); }
      });
      if (v('power')) {
        if (kW('power')) { regs.setRaw(v('power')!, 7.3203); out.powerW = Math.fround(7.3203) * 1000; }
        else { regs.setRaw(v('power')!, 7320.3); out.powerW = Math.fround(7320.3); }
      } else {
        out.powerW = out.powerPhaseW.reduce((a, b) => a + b, 0);
      }
      regs.setRaw(v('frequency')!, 50.02);
      out.frequencyHz = Math.fround(50.02);
      break;
    }
    case 'em340':
    case 'em24': {
      // INT32, scale 0.1 kWh / 0.1 V / 0.001 A / 0.1 W, frequency INT16 x 0.1 Hz.
      const raw = Math.round(energyImportWh / 100);
      regs.setRaw(v('energyImport')!, raw);
      out.energyImportWh = raw * 100;
      regs.setRaw(v('energyExport')!, 15);
      out.energyExportWh = 1500;
      volts.forEach((x, i) => { regs.setRaw(v(`voltage.${i}`)!, Math.round(x * 10)); out.voltageV.push(Math.round(x * 10) / 10); });
      amps.forEach((x, i) => { regs.setRaw(v(`current.${i}`)!, Math.round(x * 1000)); out.currentA.push(Math.round(x * 1000) / 1000); });
      watts.forEach((x, i) => { regs.setRaw(v(`powerPhase.${i}`)!, Math.round(x * 10)); out.powerPhaseW.push(Math.round(x * 10) / 10); });
      regs.setRaw(v('power')!, 73203);
      out.powerW = 7320.3;
      regs.setRaw(v('frequency')!, 500);
      out.frequencyHz = 50;
      break;
    }
    case 'abb-b23': {
      const raw = BigInt(Math.round(energyImportWh / 10));
      regs.setRaw(v('energyImport')!, raw);
      out.energyImportWh = Number(raw) * 10;
      regs.setRaw(v('energyExport')!, 150n);
      out.energyExportWh = 1500;
      volts.forEach((x, i) => { regs.setRaw(v(`voltage.${i}`)!, Math.round(x * 10)); out.voltageV.push(Math.round(x * 10) / 10); });
      amps.forEach((x, i) => { regs.setRaw(v(`current.${i}`)!, Math.round(x * 100)); out.currentA.push(Math.round(x * 100) / 100); });
      watts.forEach((x, i) => { regs.setRaw(v(`powerPhase.${i}`)!, Math.round(x * 100)); out.powerPhaseW.push(Math.round(x * 100) / 100); });
      regs.setRaw(v('power')!, 732030);
      out.powerW = 7320.3;
      regs.setRaw(v('frequency')!, 5002);
      out.frequencyHz = 50.02;
      break;
    }
    case 'wm3m4c': {
      // Counter in Wh x 10^exponent; exponent 0 here, -1 tested separately.
      regs.setRaw(v('energyImport')!, energyImportWh);
      regs.setWords(4, v('energyImport')!.exponentAddress!, [0]);
      out.energyImportWh = energyImportWh;
      regs.setRaw(v('energyExport')!, 1500);
      regs.setWords(4, v('energyExport')!.exponentAddress!, [0]);
      out.energyExportWh = 1500;
      volts.forEach((x, i) => { regs.setWords(4, v(`voltage.${i}`)!.address, encodeIskra(Math.round(x * 100), -2)); out.voltageV.push(Math.round(x * 100) / 100); });
      amps.forEach((x, i) => { regs.setWords(4, v(`current.${i}`)!.address, encodeIskra(Math.round(x * 1000), -3)); out.currentA.push(Math.round(x * 1000) / 1000); });
      watts.forEach((x, i) => { regs.setWords(4, v(`powerPhase.${i}`)!.address, encodeIskra(Math.round(x * 10), -1)); out.powerPhaseW.push(Math.round(x * 10) / 10); });
      regs.setWords(4, v('power')!.address, encodeIskra(73203, -1));
      out.powerW = 7320.3;
      regs.setWords(4, v('frequency')!.address, encodeIskra(5002, -2));
      out.frequencyHz = 50.02;
      break;
    }
    default:
      throw new Error(`no known values for model ${model.model}: add them to test/meter/helpers/registers.ts`);
  }
  return { expected: out };
}

/** Set only the energy import register to `wh` (exact for every model's encoding used above). */
export function setEnergyWh(model: MeterModel, regs: RegisterFile, wh: number): void {
  const v = model.values.get('energyImport')!;
  switch (v.type) {
    case 'float32': regs.setRaw(v, wh / 1000); break;
    case 'int32': regs.setRaw(v, Math.round(wh / 100)); break;
    case 'uint64': regs.setRaw(v, BigInt(Math.round(wh / 10))); break;
    case 'uint32': regs.setRaw(v, wh); break;
    default: throw new Error(`setEnergyWh: ${v.type}`);
  }
}
