import { createRequire } from 'node:module';
import { SerialPort } from 'serialport';

/**
 * A Modbus RTU line seen from the slaves' side, for simulated devices (the pilot board simulator,
 * test meters): assembles request frames from a byte stream (a pty, a serial adapter, a socket),
 * checks their CRC (a bad frame is dropped and counted, as a device does), hands each to the unit
 * it names and frames the answer. A unit that is missing, or answers undefined, stays silent.
 * FC03/FC04 reads, FC06 and FC16 writes.
 */

const crc16 = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number;

export interface RtuException {
  exception: number;
}

export interface RtuUnit {
  /** The registers, an exception, or undefined for no answer at all. */
  read(fc: 3 | 4, address: number, count: number): number[] | RtuException | undefined;
  write(address: number, words: number[], fc: 6 | 16): RtuException | 'ok' | undefined;
}

function withCrc(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

const isException = (x: unknown): x is RtuException => typeof x === 'object' && x !== null && 'exception' in x;

export class RtuSlaveLine {
  readonly units = new Map<number, RtuUnit>();
  /** Delay before each answer (a device's turnaround). */
  answerDelayMs = 2;
  readonly stats = { requests: 0, badCrc: 0, writes: 0 };
  private buf = Buffer.alloc(0);

  constructor(units: Iterable<[number, RtuUnit]> = []) {
    for (const [id, u] of units) this.units.set(id, u);
  }

  /** Feed received bytes; `send` writes to the line. */
  onData(chunk: Buffer, send: (b: Buffer) => void): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const len = this.frameLength();
      if (len === undefined || this.buf.length < len) return;
      const frame = this.buf.subarray(0, len);
      if (frame.readUInt16LE(len - 2) !== crc16(frame.subarray(0, len - 2))) {
        this.stats.badCrc++;
        this.buf = Buffer.alloc(0);
        return;
      }
      this.buf = this.buf.subarray(len);
      const answer = this.handle(Buffer.from(frame));
      if (answer) setTimeout(() => send(answer), this.answerDelayMs);
    }
  }

  /** Bytes of the request at the head of the buffer, or undefined while that is not yet known. */
  private frameLength(): number | undefined {
    if (this.buf.length < 2) return undefined;
    if (this.buf[1] !== 16) return 8;
    return this.buf.length < 7 ? undefined : 9 + this.buf[6]!;
  }

  private handle(req: Buffer): Buffer | undefined {
    const unitId = req[0]!;
    const fc = req[1]!;
    const unit = this.units.get(unitId);
    if (!unit) return undefined;
    this.stats.requests++;
    const address = req.readUInt16BE(2);
    const exception = (code: number) => withCrc(Buffer.from([unitId, fc | 0x80, code]));
    if (fc === 3 || fc === 4) {
      const count = req.readUInt16BE(4);
      const res = unit.read(fc, address, count);
      if (res === undefined) return undefined;
      if (isException(res)) return exception(res.exception);
      const body = Buffer.alloc(3 + 2 * count);
      body[0] = unitId;
      body[1] = fc;
      body[2] = 2 * count;
      res.forEach((w, i) => body.writeUInt16BE(w & 0xffff, 3 + 2 * i));
      return withCrc(body);
    }
    if (fc === 6 || fc === 16) {
      const words = fc === 6 ? [req.readUInt16BE(4)] : Array.from({ length: req.readUInt16BE(4) }, (_, i) => req.readUInt16BE(7 + 2 * i));
      this.stats.writes++;
      const res = unit.write(address, words, fc);
      if (res === undefined) return undefined;
      if (isException(res)) return exception(res.exception);
      return withCrc(req.subarray(0, 6)); // FC06 echoes address and value, FC16 address and count
    }
    return exception(1);
  }

  /** Serve the line on a serial device (a pty end, or a second adapter for bench tests). */
  async openSerial(path: string, baudRate = 9600): Promise<{ close(): Promise<void> }> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on('data', (d: Buffer) => this.onData(d, (b) => port.isOpen && port.write(b)));
    port.on('error', () => undefined);
    return {
      close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
    };
  }
}
