import { arch, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchControlLatency, benchStartupAndMemory } from './core.js';
import { benchStorage } from './storage.js';
import { benchEta } from './eta.js';

/**
 * `npm run bench` prints one JSON document of figures on stdout (nothing else: the build writes to
 * stderr). `--quick` shortens every part. Parts contributed by other modules (meter, hw, ocpp) are
 * loaded when present. A part that fails is reported in the document as { error } and the process
 * exits 1 after printing it, naming the failed parts on stderr.
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
  ['ocppReplayRtt50ms', './ocpp-latency.js', 'benchOcppLatency'],
  ['load', './load.js', 'benchLoad'],
  ['safetyCoreLatency', './safety-core.js', 'benchSafetyCore'],
  ['floods', './floods.js', 'benchFloods'],
  ['pvDay', './pv-day.js', 'benchPvDay'],
  ['loadManagement', './load-management.js', 'benchLoadManagement'],
];

async function main(): Promise<number> {
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
      // Absent part: skipped. Anything else (a module it imports missing, an error while loading) is a failed part.
      const absent = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (err as Error).message.includes(fileURLToPath(new URL(mod, import.meta.url)));
      if (!absent) parts[name] = () => Promise.reject(err);
    }
  }
  const failed: string[] = [];
  for (const [name, part] of Object.entries(parts)) {
    const t0 = performance.now();
    try {
      result[name] = { ...(await part()), benchSeconds: +((performance.now() - t0) / 1000).toFixed(1) };
    } catch (err) {
      failed.push(name);
      result[name] = { error: (err as Error).message };
      console.error(`bench: part ${name} failed:`, err);
    }
  }
  addDerived(result);
  if (failed.length) result.failedParts = failed;
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  return failed.length ? 1 : 0;
}

/** Figures computed from other parts' fields (the parts themselves belong to their modules). */
function addDerived(result: Record<string, unknown>): void {
  const ocpp = result.ocpp as Record<string, unknown> | undefined;
  if (ocpp && typeof ocpp.replayPerS === 'number' && typeof ocpp.bareOcppRpcCallsPerS === 'number' && ocpp.bareOcppRpcCallsPerS > 0) {
    // replay/s ÷ bare ocpp-rpc calls/s to the same CSMS: the share of the round-trip ceiling the durable replay reaches
    ocpp.replayToBareRatio = +(ocpp.replayPerS / ocpp.bareOcppRpcCallsPerS).toFixed(3);
  }
}

main().then((code) => {
  if (code) console.error('bench: some parts failed (see failedParts in the JSON); exit 1');
  process.exit(code);
}, (err) => {
  console.error(err);
  process.exit(1);
});
