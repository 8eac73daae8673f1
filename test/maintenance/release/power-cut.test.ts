import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Device, installKilledAt } from './fixtures.js';

/**
 * SIGKILL at every step of an install (a power cut as far as the process knows), then a start as
 * systemd does it (the boot guard, then the release `current` points to): a working release
 * starts, and the outcome says how the install ended. Runs the built installer (`npm test` builds).
 */
let dev: Device | undefined;
afterEach(() => {
  dev?.dispose();
  dev = undefined;
});

async function deviceOn100(): Promise<Device> {
  const d = new Device();
  await d.install(await d.bundle({ version: '1.0.0' }));
  return d;
}

describe('SIGKILL during an update', () => {
  it.each([
    ['unpacking', 'while unpacking'],
    ['self-checked', 'after the self-check, before the unpacked tree is renamed'],
    ['staged', 'once staged, before the trial is written'],
  ])('at %s (%s): the old release starts, nothing is on trial, and the install can simply be run again', async (step) => {
    dev = await deviceOn100();
    const bundle = await dev.bundle({ version: '1.1.0', fillerFiles: 40 });
    await installKilledAt(dev, bundle, step);
    const s = await dev.start();
    expect(s.out).toContain('evsed 1.0.0 run');
    expect(s.code).toBe(0);
    expect(dev.installer().outcome()).toEqual({ kind: 'none' });

    await dev.install(bundle);
    expect(existsSync(join(dev.root, 'releases/1.1.0.tmp'))).toBe(false);
    expect((await dev.start()).out).toContain('evsed 1.1.0 run');
  });

  it.each(['trial-written', 'switch-linked'])('at %s (before the switch): the old release starts and the outcome is rolled back with the reason', async (step) => {
    dev = await deviceOn100();
    await installKilledAt(dev, await dev.bundle({ version: '1.1.0' }), step);
    const s = await dev.start();
    expect(s.out).toContain('evsed 1.0.0 run');
    expect(s.guard).toContain('the switch to 1.1.0 did not complete');
    expect(dev.installer().outcome()).toEqual({ kind: 'rolled-back', failed: '1.1.0', version: '1.0.0', reason: 'the switch to 1.1.0 did not complete' });
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.0.0');
  });

  it('right after the switch: the new release starts on trial', async () => {
    dev = await deviceOn100();
    await installKilledAt(dev, await dev.bundle({ version: '1.1.0' }), 'switched');
    const s = await dev.start();
    expect(s.guard).toContain('start 1 of 3');
    expect(s.out).toContain('evsed 1.1.0 run');
    expect(dev.installer().outcome()).toEqual({ kind: 'trial', version: '1.1.0', previous: '1.0.0' });
  });

  it('at its first start: the new release starts again on its second trial start, and proves itself', async () => {
    dev = await deviceOn100();
    await dev.install(await dev.bundle({ version: '1.1.0', behaviour: 'hang' }));
    const first = await dev.start({ killWhen: 'evsed 1.1.0 run' });
    expect(first.code).toBe(null);
    const second = await dev.start({ killWhen: 'evsed 1.1.0 run' });
    expect(second.guard).toContain('start 2 of 3');
    await dev.installer().confirm();
    expect(dev.installer().outcome()).toEqual({ kind: 'none' });
  });

  it('a release that dies at every start (killed at start) is rolled back after three', async () => {
    dev = await deviceOn100();
    await dev.install(await dev.bundle({ version: '1.1.0', behaviour: 'hang' }));
    for (let i = 0; i < 3; i++) await dev.start({ killWhen: 'evsed 1.1.0 run' });
    const s = await dev.start();
    expect(s.out).toContain('evsed 1.0.0 run');
    expect(dev.installer().outcome()).toMatchObject({ kind: 'rolled-back', failed: '1.1.0', version: '1.0.0' });
  });
});
