import { z } from 'zod';
import { intBetween, nonEmptyString } from './zod-helpers.js';

/**
 * Updates (src/maintenance/release, docs/install-pi.md "Updates"): where the releases live, the key
 * their bundles must be signed with, and how a new release proves itself.
 */
export const DEFAULT_UPDATE = { root: '/opt/evsed', releaseKey: '/etc/evsed/release-key.pub.pem', trialStarts: 3, standaloneProofS: 300 } as const;

const absolutePath = (what: string) =>
  nonEmptyString(`an absolute path, e.g. ${what}`).refine((p) => p.startsWith('/'), { error: `must be an absolute path, e.g. ${what} (the boot guard and the unit use it from /)` });

export const updateConfigSchema = z.strictObject({
  /** Holds releases/<version>/ and the `current` link the unit runs. */
  root: absolutePath(DEFAULT_UPDATE.root).default(DEFAULT_UPDATE.root),
  /** The Ed25519 public key (PEM) release bundles must be signed with. */
  releaseKey: absolutePath(DEFAULT_UPDATE.releaseKey).default(DEFAULT_UPDATE.releaseKey),
  /** Starts a new release gets to prove itself before the boot guard switches back to the previous one. */
  trialStarts: intBetween(1, 20).default(DEFAULT_UPDATE.trialStarts),
  /** Without OCPP: a new release proves itself by this long of healthy control loops (with OCPP: BootNotification Accepted). */
  standaloneProofS: intBetween(30, 86_400).default(DEFAULT_UPDATE.standaloneProofS),
});
export type UpdateConfig = z.infer<typeof updateConfigSchema>;
