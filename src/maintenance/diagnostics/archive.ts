import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import { stringify as yamlStringify } from 'yaml';
import { redactConfig } from '../../config/secrets.js';
import { fitParts, type BoundedPart } from './bounds.js';
import { readLogLines, type LogSource } from './log-source.js';
import { Redactor } from './redact.js';
import type { TimeWindow } from './window.js';

/** Default bounds (uncompressed): each part, and the whole archive. */
export const DEFAULT_PART_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_TOTAL_MAX_BYTES = 16 * 1024 * 1024;

/** What the station gives the archive; each is read when an archive is made. */
export interface DiagnosticsProviders {
  stationId: string;
  logSource(): Promise<LogSource>;
  /** The configuration in force (validated); redacted before it is written. */
  config(): unknown;
  versions(): Record<string, unknown>;
  /** PRAGMA quick_check of the station database: ['ok'] when sound. */
  storeIntegrity(): string[];
  /** The durable queues: counts per queue and state. */
  queues(): unknown;
  /** Every secret value the station knows (config secrets; the AuthorizationKey in force is added per request). */
  secrets(): string[];
  /** The PEM texts of the private keys the station holds (their base64 lines are scrubbed where they appear). */
  privateKeys(): Promise<string[]>;
  /** One more scrubbing pass (the logger's registered secrets). */
  scrub?(text: string): string;
}

export type ArchiveKind = 'diagnostics' | 'security-log';

export interface ArchiveRequest {
  kind: ArchiveKind;
  window: TimeWindow;
  /** Where the archive is written (a directory of the station's own). */
  dir: string;
  fileName: string;
  /** For 'security-log': the security log lines of the window. */
  securityLog?: string[];
  /** Secrets known only to the requester (the AuthorizationKey the CSMS set). */
  secrets?: string[];
}

export interface ArchiveResult {
  path: string;
  parts: { name: string; bytes: number; droppedBytes: number }[];
}

/**
 * Builds the bounded archive (tar.gz) a GetDiagnostics or GetLog uploads: for diagnostics the
 * daemon's log lines of the window, the config with its secrets redacted, versions, store
 * integrity and queue state; for the security log its lines of the window. Every part is scrubbed
 * of every secret the station knows, then bounded (each part, and the total), with a note where
 * something was cut. manifest.json says what is inside and what was cut.
 */
export class DiagnosticsCollector {
  constructor(
    private readonly p: DiagnosticsProviders,
    private readonly bounds: { partMaxBytes: number; totalMaxBytes: number } = { partMaxBytes: DEFAULT_PART_MAX_BYTES, totalMaxBytes: DEFAULT_TOTAL_MAX_BYTES },
  ) {}

  async build(req: ArchiveRequest): Promise<ArchiveResult> {
    const redactor = new Redactor(this.p.stationId);
    for (const s of [...this.p.secrets(), ...(req.secrets ?? [])]) redactor.add(s);
    for (const pem of await this.p.privateKeys()) redactor.addPem(pem);
    const scrub = (t: string) => {
      const once = redactor.scrub(t);
      return this.p.scrub ? this.p.scrub(once) : once;
    };
    const raw = req.kind === 'diagnostics' ? await this.diagnosticsParts(req.window) : [{ name: 'security-log.txt', text: lines(req.securityLog ?? []), keep: 'tail' as const }];
    const parts = fitParts(raw.map((x) => ({ ...x, text: scrub(x.text) })), this.bounds.partMaxBytes, this.bounds.totalMaxBytes);
    const manifest = {
      station: this.p.stationId,
      kind: req.kind,
      window: { from: iso(req.window.fromMs), to: iso(req.window.toMs) },
      createdAt: new Date().toISOString(),
      parts: parts.map(describe),
    };
    // the archives hold the station's logs: only the service user reads them
    await mkdir(req.dir, { recursive: true, mode: 0o700 });
    const staging = await mkdtemp(join(req.dir, '.staging-'));
    try {
      const all: BoundedPart[] = [{ name: 'manifest.json', text: `${JSON.stringify(manifest, null, 2)}\n`, droppedBytes: 0 }, ...parts];
      for (const part of all) await writeFile(join(staging, part.name), part.text, { mode: 0o600 });
      const path = join(req.dir, req.fileName);
      await tarCreate({ gzip: true, file: path, cwd: staging, portable: true }, all.map((x) => x.name));
      await chmod(path, 0o600);
      return { path, parts: parts.map(describe) };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async diagnosticsParts(window: TimeWindow): Promise<{ name: string; text: string; keep: 'head' | 'tail' }[]> {
    const safe = <T>(what: string, fn: () => T): T | string => {
      try {
        return fn();
      } catch (err) {
        return `[evsed: ${what} unavailable: ${(err as Error).message}]`;
      }
    };
    let log: string[];
    try {
      log = await readLogLines(await this.p.logSource(), window);
    } catch (err) {
      log = [`[evsed: the log could not be read: ${(err as Error).message}]`];
    }
    return [
      { name: 'versions.json', text: `${JSON.stringify(safe('versions', () => this.p.versions()), null, 2)}\n`, keep: 'head' },
      { name: 'config.yaml', text: safeYaml(safe('config', () => redactConfig(this.p.config()))), keep: 'head' },
      { name: 'store-integrity.txt', text: lines(toLines(safe('store integrity', () => this.p.storeIntegrity()))), keep: 'head' },
      { name: 'queues.json', text: `${JSON.stringify(safe('queues', () => this.p.queues()), null, 2)}\n`, keep: 'head' },
      { name: 'log.txt', text: lines(log), keep: 'tail' },
    ];
  }
}

function lines(l: readonly string[]): string {
  return l.length ? `${l.join('\n')}\n` : '';
}

function toLines(v: string[] | string): string[] {
  return typeof v === 'string' ? [v] : v;
}

function safeYaml(v: unknown): string {
  return typeof v === 'string' ? `# ${v}\n` : yamlStringify(v);
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function describe(p: BoundedPart): { name: string; bytes: number; droppedBytes: number } {
  return { name: p.name, bytes: Buffer.byteLength(p.text), droppedBytes: p.droppedBytes };
}

/** The archive's name: `<kind>-<station>-<UTC stamp>.tar.gz` (only characters every server takes; ≤ 255). */
export function archiveName(kind: ArchiveKind, stationId: string, atMs: number): string {
  const stamp = new Date(atMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const station = stationId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return `${kind === 'diagnostics' ? 'diagnostics' : 'securitylog'}-${station}-${stamp}.tar.gz`;
}
