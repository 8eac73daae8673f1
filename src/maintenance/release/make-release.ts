import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { bundleFileName, manifestFor, packBundle, privateKeyFrom } from './bundle.js';
import type { ReleaseManifest } from './types.js';

/**
 * `npm run release -- --key release-key.pem [--arch arm64] [--out DIR]`: one installable bundle of
 * this checkout (docs/install-pi.md, "Making a release"). The code must be built (`npm run release`
 * builds it first). Production dependencies: for this machine's arch they are copied from this
 * checkout's node_modules (what package-lock.json lists outside dev, native addons as built here);
 * for another arch `npm ci --omit=dev` fetches them with npm_config_arch set, so prebuilt native
 * addons (better-sqlite3) are those of the target (needs the network).
 */
export interface ReleaseOptions {
  /** The checkout (package.json, dist/, node_modules/). */
  repo: string;
  /** The Ed25519 private key (PEM) that signs the manifest. */
  keyFile: string;
  arch?: string;
  outDir: string;
  log?: (line: string) => void;
}

/** What goes into a release beside node_modules (paths of the checkout). */
const TREE = ['dist/src', 'package.json', 'package-lock.json', 'hardware', 'config', 'systemd', 'src/api/dashboard/public', 'docs', 'README.md'];

export async function makeRelease(o: ReleaseOptions): Promise<{ file: string; manifest: ReleaseManifest }> {
  const log = o.log ?? (() => undefined);
  const arch = o.arch ?? process.arch;
  const pkg = JSON.parse(readFileSync(join(o.repo, 'package.json'), 'utf8')) as { version: string; engines?: { node?: string } };
  const entry = join(o.repo, 'dist/src/cli/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  const { FIRMWARE_VERSION } = (await import(pathToFileURL(join(o.repo, 'dist/src/domain/version.js')).href)) as { FIRMWARE_VERSION: string };
  if (FIRMWARE_VERSION !== pkg.version) throw new Error(`package.json version ${pkg.version} and FIRMWARE_VERSION ${FIRMWARE_VERSION} (src/domain/version.ts) differ: bump both`);
  const privateKey = privateKeyFrom(readFileSync(o.keyFile));

  const work = mkdtempSync(join(tmpdir(), 'evsed-release-'));
  try {
    const tree = join(work, 'tree');
    for (const p of TREE) {
      if (existsSync(join(o.repo, p))) cpSync(join(o.repo, p), join(tree, p), { recursive: true, verbatimSymlinks: true });
    }
    // The technician's `evsed` (a link to it, docs/install-pi.md) runs it directly: tsc does not set the mode.
    chmodSync(join(tree, 'dist/src/cli/main.js'), 0o755);
    log(`code copied (${TREE.join(', ')})`);
    if (arch === process.arch) copyProductionDeps(o.repo, tree);
    else installProductionDeps(tree, arch);
    log(`production dependencies for ${arch} in place`);
    const payload = join(work, 'payload.tar.gz');
    await tar.create({ file: payload, cwd: tree, gzip: true, portable: true }, ['.']);
    const manifest = await manifestFor(payload, { version: pkg.version, node: pkg.engines?.node ?? '>=20', arch });
    mkdirSync(o.outDir, { recursive: true });
    const file = join(o.outDir, bundleFileName(manifest));
    await packBundle({ manifest, payloadFile: payload, privateKey, outFile: file });
    log(`${file}: ${manifest.payloadBytes} bytes of payload, sha256 ${manifest.payloadSha256}`);
    return { file, manifest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The packages package-lock.json lists outside dev, from this checkout's node_modules (each top-level one whole). */
function copyProductionDeps(repo: string, tree: string): void {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, info] of Object.entries(lock.packages)) {
    if (!path || info.dev || path.split('node_modules/').length !== 2) continue;
    const from = join(repo, path);
    // An optional dependency not installed here (another platform's) is not part of this arch's release.
    if (existsSync(from)) cpSync(from, join(tree, path), { recursive: true, verbatimSymlinks: true, dereference: false });
  }
}

function installProductionDeps(tree: string, arch: string): void {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--omit=dev', `--cpu=${arch}`], { cwd: tree, stdio: 'inherit', env: { ...process.env, npm_config_arch: arch, npm_config_target_arch: arch } });
  if (r.status !== 0) throw new Error(`npm ci --omit=dev for ${arch} failed (exit ${r.status}): it needs the network, and a native addon without a prebuilt binary for ${arch} must be built on such a machine`);
}

const USAGE = `usage: npm run release -- --key FILE [--arch ARCH] [--out DIR]
  --key FILE   the Ed25519 private key (PEM) that signs the release (docs/install-pi.md: making the key pair)
  --arch ARCH  the target's process.arch: arm64 (Raspberry Pi OS 64-bit), arm, x64 (default: this machine's, ${process.arch})
  --out DIR    where evsed-<version>-<arch>.tar is written (default dist/release)`;

async function main(argv: string[]): Promise<number> {
  let values: { key?: string; arch?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { key: { type: 'string' }, arch: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.key) {
    console.error(`--key is required\n${USAGE}`);
    return 64;
  }
  const repo = resolve(import.meta.dirname, '../../../..');
  const { file } = await makeRelease({ repo, keyFile: values.key, arch: values.arch, outDir: resolve(values.out ?? join(repo, 'dist/release')), log: (l) => console.error(l) });
  console.log(file);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`release: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
