import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FAULTS } from '../../domain/faults.js';
import type { FaultKind } from '../../domain/types.js';

/** The latch file of one connector in the state directory. */
export function latchPath(stateDir: string, connectorId: number): string {
  return join(stateDir, `safety-latches-${connectorId}.json`);
}

export interface Latch {
  kind: FaultKind;
  /** Wall-clock ms when it latched (for people; never used for timing). */
  sinceWallMs: number;
}

/**
 * The safety core's latched faults on disk (FAULTS[kind].persisted), one small JSON file per
 * connector in the state directory. A latch is written (temp file + rename) before the output
 * changes, so a crash, a watchdog kill or `systemctl restart` right after a trip finds it at the
 * next start; the fsync that makes it survive a power cut follows the output change, because an
 * open contactor may not wait for an SD card. `path: null` keeps latches in memory only (hw test
 * tooling, unit tests of other parts).
 */
export class LatchFile {
  private readonly latches = new Map<FaultKind, Latch>();
  private syncPending = false;

  constructor(private readonly path: string | null, private readonly onError: (err: Error) => void = () => {}) {
    if (!path) return;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`cannot read the safety latches ${path}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // A torn or corrupt latch file must not release a latch: treat it as "everything latched"
      // would lock out every station on one bad byte, so keep the file's evidence and fail loudly.
      throw new Error(`the safety latch file ${path} is corrupt; inspect it, and delete it only after checking the connector (evsed clear-faults cannot vouch for it)`);
    }
    for (const l of Array.isArray(parsed) ? parsed : []) {
      const kind = (l as Latch)?.kind;
      if (typeof kind === 'string' && kind in FAULTS && FAULTS[kind as FaultKind].persisted) {
        this.latches.set(kind as FaultKind, { kind: kind as FaultKind, sinceWallMs: Number((l as Latch).sinceWallMs) || 0 });
      }
    }
  }

  kinds(): FaultKind[] {
    return [...this.latches.keys()];
  }

  list(): Latch[] {
    return [...this.latches.values()];
  }

  has(kind: FaultKind): boolean {
    return this.latches.has(kind);
  }

  /** Latch `kind` (if the table persists it). Synchronous: on disk, in the page cache, when it returns. */
  add(kind: FaultKind, wallMs = Date.now()): boolean {
    if (!FAULTS[kind].persisted || this.latches.has(kind)) return false;
    this.latches.set(kind, { kind, sinceWallMs: wallMs });
    this.write();
    return true;
  }

  remove(kind: FaultKind): boolean {
    if (!this.latches.delete(kind)) return false;
    this.write();
    return true;
  }

  private write(): void {
    if (!this.path) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.list()) + '\n', { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    if (this.syncPending) return;
    this.syncPending = true;
    setImmediate(() => {
      this.syncPending = false;
      this.fsync();
    });
  }

  /** Make the last write survive a power cut (file and directory entry). */
  fsync(): void {
    if (!this.path) return;
    for (const p of [this.path, dirname(this.path)]) {
      try {
        const fd = openSync(p, 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(err as Error);
      }
    }
  }
}
