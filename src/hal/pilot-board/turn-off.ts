import { ModbusError, type ModbusBus } from '../modbus/bus.js';
import type { PilotBoardModel } from './model.js';
import { decodeStatus } from './status.js';

export interface TurnOffResult {
  /** Turn-off and current 0 acknowledged, and the relay not reported on afterwards. */
  off: boolean;
  /** What happened, for the journal. */
  detail: string;
}

const why = (err: unknown): string => {
  if (err instanceof ModbusError) {
    if (err.kind === 'timeout') return 'no answer';
    if (err.kind === 'exception') return `refused (Modbus exception ${err.modbusCode})`;
  }
  return (err as Error)?.message ?? String(err);
};

/**
 * Tell one board to stop charging without the driver's poll loop: for when the daemon is gone
 * (the board has no Modbus watchdog and charges on at the last current while the EV asks).
 * The turn-off bit first (the board stops its PWM and releases its relay), then the offered
 * current 0 (so the board offers nothing either once the bit is cleared); each write up to
 * `tries` times. Then one read of the status, to report the relay.
 */
export async function turnBoardOff(bus: ModbusBus, model: PilotBoardModel, o: { unitId: number; requestGapMs: number; tries: number }): Promise<TurnOffResult> {
  const write = async (address: number, value: number): Promise<{ err?: unknown; tries: number }> => {
    let err: unknown;
    let n = 0;
    while (n < o.tries) {
      n++;
      try {
        await bus.write(o.unitId, address, [value], { spacingMs: o.requestGapMs });
        return { tries: n };
      } catch (e) {
        err = e;
        if (e instanceof ModbusError && e.kind === 'exception') break; // a clear answer: asking again changes nothing
      }
    }
    return { err, tries: n };
  };

  const turnOff = await write(model.reg.commands, 1 << model.bit.turnOffCharging);
  if (turnOff.err !== undefined) {
    return { off: false, detail: `${why(turnOff.err)} to the turn-off (${turnOff.tries} ${turnOff.tries === 1 ? 'try' : 'tries'}): it keeps its current and relay while the EV asks` };
  }
  const current = await write(model.reg.configuredCurrent, 0);
  if (current.err !== undefined) {
    return { off: false, detail: `turn-off set, but current 0 ${why(current.err)} (${current.tries} ${current.tries === 1 ? 'try' : 'tries'}): after a restart of its own the board would offer again` };
  }
  try {
    const { words } = await bus.read(o.unitId, 3, model.statusBlock.start, model.statusBlock.count, { spacingMs: o.requestGapMs });
    const s = decodeStatus(model, words);
    if (s.relayOn) return { off: false, detail: `turn-off set, current 0; but the relay is still reported on (EV in ${s.vehicle}): check the board and its contactor` };
    return { off: true, detail: `turn-off set, current 0; relay off, EV in ${s.vehicle}` };
  } catch (err) {
    return { off: true, detail: `turn-off set, current 0; status not read back (${why(err)})` };
  }
}
