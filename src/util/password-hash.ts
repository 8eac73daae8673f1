import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes as the config holds them (api.passwordHash): scrypt with a random salt, the
 * parameters in the string so a later default does not lock out an older hash. PHC string format:
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, salt and hash in base64 without padding.
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 bytes = 32 MiB and about 0.1 s on x86 (a few times that on a Pi) per check. */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

/**
 * What a hash may ask for: below ln 14 it is too cheap to guess against, above ln 20 (1 GiB at
 * r 8) a Pi cannot compute it. A typo in the config must not make the daemon allocate gigabytes.
 */
export const SCRYPT_BOUNDS = { ln: [14, 20], r: [1, 32], p: [1, 4] } as const;
export const MAX_SCRYPT_MEMORY = 128 * 2 ** SCRYPT_BOUNDS.ln[1] * 8;

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]{22,})\$([A-Za-z0-9+/]{43,})$/;

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** The parts of an encoded hash, or a text saying what is wrong with it. */
export function parsePasswordHash(encoded: string): ParsedHash | string {
  const m = FORMAT.exec(encoded);
  if (!m) return 'must be a hash written by `evsed passwd` ($scrypt$ln=…,r=…,p=…$salt$hash)';
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  for (const k of ['ln', 'r', 'p'] as const) {
    const [lo, hi] = SCRYPT_BOUNDS[k];
    if (params[k] < lo || params[k] > hi) return `${k}=${params[k]} is outside ${lo}..${hi}: set the password again with \`evsed passwd\``;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < SALT_BYTES || key.length !== KEY_BYTES) return 'salt or hash has the wrong length: set the password again with `evsed passwd`';
  return { params, salt, key };
}

function derive(password: string, salt: Buffer, { ln, r, p }: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: 2 ** ln, r, p, maxmem: MAX_SCRYPT_MEMORY + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** A new hash of `password` with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/** Whether `password` matches `encoded` (compared in constant time); false for a malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (typeof parsed === 'string') return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return timingSafeEqual(key, parsed.key);
}
