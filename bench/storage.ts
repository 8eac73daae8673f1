import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const WORKER = resolve(import.meta.dirname, 'storage-worker.js');

function hasStrace(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

function runOnce(mode: 'batched' | 'naive', sampleS: number, flushS: number, strace: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bench-store-'));
  try {
    const args = [WORKER, mode, dir, String(sampleS), String(flushS)];
    let out: string;
    let fsyncs: number | null = null;
    if (strace) {
      const log = join(dir, 'strace.txt');
      out = execFileSync('strace', ['-f', '-c', '-o', log, '-e', 'trace=fsync,fdatasync', process.execPath, ...args], { encoding: 'utf8' });
      const m = readFileSync(log, 'utf8').split('\n').filter((l) => /\b(fsync|fdatasync)\s*$/.test(l));
      fsyncs = m.reduce((n, l) => n + Number(l.trim().split(/\s+/)[3]), 0);
    } else {
      out = execFileSync(process.execPath, args, { encoding: 'utf8' });
    }
    return { ...(JSON.parse(out) as { bytesWritten: number; writeSyscalls: number }), fsyncs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes written and fsyncs per charging hour at the default sampling settings (a sample every 10 s,
 * committed every 60 s), beside a naive one-transaction-per-sample baseline. The schema creation
 * is included in both; it is the same bytes.
 */
export async function benchStorage(): Promise<Record<string, unknown>> {
  const strace = hasStrace();
  const batched = runOnce('batched', 10, 60, strace);
  const naive = runOnce('naive', 10, 60, strace);
  return {
    settings: { sampleIntervalS: 10, flushIntervalS: 60 },
    perChargingHour: { bytesWritten: batched.bytesWritten, fsyncs: batched.fsyncs ?? 'not measured (strace not installed)' },
    naiveBaselinePerHour: { bytesWritten: naive.bytesWritten, fsyncs: naive.fsyncs ?? 'not measured (strace not installed)' },
    bytesRatioNaiveToBatched: +(naive.bytesWritten / batched.bytesWritten).toFixed(1),
    fsyncRatioNaiveToBatched: batched.fsyncs && naive.fsyncs ? +(naive.fsyncs / batched.fsyncs).toFixed(1) : null,
  };
}
