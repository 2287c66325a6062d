// Builds scoring API requests the way a real client does, with valid tokens by default; the
// cache's documented key layout, computed independently of the service's code; and the short
// limits the outage tests (fault proxies, a Cluster master down, a Sentinel failover) run under.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { adminToken, userToken } from '../../src/features/scoring/scoring.auth.ts';

export const SALT = 'Otus';
export const ADMIN_SALT = '42';

export interface Envelope {
  account?: unknown;
  login?: unknown;
  token?: unknown;
  method?: unknown;
  arguments?: unknown;
}

/** Sets the token a correct client would send for this envelope at `now`. */
export function withValidToken<T extends Envelope>(request: T, now = new Date()): T {
  const token =
    request.login === 'admin'
      ? adminToken(now, ADMIN_SALT)
      : userToken((request.account as string) ?? '', (request.login as string) ?? '', SALT);
  return { ...request, token };
}

export function scoreRequest(args: unknown, login = 'h&f'): Envelope {
  return withValidToken({ account: 'horns&hoofs', login, method: 'online_score', arguments: args });
}

export function interestsRequest(args: unknown): Envelope {
  return withValidToken({
    account: 'horns&hoofs',
    login: 'h&f',
    method: 'clients_interests',
    arguments: args,
  });
}

/** The cache key the README documents for a score's fields, without the key prefix. */
export function documentedKey(parts: readonly string[]): string {
  const encoded = parts.map((p) => `${Buffer.byteLength(p)}:${p},`).join('');
  return `uid:${createHash('sha256').update(encoded).digest('hex')}`;
}

/**
 * Limits short enough that an outage is seen within a test: a command times out in tens of ms
 * and interests give up within SCORING_STORE_BUDGET_MS.
 */
export const OUTAGE_LIMITS = {
  REDIS_CONNECT_TIMEOUT_MS: 100,
  SCORING_CACHE_TIMEOUT_MS: 50,
  SCORING_CACHE_BREAKER_COOLDOWN_MS: 50,
  SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS: 200,
  SCORING_STORE_TIMEOUT_MS: 100,
  SCORING_STORE_RECONNECT_ATTEMPTS_MAX: 3,
  SCORING_STORE_BACKOFF_MS: 10,
  SCORING_STORE_BUDGET_MS: 800,
} as const;

/** Numeric settings as the environment holds them. */
export const asEnv = (settings: Readonly<Record<string, number>>): Record<string, string> =>
  Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v)]));

/** POST /method through app.inject, timed: the status, the parsed body, the headers and the ms. */
export async function callMethod(app: FastifyInstance, body: object) {
  const started = performance.now();
  const response = await app.inject({ method: 'POST', url: '/method', payload: body });
  return {
    status: response.statusCode,
    json: response.json(),
    headers: response.headers,
    ms: performance.now() - started,
  };
}
