// Owns bearer tokens: HS256 JWTs signed with the configured secret, with an expiry, verified with
// the algorithm pinned (a token cannot choose "none" or another key type) and a verification
// cache, so that a client's repeated requests cost one HMAC, not one per request.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';

export interface TokenSubject {
  readonly userId: number;
  readonly username: string;
}

export type TokenProblem = 'expired' | 'invalid';

export interface Tokens {
  issue(subject: TokenSubject): string;
  /** The token's subject, or why it is refused. */
  verify(token: string): TokenSubject | TokenProblem;
}

/** Verified tokens remembered per process (fast-jwt evicts least recently used ones). */
const VERIFY_CACHE_ENTRIES = 10_000;

export function createTokens(options: {
  readonly secret: string;
  readonly ttlSeconds: number;
}): Tokens {
  const sign = createSigner({
    key: options.secret,
    algorithm: 'HS256',
    expiresIn: options.ttlSeconds * 1000,
  });
  const verifier = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    cache: VERIFY_CACHE_ENTRIES,
    requiredClaims: ['sub', 'name', 'exp'],
  });
  return {
    issue: ({ userId, username }) => sign({ sub: String(userId), name: username }),
    verify(token) {
      let payload: { sub?: unknown; name?: unknown };
      try {
        payload = verifier(token);
      } catch (err) {
        if (err instanceof TokenError && err.code === TokenError.codes.expired) return 'expired';
        return 'invalid';
      }
      const userId = Number(payload.sub);
      if (typeof payload.sub !== 'string' || !Number.isSafeInteger(userId) || userId < 1) {
        return 'invalid';
      }
      if (typeof payload.name !== 'string') return 'invalid';
      return { userId, username: payload.name };
    },
  };
}

const SECRET_FILE = 'jwt-secret';

/**
 * Embedded mode's signing secret: generated once and kept under the data directory (readable by
 * its owner only), so that tokens survive restarts without any configuration.
 */
export function developmentSecret(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, randomBytes(48).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${path} holds a secret shorter than 32 characters`);
  return secret;
}
