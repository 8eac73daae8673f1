import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** socat makes the pty pairs the serial tests need; suites without it say so and do not run. */
export const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

/**
 * Two linked ptys made by socat: a simulated device serves `deviceEnd`, evsed opens `evsedEnd`
 * as it would /dev/ttyUSB0. Bytes cross unchanged (real RTU framing, CRC and timing).
 */
export class SocatPtyPair {
  readonly dir = mkdtempSync(join(tmpdir(), 'evsed-pty-'));
  private proc?: ChildProcess;
  get deviceEnd(): string {
    return join(this.dir, 'device');
  }
  get evsedEnd(): string {
    return join(this.dir, 'evsed');
  }

  async up(): Promise<void> {
    this.proc = spawn('socat', [`pty,raw,echo=0,link=${this.deviceEnd}`, `pty,raw,echo=0,link=${this.evsedEnd}`], { stdio: 'ignore' });
    for (let i = 0; i < 300 && !(existsSync(this.deviceEnd) && existsSync(this.evsedEnd)); i++) await new Promise((r) => setTimeout(r, 10));
    if (!existsSync(this.evsedEnd)) throw new Error('socat did not create the pty pair');
  }

  async down(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc && proc.exitCode === null) {
      await new Promise<void>((r) => {
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      });
    }
  }

  async dispose(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
