import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Preloaded into both processes of the memory benchmark, the daemon and the bare Node process alike
 * (`node --expose-gc --import dist/bench/mem-probe.js ...`, spawned with an IPC channel), so both carry
 * the same probe. Nothing in src/ knows about it.
 *
 * - 'sample' answers { rssMB, heapUsedMB, heapUsedAfterGcMB, ... }: the RSS first (as the process is),
 *   then a full GC (global.gc, twice) and the V8 heap used after it.
 * - With EVSED_BENCH_TRACE_MODULES=1 it records every module specifier that evsed's own code
 *   (dist/src) imports (an ESM resolve hook, bench/module-hooks.ts) or requires (createRequire), and
 *   'modules' answers that list: what the bare process then loads. The hook runs in a loader thread
 *   of its own, so a tracing run is never a measured run.
 */
export interface LoadedModule {
  kind: 'import' | 'require';
  specifier: string;
  /** The file in dist/src that asked for it (a require is resolved from there). */
  parent: string;
}

export interface MemSample {
  rssMB: number;
  heapUsedMB: number;
  heapUsedAfterGcMB: number;
  heapTotalAfterGcMB: number;
  externalAfterGcMB: number;
}

const SRC = join(dirname(dirname(fileURLToPath(import.meta.url))), 'src');
const SRC_URL = pathToFileURL(SRC).href + '/';
const mb = (b: number) => +(b / 2 ** 20).toFixed(2);

function rssMB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? +(Number(m[1]) / 1024).toFixed(1) : NaN;
}

function sample(): MemSample {
  const rss = rssMB();
  const before = process.memoryUsage().heapUsed;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('mem-probe: run node with --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssMB: rss, heapUsedMB: mb(before), heapUsedAfterGcMB: mb(m.heapUsed), heapTotalAfterGcMB: mb(m.heapTotal), externalAfterGcMB: mb(m.external) };
}

const modules: LoadedModule[] = [];
const seen = new Set<string>();
function record(m: LoadedModule): void {
  const key = `${m.kind} ${m.specifier}`;
  if (seen.has(key)) return;
  seen.add(key);
  modules.push(m);
}
const isBare = (s: string) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('file:');

if (process.env.EVSED_BENCH_TRACE_MODULES === '1') {
  const { MessageChannel } = await import('node:worker_threads');
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (m: LoadedModule) => record(m));
  port1.unref();
  Module.register('./module-hooks.js', import.meta.url, { data: { port: port2, srcUrl: SRC_URL }, transferList: [port2] });
  const original = Module.prototype.require;
  Module.prototype.require = function (this: Module, id: string) {
    if (this.filename?.startsWith(SRC + '/') && isBare(id)) record({ kind: 'require', specifier: id, parent: this.filename });
    return original.call(this, id);
  } as typeof original;
}

if (process.send) {
  process.on('message', (m) => {
    if (m === 'sample') process.send!({ sample: sample() });
    else if (m === 'modules') process.send!({ modules });
  });
  // The probe must not keep a process alive that would otherwise exit.
  process.channel?.unref();
}
