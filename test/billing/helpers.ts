import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTariff, type Tariff } from '../../src/config/tariff.js';

/** The example tariff, read in Europe/Berlin. */
export function exampleTariff(over: Record<string, unknown> = {}): Tariff {
  return parseTariff({
    currency: 'EUR',
    energyPerKWh: 0.3,
    sessionFee: 0.5,
    timeOfUse: [{ days: ['mon-fri'], from: '07:00', to: '22:00', energyPerKWh: 0.35 }],
    parkingPerHour: 0,
    idleFeePerMinute: 0.1,
    idleGraceMinutes: 15,
    taxPercent: 19,
    timeZone: 'Europe/Berlin',
    ...over,
  });
}

/** A minimal valid station config (YAML) with extra top-level text appended. */
export function stationYaml(dir: string, extra = ''): string {
  return `station: { id: CP-001, vendor: evsed, model: test }
storage: { dir: ${JSON.stringify(dir)} }
auth:
  mode: local
  tags:
    - { idTag: CAR1, name: "Anna Schmidt (B-XY 123)" }
    - { idTag: CAR2 }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    hardware: { driver: sim }
    meter: { model: sim }
${extra}`;
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-billing-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** ms since epoch of a Europe/Berlin local time given with its UTC offset (explicit, so tests read plainly). */
export function at(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test time ${iso}`);
  return ms;
}
