import { GpioBench, PINS, blockThread, until } from '../test/realtime/support/gpio-daemon.js';

/**
 * Control latency of the safety core as in production (the gpio driver and core in their worker
 * thread on a fake sysfs tree, the EV in a bench thread): C -> B to coil released, with the daemon's
 * main loop idle, under full load (it never idles), and during a 200 ms synchronous block.
 */
export async function benchSafetyCore(o: { quick: boolean } = { quick: false }): Promise<Record<string, unknown>> {
  const n = o.quick ? 3 : 10;
  const bench = new GpioBench();
  const coil = () => bench.level(PINS.contactor);
  const cycles: Record<'idle' | 'loaded' | 'blocked200ms', number[]> = { idle: [], loaded: [], blocked200ms: [] };
  let load: NodeJS.Timeout | undefined;
  try {
    const d = await bench.start();
    const status = () => d.station.connectorView(1)!.status;
    const charge = async () => {
      await bench.set({ ev: 'B' });
      await until(() => status() === 'Preparing' || status() === 'SuspendedEV', 'Preparing', 10_000);
      await bench.set({ ev: 'C' });
      await until(() => coil() === '1', 'the coil energised', 10_000);
    };
    const measure = async (mode: keyof typeof cycles) => {
      await charge();
      bench.post({ ev: 'B' }, Math.random() * 10);
      if (mode === 'blocked200ms') blockThread(200);
      await until(() => coil() === '0', 'the coil released', 5000);
      for (let i = 0; i < 100; i++) {
        const log = await bench.log();
        const change = log.filter((e) => e.what === 'world' && e.world?.ev === 'B').at(-1)!.at;
        const released = log.find((e) => e.what === 'coil' && e.value === '0' && e.at >= change)?.at;
        if (released !== undefined) return void cycles[mode].push(released - change);
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('the bench never saw the coil released');
    };
    for (let i = 0; i < n; i++) await measure('idle');
    // Full load: the main loop runs 40 ms of synchronous work between every turn.
    const spin = () => {
      blockThread(40);
      load = setTimeout(spin, 0);
    };
    spin();
    for (let i = 0; i < n; i++) await measure('loaded');
    clearTimeout(load);
    load = undefined;
    for (let i = 0; i < Math.max(3, Math.ceil(n / 2)); i++) await measure('blocked200ms');
  } finally {
    if (load) clearTimeout(load);
    await bench.dispose();
  }
  const q = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (p: number) => +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
    return { n: s.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: +s[s.length - 1]!.toFixed(1) };
  };
  const idle = q(cycles.idle);
  const loaded = q(cycles.loaded);
  return {
    what: 'C -> B to contactor coil released, safety core in its worker thread (fake sysfs tree, EV in a bench thread)',
    idle,
    mainLoopFullyLoaded: loaded,
    mainLoopBlocked200ms: q(cycles.blocked200ms),
    loadedToIdleP99Ratio: +(loaded.p99_ms / idle.p99_ms).toFixed(2),
  };
}
