import { createRequire } from 'node:module';
import type { RegisterFile } from './registers.js';

const crc16 = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number;

export type Fault =
  | { kind: 'silence' } // no answer at all
  | { kind: 'late'; ms: number } // the right answer, after the client gave up
  | { kind: 'bad-crc' }
  | { kind: 'garbage' } // random bytes instead of an answer
  | { kind: 'exception'; code: number }
  | { kind: 'override'; fc: number; addr: number; words: number[] }; // answer with these registers patched once

export function withCrc(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

/**
 * A Modbus RTU slave over a byte stream (socket or pty): assembles 8-byte FC03/FC04 requests,
 * checks their CRC (a bad request is dropped and counted, as a real meter does), answers from
 * the register file with a correct CRC, and applies scripted faults one per request.
 */
export class RtuResponder {
  private buf = Buffer.alloc(0);
  private busy = false;
  readonly stats = { requests: 0, badRequestCrc: 0, interleaved: 0, refused: 0, byUnit: new Map<number, number>() };
  faults: Fault[] = [];
  /** Units that answer; others stay silent (as on a real bus). */
  units: Map<number, RegisterFile>;
  answerDelayMs = 2;

  constructor(units: Map<number, RegisterFile>) {
    this.units = units;
  }

  /** Feed received bytes; `send` writes to the line. */
  onData(chunk: Buffer, send: (b: Buffer) => void): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 8) {
      const frame = this.buf.subarray(0, 8);
      if (frame.readUInt16LE(6) !== crc16(frame.subarray(0, 6))) {
        this.stats.badRequestCrc++;
        this.buf = Buffer.alloc(0);
        return;
      }
      this.buf = this.buf.subarray(8);
      if (this.busy) this.stats.interleaved++;
      this.handle(Buffer.from(frame), send);
    }
  }

  private handle(req: Buffer, send: (b: Buffer) => void): void {
    const unit = req[0]!;
    const fc = req[1]!;
    const addr = req.readUInt16BE(2);
    const count = req.readUInt16BE(4);
    const regs = this.units.get(unit);
    if (!regs) return;
    this.stats.requests++;
    this.stats.byUnit.set(unit, (this.stats.byUnit.get(unit) ?? 0) + 1);
    // An override patches the answer that carries its register; other faults hit the next request.
    const next = this.faults[0];
    const covers = next?.kind !== 'override' || (next.fc === fc && next.addr < addr + count && next.addr + next.words.length > addr);
    const fault = covers ? this.faults.shift() : undefined;
    let answer: Buffer;
    if (fault?.kind === 'exception' || (fc !== 3 && fc !== 4)) {
      answer = withCrc(Buffer.from([unit, fc | 0x80, fault?.kind === 'exception' ? fault.code : 1]));
    } else if (regs.refuses(fc, addr, count)) {
      this.stats.refused++;
      answer = withCrc(Buffer.from([unit, fc | 0x80, 2]));
    } else {
      const body = Buffer.alloc(3 + 2 * count);
      body[0] = unit;
      body[1] = fc;
      body[2] = 2 * count;
      for (let i = 0; i < count; i++) {
        let w = regs.get(fc, addr + i);
        if (fault?.kind === 'override' && fault.fc === fc) {
          const j = addr + i - fault.addr;
          if (j >= 0 && j < fault.words.length) w = fault.words[j]!;
        }
        body.writeUInt16BE(w, 3 + 2 * i);
      }
      answer = withCrc(body);
    }
    if (fault?.kind === 'silence') return;
    if (fault?.kind === 'bad-crc') answer[answer.length - 1]! ^= 0x5a;
    if (fault?.kind === 'garbage') answer = Buffer.from(Array.from({ length: 7 }, (_, i) => (i * 37 + 11) & 0xff));
    const delay = fault?.kind === 'late' ? fault.ms : this.answerDelayMs;
    this.busy = true;
    setTimeout(() => {
      this.busy = false;
      send(answer);
    }, delay);
  }
}
