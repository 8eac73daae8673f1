import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { PV_MODES, type PvMode } from './pv.js';

/**
 * The PV mode the owner chose last (API, MQTT, dashboard), kept across restarts in a small file in
 * the storage directory: it wins over pv.mode in the config, which is only the first default.
 */
export class PvModeFile {
  constructor(readonly path: string) {}

  /** The saved mode, or null when there is none (or the file is unreadable: the config's mode then). */
  load(): PvMode | null {
    try {
      const v = (JSON.parse(readFileSync(this.path, 'utf8')) as { mode?: unknown }).mode;
      return (PV_MODES as readonly unknown[]).includes(v) ? (v as PvMode) : null;
    } catch {
      return null;
    }
  }

  /** Written to a temporary file, synced, then renamed: a power cut leaves the old or the new mode, never half a file. */
  save(mode: PvMode): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, JSON.stringify({ mode }) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
