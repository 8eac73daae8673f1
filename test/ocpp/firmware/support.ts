import { readFileSync, writeFileSync } from 'node:fs';
import { createPrivateKey, sign } from 'node:crypto';
import { BundleRejected, type BundleProblem, type InstallOutcome, type ReleaseInstaller, type StagedRelease, type VerifiedBundle } from '../../../src/maintenance/release/types.js';
import type { TestCert } from '../../support/test-pki.js';

/**
 * A bundle as the fake installer reads it: JSON with the version it carries and, for negative
 * tests, the problem its verify() finds. The real installer and bundles are the release helper's;
 * the lead runs the job with them in the process-level tests.
 */
export function bundleBytes(version: string, problem?: BundleProblem): Buffer {
  return Buffer.from(JSON.stringify({ name: 'evsed', version, ...(problem ? { problem } : {}), pad: 'x'.repeat(2000) }));
}

/**
 * A ReleaseInstaller that records its calls and keeps its state in memory across the "restarts" of
 * a test: `reboot()` is what the next process finds (a trial of the activated release, or, with
 * `crash`, the boot guard's rollback).
 */
export class FakeInstaller implements ReleaseInstaller {
  calls: string[] = [];
  version = '1.0.0';
  private activated?: StagedRelease;
  private found: InstallOutcome = { kind: 'none' };
  /** stage() fails (a broken unpack or self-check). */
  failStage = false;

  currentVersion(): string {
    return this.version;
  }

  async verify(bundlePath: string): Promise<VerifiedBundle> {
    this.calls.push('verify');
    let b: { version: string; problem?: BundleProblem };
    try {
      b = JSON.parse(readFileSync(bundlePath, 'utf8'));
    } catch {
      throw new BundleRejected('format', 'not a bundle');
    }
    if (b.problem) throw new BundleRejected(b.problem, `bundle ${b.problem} check failed`);
    return { path: bundlePath, manifest: { name: 'evsed', version: b.version, node: '>=20', arch: process.arch, payloadSha256: '0'.repeat(64), payloadBytes: 1, createdAt: '2026-12-01T00:00:00Z' } };
  }

  async stage(bundle: VerifiedBundle): Promise<StagedRelease> {
    this.calls.push(`stage ${bundle.manifest.version}`);
    if (this.failStage) throw new Error('self-check of the new release failed');
    return { version: bundle.manifest.version, dir: `/releases/${bundle.manifest.version}` };
  }

  async activate(staged: StagedRelease): Promise<void> {
    this.calls.push(`activate ${staged.version}`);
    this.activated = staged;
  }

  outcome(): InstallOutcome {
    return this.found;
  }

  async confirm(): Promise<void> {
    this.calls.push('confirm');
    this.found = { kind: 'none' };
  }

  async rollback(reason: string): Promise<void> {
    this.calls.push(`rollback ${reason}`);
  }

  async clearOutcome(): Promise<void> {
    this.calls.push('clearOutcome');
    this.found = { kind: 'none' };
  }

  /** The process restarts: what the next one finds. */
  reboot(o: { crash?: boolean } = {}): void {
    const a = this.activated;
    this.activated = undefined;
    if (!a) {
      this.found = { kind: 'none' };
      return;
    }
    if (o.crash) {
      this.found = { kind: 'rolled-back', failed: a.version, version: this.version, reason: 'did not start' };
      return;
    }
    this.found = { kind: 'trial', version: a.version, previous: this.version };
    this.version = a.version;
  }
}

/** SignedUpdateFirmware's signature: base64 ECDSA (DER) over the file with SHA-256, by the signing certificate's key. */
export function signFile(file: string, signer: TestCert): string {
  return sign('sha256', readFileSync(file), createPrivateKey(signer.keyPem)).toString('base64');
}

export function signBytes(bytes: Buffer, signer: TestCert): string {
  return sign('sha256', bytes, createPrivateKey(signer.keyPem)).toString('base64');
}

export function writeBundle(file: string, version: string, problem?: BundleProblem): Buffer {
  const b = bundleBytes(version, problem);
  writeFileSync(file, b);
  return b;
}
