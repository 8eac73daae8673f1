import { arch, cpus, totalmem } from 'node:os';
import { benchControlLatency, benchStartupAndMemory } from './core.js';
import { benchStorage } from './storage.js';
import { benchEta } from './eta.js';

/**
 * `npm run bench` prints one JSON document of figures. `--quick` shortens every part.
 * Parts contributed by other modules (meter, hw, ocpp) are loaded when present.
 */
const quick = process.argv.includes('--quick');

type Part = () => Promise<Record<string, unknown>>;

const parts: Record<string, Part> = {
  startupAndMemory: () => benchStartupAndMemory({ runs: quick ? 2 : 5, sessions: 10 }),
  controlLatency: () => benchControlLatency({ events: quick ? 200 : 1000 }),
  storage: () => benchStorage(),
  timeToFinishError: () => benchEta(),
};

const optional: [string, string, string][] = [
  ['meter', './meter.js', 'benchMeter'],
  ['hw', './hw.js', 'benchHw'],
  ['ocpp', './ocpp.js', 'benchOcpp'],
  ['load', './load.js', 'benchLoad'],
];

async function main(): Promise<void> {
  const result: Record<string, unknown> = {
    machine: { node: process.version, arch: arch(), cpu: cpus()[0]?.model, cores: cpus().length, memGB: Math.round(totalmem() / 2 ** 30) },
    date: new Date().toISOString(),
    quick,
  };
  for (const [name, mod, fn] of optional) {
    try {
      const m = (await import(mod)) as Record<string, (o?: { quick: boolean }) => Promise<Record<string, unknown>>>;
      if (m[fn]) parts[name] = () => m[fn]!({ quick });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
  }
  for (const [name, part] of Object.entries(parts)) {
    const t0 = performance.now();
    try {
      result[name] = { ...(await part()), benchSeconds: +((performance.now() - t0) / 1000).toFixed(1) };
    } catch (err) {
      result[name] = { error: (err as Error).message };
    }
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
