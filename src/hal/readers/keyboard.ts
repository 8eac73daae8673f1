import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { decodeInputEvents, nativeInputEventBytes, type InputEventBytes } from './input-event.js';
import type { KeyboardLayout } from './keymaps.js';
import { KeystrokeAssembler } from './keystrokes.js';
import type { CardReader, CardReaderEvents } from './types.js';

export interface KeyboardReaderOptions {
  /** The reader's event device, best its stable /dev/input/by-id/...-event-kbd link. */
  device: string;
  layout: KeyboardLayout;
  /** input_event record size; default: this process's (24 on 64-bit, 16 on 32-bit). */
  inputEventBytes?: InputEventBytes;
  /** How often the device is read while it has nothing (ms). */
  pollMs?: number;
  /** Monotonic ms (tests pass a fake). */
  now?: () => number;
  /** Take the device for evsed alone (EVIOCGRAB), so the card's keystrokes reach no console; default true. */
  grab?: boolean;
}

/** EVIOCGRAB = _IOW('E', 0x90, int) (linux/input.h). */
const EVIOCGRAB = 0x40044590;

/**
 * Node has no ioctl, and a native addon is a build on every Pi. The grab belongs to the open file
 * (not the process), so a short python3 (on every Raspberry Pi OS) is handed our descriptor as its
 * fd 3, grabs it and exits: the grab holds until evsed closes the device.
 */
export function grabInputDevice(fd: number): Promise<{ ok: true } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    let child;
    try {
      child = spawn('python3', ['-c', `import fcntl; fcntl.ioctl(3, ${EVIOCGRAB}, 1)`], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    } catch (err) {
      resolve({ ok: false, why: (err as Error).message });
      return;
    }
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ ok: false, why: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'python3 not found' : err.message }));
    child.on('exit', (code) => resolve(code === 0 ? { ok: true } : { ok: false, why: stderr.trim().split('\n').pop() || `python3 exit ${code}` }));
  });
}

/**
 * A USB reader that types the card id like a keyboard, read from its evdev device directly: no
 * console, no X, no terminal needed. The device is opened non-blocking and read on a short
 * timer, so no libuv thread waits on it and close() is immediate. The kernel keeps key events for
 * a reader that is read late (evdev buffers them per open file).
 *
 * Exclusive access: the device is grabbed (EVIOCGRAB, through grabInputDevice) so the keystrokes
 * reach no console or desktop. Where that is not possible (no python3, another program holds the
 * grab, not an evdev device) the reader still works and reports why as a reader problem;
 * docs/install-pi.md shows how to keep the keystrokes from a login prompt then.
 */
export class KeyboardCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = Buffer.alloc(0);
  private assembler: KeystrokeAssembler;
  private readonly size: InputEventBytes;
  private readonly buf: Buffer;

  constructor(private readonly o: KeyboardReaderOptions) {
    super();
    this.size = o.inputEventBytes ?? nativeInputEventBytes();
    this.buf = Buffer.alloc(this.size * 64);
    this.assembler = new KeystrokeAssembler(o.layout);
  }

  async open(): Promise<void> {
    if (this.fd !== undefined) return;
    try {
      this.fd = openSync(this.o.device, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new Error(describeOpenError(this.o.device, err as NodeJS.ErrnoException));
    }
    this.pending = Buffer.alloc(0);
    this.assembler = new KeystrokeAssembler(this.o.layout);
    if (this.o.grab !== false) {
      const g = await grabInputDevice(this.fd);
      if (!g.ok) this.emit('error', new Error(`${this.o.device}: not taken for evsed alone (EVIOCGRAB: ${g.why}): card numbers also reach the console (docs/install-pi.md)`));
    }
    if (this.fd === undefined) return; // closed while grabbing
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.stop();
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.readAvailable(), ms);
    this.timer.unref?.();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already gone
      }
      this.fd = undefined;
    }
  }

  private readAvailable(): void {
    if (this.fd === undefined) return;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK') break;
        return this.vanished(`${this.o.device}: ${e.code ?? e.message} while reading (reader unplugged?)`);
      }
      // evdev never ends a stream: end of file means the device (or the pipe standing in for it) went away.
      if (n === 0) return this.vanished(`${this.o.device}: the device went away (reader unplugged?)`);
      this.take(this.buf.subarray(0, n));
    }
    this.schedule(this.o.pollMs ?? 15);
  }

  private take(chunk: Buffer): void {
    const { events, rest } = decodeInputEvents(this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk, this.size);
    this.pending = Buffer.from(rest);
    const now = (this.o.now ?? performance.now.bind(performance))();
    for (const e of events) {
      const r = this.assembler.push(e, now);
      if (!r) continue;
      if ('card' in r) this.emit('card', { text: r.card });
      else this.emit('error', new Error(`${this.o.device}: ${r.problem}`));
    }
  }

  private vanished(why: string): void {
    const partial = this.pending.length;
    this.stop();
    if (partial) this.emit('error', new Error(`${this.o.device}: ${partial} bytes of an unfinished input event were cut off: check inputEventBytes (${this.size} now)`));
    this.emit('gone', new Error(why));
  }
}

function describeOpenError(device: string, e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return `cannot open ${device}: no such device (is the reader plugged in? ls /dev/input/by-id/)`;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `cannot open ${device}: permission denied (add the evsed user to the input group, docs/install-pi.md)`;
  return `cannot open ${device}: ${e.code ?? e.message}`;
}
