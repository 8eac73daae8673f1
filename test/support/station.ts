import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/src/cli/main.js');

export function tempDir(prefix = 'evsed-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface SimConfigOptions {
  authMode?: 'free' | 'local' | 'ocpp';
  tags?: string[];
  connectors?: number;
  flushIntervalS?: number;
  sampleIntervalS?: number;
  evMaxCurrentA?: number;
  /** hardware.world of every connector (default: the schema's, persist). */
  world?: 'persist' | 'fresh';
  /** Per connector (by index): the simulated EV's phases (default 3). */
  evPhases?: number[];
  /** Per connector (by index): more keys of the connector, as one YAML flow line each, e.g. "priority: 1". */
  connectorExtra?: string[];
  extra?: string;
}

/** A sim station config in `dir` (storage in dir/data, API on an ephemeral port, JSON logs). */
export function writeSimConfig(dir: string, o: SimConfigOptions = {}): string {
  const tags = o.tags ?? ['TAG-1'];
  const connectors = Array.from({ length: o.connectors ?? 1 }, (_, i) => `
  - id: ${i + 1}
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim, ev: { maxCurrentA: ${o.evMaxCurrentA ?? 16}, phases: ${o.evPhases?.[i] ?? 3} }${o.world ? `, world: ${o.world}` : ''} }
    meter: { model: sim, initialEnergyWh: 1000 }${o.connectorExtra?.[i] ? `\n    ${o.connectorExtra[i]}` : ''}`).join('');
  const text = `station: { id: CP-TEST, vendor: evsed, model: test }
storage: { dir: ${JSON.stringify(join(dir, 'data'))}, flushIntervalS: ${o.flushIntervalS ?? 1}, sampleIntervalS: ${o.sampleIntervalS ?? 1} }
auth:
  mode: ${o.authMode ?? 'local'}
  tags: [${tags.map((t) => `{ idTag: ${JSON.stringify(t)} }`).join(', ')}]
api: { listen: 127.0.0.1:0 }
log: { level: info, format: json }
clock: { trust: always }
connectors:${connectors}
${o.extra ?? ''}`;
  const file = join(dir, 'evsed.yaml');
  writeFileSync(file, text);
  return file;
}

export interface DaemonProcess {
  proc: ChildProcess;
  url: string;
  lines: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: power loss as far as the process is concerned. */
  kill(): Promise<void>;
}

/** Start `evsed run` as a child process and wait until its API is up (`cli`: another build's main.js, e.g. an installed release). */
export async function spawnDaemon(configFile: string, timeoutMs = 15_000, cli = CLI): Promise<DaemonProcess> {
  const proc = spawn(process.execPath, [cli, 'run', '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    const rl = createInterface({ input: proc.stderr! });
    rl.on('line', (line) => {
      lines.push(line);
      try {
        const j = JSON.parse(line) as { msg?: string; url?: string };
        if (j.msg === 'API listening' && j.url) {
          clearTimeout(timer);
          resolveUrl(j.url.replace(/\/$/, ''));
        }
      } catch {
        /* not JSON: keep it in lines for the error message */
      }
    });
    proc.stdout!.on('data', (d: Buffer) => lines.push(d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before it was ready:\n${lines.join('\n')}`));
    });
  });
  return {
    proc,
    url,
    lines,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export async function api<T = any>(base: string, path: string, body?: unknown, method?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* CSV or text */
  }
  return { status: res.status, body: parsed as T };
}

/** Poll until `fn` returns a truthy value. */
export async function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Run the CLI to completion. */
export function runCli(args: string[], cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}
