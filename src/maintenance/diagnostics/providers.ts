import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { arch, release, type } from 'node:os';
import { secretValues } from '../../config/secrets.js';
import type { Config } from '../../config/schema.js';
import { FIRMWARE_VERSION } from '../../domain/version.js';
import type { DiagnosticsProviders } from './archive.js';
import { defaultLogSource } from './log-source.js';

export interface StationDiagnosticsSources {
  config: Config;
  /** The database's integrity check and the durable queue's counts (src/store/diagnostics.ts). */
  store: { quickCheck(): string[]; queueCounts(): unknown };
  /** The logger's own scrubbing (every secret registered with it, e.g. an AuthorizationKey the CSMS set). */
  scrub?(text: string): string;
  env?: NodeJS.ProcessEnv;
}

/** The providers of a running station's archive: journal or log.file, its config, versions, store and queues. */
export function stationProviders(s: StationDiagnosticsSources): DiagnosticsProviders {
  const { config } = s;
  return {
    stationId: config.station.id,
    logSource: () => defaultLogSource(config.log.file, s.env),
    config: () => config,
    versions: () => ({ evsed: FIRMWARE_VERSION, node: process.version, os: `${type()} ${release()} ${arch()}`, distribution: osRelease() }),
    storeIntegrity: () => s.store.quickCheck(),
    queues: () => s.store.queueCounts(),
    secrets: () => secretValues(config),
    privateKeys: async () => {
      const files = [config.ocpp?.clientKey, config.mqtt?.tls?.keyFile].filter((f): f is string => !!f);
      const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => '')));
      return texts.filter(Boolean);
    },
    ...(s.scrub ? { scrub: s.scrub } : {}),
  };
}

/** The distribution's name (/etc/os-release), read when an archive is made. */
function osRelease(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
