import type { SignedFirmwareStatus, SignedUpdateFirmwareReq, UpdateFirmwareReq } from './messages.js';

/**
 * Where a firmware job stands, as persisted (it must survive the restart in the middle of it):
 * scheduled (before retrieveDate) → downloading → downloaded → verified → installing (stage,
 * activate) → rebooting (the new release starts and proves itself).
 */
export type FirmwarePhase = 'scheduled' | 'downloading' | 'downloaded' | 'verified' | 'installing' | 'rebooting';

export interface FirmwareJob {
  /** Names the downloaded file; a new job gets a new one (a cancelled job's partial file is not resumed by another). */
  id: number;
  kind: 'plain' | 'signed';
  /** SignedUpdateFirmware's requestId (every SignedFirmwareStatusNotification carries it). */
  requestId?: number;
  location: string;
  /** Wall time (the CSMS's retrieveDate); the download starts at or after it. */
  retrieveAtMs: number;
  /** Wall time (signed installDateTime); the install does not start before it. */
  installAtMs?: number;
  /** Downloads still allowed (1 + retries at the start). */
  attemptsLeft: number;
  retryIntervalS: number;
  phase: FirmwarePhase;
  signingCertificate?: string;
  signature?: string;
  /** The release version the verified bundle carries. */
  version?: string;
  /** Installs started (a restart during stage counts one; a second interrupted one ends the job). */
  installTries: number;
  /** The last status queued for the CSMS (a TriggerMessage repeats it); only ones this kind of job sends. */
  lastStatus?: SignedFirmwareStatus;
}

/** Downloads tried when UpdateFirmware leaves `retries` out: the first and this many more. */
export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_INTERVAL_S = 60;
/** Installs started before the job gives up (a power cut during the unpack is retried once). */
export const MAX_INSTALL_TRIES = 2;

export function plainJob(id: number, req: UpdateFirmwareReq): FirmwareJob {
  return {
    id,
    kind: 'plain',
    location: req.location,
    retrieveAtMs: Date.parse(req.retrieveDate),
    attemptsLeft: 1 + Math.max(0, req.retries ?? DEFAULT_RETRIES),
    retryIntervalS: Math.max(0, req.retryInterval ?? DEFAULT_RETRY_INTERVAL_S),
    phase: 'scheduled',
    installTries: 0,
  };
}

export function signedJob(id: number, req: SignedUpdateFirmwareReq): FirmwareJob {
  const f = req.firmware;
  return {
    id,
    kind: 'signed',
    requestId: req.requestId,
    location: f.location,
    retrieveAtMs: Date.parse(f.retrieveDateTime),
    ...(f.installDateTime ? { installAtMs: Date.parse(f.installDateTime) } : {}),
    attemptsLeft: 1 + Math.max(0, req.retries ?? DEFAULT_RETRIES),
    retryIntervalS: Math.max(0, req.retryInterval ?? DEFAULT_RETRY_INTERVAL_S),
    phase: 'scheduled',
    signingCertificate: f.signingCertificate,
    signature: f.signature,
    installTries: 0,
  };
}

/** A job the CSMS may still replace: nothing has been unpacked yet. */
export function cancellable(job: FirmwareJob): boolean {
  return job.phase !== 'installing' && job.phase !== 'rebooting';
}

/**
 * The plain 1.6 status for a step, or null where plain UpdateFirmware has none: the steps only the
 * Security Whitepaper names are left out, and its failures become InstallationFailed.
 */
export function plainStatus(s: SignedFirmwareStatus): SignedFirmwareStatus | null {
  switch (s) {
    case 'DownloadScheduled':
    case 'DownloadPaused':
    case 'SignatureVerified':
    case 'InstallScheduled':
    case 'InstallRebooting':
      return null;
    case 'InvalidSignature':
    case 'InstallVerificationFailed':
      return 'InstallationFailed';
    default:
      return s;
  }
}

/** The status notification for a step of `job` (action and payload), or null when its kind has none. */
export function notificationFor(job: Pick<FirmwareJob, 'kind' | 'requestId'>, s: SignedFirmwareStatus): { action: 'FirmwareStatusNotification' | 'SignedFirmwareStatusNotification'; payload: Record<string, unknown> } | null {
  if (job.kind === 'signed') return { action: 'SignedFirmwareStatusNotification', payload: { status: s, ...(job.requestId !== undefined ? { requestId: job.requestId } : {}) } };
  const p = plainStatus(s);
  return p ? { action: 'FirmwareStatusNotification', payload: { status: p } } : null;
}

/** A download failure worth another attempt (a file too large or a URL that cannot work will not change). */
export function retryable(kind: string): boolean {
  return kind !== 'too-large' && kind !== 'bad-url';
}
