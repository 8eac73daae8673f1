import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative, sep } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { parseManifest, publicKeyFrom, readBundle, signatureValid, unpackPayload } from './bundle.js';
import { satisfiesEngine } from './engine-range.js';
import { ReleaseLayout, RELEASE_ENTRY, syncDir } from './layout.js';
import { BundleRejected, type InstallOutcome, type ReleaseInstaller, type StagedRelease, type VerifiedBundle } from './types.js';

/** Points in an install a caller can watch (progress logs; tests stop the process at each). */
export type InstallStep = 'unpacking' | 'unpacked' | 'self-checked' | 'staged' | 'trial-written' | 'switch-linked' | 'switched';

export interface InstallerOptions {
  /** update.root: holds releases/ and the current link. */
  root: string;
  /** storage.dir: the update state is in its update/ folder (the boot guard's too). */
  storageDir: string;
  /** update.releaseKey: the Ed25519 public key (PEM file) release bundles are signed with. */
  releaseKeyFile: string;
  /** update.trialStarts: starts a new release gets to prove itself before the boot guard switches back. */
  trialStarts: number;
  /** The station config the new release's self-check loads (it must accept this device's config). */
  configFile?: string;
  /** The version this process runs; default: found from where this module lies (releases/<version>/...), else 'dev'. */
  runningVersion?: string;
  selfCheckTimeoutMs?: number;
  onStep?: (step: InstallStep, detail?: string) => void;
}

/** Releases side by side under update.root (src/maintenance/release/types.ts has the contract). */
export class FileReleaseInstaller implements ReleaseInstaller {
  readonly layout: ReleaseLayout;
  private key: KeyObject | undefined;
  private readonly running: string;

  constructor(private readonly o: InstallerOptions) {
    this.layout = new ReleaseLayout(o.root, o.storageDir);
    this.running = o.runningVersion ?? runningFrom(o.root);
  }

  currentVersion(): string {
    return this.running;
  }

  async verify(bundlePath: string): Promise<VerifiedBundle> {
    const contents = await readBundle(bundlePath);
    const manifest = parseManifest(contents.manifestBytes);
    if (!signatureValid(contents.manifestBytes, contents.signature, this.releaseKey())) {
      throw new BundleRejected('signature', `${manifest.version}: the signature does not match the release key ${this.o.releaseKeyFile} (update.releaseKey)`);
    }
    if (contents.payloadSha256 !== manifest.payloadSha256 || contents.payloadBytes !== manifest.payloadBytes) {
      throw new BundleRejected('checksum', `${manifest.version}: the payload is not the one signed (sha256 ${contents.payloadSha256}, ${contents.payloadBytes} bytes; manifest ${manifest.payloadSha256}, ${manifest.payloadBytes} bytes)`);
    }
    let engineOk: boolean;
    try {
      engineOk = satisfiesEngine(process.version, manifest.node);
    } catch (err) {
      throw new BundleRejected('engine', `${manifest.version}: cannot read its Node range "${manifest.node}": ${(err as Error).message}`);
    }
    if (!engineOk) throw new BundleRejected('engine', `${manifest.version} needs Node ${manifest.node}; this station runs ${process.version}`);
    if (manifest.arch !== process.arch) throw new BundleRejected('arch', `${manifest.version} is built for ${manifest.arch}; this station is ${process.arch}`);
    if (manifest.version === this.running || manifest.version === this.layout.currentTarget()) {
      throw new BundleRejected('same-version', `${manifest.version} is the release this station runs already`);
    }
    return { path: bundlePath, manifest };
  }

  async stage(bundle: VerifiedBundle): Promise<StagedRelease> {
    const { version } = bundle.manifest;
    const dir = this.layout.dir(version);
    const tmp = `${dir}.tmp`;
    mkdirSync(this.layout.releases, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    // A copy of this version left by an earlier attempt (never the one `current` points to: verify refuses that).
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    mkdirSync(tmp);
    const step = this.o.onStep;
    try {
      step?.('unpacking', tmp);
      let first = true;
      await unpackPayload(bundle.path, tmp, bundle.manifest.payloadSha256, () => {
        if (first) step?.('unpacking', 'first entry written');
        first = false;
      });
      writeFileSync(join(tmp, 'release.json'), `${JSON.stringify(bundle.manifest, null, 2)}\n`);
      step?.('unpacked', tmp);
      await this.selfCheck(tmp, version);
      step?.('self-checked', version);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    renameSync(tmp, dir);
    syncDir(this.layout.releases);
    step?.('staged', dir);
    return { version, dir };
  }

  async activate(staged: StagedRelease): Promise<void> {
    const l = this.layout;
    if (!l.complete(staged.version)) throw new Error(`release ${staged.version} is not staged in ${l.releases}`);
    const previous = l.currentTarget();
    l.remove('outcome');
    // The trial is written before the switch: the guard must never find the new release running without it.
    if (previous !== undefined && previous !== staged.version && l.complete(previous)) {
      l.writePrevious(previous);
      l.writeState('trial', { version: staged.version, previous, maxStarts: this.o.trialStarts, starts: 0 });
      this.o.onStep?.('trial-written', staged.version);
    }
    l.switchTo(staged.version, () => this.o.onStep?.('switch-linked', staged.version));
    this.o.onStep?.('switched', staged.version);
  }

  outcome(): InstallOutcome {
    const l = this.layout;
    const o = l.readState('outcome');
    if (o?.kind === 'rolled-back' && o.failed !== undefined && o.version !== undefined) return { kind: 'rolled-back', failed: o.failed, version: o.version, reason: o.reason ?? '' };
    const t = l.readState('trial');
    if (t?.version && t.previous && l.currentTarget() === t.version) return { kind: 'trial', version: t.version, previous: t.previous };
    return { kind: 'none' };
  }

  async confirm(): Promise<void> {
    const l = this.layout;
    if (!l.readState('trial')) return;
    l.remove('trial');
    this.prune();
  }

  async rollback(reason: string): Promise<void> {
    const l = this.layout;
    const failed = l.currentTarget();
    const target = l.readState('trial')?.previous ?? l.readPrevious();
    if (target === undefined || target === failed) throw new Error('no previous release to roll back to');
    if (!l.complete(target)) throw new Error(`the previous release ${target} is not complete in ${l.releases}: cannot roll back to it`);
    // The outcome first: a process killed in between leaves a record the guard's next run completes.
    l.writeState('outcome', { kind: 'rolled-back', failed: failed ?? '', version: target, reason });
    l.switchTo(target);
    l.remove('trial');
    l.remove('previous');
  }

  async clearOutcome(): Promise<void> {
    this.layout.remove('outcome');
  }

  /** Every release but the current and the previous one (the SD card is small), and leftovers of interrupted unpacks. */
  private prune(): void {
    const l = this.layout;
    const keep = new Set([l.currentTarget(), l.readPrevious(), this.running]);
    for (const name of readdirSync(l.releases)) {
      if (!keep.has(name)) rmSync(join(l.releases, name), { recursive: true, force: true });
    }
  }

  private releaseKey(): KeyObject {
    if (this.key) return this.key;
    let pem: Buffer;
    try {
      pem = readFileSync(this.o.releaseKeyFile);
    } catch (err) {
      throw new BundleRejected('signature', `cannot check the signature: cannot read the release key ${this.o.releaseKeyFile} (update.releaseKey; install the public key there, docs/install-pi.md): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      this.key = publicKeyFrom(pem);
    } catch (err) {
      throw new BundleRejected('signature', `cannot check the signature: ${this.o.releaseKeyFile} (update.releaseKey) is not an Ed25519 public key PEM: ${(err as Error).message}`);
    }
    return this.key;
  }

  /** `node <release>/dist/src/cli/main.js self-check [--config FILE]` in the unpacked tree: exit 0 or the release is refused. */
  private selfCheck(dir: string, version: string): Promise<void> {
    const args = [join(dir, RELEASE_ENTRY), 'self-check', ...(this.o.configFile ? ['--config', this.o.configFile] : [])];
    const timeoutMs = this.o.selfCheckTimeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EVSED_SELF_CHECK: '1' } });
      let out = '';
      const keep = (d: Buffer) => {
        out = (out + d.toString()).slice(-2000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new BundleRejected('self-check', `${version}: cannot run its self-check: ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new BundleRejected('self-check', `${version}: its self-check ${signal ? `was stopped (${signal}, after ${timeoutMs} ms at most)` : `exited ${code}`}: ${out.trim().split('\n').slice(-5).join(' | ')}`));
      });
    });
  }
}

/** The version of the release this module is part of, from its path under <root>/releases/<version>/; else 'dev'. */
function runningFrom(root: string): string {
  try {
    const here = realpathSync(fileURLToPath(import.meta.url));
    const releases = realpathSync(join(root, 'releases'));
    const rel = relative(releases, here);
    if (!rel.startsWith('..') && rel.includes(sep)) return rel.split(sep)[0]!;
  } catch {
    /* no releases folder: not run from a release */
  }
  return 'dev';
}
