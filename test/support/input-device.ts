import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './station.js';

/** A FIFO standing in for /dev/input/eventN: the test writes what the kernel would hand out. */
export class FakeInputDevice {
  readonly path = join(tempDir('evsed-kbd-'), 'event-kbd');
  private fd: number | undefined;
  constructor() {
    execFileSync('mkfifo', [this.path]);
    // O_RDWR: the FIFO is open for writing before the reader opens it (no EOF), without blocking.
    this.fd = openSync(this.path, constants.O_RDWR | constants.O_NONBLOCK);
  }
  write(bytes: Buffer): void {
    writeSync(this.fd!, bytes);
  }
  /** The reader is unplugged: no writer is left, the next read ends. */
  unplug(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
