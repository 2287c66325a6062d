// Owns who a shop client is: login (registering unknown names on the spot, within the limits on
// failed sign-ins of shop.sign-in-limits.ts), tokens, and the memory of recent successful password
// checks that keeps scrypt off the hot path of repeated logins without weakening the stored hashes.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type Database, SWEEP_BATCH_MAX, sweepInBatches } from '../../platform/database.ts';
import { AppError } from '../../platform/errors.ts';
import { ExpiringMap } from '../../platform/expiring-map.ts';
import { HashQueueFullError, type PasswordHashing } from '../../platform/passwords.ts';
import type { TokenSubject, Tokens } from '../../platform/tokens.ts';
import { START_COINS } from './shop.catalog.ts';
import { shopErrors } from './shop.errors.ts';
import * as repository from './shop.repository.ts';
import { bearerToken, type Credentials } from './shop.requests.ts';
import { csrfMatches, type Sessions, sessionTokens } from './shop.sessions.ts';
import { clientAddress, type SignInLimits } from './shop.sign-in-limits.ts';

export interface ShopAuth {
  /**
   * The user these credentials belong to; an unknown username is registered first. `ip` is the
   * client's address, whose failed sign-ins and registrations are limited like the username's
   * failures: past either limit, a 429 AppError, and no password is hashed.
   */
  verify(credentials: Credentials, ip: string | undefined): Promise<TokenSubject>;
  /** A token for these credentials, as `verify` decides. */
  login(credentials: Credentials, ip: string | undefined): Promise<string>;
  /**
   * Who sent a request, or a 401 AppError: the Bearer token when there is an Authorization
   * header, else the session cookie; a `change` signed in by cookie must also carry the session's
   * CSRF token (a cross-site page can make the browser send the cookie, never the header).
   */
  authenticate(request: AuthRequest, change: boolean): Promise<TokenSubject>;
  /** Deletes the failure counters whose window has ended; returns how many. */
  sweepSignInFailures(): Promise<number>;
}

export interface AuthRequest {
  readonly headers: IncomingHttpHeaders;
}

/**
 * Recently verified (user, stored hash, password) triples, by an HMAC under a key that exists
 * only in this process's memory: nothing here can be checked offline against a guessed password,
 * and an entry stops matching as soon as the stored hash changes.
 */
export class VerifiedPasswords {
  private readonly key = randomBytes(32);
  private readonly entries: ExpiringMap<string, true>;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs: number, entriesMax: number, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
    this.entries = new ExpiringMap(ttlMs === 0 ? 0 : entriesMax, now);
  }

  private digest(userId: number, passwordHash: string, password: string): string {
    return createHmac('sha256', this.key)
      .update(`${userId}\0${passwordHash}\0${password}`)
      .digest('base64url');
  }

  has(userId: number, passwordHash: string, password: string): boolean {
    if (this.entries.size === 0) return false;
    return this.entries.get(this.digest(userId, passwordHash, password)) === true;
  }

  remember(userId: number, passwordHash: string, password: string): void {
    this.entries.set(this.digest(userId, passwordHash, password), true, this.now() + this.ttlMs);
  }

  get size(): number {
    return this.entries.size;
  }
}

export function createShopAuth(deps: {
  readonly database: Database;
  readonly tokens: Tokens;
  readonly verified: VerifiedPasswords;
  readonly sessions: Sessions;
  readonly hashing: PasswordHashing;
  readonly limits: SignInLimits;
}): ShopAuth {
  const { database, tokens, verified, sessions, hashing, limits } = deps;
  const { windowSeconds } = limits;

  /** A hash or check through the hashing queue; a full queue is a 429 at once, not a wait. */
  async function hashed<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw error instanceof HashQueueFullError ? limits.busy() : error;
    }
  }

  async function matches(
    user: repository.StoredCredentials,
    password: string,
    address: string,
  ): Promise<boolean> {
    if (verified.has(user.id, user.passwordHash, password)) return true;
    if (!(await hashed(() => hashing.verify(password, user.passwordHash, address)))) return false;
    verified.remember(user.id, user.passwordHash, password);
    return true;
  }

  /**
   * The subject when the password matches (forgetting the username's failures, if any were
   * counted); otherwise the failure is counted on the username and the address, then a 401.
   */
  async function subjectIfMatches(
    user: repository.StoredCredentials,
    credentials: Credentials,
    address: string,
    failuresCounted: boolean,
  ): Promise<TokenSubject> {
    const { username } = credentials;
    if (!(await matches(user, credentials.password, address))) {
      await repository.recordSignInFailure(database, { username, address, windowSeconds });
      throw new AppError(shopErrors.WRONG_PASSWORD);
    }
    if (failuresCounted) await repository.forgetSignInFailures(database, username);
    return { userId: user.id, username };
  }

  async function register(credentials: Credentials, address: string): Promise<TokenSubject> {
    const passwordHash = await hashed(() => hashing.hash(credentials.password, address));
    const id = await repository.insertUserCounted(database, {
      username: credentials.username,
      passwordHash,
      balance: START_COINS,
      address,
      windowSeconds,
    });
    if (id !== null) {
      verified.remember(id, passwordHash, credentials.password);
      return { userId: id, username: credentials.username };
    }
    // Another first login of this name won the insert: this one is now an ordinary login.
    const winner = await repository.findCredentials(database, credentials.username);
    assert(winner, 'a username that was just taken cannot be found');
    return subjectIfMatches(winner, credentials, address, false);
  }

  function bearer(authorization: string | undefined): TokenSubject {
    const subject = tokens.verify(bearerToken(authorization));
    if (subject === 'expired') throw new AppError(shopErrors.TOKEN_EXPIRED);
    if (subject === 'invalid') throw new AppError(shopErrors.TOKEN_INVALID);
    return subject;
  }

  const auth: ShopAuth = {
    async verify(credentials, ip) {
      const address = clientAddress(ip);
      const { user, counts } = await repository.findSignIn(database, {
        username: credentials.username,
        address,
        windowSeconds,
      });
      // Refused here, before any hash, also with the right password: a limit that let the right
      // one through would still answer every guess.
      const release = limits.admit(user ? credentials.username : null, address, counts);
      try {
        if (!user) return await register(credentials, address);
        return await subjectIfMatches(user, credentials, address, counts.user.failures > 0);
      } finally {
        release();
      }
    },

    login: async (credentials, ip) => tokens.issue(await auth.verify(credentials, ip)),

    async authenticate(request, change) {
      const cookies = sessionTokens(request.headers.cookie);
      if (request.headers.authorization !== undefined || cookies.length === 0) {
        return bearer(request.headers.authorization);
      }
      const [cookie] = cookies;
      const session = cookies.length === 1 && cookie ? await sessions.find(cookie) : null;
      if (!session) throw new AppError(shopErrors.SESSION_INVALID);
      if (change && !csrfMatches(request.headers['x-csrf-token'], session.csrfToken)) {
        throw new AppError(shopErrors.CSRF_MISMATCH);
      }
      return { userId: session.userId, username: session.username };
    },

    sweepSignInFailures: () =>
      sweepInBatches(() =>
        repository.deleteEndedSignInWindows(database, windowSeconds, SWEEP_BATCH_MAX),
      ),
  };
  return auth;
}
