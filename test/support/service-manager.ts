import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as tar from 'tar';
import { manifestFor, packBundle } from '../../src/maintenance/release/bundle.js';
import { RELEASE_ENTRY } from '../../src/maintenance/release/layout.js';
import { ROOT, tempDir } from './station.js';

export const BOOT_GUARD = resolve(ROOT, 'systemd/evsed-boot-guard');

/** 'ok': the checkout's built daemon reporting `version`; 'crash': passes its self-check, exits 1 at every run. */
export type ReleaseKind = 'ok' | 'crash';

/**
 * A release tree as `npm run release` lays it out, made cheaply: the checkout's dist/src copied with
 * FIRMWARE_VERSION (dist/src/domain/version.js) and package.json set to `version`, so the release
 * really reports its own version. No node_modules: the installer refuses links that leave the
 * release, so PiStation links <root>/node_modules to the checkout's, which Node finds walking up.
 */
export function writeReleaseTree(tree: string, version: string, kind: ReleaseKind): void {
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  cpSync(join(ROOT, 'dist/src'), join(tree, 'dist/src'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
  const versionJs = join(tree, 'dist/src/domain/version.js');
  const text = readFileSync(versionJs, 'utf8');
  const patched = text.replace(/FIRMWARE_VERSION = '[^']*'/, `FIRMWARE_VERSION = '${version}'`);
  if (!patched.includes(`FIRMWARE_VERSION = '${version}'`)) throw new Error(`cannot set FIRMWARE_VERSION in ${versionJs}`);
  writeFileSync(versionJs, patched);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(tree, 'package.json'), JSON.stringify({ ...pkg, version }));
  cpSync(join(ROOT, 'hardware'), join(tree, 'hardware'), { recursive: true });
  if (kind === 'crash') {
    // Broken only at run time: the installer's self-check passes, every start dies at once.
    writeFileSync(join(tree, RELEASE_ENTRY), `if (process.argv[2] === 'self-check') process.exit(0);\nconsole.error('evsed ${version}: cannot start: boom');\nprocess.exit(1);\n`);
  }
}

/**
 * A station as on a Pi, in a temp dir: <root>/releases/<v>/ with `current`, storage.dir, the release
 * key, the config (update.* pointing here); bundles signed with a key made here.
 */
export class PiStation {
  readonly dir = tempDir('evsed-pi-');
  readonly root = join(this.dir, 'opt/evsed');
  readonly storage = join(this.dir, 'data');
  readonly keyFile = join(this.dir, 'etc/release-key.pub.pem');
  readonly key: KeyObject;
  readonly wrongKey: KeyObject = generateKeyPairSync('ed25519').privateKey;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.key = privateKey;
    mkdirSync(join(this.dir, 'etc'), { recursive: true });
    mkdirSync(join(this.root, 'releases'), { recursive: true });
    writeFileSync(this.keyFile, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    // The production dependencies of every release here (a real release carries its own).
    symlinkSync(join(ROOT, 'node_modules'), join(this.root, 'node_modules'));
  }

  /** The first release, installed by hand (docs/install-pi.md): releases/<v> and `current`. */
  installFirst(version: string): void {
    writeReleaseTree(join(this.root, 'releases', version), version, 'ok');
    symlinkSync(join('releases', version), join(this.root, 'current'));
  }

  current(): string | undefined {
    try {
      return basename(readlinkSync(join(this.root, 'current')));
    } catch {
      return undefined;
    }
  }

  /** A signed bundle of a release tree (signed with `key`, default the station's release key). */
  async bundle(version: string, kind: ReleaseKind = 'ok', key: KeyObject = this.key): Promise<Buffer> {
    const work = join(this.dir, `bundle-${version}-${kind}-${Math.random().toString(36).slice(2, 8)}`);
    const tree = join(work, 'tree');
    writeReleaseTree(tree, version, kind);
    const payload = join(work, 'payload.tar.gz');
    await tar.create({ file: payload, cwd: tree, gzip: true, portable: true }, ['.']);
    const manifest = await manifestFor(payload, { version, node: '>=20', arch: process.arch });
    const out = join(work, 'bundle.tar');
    await packBundle({ manifest, payloadFile: payload, privateKey: key, outFile: out });
    const bytes = readFileSync(out);
    rmSync(work, { recursive: true, force: true });
    return bytes;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Run {
  /** The guard's output before this start. */
  guard: string;
  /** What `current` pointed to when it started. */
  release: string | undefined;
  lines: string[];
  code?: number | null;
  signal?: NodeJS.Signals | null;
}

/**
 * What systemd does with evsed.service: ExecStartPre the boot guard, then
 * `node <root>/current/dist/src/cli/main.js run --config FILE`; Restart=always (after `restartMs`).
 * `killWhen` SIGKILLs the running process as soon as a log line matches (a power cut at that step).
 */
export class ServiceManager {
  readonly runs: Run[] = [];
  private child: ChildProcess | undefined;
  private stopped = false;
  private killWhen: ((line: string, run: Run) => boolean) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly station: PiStation,
    private readonly configFile: string,
    private readonly restartMs = 100,
  ) {}

  start(): void {
    this.stopped = false;
    const g = spawnSync('sh', [BOOT_GUARD, this.station.root, this.station.storage], { encoding: 'utf8' });
    if (g.status !== 0) throw new Error(`the boot guard exited ${g.status}: ${g.stderr}`);
    const run: Run = { guard: g.stdout + g.stderr, release: this.station.current(), lines: [] };
    this.runs.push(run);
    const child = spawn(process.execPath, [join(this.station.root, 'current', RELEASE_ENTRY), 'run', '--config', this.configFile], { cwd: this.station.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const onLine = (line: string) => {
      run.lines.push(line);
      if (this.killWhen?.(line, run)) {
        this.killWhen = undefined;
        child.kill('SIGKILL');
      }
    };
    createInterface({ input: child.stderr! }).on('line', onLine);
    createInterface({ input: child.stdout! }).on('line', onLine);
    child.once('exit', (code, signal) => {
      run.code = code;
      run.signal = signal;
      if (this.child === child) this.child = undefined;
      if (!this.stopped) this.timer = setTimeout(() => this.start(), this.restartMs);
    });
  }

  /** SIGKILL the running process at the first log line `match` accepts (the manager then starts it again). */
  killAt(match: (line: string, run: Run) => boolean): void {
    this.killWhen = match;
  }

  /** SIGKILL the running process as soon as `seen()` holds (polled every few ms while one runs). */
  killWhenSeen(seen: () => boolean, what: string): Promise<Run> {
    return new Promise((resolveKill, reject) => {
      const end = Date.now() + 60_000;
      const poll = setInterval(() => {
        const c = this.child;
        if (c && c.exitCode === null && c.signalCode === null && seen()) {
          clearInterval(poll);
          c.kill('SIGKILL');
          resolveKill(this.runs.at(-1)!);
        } else if (Date.now() > end || this.stopped) {
          clearInterval(poll);
          reject(new Error(`never saw ${what}\n${this.output()}`));
        }
      }, 2);
    });
  }

  /** SIGKILL now. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** Stop restarting and end the running process (SIGTERM). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => {
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      c.once('exit', () => {
        clearTimeout(t);
        r();
      });
      c.kill('SIGTERM');
    });
  }

  output(): string {
    return this.runs.map((r, i) => `--- start ${i + 1} (${r.release}; exit ${r.code ?? r.signal})\n${r.guard}${r.lines.join('\n')}`).join('\n');
  }
}
