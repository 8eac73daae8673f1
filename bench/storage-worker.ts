import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../src/store/db.js';
import { coreMigrations } from '../src/store/core-migrations.js';
import { SessionStore, type SampleRow } from '../src/store/sessions.js';

/**
 * One charging hour of store writes, in a process of its own so its I/O counters are its own.
 * `batched`: what the connector does (a sample every sampleIntervalS, committed with a checkpoint
 * every flushIntervalS); `naive`: one transaction per sample. argv: mode dir sampleS flushS
 */
const [mode, dir, sampleS, flushS] = process.argv.slice(2) as [string, string, string, string];
const db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
const store = new SessionStore(db);
const io = () => Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
const before = io();
const t0 = Date.UTC(2026, 10, 1, 8);
const stamp = (s: number) => ({ wallMs: t0 + s * 1000, quality: 'synced' as const, bootId: 'bench', monoMs: s * 1000 });
const rec = store.start({ connectorId: 1, idTag: 'BENCH', authSource: 'local', meterStartWh: 0, at: stamp(0) });
let pending: SampleRow[] = [];
const durations = (s: number) => ({ durationMs: s * 1000, chargingMs: s * 1000, idleMs: 0, meterGapMs: 0 });
for (let s = Number(sampleS); s <= 3600; s += Number(sampleS)) {
  const energyWh = Math.floor((11_040 * s) / 3600);
  const row: SampleRow = { connectorId: 1, sessionId: rec.id, at: stamp(s), energyWh, powerW: 11_040, phases: [[230, 16, 3680], [230, 16, 3680], [230, 16, 3680]] };
  if (mode === 'naive') {
    db.transaction(() => {
      store.addSamples([row]);
      store.checkpoint(rec.id, { energyWh, at: stamp(s), ...durations(s) });
    })();
  } else {
    pending.push(row);
    if (s % Number(flushS) === 0) {
      store.addSamples(pending);
      pending = [];
      store.checkpoint(rec.id, { energyWh, at: stamp(s), ...durations(s) });
    }
  }
}
store.addSamples(pending);
store.stop(rec.id, { meterStopWh: 11_040, reason: 'EVDisconnected', at: stamp(3600), ...durations(3600) });
db.close();
const after = io();
process.stdout.write(JSON.stringify({ bytesWritten: after.wchar! - before.wchar!, writeSyscalls: after.syscw! - before.syscw! }));
