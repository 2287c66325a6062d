// Owns password storage: scrypt from node:crypto, run on libuv's thread pool so that hashing never
// blocks the event loop, in a self-describing format so that parameters can be raised later
// without invalidating the hashes already stored.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. */
  readonly log2N: number;
  readonly blockSize: number;
  readonly parallelism: number;
}

/**
 * N = 2^16, r = 8, p = 1: 64 MiB and about 120 ms per hash on the reference 2-core machine,
 * four times Node's default cost. Recent successful logins are remembered by the shop (see
 * shop.auth.ts), so this cost is paid once per user and process, not per login.
 */
export const SCRYPT_DEFAULTS: ScryptParameters = { log2N: 16, blockSize: 8, parallelism: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on parameters read back from storage, so that a corrupt row cannot exhaust memory. */
const LOG2N_MAX = 20;
const BLOCK_SIZE_MAX = 32;
const PARALLELISM_MAX = 16;

function derive(password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.log2N;
  const options = {
    N,
    r: params.blockSize,
    p: params.parallelism,
    maxmem: 2 * 128 * N * params.blockSize + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `$scrypt$ln=16,r=8,p=1$<salt>$<key>`, salt and key in unpadded base64. */
export async function hashPassword(
  password: string,
  params: ScryptParameters = SCRYPT_DEFAULTS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  const settings = `ln=${params.log2N},r=${params.blockSize},p=${params.parallelism}`;
  return `$scrypt$${settings}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const ENCODED = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([\w-]+)\$([\w-]+)$/;

/** True when `password` matches `encoded`; throws on a stored value this module did not write. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = ENCODED.exec(encoded);
  if (!match) throw new Error('stored password hash has an unknown format');
  const params = {
    log2N: Number(match[1]),
    blockSize: Number(match[2]),
    parallelism: Number(match[3]),
  };
  if (
    params.log2N < 1 ||
    params.log2N > LOG2N_MAX ||
    params.blockSize < 1 ||
    params.blockSize > BLOCK_SIZE_MAX ||
    params.parallelism < 1 ||
    params.parallelism > PARALLELISM_MAX
  ) {
    throw new Error('stored password hash has out-of-range parameters');
  }
  const expected = Buffer.from(match[5] as string, 'base64url');
  const key = await derive(password, Buffer.from(match[4] as string, 'base64url'), params);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
