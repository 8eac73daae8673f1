import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** storage.dir: the private keys the security extension made (`certificates/`) are scrubbed too. */
  storageDir?: string;
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
      const stored = s.storageDir ? await keyFilesUnder(join(s.storageDir, 'certificates')) : [];
      const files = [config.ocpp?.clientKey, config.mqtt?.tls?.keyFile, ...stored].filter((f): f is string => !!f);
      const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => '')));
      return texts.filter(Boolean);
    },
    ...(s.scrub ? { scrub: s.scrub } : {}),
  };
}

/** The private key files (`*key*.pem`) of a directory tree; none when it does not exist. */
async function keyFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && /key.*\.pem$/i.test(e.name)).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** The distribution's name (/etc/os-release), read when an archive is made. */
function osRelease(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
