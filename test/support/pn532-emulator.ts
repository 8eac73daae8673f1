import { SerialPort } from 'serialport';
import { ACK_FRAME, CMD, ERROR_FRAME, FrameReader, TFI_HOST, TFI_PN532, encodeFrame } from '../../src/hal/readers/pn532-frame.js';

/**
 * A PN532 in HSU mode on the device end of a pty pair: sleeps until the wake-up preamble (0x55),
 * ACKs every well-formed command, ignores frames with bad checksums (as the chip does), answers
 * SAMConfiguration, RFConfiguration and InListPassiveTarget in the real frame format, with the
 * card that is on it now. Faults for the next answer can be injected.
 */
export class Pn532Emulator {
  /** The UID of the card held to the antenna, or null. */
  card: Buffer | null = null;
  awake = false;
  /** Every command code received (after wake-up), in order. */
  readonly commands: number[] = [];
  /** Polls (InListPassiveTarget) answered. */
  polls = 0;
  /** Host frames dropped for a bad checksum. */
  badHostFrames = 0;
  /** One-shot faults for the next answer. */
  next: { garbage?: Buffer; corruptDcs?: boolean; silent?: boolean; errorFrame?: boolean } = {};
  private port?: SerialPort;
  private readonly frames = new FrameReader();

  constructor(private readonly path: string) {}

  async start(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    port.on('data', (d: Buffer) => this.onData(d));
    port.on('error', () => undefined);
    this.port = port;
  }

  async stop(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
  }

  /** Power cycle: asleep again, needs the wake-up. */
  reset(): void {
    this.awake = false;
  }

  private onData(d: Buffer): void {
    if (d.includes(0x55)) this.awake = true;
    this.frames.push(d);
    for (let f = this.frames.next(); f; f = this.frames.next()) {
      if (f.kind === 'bad') {
        this.badHostFrames++;
        continue;
      }
      if (f.kind !== 'data' || f.tfi !== TFI_HOST || !this.awake) continue; // an ACK from the host aborts: nothing to do here
      this.command(f.data[0]!, f.data.subarray(1));
    }
  }

  private command(code: number, params: Buffer): void {
    this.commands.push(code);
    const fault = this.next;
    this.next = {};
    if (fault.silent) return;
    let answer: Buffer;
    if (fault.errorFrame) answer = ERROR_FRAME;
    else if (code === CMD.SAMConfiguration) answer = encodeFrame(TFI_PN532, Uint8Array.from([0x15]));
    else if (code === CMD.RFConfiguration) answer = encodeFrame(TFI_PN532, Uint8Array.from([0x33]));
    else if (code === CMD.InListPassiveTarget) {
      this.polls++;
      const uid = params[0] === 0x01 && params[1] === 0x00 ? this.card : null;
      // NbTg Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1
      const sensRes = uid?.length === 4 ? [0x00, 0x04] : [0x00, 0x44];
      const body = uid ? [0x4b, 0x01, 0x01, ...sensRes, 0x08, uid.length, ...uid] : [0x4b, 0x00];
      answer = encodeFrame(TFI_PN532, Uint8Array.from(body));
    } else answer = ERROR_FRAME;
    if (fault.corruptDcs) {
      answer = Buffer.from(answer);
      answer[answer.length - 2] = answer[answer.length - 2]! ^ 0x5a;
    }
    const out = Buffer.concat([ACK_FRAME, fault.garbage ?? Buffer.alloc(0), answer]);
    // as a UART delivers it: the ACK first, the answer a little later
    this.port?.write(out.subarray(0, ACK_FRAME.length));
    setTimeout(() => this.port?.write(out.subarray(ACK_FRAME.length)), 3);
  }
}
