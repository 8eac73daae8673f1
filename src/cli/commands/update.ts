import { accessSync, constants, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { ConfigError, EXIT_CONFIG } from '../../config/errors.js';
import { parseListen } from '../../config/zod-helpers.js';
import { BundleRejected, releaseInstallerFor, type FileReleaseInstaller } from '../../maintenance/release/index.js';
import { selfCheck } from '../../maintenance/release/self-check.js';

/**
 * The technician's update commands (docs/install-pi.md, "Updates"). `evsed update` installs a
 * release bundle beside the running one and switches `current` to it on trial; the running daemon
 * keeps running the old code until the service restarts (systemd then runs the boot guard, which
 * counts the new release's starts and goes back should it not prove itself). Both refuse while a
 * session runs (asked of the daemon's API) unless --force: the restart that follows would end it.
 */
export const EXIT_DATAERR = 65;
export const EXIT_UNAVAILABLE = 69;
export const EXIT_TEMPFAIL = 75;
export const EXIT_NOPERM = 77;
/** Largest bundle `evsed update URL` downloads. */
const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}
const defaultIo: Io = { out: (s) => console.log(s), err: (s) => console.error(s) };

function load(file: string, io: Io): LoadedConfig | number {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return EXIT_CONFIG;
    }
    throw err;
  }
}

function installerFor(loaded: LoadedConfig, io: Io): FileReleaseInstaller {
  return releaseInstallerFor(loaded, (step, detail) => {
    if (step === 'staged') io.err(`unpacked and self-checked: ${detail}`);
  });
}

/** Refuses (a message) when the files would end up owned by another user than the service's. */
function permissionProblem(root: string): string | undefined {
  try {
    mkdirSync(join(root, 'releases'), { recursive: true });
    accessSync(root, constants.W_OK);
    accessSync(join(root, 'releases'), constants.W_OK);
  } catch (err) {
    return `cannot write to ${root} (update.root): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; run it as the service user: sudo -u evsed evsed ...`;
  }
  const owner = statSync(join(root, 'releases')).uid;
  if (process.getuid?.() === 0 && owner !== 0) {
    return `running as root would leave files the service user (uid ${owner}, the owner of ${root}/releases) cannot change: run it as that user: sudo -u evsed evsed ...`;
  }
  return undefined;
}

/** Undefined when nothing charges (or no daemon runs); else why not to go on. */
async function sessionRunning(loaded: LoadedConfig): Promise<string | undefined> {
  const { host, port } = parseListen(loaded.config.api.listen);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${h.includes(':') ? `[${h}]` : h}:${port}/api/status`;
  let res: Response;
  try {
    res = await fetch(url, { headers: loaded.config.api.token ? { authorization: `Bearer ${loaded.config.api.token}` } : {}, signal: AbortSignal.timeout(5000) });
  } catch {
    return undefined; // no daemon answers: no session can run
  }
  if (!res.ok) return `the daemon at ${url} answered HTTP ${res.status}: cannot tell whether a session runs`;
  const status = (await res.json().catch(() => ({}))) as { connectors?: { id: number; session?: { idTag?: string | null } | null }[] };
  const busy = (status.connectors ?? []).filter((c) => c.session);
  return busy.length ? `a session runs on connector ${busy.map((c) => c.id).join(', ')}` : undefined;
}

export async function updateCommand(source: string, o: { config: string; force?: boolean }, io: Io = defaultIo): Promise<number> {
  const loaded = load(o.config, io);
  if (typeof loaded === 'number') return loaded;
  const root = loaded.config.update.root;
  const perm = permissionProblem(root);
  if (perm) {
    io.err(`evsed update: ${perm}`);
    return EXIT_NOPERM;
  }
  if (!o.force) {
    const busy = await sessionRunning(loaded);
    if (busy) {
      io.err(`evsed update: ${busy}; the restart that runs the new release would end it. Try again later, or --force`);
      return EXIT_TEMPFAIL;
    }
  }
  let file = source;
  let downloaded = false;
  if (/^(https?|ftps?):\/\//i.test(source)) {
    const { download } = await import('../../maintenance/transfer/index.js');
    const dir = join(loaded.storageDir, 'update', 'download');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    file = join(dir, basename(new URL(source).pathname) || 'bundle.tar');
    try {
      const r = await download({ url: source, dest: file, maxBytes: MAX_BUNDLE_BYTES });
      io.err(`downloaded ${r.bytes} bytes${r.resumedFrom ? ` (continued from ${r.resumedFrom})` : ''}`);
      downloaded = true;
    } catch (err) {
      io.err(`evsed update: cannot download ${new URL(source).host}: ${(err as Error).message}`);
      return EXIT_UNAVAILABLE;
    }
  }
  const installer = installerFor(loaded, io);
  try {
    const bundle = await installer.verify(file);
    io.err(`${basename(file)}: evsed ${bundle.manifest.version} for ${bundle.manifest.arch}, Node ${bundle.manifest.node}: signature and checksum good`);
    const staged = await installer.stage(bundle);
    await installer.activate(staged);
    const trial = installer.outcome().kind === 'trial';
    io.out(`evsed ${staged.version} installed in ${staged.dir}; ${root}/current points to it${trial ? ` (on trial: it must prove itself within ${loaded.config.update.trialStarts} starts, else the boot guard goes back)` : ''}.`);
    io.out('It runs from the next start of the service: sudo systemctl restart evsed');
    return 0;
  } catch (err) {
    if (err instanceof BundleRejected) {
      io.err(`evsed update: refused (${err.problem}): ${err.message}`);
      return EXIT_DATAERR;
    }
    throw err;
  } finally {
    // A complete download is used once (an interrupted one stays as .part for the next run to continue).
    if (downloaded) rmSync(file, { force: true });
  }
}

export async function rollbackCommand(o: { config: string; force?: boolean }, io: Io = defaultIo): Promise<number> {
  const loaded = load(o.config, io);
  if (typeof loaded === 'number') return loaded;
  const perm = permissionProblem(loaded.config.update.root);
  if (perm) {
    io.err(`evsed rollback: ${perm}`);
    return EXIT_NOPERM;
  }
  if (!o.force) {
    const busy = await sessionRunning(loaded);
    if (busy) {
      io.err(`evsed rollback: ${busy}; the restart that runs the previous release would end it. Try again later, or --force`);
      return EXIT_TEMPFAIL;
    }
  }
  const installer = installerFor(loaded, io);
  try {
    await installer.rollback('a technician ran evsed rollback');
  } catch (err) {
    io.err(`evsed rollback: ${(err as Error).message}`);
    return 1;
  }
  const o2 = installer.outcome();
  io.out(`${loaded.config.update.root}/current points to ${o2.kind === 'rolled-back' ? o2.version : 'the previous release'} again${o2.kind === 'rolled-back' ? ` (was ${o2.failed})` : ''}.`);
  io.out('It runs from the next start of the service: sudo systemctl restart evsed');
  return 0;
}

export async function selfCheckCommand(o: { config?: string }, io: Io = defaultIo): Promise<number> {
  const r = await selfCheck({ configFile: o.config });
  if (r.ok) {
    io.out(`self-check passed: ${r.modules} modules, SQLite${o.config ? `, config ${o.config}` : ''}`);
    return 0;
  }
  for (const p of r.problems) io.err(`self-check: ${p}`);
  return 1;
}
