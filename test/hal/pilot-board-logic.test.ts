import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPilotBoardModel, parsePilotBoardModel } from '../../src/hal/pilot-board/model.js';
import { boardFaults, decodeConfig, decodeStatus, pilotReadingFrom, type BoardStatus } from '../../src/hal/pilot-board/status.js';
import { boardCurrentForDuty, desiredCommand } from '../../src/hal/pilot-board/command.js';
import { currentForDuty, dutyForCurrent } from '../../src/domain/pwm.js';
import { hardwareDataDir } from '../../src/config/hardware-data.js';

/** The pilot board's register map as data, and the pure logic between its registers and evsed. */

const map = loadPilotBoardModel('evse-din');
const rawMap = () => JSON.parse(readFileSync(join(hardwareDataDir('pilot-boards'), 'evse-din.json'), 'utf8'));

describe('hardware/pilot-boards/evse-din.json', () => {
  it('every register names its sources; the driver reads 1000..1007 and 2000..2005 in one request each', () => {
    for (const [name, r] of Object.entries(rawMap().registers as Record<string, { sources: string[] }>)) expect(r.sources.length, name).toBeGreaterThan(0);
    expect(map.statusBlock).toEqual({ start: 1000, count: 8 });
    expect(map.configBlock).toEqual({ start: 2000, count: 6 });
    expect(map.defaults).toMatchObject({ baudRate: 9600, parity: 'none', stopBits: 1, unitId: 1 });
  });

  it('a map without what the driver needs is refused, naming the key', () => {
    const noSource = rawMap();
    noSource.registers.firmware.sources = [];
    expect(() => parsePilotBoardModel(noSource, 'x.json')).toThrow('registers.firmware.sources: every register needs at least one source');
    const noBit = rawMap();
    delete noBit.registers.commands.bits.turnOffCharging;
    expect(() => parsePilotBoardModel(noBit, 'x.json')).toThrow('x.json: registers.commands.bits.turnOffCharging is missing (the driver uses it)');
    const badState = rawMap();
    badState.registers.vehicleState.values['3'] = 'charging';
    expect(() => parsePilotBoardModel(badState, 'x.json')).toThrow('registers.vehicleState.values["3"]: must be one of A | B | C | D | failure (got "charging")');
  });
});

const status = (words: Partial<Record<number, number>>): BoardStatus =>
  decodeStatus(map, Array.from({ length: 8 }, (_, i) => words[1000 + i] ?? 0));

describe('decoding the status and configuration registers', () => {
  it('vehicle state, board state, turn-off bit and status bits', () => {
    expect(status({ 1000: 16, 1002: 3, 1004: 1, 1005: 18, 1006: 2, 1007: 0b100001 })).toMatchObject({
      currentRaw: 16, vehicle: 'C', turnOff: true, firmware: 18, board: 'pwm', relayOn: true, rcdCheckError: true, diodeCheckFail: false,
    });
    expect(status({ 1002: 9, 1006: 7 })).toMatchObject({ vehicle: 'unknown', vehicleRaw: 9, board: 'unknown' });
    expect(decodeConfig(map, [32, 1, 6, 0, 0, 128 | 16384])).toEqual({ currentAfterBootA: 32, highResolution: true, disabled: true, disableAfterCharge: false, chargeInStateD: false, known: true });
  });

  it('the pilot reading: a failure keeps the last state; the diode counts as checked only with PWM running, in B/C/D, from a poll after the last write', () => {
    const last = { state: 'C' as const, diodeOk: true, diodeChecked: true };
    expect(pilotReadingFrom(status({ 1002: 3, 1006: 2 }), last, true)).toEqual({ state: 'C', diodeOk: true, diodeChecked: true });
    expect(pilotReadingFrom(status({ 1002: 3, 1006: 2 }), last, false)).toEqual({ state: 'C', diodeOk: true, diodeChecked: false });
    expect(pilotReadingFrom(status({ 1002: 2, 1006: 1 }), last, true)).toEqual({ state: 'B', diodeOk: true, diodeChecked: false });
    expect(pilotReadingFrom(status({ 1002: 1, 1006: 2 }), last, true)).toEqual({ state: 'A', diodeOk: true, diodeChecked: false });
    expect(pilotReadingFrom(status({ 1002: 5, 1006: 1, 1007: 0b1010 }), last, true)).toEqual({ state: 'C', diodeOk: false, diodeChecked: false });
  });

  it('board faults: RCD check error, ventilation, an unnamed failure or an unknown state; the diode is not one (it is the reading)', () => {
    expect([...boardFaults(status({ 1002: 5, 1007: 0b100000 })).keys()]).toEqual(['rcd']);
    expect([...boardFaults(status({ 1002: 5, 1007: 0b100 })).keys()]).toEqual(['other']);
    expect([...boardFaults(status({ 1002: 5, 1007: 0b10 })).keys()]).toEqual([]);
    expect(boardFaults(status({ 1002: 5 })).get('pilot')).toBe('the board reports a failure (vehicle state 5) without a cause bit');
    expect(boardFaults(status({ 1002: 0 })).get('pilot')).toBe('the board reports vehicle state 0, which its map does not name');
    expect(boardFaults(status({ 1002: 3, 1007: 1 })).size).toBe(0);
  });
});

describe('what evsed writes', () => {
  it('the current register for a duty is the whole current evsed meant (1 A steps) or the duty\'s current (0.01 A steps)', () => {
    for (let a = 6; a <= 80; a++) {
      if (a > 51 && a < 53) continue; // 51-52.5 A has no encoding of its own
      expect(boardCurrentForDuty(dutyForCurrent(a), false), `${a} A`).toBe(a);
      expect(boardCurrentForDuty(dutyForCurrent(a), true), `${a} A`).toBe(Math.floor(currentForDuty(dutyForCurrent(a)) * 100 + 1e-9));
    }
    expect(boardCurrentForDuty(266, true)).toBe(1596);
    expect(boardCurrentForDuty(50, false)).toBe(0);
  });

  it('enabled while the contactor is commanded closed, or current is offered and the board\'s close was not refused', () => {
    const pwm = { mode: 'pwm' as const, dutyPermille: 266 };
    const x1 = { mode: 'x1' as const };
    const base = { contactorCommanded: false, refused: false, highResolution: false };
    expect(desiredCommand({ ...base, output: x1 })).toEqual({ currentRaw: 0, turnOff: true });
    expect(desiredCommand({ ...base, output: pwm })).toEqual({ currentRaw: 16, turnOff: false });
    expect(desiredCommand({ ...base, output: pwm, refused: true })).toEqual({ currentRaw: 16, turnOff: true });
    expect(desiredCommand({ ...base, output: pwm, refused: true, contactorCommanded: true })).toEqual({ currentRaw: 16, turnOff: false });
    expect(desiredCommand({ ...base, output: x1, contactorCommanded: true })).toEqual({ currentRaw: 0, turnOff: false }); // the EV gets its 6 s to stop
    expect(desiredCommand({ ...base, output: { mode: 'f' } })).toEqual({ currentRaw: 0, turnOff: true });
    expect(desiredCommand({ ...base, output: { mode: 'digital' } })).toEqual({ currentRaw: 0, turnOff: true });
    // The board's resolution unknown: no offer (16 could mean 0.16 A or 16 A).
    expect(desiredCommand({ ...base, output: pwm, highResolution: undefined })).toEqual({ currentRaw: 0, turnOff: true });
  });
});
