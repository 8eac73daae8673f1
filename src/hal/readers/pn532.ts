import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { ACK_FRAME, CMD, FrameReader, HSU_WAKEUP, TFI_HOST, TFI_PN532, encodeFrame, parseInListPassiveTarget, type Pn532Frame } from './pn532-frame.js';
import type { CardReader, CardReaderEvents } from './types.js';

export interface Pn532ReaderOptions {
  /** The UART, e.g. /dev/serial0 (the Pi's header pins 8/10) or /dev/ttyUSB0. */
  device: string;
  baudRate?: number;
  /** Time between two polls for a card (ms). */
  pollMs?: number;
  /** Polls without the card after which it counts as removed (and is read again when it comes back). */
  removeAfterPolls?: number;
  ackTimeoutMs?: number;
  responseTimeoutMs?: number;
}

const DEFAULTS = { baudRate: 115200, pollMs: 200, removeAfterPolls: 3, ackTimeoutMs: 100, responseTimeoutMs: 1000 };
/** Failed polls in a row after which the PN532 is woken and configured again. */
const REINIT_AFTER_FAILURES = 3;

class Pn532Error extends Error {}

/**
 * A PN532 NFC front end in HSU mode (UART) polling for ISO 14443A cards (Mifare, NTAG, DESFire):
 * wakes the chip, configures it (SAM normal mode; one passive activation try per poll, so a poll
 * with no card answers at once instead of waiting for one), then asks InListPassiveTarget every
 * `pollMs`. A card held still is reported once; after `removeAfterPolls` polls without it, it is
 * reported again when it comes back. A port that closes (USB adapter unplugged) is `gone`.
 */
export class Pn532CardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private readonly o: Required<Pn532ReaderOptions>;
  private port: SerialPort | undefined;
  private readonly frames = new FrameReader();
  /** Frames received and not yet taken by a command (an ACK and its answer often come in one read). */
  private queue: Pn532Frame[] = [];
  private waiter: ((f: Pn532Frame) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private current: string | null = null;
  private absentPolls = 0;
  private failures = 0;
  private busy: Promise<void> = Promise.resolve();

  constructor(o: Pn532ReaderOptions) {
    super();
    this.o = { ...DEFAULTS, ...o } as Required<Pn532ReaderOptions>;
  }

  async open(): Promise<void> {
    if (this.port) return;
    this.closing = false;
    const port = new SerialPort({ path: this.o.device, baudRate: this.o.baudRate, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(new Error(`cannot open ${this.o.device}: ${e.message} (is the PN532 connected, the UART enabled? docs/install-pi.md)`)) : res())));
    this.port = port;
    this.frames.clear();
    port.on('data', (d: Buffer) => this.onData(d));
    port.on('error', (e: Error) => this.emit('error', new Error(`${this.o.device}: ${e.message}`)));
    port.on('close', () => this.onPortClosed());
    try {
      await this.init();
    } catch (err) {
      await this.close();
      throw new Error(`no PN532 answers on ${this.o.device} at ${this.o.baudRate} baud: ${(err as Error).message} (check TX to RX crossed, 3.3 V, the interface switches set to HSU)`);
    }
    this.current = null;
    this.absentPolls = 0;
    this.failures = 0;
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const port = this.port;
    this.port = undefined;
    this.waiter?.({ kind: 'bad', why: 'closed' });
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  private onPortClosed(): void {
    if (this.closing || !this.port) return;
    const port = this.port;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.port = undefined;
    this.waiter?.({ kind: 'bad', why: 'port closed' });
    if (port.isOpen) port.close(() => undefined);
    this.emit('gone', new Error(`${this.o.device}: the port closed (PN532 or its USB adapter unplugged?)`));
  }

  private onData(d: Buffer): void {
    this.frames.push(d);
    for (let f = this.frames.next(); f; f = this.frames.next()) this.queue.push(f);
    this.deliver();
  }

  private deliver(): void {
    const f = this.waiter && this.queue.shift();
    if (f) this.waiter!(f);
  }

  /** Wake-up preamble + SAMConfiguration (normal mode), then at most one activation try per InListPassiveTarget. */
  private async init(): Promise<void> {
    await this.command(CMD.SAMConfiguration, [0x01, 0x14, 0x01], HSU_WAKEUP);
    // CfgItem 5 (MaxRetries): MxRtyATR, MxRtyPSL, MxRtyPassiveActivation (0xFF would wait forever)
    await this.command(CMD.RFConfiguration, [0x05, 0xff, 0x01, 0x01]);
  }

  private schedule(ms: number): void {
    if (this.closing || !this.port) return;
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    try {
      if (this.failures >= REINIT_AFTER_FAILURES) {
        await this.init();
        this.failures = 0;
      }
      // MaxTg 1, BrTy 0 (106 kbps type A)
      const answer = await this.command(CMD.InListPassiveTarget, [0x01, 0x00]);
      this.failures = 0;
      this.seen(parseInListPassiveTarget(answer)?.uid ?? null);
    } catch (err) {
      if (this.closing || !this.port) return;
      // A USB serial adapter unplugged does not always close the port: its device node goes.
      if (!existsSync(this.o.device)) return this.onPortClosed();
      this.failures++;
      this.emit('error', new Error(`${this.o.device}: ${(err as Error).message}`));
    }
    this.schedule(this.o.pollMs);
  }

  private seen(uid: Buffer | null): void {
    if (!uid) {
      if (this.current !== null && ++this.absentPolls >= this.o.removeAfterPolls) this.current = null;
      return;
    }
    const key = uid.toString('hex');
    this.absentPolls = 0;
    if (key === this.current) return;
    this.current = key;
    this.emit('card', { uid: Uint8Array.from(uid) });
  }

  /** Send a command, wait for its ACK and its answer; resolves with the answer's data after its code. */
  private command(code: number, params: number[], prefix?: Buffer): Promise<Buffer> {
    const run = async () => {
      const port = this.port;
      if (!port) throw new Pn532Error('port not open');
      this.frames.clear();
      this.queue = [];
      const frame = encodeFrame(TFI_HOST, Uint8Array.from([code, ...params]));
      port.write(prefix ? Buffer.concat([prefix, frame]) : frame);
      const what = `command 0x${code.toString(16)}`;
      const deadline = performance.now() + this.o.ackTimeoutMs;
      let ack: Pn532Frame;
      // An answer still on its way from an aborted command (or a reader closed mid-poll) is stale: skip it.
      do ack = await this.nextFrame(deadline - performance.now(), `no ACK to ${what}`);
      while (ack.kind === 'data');
      if (ack.kind === 'error') throw new Pn532Error(`the PN532 sent an error frame for ${what}`);
      if (ack.kind !== 'ack') throw new Pn532Error(`expected an ACK to ${what}, got ${describe(ack)}`);
      const answerBy = performance.now() + this.o.responseTimeoutMs;
      let res: Pn532Frame;
      do res = await this.nextFrame(answerBy - performance.now(), `no answer to ${what}`);
      while (res.kind === 'ack' || (res.kind === 'data' && res.data[0] !== code + 1));
      if (res.kind === 'error') throw new Pn532Error(`the PN532 sent an error frame (syntax error) for ${what}`);
      if (res.kind !== 'data') throw new Pn532Error(`expected the answer to ${what}, got ${describe(res)}`);
      if (res.tfi !== TFI_PN532) throw new Pn532Error(`unexpected frame identifier 0x${res.tfi.toString(16)} in the answer to ${what}`);
      return res.data.subarray(1);
    };
    // One command at a time on the line.
    const p = this.busy.then(run, run);
    this.busy = p.then(() => undefined, () => undefined);
    return p;
  }

  private nextFrame(timeoutMs: number, what: string): Promise<Pn532Frame> {
    return new Promise((resolve, reject) => {
      timeoutMs = Math.max(1, timeoutMs);
      const timer = setTimeout(() => {
        this.waiter = undefined;
        // An ACK from the host aborts whatever the PN532 is still doing (UM0701-02 §6.2.1.3).
        if (this.port?.isOpen) this.port.write(ACK_FRAME);
        reject(new Pn532Error(what));
      }, timeoutMs);
      this.waiter = (f) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(f);
      };
      this.deliver();
    });
  }
}

function describe(f: Pn532Frame): string {
  switch (f.kind) {
    case 'bad':
      return `a broken frame (${f.why})`;
    case 'data':
      return `a frame ${f.tfi.toString(16)} ${f.data.subarray(0, 1).toString('hex')}`;
    default:
      return `${f.kind === 'nack' ? 'a' : 'an'} ${f.kind.toUpperCase()} frame`;
  }
}
