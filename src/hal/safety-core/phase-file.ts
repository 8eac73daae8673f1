import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RelayPhases } from '../types.js';

/** The phase relay state file of one connector in the state directory. */
export function phaseRelayPath(stateDir: string, connectorId: number): string {
  return join(stateDir, `phase-relay-${connectorId}.json`);
}

/**
 * The position of the 1p/3p relay kept across restarts: a relay coil lets go when the daemon or
 * the Pi stops, so the safety core drives the relay back to the saved position at start (with the
 * contactor open). Written through a temp file and a rename. `path: null`: in memory only.
 */
export class PhaseRelayFile {
  private saved: RelayPhases | null = null;

  constructor(private readonly path: string | null, private readonly onError: (err: Error) => void = () => {}) {
    if (!path) return;
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { phases?: unknown };
      if (parsed.phases === 1 || parsed.phases === 3) this.saved = parsed.phases;
    } catch (err) {
      // No file: never switched. A damaged one: the relay stays where the driver put it (logged).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(new Error(`cannot read the phase relay state ${path}: ${(err as Error).message}`));
    }
  }

  /** The saved position, or null when none was saved. */
  get(): RelayPhases | null {
    return this.saved;
  }

  set(phases: RelayPhases): void {
    if (phases === this.saved) return;
    this.saved = phases;
    if (!this.path) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify({ phases }) + '\n', { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
