import type { Meter, MeterSnapshot } from '../../hal/types.js';
import type { Logger } from '../../log.js';
import type { MeterModel, Quantity } from './model.js';
import { decodeSnapshot } from './codec.js';
import { planForModel, quantitiesIn, splitBlock, type ReadBlock } from './plan.js';
import { ModbusError, type BusHandle } from '../../hal/modbus/bus.js';
import { loadModels } from './model.js';
import { selfCheckProblem } from './self-check.js';

export interface ModbusMeterOptions {
  unitId: number;
  /** Tries per request before the read fails. */
  tries: number;
  /** First retry delay; doubles each try. */
  retryDelayMs?: number;
  maxRegistersPerRead?: number;
  invertedCt?: boolean;
  log?: Logger;
  connectorId?: number;
  /** Check the model code and the settings the map assumes before the first reading (default true). */
  selfCheck?: boolean;
}

/** A register the meter refuses (exception 2) is asked again after this many reads (it may come back after a reconfiguration). */
export const UNSUPPORTED_REPROBE_READS = 600;

/** Reads in a row without an answer after which the meter is checked again (it may have been swapped meanwhile). */
export const REVERIFY_AFTER_UNANSWERED = 3;

/** Exception codes worth repeating: acknowledge, busy, gateway target failed to respond. */
const RETRYABLE_EXCEPTIONS = new Set([5, 6, 11]);

const EXCEPTION_TEXT: Record<number, string> = {
  1: 'illegal function', 2: 'illegal data address', 3: 'illegal data value', 4: 'slave device failure',
  5: 'acknowledge', 6: 'slave device busy', 10: 'gateway path unavailable', 11: 'gateway target failed to respond',
};

/** A failed meter read with a kind the poller counts and a message a technician can act on. */
export class MeterReadError extends Error {
  /** `misconfigured`: the meter answers, but is another model or set otherwise than its map assumes. */
  constructor(readonly kind: ModbusError['kind'] | 'not-available' | 'misconfigured', message: string, readonly modbusCode?: number) {
    super(message);
  }
}

const blockName = (b: ReadBlock) => `${b.fc === 3 ? 'holding' : 'input'} registers ${b.start}..${b.start + b.count - 1}`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A Modbus energy meter described by a register map file, read over a shared bus. */
export class ModbusMeter implements Meter {
  /**
   * The requests of one snapshot. Starts as the map's coalesced plan; a request the meter refuses
   * with exception 2 (illegal data address: it does not answer some register in the range) is
   * replaced by finer ones, and that is kept for this meter (model + unit), not retried every poll:
   * the coalesced plan is tried again after UNSUPPORTED_REPROBE_READS reads (a meter that was
   * reconfigured, or one odd answer, does not cost extra requests for ever).
   */
  private blocks: ReadBlock[];
  private readonly coalesced: ReadBlock[];
  private replanAtRead: number | null = null;
  /** Requests refused before: refused again after a re-probe, they are logged at debug level only. */
  private readonly knownRefused = new Set<string>();
  /** Requests of optional values the meter refuses even alone (e.g. an EM24 without export counter): skipped until `retryAtRead`. */
  private readonly unsupported = new Map<string, { quantities: Quantity[]; retryAtRead: number }>();
  private reads = 0;
  /** The self-check passed (cleared when the meter stops answering for a while: it may have been replaced). */
  private verified = false;
  private unanswered = 0;

  constructor(readonly model: MeterModel, private readonly handle: BusHandle, private readonly opts: ModbusMeterOptions) {
    this.coalesced = planForModel(model, { maxRegistersPerRead: opts.maxRegistersPerRead });
    this.blocks = [...this.coalesced];
  }

  /** The requests the next snapshot sends. */
  get plan(): ReadBlock[] {
    return this.blocks.filter((b) => !this.unsupported.has(blockName(b)));
  }

  /** The line this meter is on, e.g. "/dev/ttyUSB0 at 9600 8N1". */
  get where(): string {
    return this.handle.bus.description;
  }

  /** Values a snapshot can do without when the meter has no such register. Billing's register never is one. */
  private optional(q: Quantity): boolean {
    const inverted = this.opts.invertedCt ?? this.model.quirks.invertedCt;
    return q === 'frequency' || (q === 'energyExport' && !inverted);
  }

  async read(): Promise<MeterSnapshot> {
    try {
      if (!this.verified && this.opts.selfCheck !== false) await this.verify();
      const snap = await this.readValues();
      this.unanswered = 0;
      return snap;
    } catch (err) {
      if (err instanceof MeterReadError && (err.kind === 'timeout' || err.kind === 'port') && ++this.unanswered >= REVERIFY_AFTER_UNANSWERED) this.verified = false;
      throw err;
    }
  }

  /**
   * The start-up self-check (model code, settings the map assumes). Rejects with kind
   * `misconfigured` and a message naming the register and the fix; stays unverified, so the
   * next read checks again and a corrected meter recovers by itself.
   */
  async verify(): Promise<void> {
    const problem = await selfCheckProblem(this.model, async (fc, start, count) => (await this.readBlock({ fc, start, count })).words, {
      unitId: this.opts.unitId,
      models: loadModels().values(),
    });
    if (problem) throw new MeterReadError('misconfigured', `unit ${this.opts.unitId} on ${this.where} ${problem}`);
    this.verified = true;
  }

  private async readValues(): Promise<MeterSnapshot> {
    this.reads++;
    if (this.replanAtRead !== null && this.reads >= this.replanAtRead) {
      this.blocks = [...this.coalesced];
      this.replanAtRead = null;
    }
    const regs = new Map<number, number>();
    const skip = new Set<Quantity>();
    const energy = this.model.values.get('energyImport')!;
    let monoMs = 0;
    for (let i = 0; i < this.blocks.length; ) {
      const block = this.blocks[i]!;
      const name = blockName(block);
      const refused = this.unsupported.get(name);
      if (refused && this.reads < refused.retryAtRead) {
        for (const q of refused.quantities) skip.add(q);
        i++;
        continue;
      }
      let got: { words: number[]; monoMs: number };
      try {
        got = await this.readBlock(block);
      } catch (err) {
        if (!(err instanceof MeterReadError) || err.kind !== 'exception' || err.modbusCode !== 2) throw err;
        const finer = splitBlock(this.model, block);
        const fields = { connectorId: this.opts.connectorId, unitId: this.opts.unitId, model: this.model.model, bus: this.where };
        if (finer.length > 1) {
          const msg = `meter refused ${name} (exception 2): reading it in ${finer.length} requests from now on`;
          if (this.knownRefused.has(name)) this.opts.log?.debug({ ...fields, refused: name }, msg);
          else this.opts.log?.warn({ ...fields, refused: name, now: finer.map(blockName) }, msg);
          this.knownRefused.add(name);
          this.replanAtRead ??= this.reads + UNSUPPORTED_REPROBE_READS;
          this.blocks.splice(i, 1, ...finer);
          continue;
        }
        const quantities = quantitiesIn(this.model, block);
        if (!quantities.every((q) => this.optional(q))) throw err;
        this.unsupported.set(name, { quantities, retryAtRead: this.reads + UNSUPPORTED_REPROBE_READS });
        if (!refused) this.opts.log?.warn({ ...fields, refused: name, quantities }, `meter has no ${quantities.join(', ')} (${name} refused with exception 2): left out of its readings`);
        for (const q of quantities) skip.add(q);
        i++;
        continue;
      }
      if (refused) {
        this.unsupported.delete(name);
        this.opts.log?.info({ connectorId: this.opts.connectorId, unitId: this.opts.unitId, answered: name }, 'meter answers a register it refused before');
      }
      got.words.forEach((w, j) => regs.set(block.fc * 0x10000 + block.start + j, w));
      if (block.fc === energy.fc && energy.address >= block.start && energy.address < block.start + block.count) monoMs = got.monoMs;
      i++;
    }
    try {
      const snap = decodeSnapshot(this.model, (fc, addr) => regs.get(fc * 0x10000 + addr) ?? 0, { invertedCt: this.opts.invertedCt, skip });
      return { ...snap, monoMs };
    } catch (err) {
      throw new MeterReadError('not-available', `unit ${this.opts.unitId} on ${this.handle.bus.description}: ${(err as Error).message}`);
    }
  }

  private async readBlock(b: ReadBlock): Promise<{ words: number[]; monoMs: number }> {
    const tries = Math.max(1, this.opts.tries);
    let last: ModbusError | undefined;
    for (let i = 0; i < tries; i++) {
      if (i > 0) await sleep((this.opts.retryDelayMs ?? 50) * 2 ** (i - 1));
      try {
        return await this.handle.bus.read(this.opts.unitId, b.fc, b.start, b.count, { spacingMs: this.model.quirks.minRequestSpacingMs });
      } catch (err) {
        last = err instanceof ModbusError ? err : new ModbusError('port', (err as Error).message);
        if (last.kind === 'exception' && !RETRYABLE_EXCEPTIONS.has(last.modbusCode ?? 0)) break;
      }
    }
    throw this.explain(last!, b, tries);
  }

  private explain(e: ModbusError, b: ReadBlock, tries: number): MeterReadError {
    const unit = this.opts.unitId;
    const bus = this.handle.bus;
    const where = bus.description;
    const after = `after ${tries} ${tries === 1 ? 'try' : 'tries'}`;
    const t = bus.spec.transport;
    const hint = t === 'serial' ? 'check A/B wiring, termination, unit id' : t === 'tcp-rtu' ? "check the gateway's serial settings, A/B wiring, unit id" : 'check host, port and unit id';
    switch (e.kind) {
      case 'timeout':
        return new MeterReadError('timeout', `no answer from unit ${unit} on ${where} ${after} (${hint})`);
      case 'crc':
        return new MeterReadError('crc', `bad CRC in the answers of unit ${unit} on ${where} ${after} (check termination and shielding, and that baud rate and parity match the meter)`);
      case 'garbage':
        return new MeterReadError('garbage', `garbled answer from unit ${unit} on ${where} ${after}: ${e.message} (check baud rate and parity, and for a second master on the bus)`);
      case 'exception': {
        const code = e.modbusCode ?? 0;
        return new MeterReadError('exception', `unit ${unit} on ${where} refused to read ${blockName(b)}: exception ${code} ${EXCEPTION_TEXT[code] ?? ''}`.trimEnd() + ` (is it really a ${this.model.title}?)`, code);
      }
      case 'port': {
        if (!e.message.startsWith('cannot open')) return new MeterReadError('port', `unit ${unit} on ${where}: ${e.message}`);
        const busy = /lock|busy|in use/i.test(e.message);
        const tip = busy ? 'another program holds the port: is evsed running? stop it first' : t === 'serial' ? 'is the USB adapter plugged in?' : 'is the gateway reachable?';
        return new MeterReadError('port', `${e.message} (${tip})`);
      }
    }
  }

  async close(): Promise<void> {
    await this.handle.release();
  }
}
