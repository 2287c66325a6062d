// Owns browser sessions: an opaque random token in an HttpOnly cookie, its SHA-256 and a CSRF
// token in the database, so that signing out ends the session at once, server-side, and a forged
// or stolen-from-the-table value signs nobody in.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type Database, SWEEP_BATCH_MAX, sweepInBatches } from '../../platform/database.ts';
import * as repository from './shop.repository.ts';

/** The session cookie's name. */
export const SESSION_COOKIE = 'coinworks_session';
/** Random bytes in a session token and in a CSRF token (256 bits each). */
const TOKEN_BYTES = 32;
/** Longest cookie value looked up; a real one is 43 characters. */
const TOKEN_LENGTH_MAX = 128;
/**
 * Sessions one user may hold at once (browsers, devices); signing in past it ends the oldest,
 * so a loop of sign-ins cannot fill the table for the sessions' lifetime.
 */
export const SESSIONS_PER_USER_MAX = 20;

export interface Sessions {
  /** A new session for this user: the cookie's token and the CSRF token. */
  open(userId: number): Promise<{ token: string; csrfToken: string }>;
  /** The live session of a cookie value; null when unknown, expired or malformed. */
  find(token: string): Promise<repository.StoredSession | null>;
  close(token: string): Promise<void>;
  /** Deletes expired sessions; returns how many. */
  sweep(): Promise<number>;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');

export function createSessions(deps: {
  readonly database: Database;
  readonly ttlSeconds: number;
}): Sessions {
  const { database, ttlSeconds } = deps;
  const wellFormed = (token: string) => token.length > 0 && token.length <= TOKEN_LENGTH_MAX;
  return {
    async open(userId) {
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      const csrfToken = randomBytes(TOKEN_BYTES).toString('base64url');
      await repository.insertSession(database, {
        tokenHash: hashOf(token),
        userId,
        csrfToken,
        ttlSeconds,
        perUserMax: SESSIONS_PER_USER_MAX,
      });
      return { token, csrfToken };
    },
    find: async (token) =>
      wellFormed(token) ? repository.findSession(database, hashOf(token)) : null,
    async close(token) {
      if (wellFormed(token)) await repository.deleteSession(database, hashOf(token));
    },
    sweep: () => sweepInBatches(() => repository.deleteExpiredSessions(database, SWEEP_BATCH_MAX)),
  };
}

/**
 * Every value of the session cookie in a Cookie header. More than one means another cookie of
 * the same name (set by a sibling subdomain or for a narrower path) is shadowing ours: such a
 * request is refused, never served as whichever came first.
 */
export function sessionTokens(cookieHeader: string | undefined): string[] {
  if (cookieHeader === undefined) return [];
  const prefix = `${SESSION_COOKIE}=`;
  return cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(prefix))
    .map((part) => safeDecode(part.slice(prefix.length)));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Whether the request reached us over HTTPS, directly or through a proxy that says so. */
export function overHttps(request: {
  readonly protocol: string;
  readonly headers: object;
}): boolean {
  // Trusting the header can only add Secure to a cookie, never take it away: no risk in it.
  const forwarded = (request.headers as IncomingHttpHeaders)['x-forwarded-proto'];
  return (
    request.protocol === 'https' || (typeof forwarded === 'string' && /^https\b/i.test(forwarded))
  );
}

/** Compares a request's CSRF header with the session's in constant time. */
export function csrfMatches(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
