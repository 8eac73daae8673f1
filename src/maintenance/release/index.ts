import { resolve } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { FileReleaseInstaller, type InstallStep } from './installer.js';

export * from './types.js';
export { FileReleaseInstaller, type InstallStep, type InstallerOptions } from './installer.js';
export { startStandaloneProof } from './trial-proof.js';

/** The installer of this station's config (update.*, storage.dir; the new release's self-check loads this config file). */
export function releaseInstallerFor(loaded: LoadedConfig, onStep?: (step: InstallStep, detail?: string) => void): FileReleaseInstaller {
  const u = loaded.config.update;
  return new FileReleaseInstaller({ root: u.root, storageDir: loaded.storageDir, releaseKeyFile: u.releaseKey, trialStarts: u.trialStarts, configFile: resolve(loaded.file), onStep });
}
