/**
 * PN532 host frames (NXP UM0701-02, §6.2): the same on HSU, I2C and SPI.
 *
 *   normal:  00 00 FF LEN LCS TFI PD0..PDn DCS 00    LEN = bytes of TFI+PD, LEN+LCS = 0 (mod 256),
 *                                                   TFI+PD0+..+PDn+DCS = 0 (mod 256)
 *   ACK:     00 00 FF 00 FF 00
 *   NACK:    00 00 FF FF 00 00
 *   error:   00 00 FF 01 FF 7F 81 00               (syntax error at application level)
 *   extended:00 00 FF FF FF LENM LENL LCS TFI ...  (over 254 bytes; answers here are never that long)
 *
 * TFI is D4 from host to PN532 and D5 back; a response's first data byte is the command code + 1.
 */

export const TFI_HOST = 0xd4;
export const TFI_PN532 = 0xd5;

export const CMD = {
  GetFirmwareVersion: 0x02,
  SAMConfiguration: 0x14,
  RFConfiguration: 0x32,
  InListPassiveTarget: 0x4a,
} as const;

export const ACK_FRAME = Buffer.from([0x00, 0x00, 0xff, 0x00, 0xff, 0x00]);
export const NACK_FRAME = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x00, 0x00]);
export const ERROR_FRAME = Buffer.from([0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00]);

/**
 * The HSU wake-up (UM0701-02 §7.2.11, AN10609 "Low Battery mode"): after power-up the PN532 sleeps
 * until a long preamble, 0x55 then zeros, comes before the first command (SAMConfiguration).
 */
export const HSU_WAKEUP = Buffer.from([0x55, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);

/** A normal information frame with TFI `tfi` and data `data` (command code first). */
export function encodeFrame(tfi: number, data: Uint8Array): Buffer {
  const len = data.length + 1;
  if (len > 255) throw new Error('PN532 frame too long for a normal frame');
  let sum = tfi;
  for (const b of data) sum += b;
  return Buffer.from([0x00, 0x00, 0xff, len, (0x100 - len) & 0xff, tfi, ...data, (0x100 - (sum & 0xff)) & 0xff, 0x00]);
}

export type Pn532Frame =
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'error' }
  | { kind: 'data'; tfi: number; data: Buffer }
  | { kind: 'bad'; why: string };

/**
 * Finds frames in a byte stream that may hold garbage, cut frames and wake-up bytes: `push` bytes,
 * `next()` returns the next complete frame (or undefined until more bytes come). A frame with a
 * bad LCS or DCS is returned as `bad`, and the search goes on after its start code.
 */
export class FrameReader {
  private buf = Buffer.alloc(0);

  push(bytes: Uint8Array): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : Buffer.from(bytes);
  }

  clear(): void {
    this.buf = Buffer.alloc(0);
  }

  next(): Pn532Frame | undefined {
    for (;;) {
      const start = findStart(this.buf);
      if (start < 0) {
        // keep a trailing 00 (or 00 00) that may begin the next start code
        this.buf = this.buf.subarray(Math.max(0, this.buf.length - 2));
        return undefined;
      }
      const b = this.buf.subarray(start);
      if (b.length < 5) {
        this.buf = b;
        return undefined;
      }
      const len = b[3]!;
      const lcs = b[4]!;
      if (len === 0x00 && lcs === 0xff) return this.consume(start, 6, { kind: 'ack' });
      if (len === 0xff && lcs === 0x00) return this.consume(start, 6, { kind: 'nack' });
      if (len === 0xff && lcs === 0xff) return this.consume(start, 3, { kind: 'bad', why: 'extended frame (not expected from a card poll)' });
      if (((len + lcs) & 0xff) !== 0) {
        this.buf = b.subarray(3);
        return { kind: 'bad', why: `bad length checksum (LEN ${hex(len)}, LCS ${hex(lcs)})` };
      }
      if (b.length < 5 + len + 1) {
        this.buf = b;
        return undefined;
      }
      const body = b.subarray(5, 5 + len);
      const dcs = b[5 + len]!;
      let sum = dcs;
      for (const x of body) sum += x;
      if ((sum & 0xff) !== 0) {
        this.buf = b.subarray(3);
        return { kind: 'bad', why: 'bad data checksum (DCS)' };
      }
      // postamble (00) is optional to read: consume it when present
      const total = 5 + len + 1 + (b[5 + len + 1] === 0x00 ? 1 : 0);
      if (len === 1 && body[0] === 0x7f) return this.consume(start, total, { kind: 'error' });
      return this.consume(start, total, { kind: 'data', tfi: body[0]!, data: Buffer.from(body.subarray(1)) });
    }
  }

  private consume(start: number, n: number, f: Pn532Frame): Pn532Frame {
    this.buf = this.buf.subarray(start + n);
    return f;
  }
}

function findStart(b: Buffer): number {
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0x00 && b[i + 1] === 0x00 && b[i + 2] === 0xff) return i;
  return -1;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** The first ISO 14443A target of an InListPassiveTarget response (data after the 0x4B code), or null for none. */
export function parseInListPassiveTarget(data: Buffer): { uid: Buffer } | null {
  // D5 4B NbTg [Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1... [ATSLength ATS...]]
  if (data.length < 1) throw new Error('InListPassiveTarget answer without NbTg');
  const nbTg = data[0]!;
  if (nbTg === 0) return null;
  if (data.length < 6) throw new Error('InListPassiveTarget answer cut short');
  const idLen = data[5]!;
  if (![4, 7, 10].includes(idLen)) throw new Error(`InListPassiveTarget answer with a UID of ${idLen} bytes (ISO 14443A has 4, 7 or 10)`);
  if (data.length < 6 + idLen) throw new Error('InListPassiveTarget answer cut short in the UID');
  return { uid: Buffer.from(data.subarray(6, 6 + idLen)) };
}
