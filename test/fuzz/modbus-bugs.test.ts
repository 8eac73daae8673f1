import { describe, expect, it } from 'vitest';
import { getModel } from '../../src/meter/modbus/model.js';
import { decodeSnapshot } from '../../src/meter/modbus/codec.js';
import { RegisterFile, loadKnownValues } from '../meter/helpers/registers.js';

/**
 * Minimal reproduction of what the Modbus fuzzer (test/fuzz/modbus.test.ts, seed 388823, cases 197
 * and 213, mode random-registers) found: a float32 energy register holding garbage (well-formed
 * frame, valid CRC) decodes to an energy beyond exact integer range (e.g. 3.2e35 Wh) and is
 * returned as a good snapshot. src/meter/modbus/codec.ts decodeSnapshot() rejects NaN and negative
 * energy but not values above Number.MAX_SAFE_INTEGER; SessionStore.start/stop then throw
 * ("must be a non-negative integer Wh") and billing sees a nonsense register.
 */
describe('Modbus decoding bugs found by fuzzing', () => {
  it('regression: an sdm630 energy register of 1e30 kWh decodes to a snapshot instead of a "not available" DecodeError', () => {
    const model = getModel('sdm630');
    const regs = new RegisterFile();
    loadKnownValues(model, regs);
    regs.setRaw(model.values.get('energyImport')!, 1e30);
    let snap: { energyImportWh: number } | undefined;
    let error: unknown;
    try {
      snap = decodeSnapshot(model, (fc, addr) => regs.get(fc, addr));
    } catch (err) {
      error = err;
    }
    if (snap) expect(Number.isSafeInteger(snap.energyImportWh), `energyImportWh ${snap.energyImportWh}`).toBe(true);
    else expect(error).toBeInstanceOf(Error);
  });
});
