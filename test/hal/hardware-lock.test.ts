import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acquireHardwareLock, HardwareBusyError, HardwareLockError, type HardwareLock } from '../../src/hal/hardware-lock.js';
import { ROOT, tempDir } from '../support/station.js';

/** The one-driver-at-a-time lock of a state directory (the daemon vs. `evsed hw test`). */

const MODULE = join(ROOT, 'dist/src/hal/hardware-lock.js');
const held: HardwareLock[] = [];
const children: ChildProcess[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const l of held.splice(0)) await l.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function take(owner: string): Promise<HardwareLock> {
  const l = await acquireHardwareLock(dir!, owner);
  held.push(l);
  return l;
}

/** Another process that takes the lock and keeps it until killed. */
async function holderProcess(): Promise<ChildProcess> {
  const code = `import(${JSON.stringify(MODULE)}).then((m) => m.acquireHardwareLock(${JSON.stringify(dir)}, 'evsed run')).then(() => { console.log('locked'); setInterval(() => {}, 1000); })`;
  const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    p.once('exit', (c) => reject(new Error(`holder exited with ${c}`)));
  });
  return p;
}

const busy = (p: Promise<unknown>) => p.then(() => { throw new Error('expected HardwareBusyError'); }, (err: unknown) => {
  expect(err).toBeInstanceOf(HardwareBusyError);
  return err as HardwareBusyError;
});

describe('hardware lock', () => {
  it('one holder at a time; the refusal names the holder; released, it can be taken again', async () => {
    dir = tempDir();
    const first = await take('evsed run');
    const err = await busy(acquireHardwareLock(dir, 'evsed hw test'));
    expect(err.holder).toMatchObject({ owner: 'evsed run', pid: process.pid });
    expect(err.message).toMatch(/the hardware is in use by evsed run \(pid \d+, since \d{4}-/);
    expect(err.exitCode).toBe(75);
    await first.release();
    held.splice(held.indexOf(first), 1);
    await take('evsed hw test');
    expect(readdirSync(dir).sort()).toEqual(['hardware.lock']); // no private names left behind
  });

  it('a holder in another process is seen; once it is killed (SIGKILL: no clean-up) its lock is taken over, it never goes stale', async () => {
    dir = tempDir();
    const p = await holderProcess();
    const err = await busy(acquireHardwareLock(dir, 'evsed hw test'));
    expect(err.holder).toMatchObject({ owner: 'evsed run', pid: p.pid });
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    expect(existsSync(join(dir, 'hardware.lock'))).toBe(true); // left behind by the dead holder
    await take('evsed hw test');
    expect((await busy(acquireHardwareLock(dir, 'evsed run'))).holder).toMatchObject({ owner: 'evsed hw test' });
  });

  it('a stopped holder (SIGSTOP) still holds it', async () => {
    dir = tempDir();
    const p = await holderProcess();
    p.kill('SIGSTOP');
    try {
      const err = await busy(acquireHardwareLock(dir, 'evsed hw test'));
      expect(err.holder).toBeUndefined();
      expect(err.message).toMatch(/does not answer/);
    } finally {
      p.kill('SIGCONT');
    }
  });

  it('a directory where it cannot be taken (a path too long for a Unix socket): HardwareLockError, not busy', async () => {
    dir = tempDir();
    const deep = join(dir, 'x'.repeat(120));
    await expect(acquireHardwareLock(deep, 'evsed hw test')).rejects.toThrow(HardwareLockError);
  });

  it('takers racing for a dead holder\'s lock: exactly one wins', async () => {
    dir = tempDir();
    const p = await holderProcess();
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => acquireHardwareLock(dir!, `taker ${i}`)));
    const won = results.filter((r): r is PromiseFulfilledResult<HardwareLock> => r.status === 'fulfilled');
    held.push(...won.map((r) => r.value));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(HardwareBusyError);
  });
});
