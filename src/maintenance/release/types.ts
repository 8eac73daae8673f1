/**
 * Releases side by side: `<root>/releases/<version>/` with a `current` link the systemd unit runs.
 * The installer never touches the running release: it unpacks beside it, checks the new one, and
 * switches `current` atomically; the new release runs on trial until it proves itself, else the
 * boot guard (run by systemd before every start) switches back.
 */

/** manifest.json of a release bundle (signed: the bundle carries the signature over these exact bytes). */
export interface ReleaseManifest {
  name: 'evsed';
  version: string;
  /** The Node engine range the release needs (package.json engines.node). */
  node: string;
  /** process.arch the production dependencies were built for (better-sqlite3 is native). */
  arch: string;
  /** sha256 (hex) of the payload archive inside the bundle. */
  payloadSha256: string;
  payloadBytes: number;
  createdAt: string;
}

export interface VerifiedBundle {
  path: string;
  manifest: ReleaseManifest;
}

/** 'self-check': the unpacked release did not pass its own `self-check` (stage()). */
export type BundleProblem = 'format' | 'checksum' | 'signature' | 'engine' | 'arch' | 'same-version' | 'self-check';

export class BundleRejected extends Error {
  override readonly name = 'BundleRejected';
  constructor(
    readonly problem: BundleProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface StagedRelease {
  version: string;
  dir: string;
}

/** How the last install ended, as found at start (read once; the firmware job reports it to the CSMS). */
export type InstallOutcome =
  | { kind: 'none' }
  /** Running a newly switched release that has not proven itself yet: call `confirm()` once it has. */
  | { kind: 'trial'; version: string; previous: string }
  /** The new release failed to prove itself and the guard switched back to `version`. */
  | { kind: 'rolled-back'; failed: string; version: string; reason: string };

export interface ReleaseInstaller {
  /** The release this process runs (its version; 'dev' when not run from a release tree). */
  currentVersion(): string;
  /** Checks the bundle's format, payload checksum and signature (the release key), engine and arch. Throws BundleRejected. */
  verify(bundlePath: string): Promise<VerifiedBundle>;
  /** Unpacks beside the running release and runs the new release's self-check. Does not switch. */
  stage(bundle: VerifiedBundle): Promise<StagedRelease>;
  /** Switches `current` to the staged release atomically and starts its trial (the guard counts its starts). The caller then restarts the process. */
  activate(staged: StagedRelease): Promise<void>;
  /** What the last install came to (trial, rolled back, none). */
  outcome(): InstallOutcome;
  /** The trial release proved itself (BootNotification Accepted, or a healthy control loop for N minutes standalone): the previous release stays as the rollback target. */
  confirm(): Promise<void>;
  /** Switches back to the previous release (the technician's `evsed rollback`). The process then restarts to run it. */
  rollback(reason: string): Promise<void>;
  /** A rolled-back outcome has been reported (the CSMS heard InstallationFailed): forget it, so the next start does not report it again. */
  clearOutcome(): Promise<void>;
}
