import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';

export { api, until };

export interface Station {
  dir: string;
  file: string;
  daemon: Daemon;
  hw: SimHardware;
  base: string;
  /** Contactor closings commanded since start. */
  closings(): number;
  contactorClosed(): boolean;
  stop(): Promise<void>;
}

/** A logger that keeps every line (parsed) in `lines`, to assert what the daemon logged. */
export function captureLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { log, lines };
}

/** An in-process daemon on a sim station; `dir` holds the config, storage in dir/data (or `storageDir`). */
export async function station(opts: { dir?: string; storageDir?: string; log?: Logger } = {}): Promise<Station> {
  const dir = opts.dir ?? tempDir('evsed-storage-');
  const file = writeSimConfig(dir, { authMode: 'local', tags: ['TAG-1'], flushIntervalS: 1, sampleIntervalS: 1 });
  const loaded = loadConfig(file);
  if (opts.storageDir) {
    loaded.storageDir = opts.storageDir;
    loaded.dbFile = join(opts.storageDir, 'evsed.db');
  }
  const daemon = await startDaemon(loaded, opts.log ?? silentLogger());
  const hw = daemon.hardware(1) as SimHardware;
  const base = `http://127.0.0.1:${daemon.address.port}`;
  return {
    dir,
    file,
    daemon,
    hw,
    base,
    closings: () => hw.contactorLog.filter((e) => e.closed).length,
    contactorClosed: () => daemon.station.connectorView(1)!.contactorClosed,
    stop: () => daemon.stop(),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Plug in, present the tag, EV asks for energy. */
export async function plugTagReady(s: Station): Promise<void> {
  await api(s.base, '/api/connectors/1/sim', { action: 'plug' });
  await api(s.base, '/api/connectors/1/tag', { idTag: 'TAG-1' });
  await api(s.base, '/api/connectors/1/sim', { action: 'ev-ready' });
}

/** A tmpfs of `size` at a fresh directory, or null when this process may not mount (not root, no CAP_SYS_ADMIN). */
export function mountTmpfs(size: string): { dir: string; remountReadOnly(): void; unmount(): void } | null {
  const dir = tempDir('evsed-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  mkdirSync(join(dir, 'data'));
  return {
    dir,
    remountReadOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' }),
    unmount: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
