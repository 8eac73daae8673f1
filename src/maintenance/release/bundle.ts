import { createHash, sign, verify as verifySignature, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { BundleRejected, type ReleaseManifest } from './types.js';

/**
 * A release bundle, `evsed-<version>-<arch>.tar`: a plain tar of exactly three files, in this order:
 * manifest.json (a ReleaseManifest), manifest.sig (the raw 64-byte Ed25519 signature over the
 * manifest's exact bytes) and payload.tar.gz (the release tree: dist/src, node_modules, package.json,
 * hardware, config, systemd, the dashboard files). The manifest carries the payload's sha256, so the
 * one signature covers everything.
 */
export const MANIFEST = 'manifest.json';
export const SIGNATURE = 'manifest.sig';
export const PAYLOAD = 'payload.tar.gz';
const ENTRIES = [MANIFEST, SIGNATURE, PAYLOAD] as const;
const MAX_MANIFEST_BYTES = 64 * 1024;

export function bundleFileName(m: Pick<ReleaseManifest, 'version' | 'arch'>): string {
  return `evsed-${m.version}-${m.arch}.tar`;
}

export function privateKeyFrom(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the release signing key must be Ed25519 (got ${key.asymmetricKeyType ?? key.type})`);
  return key;
}

export function publicKeyFrom(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the release key must be an Ed25519 public key (got ${key.asymmetricKeyType ?? key.type})`);
  return key;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline((await import('node:fs')).createReadStream(file), hash);
  return hash.digest('hex');
}

/** Writes a signed bundle of `payloadFile` (a .tar.gz of the release tree). */
export async function packBundle(o: { manifest: ReleaseManifest; payloadFile: string; privateKey: KeyObject; outFile: string }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-bundle-'));
  try {
    const bytes = Buffer.from(`${JSON.stringify(o.manifest, null, 2)}\n`);
    writeFileSync(join(dir, MANIFEST), bytes);
    writeFileSync(join(dir, SIGNATURE), sign(null, bytes, o.privateKey));
    copyFileSync(o.payloadFile, join(dir, PAYLOAD));
    await tar.create({ file: o.outFile, cwd: dir, portable: true }, [...ENTRIES]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The manifest for a payload file (its size and sha256 measured here). */
export async function manifestFor(payloadFile: string, m: Omit<ReleaseManifest, 'name' | 'payloadSha256' | 'payloadBytes' | 'createdAt'> & { createdAt?: string }): Promise<ReleaseManifest> {
  return {
    name: 'evsed',
    version: m.version,
    node: m.node,
    arch: m.arch,
    payloadSha256: await sha256File(payloadFile),
    payloadBytes: statSync(payloadFile).size,
    createdAt: m.createdAt ?? new Date().toISOString(),
  };
}

export interface BundleContents {
  manifestBytes: Buffer;
  signature: Buffer;
  /** Of the payload entry as read now. */
  payloadSha256: string;
  payloadBytes: number;
}

/**
 * Reads a bundle once: its manifest, signature and the payload's measured sha256 and size.
 * Throws BundleRejected('format') for anything but the three entries as regular files in order.
 */
export async function readBundle(file: string): Promise<BundleContents> {
  const seen: string[] = [];
  let manifestBytes = Buffer.alloc(0);
  let signature = Buffer.alloc(0);
  const hash = createHash('sha256');
  let payloadBytes = 0;
  let problem: string | undefined;
  try {
    await tar.list({
      file,
      strict: true,
      onReadEntry: (e) => {
        const expected = ENTRIES[seen.length];
        seen.push(e.path);
        if (e.type !== 'File' || e.path !== expected) {
          problem ??= `entry ${seen.length} is ${e.type} ${JSON.stringify(e.path)}, expected the file ${expected ?? '(none: only three entries)'}`;
          e.resume();
          return;
        }
        if (e.path !== PAYLOAD && (e.size ?? 0) > MAX_MANIFEST_BYTES) {
          problem ??= `${e.path} is ${e.size} bytes (at most ${MAX_MANIFEST_BYTES})`;
          e.resume();
          return;
        }
        const chunks: Buffer[] = [];
        e.on('data', (d: Buffer) => {
          if (e.path === PAYLOAD) {
            hash.update(d);
            payloadBytes += d.length;
          } else chunks.push(d);
        });
        e.on('end', () => {
          if (e.path === MANIFEST) manifestBytes = Buffer.concat(chunks);
          if (e.path === SIGNATURE) signature = Buffer.concat(chunks);
        });
      },
    });
  } catch (err) {
    throw new BundleRejected('format', `${file}: not a release bundle (tar: ${(err as Error).message})`);
  }
  if (!problem && seen.length !== ENTRIES.length) problem = `it holds ${seen.length ? seen.join(', ') : 'nothing'}, expected ${ENTRIES.join(', ')}`;
  if (problem) throw new BundleRejected('format', `${file}: not a release bundle: ${problem}`);
  return { manifestBytes, signature, payloadSha256: hash.digest('hex'), payloadBytes };
}

const MANIFEST_FIELDS = { name: 'string', version: 'string', node: 'string', arch: 'string', payloadSha256: 'string', payloadBytes: 'number', createdAt: 'string' } as const;

export function parseManifest(bytes: Buffer): ReleaseManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new BundleRejected('format', `manifest.json is not JSON: ${(err as Error).message}`);
  }
  if (m === null || typeof m !== 'object') throw new BundleRejected('format', 'manifest.json is not an object');
  for (const [k, type] of Object.entries(MANIFEST_FIELDS)) {
    if (typeof m[k] !== type) throw new BundleRejected('format', `manifest.json: ${k} must be a ${type}`);
  }
  if (m.name !== 'evsed') throw new BundleRejected('format', `manifest.json: not an evsed release (name ${JSON.stringify(m.name)})`);
  // The version names a directory: nothing that could leave releases/.
  if (!/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/.test(m.version as string) || (m.version as string).includes('..')) {
    throw new BundleRejected('format', `manifest.json: version ${JSON.stringify(m.version)} is not a plain version such as 1.2.0`);
  }
  if (!/^[0-9a-f]{64}$/.test(m.payloadSha256 as string)) throw new BundleRejected('format', 'manifest.json: payloadSha256 must be 64 hex digits');
  return m as unknown as ReleaseManifest;
}

export function signatureValid(manifestBytes: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return signature.length === 64 && verifySignature(null, manifestBytes, key, signature);
  } catch {
    return false;
  }
}

/**
 * Unpacks the bundle's payload into `dir` (which must exist), hashing it on the way: a payload that
 * is not the one verified (the file changed since) throws BundleRejected('checksum') after the
 * fact; the caller removes `dir`. `onEntry` is called after each entry of the payload is written.
 */
export async function unpackPayload(bundle: string, dir: string, expectedSha256: string, onEntry?: (path: string) => void): Promise<void> {
  const hash = createHash('sha256');
  let done: Promise<void> | undefined;
  await tar.list({
    file: bundle,
    onReadEntry: (e) => {
      if (e.path !== PAYLOAD) {
        e.resume();
        return;
      }
      const hasher = new Writable({
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb();
        },
      });
      // Never another owner's files (as root tar would keep the archive's uid), never a path outside dir (tar's default).
      const extractor = tar.extract({ cwd: dir, strict: true, gzip: true, preserveOwner: false, onReadEntry: onEntry ? (x) => x.on('end', () => onEntry(x.path)) : undefined });
      e.pipe(hasher);
      done = new Promise<void>((resolve, reject) => {
        extractor.on('error', reject);
        extractor.on('close', () => resolve());
        e.on('error', reject);
      });
      e.pipe(extractor);
    },
  });
  if (!done) throw new BundleRejected('format', `${bundle}: no ${PAYLOAD}`);
  await done;
  const got = hash.digest('hex');
  if (got !== expectedSha256) throw new BundleRejected('checksum', `${PAYLOAD} changed since it was verified (sha256 ${got}, manifest ${expectedSha256})`);
}

export const readManifestFile = (file: string): ReleaseManifest => parseManifest(readFileSync(file));
