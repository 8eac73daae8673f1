import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tar from 'tar';
import { manifestFor, packBundle } from '../../../src/maintenance/release/bundle.js';
import { FileReleaseInstaller, type InstallerOptions } from '../../../src/maintenance/release/installer.js';
import { RELEASE_ENTRY } from '../../../src/maintenance/release/layout.js';
import type { ReleaseManifest } from '../../../src/maintenance/release/types.js';
import { ROOT, tempDir } from '../../support/station.js';

export const GUARD = resolve(ROOT, 'systemd/evsed-boot-guard');

/**
 * What a tiny test release does: `ok` prints its version and exits 0; `crash` exits 1 at start;
 * `hang` prints and stays up; `bad-self-check` fails `self-check`. Every one passes `self-check`
 * but the last, as a release broken only at run time would.
 */
export type Behaviour = 'ok' | 'crash' | 'hang' | 'bad-self-check';

export function releaseKeys(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function mainJs(version: string, behaviour: Behaviour): string {
  return `const cmd = process.argv[2];
if (cmd === 'self-check') process.exit(${behaviour === 'bad-self-check' ? 1 : 0});
console.log('evsed ${version} ' + (cmd ?? 'run'));
${behaviour === 'crash' ? "console.error('cannot start: boom'); process.exit(1);" : behaviour === 'hang' ? 'setInterval(() => {}, 1000);' : ''}
`;
}

/** A payload .tar.gz of a tiny release tree (plus `fillerFiles` files of 64 KiB, so an unpack takes a while). */
export async function makePayload(dir: string, version: string, behaviour: Behaviour, fillerFiles = 0): Promise<string> {
  const tree = join(dir, `tree-${version}-${behaviour}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, 'dist/src/cli'), { recursive: true });
  writeFileSync(join(tree, 'package.json'), JSON.stringify({ name: 'evsed', version, type: 'commonjs' }));
  writeFileSync(join(tree, RELEASE_ENTRY), mainJs(version, behaviour));
  if (fillerFiles) {
    mkdirSync(join(tree, 'node_modules/filler'), { recursive: true });
    for (let i = 0; i < fillerFiles; i++) writeFileSync(join(tree, `node_modules/filler/f${i}.bin`), Buffer.alloc(65536, i));
  }
  const file = join(dir, `payload-${version}-${behaviour}.tar.gz`);
  await tar.create({ file, cwd: tree, gzip: true, portable: true }, ['.']);
  return file;
}

export interface BundleOptions {
  version: string;
  behaviour?: Behaviour;
  key: KeyObject;
  node?: string;
  arch?: string;
  fillerFiles?: number;
  /** Change the manifest after it was measured (before signing). */
  manifest?: Partial<ReleaseManifest>;
  /** Pack this payload instead of the one the manifest was measured on. */
  swapPayload?: string;
}

export async function makeBundle(dir: string, o: BundleOptions): Promise<string> {
  const payload = await makePayload(dir, o.version, o.behaviour ?? 'ok', o.fillerFiles);
  const manifest = { ...(await manifestFor(payload, { version: o.version, node: o.node ?? '>=20', arch: o.arch ?? process.arch })), ...o.manifest };
  const out = join(dir, `evsed-${o.version}-${o.behaviour ?? 'ok'}-${Math.random().toString(36).slice(2, 8)}.tar`);
  await packBundle({ manifest, payloadFile: o.swapPayload ?? payload, privateKey: o.key, outFile: out });
  return out;
}

/** A device: update root, storage dir and the release key installed, as docs/install-pi.md sets it up. */
export class Device {
  readonly dir = tempDir('evsed-release-');
  readonly root = join(this.dir, 'opt/evsed');
  readonly storage = join(this.dir, 'var/lib/evsed');
  readonly keyFile = join(this.dir, 'etc/release-key.pub.pem');
  readonly keys = releaseKeys();

  constructor() {
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.storage, { recursive: true });
    mkdirSync(join(this.dir, 'etc'));
    writeFileSync(this.keyFile, this.keys.publicPem);
  }

  options(more: Partial<InstallerOptions> = {}): InstallerOptions {
    return { root: this.root, storageDir: this.storage, releaseKeyFile: this.keyFile, trialStarts: 3, runningVersion: 'test-runner', ...more };
  }

  installer(more: Partial<InstallerOptions> = {}): FileReleaseInstaller {
    return new FileReleaseInstaller(this.options(more));
  }

  bundle(o: Omit<BundleOptions, 'key'> & { key?: KeyObject }): Promise<string> {
    return makeBundle(this.dir, { key: this.keys.privateKey, ...o });
  }

  /** verify, stage, activate. */
  async install(bundle: string, more: Partial<InstallerOptions> = {}): Promise<void> {
    const inst = this.installer(more);
    await inst.activate(await inst.stage(await inst.verify(bundle)));
  }

  /** The boot guard, as the unit's ExecStartPre runs it. */
  guard(): string {
    const r = spawnSync('sh', [GUARD, this.root, this.storage], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`guard exited ${r.status}: ${r.stderr}`);
    return r.stdout + r.stderr;
  }

  /** One start as systemd does it: the guard, then `node <root>/current/dist/src/cli/main.js run`. */
  async start(o: { timeoutMs?: number; killWhen?: string } = {}): Promise<{ guard: string; code: number | null; out: string }> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const guard = this.guard();
    const child = spawn(process.execPath, [join(this.root, 'current', RELEASE_ENTRY), 'run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const add = (d: Buffer) => {
      out += d.toString();
      // SIGKILL once it printed this (a power cut while it runs).
      if (o.killWhen && out.includes(o.killWhen)) child.kill('SIGKILL');
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const code = await new Promise<number | null>((res) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (c) => {
        clearTimeout(timer);
        res(c);
      });
    });
    return { guard, code, out };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * verify, stage and activate in a child process (the built installer, as the daemon or the CLI runs
 * it) that stops dead at `stopAt`: it writes a marker and blocks; then it is SIGKILLed, as a power
 * cut would stop it. Resolves once it is dead.
 */
export async function installKilledAt(dev: Device, bundle: string, stopAt: string): Promise<void> {
  const marker = join(dev.dir, `stopped-${Math.random().toString(36).slice(2)}`);
  const script = join(dev.dir, 'install-child.mjs');
  writeFileSync(
    script,
    `import { renameSync, writeFileSync } from 'node:fs';
import { FileReleaseInstaller } from ${JSON.stringify(join(ROOT, 'dist/src/maintenance/release/installer.js'))};
const [opts, bundle, stopAt, marker] = JSON.parse(process.argv[2]);
const inst = new FileReleaseInstaller({ ...opts, onStep: (step, detail) => {
  if (step !== stopAt || (step === 'unpacking' && detail !== 'first entry written')) return;
  // Whole or not at all: the parent reads it as soon as it exists.
  writeFileSync(marker + '.tmp', step);
  renameSync(marker + '.tmp', marker);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
} });
await inst.activate(await inst.stage(await inst.verify(bundle)));
writeFileSync(marker + '.tmp', 'finished');
renameSync(marker + '.tmp', marker);
`,
  );
  const child = spawn(process.execPath, [script, JSON.stringify([dev.options(), bundle, stopAt, marker])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const deadline = Date.now() + 20_000;
  while (!existsSync(marker)) {
    if (child.exitCode !== null) throw new Error(`the install ended (${child.exitCode}) before ${stopAt}: ${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the install did not reach ${stopAt}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const at = readFileSync(marker, 'utf8');
  child.kill('SIGKILL');
  await exited;
  if (at !== stopAt) throw new Error(`the install stopped at ${at}, not ${stopAt}`);
}
