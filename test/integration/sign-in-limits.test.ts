// The limits on password guessing on the real PostgreSQL, in a database of this file's own: two
// instances of the service on one database (as behind a load balancer) spend one budget per
// username and per client address; and a flood of wrong passwords and new names leaves another
// client's sign-in, which needs a hash of its own, within 3× of its idle latency.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { beforeAll, expect, test } from 'vitest';
import { buildTestApp } from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { uniqueName } from '../support/shop.ts';

const database = ownPostgresDatabase();

const PER_USER = 4;
const PER_ADDRESS = 10;
/** A busy 2-core machine runs each of these tests in seconds; their bound is generous. */
const TEST_TIMEOUT_MS = 120_000;
/**
 * The victim's sign-ins are timed in phases, idle and flooded in turn (idle first and last):
 * this many per phase, in this many flooded phases; the medians are compared.
 */
const SAMPLES_PER_PHASE = 2;
const FLOOD_ROUNDS = 3;
/** How much slower than idle the victim's median sign-in may be during the flood. */
const SLOWDOWN_MAX = 3;
/**
 * Clients of the flood, each sending its next request when the last is answered: fewer than the
 * hashing slots and queue hold (PASSWORD_HASH_QUEUE_MAX, 32 by default), so that none of them
 * is refused and every request of the flood costs a hash; enough that a victim queued behind
 * them in arrival order would wait for five hashes or more.
 */
const FLOOD_CLIENTS = 12;
/** How long a flood runs before the victim is timed in it, to fill the queue. */
const FLOOD_FILL_MS = 300;
/** Bounds on the floods, whatever happens: requests in all, and time from the first. */
const FLOOD_REQUESTS_MAX = 1_000;
const FLOOD_MAX_MS = 60_000;

function signIn(
  app: FastifyInstance,
  username: string,
  password: string,
  remoteAddress: string,
  url = '/api/auth',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username, password }),
  });
}

async function hashes(app: FastifyInstance): Promise<number> {
  const match = /^password_hashes_total (\d+)$/m.exec((await app.inject({ url: '/metrics' })).body);
  if (!match) throw new Error('no password_hashes_total in /metrics');
  return Number(match[1]);
}

function expectStatus(response: LightMyRequestResponse, status: number): void {
  expect(response.statusCode, response.body).toBe(status);
}

function expectRefused(response: LightMyRequestResponse, reason: RegExp): void {
  expectStatus(response, 429);
  expect(response.json().errors).toMatch(reason);
  expect(response.headers['retry-after']).toMatch(/^\d+$/);
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

describeWithPostgres('sign-in limits on PostgreSQL', () => {
  let apps: [FastifyInstance, FastifyInstance];
  beforeAll(async () => {
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '4',
      SHOP_SIGN_IN_FAILURES_PER_USER: String(PER_USER),
      SHOP_SIGN_IN_FAILURES_PER_ADDRESS: String(PER_ADDRESS),
    };
    apps = [(await buildTestApp(env)).app, (await buildTestApp(env)).app];
  });

  test(
    'two instances spend one budget per username: failures on either lock both, a success on either resets it',
    async () => {
      const [a, b] = apps;
      const name = uniqueName();
      expectStatus(await signIn(a, name, 'right', '192.0.2.1'), 200);
      for (let i = 0; i < PER_USER; i += 1) {
        expectStatus(await signIn(i % 2 === 0 ? a : b, name, 'wrong', '192.0.2.1'), 401);
      }
      const before = [await hashes(a), await hashes(b)];
      // Instance a remembers the right password, b never checked it: both refuse without a hash.
      expectRefused(await signIn(a, name, 'right', '192.0.2.1'), /for this username/);
      expectRefused(await signIn(b, name, 'right', '192.0.2.2', '/api/session'), /username/);
      expect([await hashes(a), await hashes(b)]).toEqual(before);

      const other = uniqueName();
      expectStatus(await signIn(b, other, 'right', '192.0.2.3'), 200);
      for (let i = 0; i < PER_USER - 1; i += 1) {
        expectStatus(await signIn(b, other, 'wrong', '192.0.2.3'), 401);
      }
      expectStatus(await signIn(a, other, 'right', '192.0.2.3'), 200);
      for (let i = 0; i < PER_USER; i += 1) {
        expectStatus(await signIn(i % 2 === 0 ? b : a, other, 'wrong', '192.0.2.3'), 401);
      }
      expectRefused(await signIn(b, other, 'wrong', '192.0.2.3'), /for this username/);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'two instances spend one budget per address, registrations included',
    async () => {
      const [a, b] = apps;
      const address = '198.51.100.1';
      for (let i = 0; i < PER_ADDRESS; i += 1) {
        expectStatus(await signIn(i % 2 === 0 ? a : b, uniqueName(), 'pw', address), 200);
      }
      expectRefused(await signIn(a, uniqueName(), 'pw', address), /from this address/);
      expectRefused(await signIn(b, uniqueName(), 'pw', address), /from this address/);
      expectStatus(await signIn(b, uniqueName(), 'pw', '198.51.100.2'), 200);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'parallel guesses on two instances pass at most the limit on each, then none',
    async () => {
      const [a, b] = apps;
      const name = uniqueName();
      expectStatus(await signIn(a, name, 'right', '192.0.2.10'), 200);
      const guesses = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          signIn(i % 2 === 0 ? a : b, name, `guess-${i}`, `192.0.2.${20 + i}`),
        ),
      );
      const checked = guesses.filter((r) => r.statusCode === 401).length;
      expect(guesses.filter((r) => r.statusCode === 429)).toHaveLength(16 - checked);
      // Each instance counts its own checks in flight; the other's it sees once recorded.
      expect(checked).toBeGreaterThanOrEqual(PER_USER);
      expect(checked).toBeLessThanOrEqual(2 * PER_USER);
      expectRefused(await signIn(b, name, 'right', '192.0.2.10'), /for this username/);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a flood of wrong passwords and new names leaves another client's sign-in within 3× its idle latency",
    async ({ annotate }) => {
      // Every sign-in of the victim pays a hash (nothing is remembered), and the flood is not
      // stopped by the failure limits: only the hashing queue's fairness keeps the victim fast.
      const { app } = await buildTestApp({
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '8',
        SHOP_AUTH_CACHE_TTL_SECONDS: '0',
        SHOP_SIGN_IN_FAILURES_PER_USER: '1000000',
        SHOP_SIGN_IN_FAILURES_PER_ADDRESS: '1000000',
      });
      const victim = uniqueName('victim');
      expectStatus(await signIn(app, victim, 'right', '192.0.2.200'), 200);
      const timedSignIn = async () => {
        const started = performance.now();
        expectStatus(await signIn(app, victim, 'right', '192.0.2.200'), 200);
        return performance.now() - started;
      };
      const targets = Array.from({ length: 4 }, () => uniqueName('target'));
      for (const target of targets) {
        expectStatus(await signIn(app, target, 'x', '203.0.113.9'), 200);
      }
      let sent = 0;
      /** Set when the flood hit one of its bounds while the victim was still being timed. */
      let exhausted = false;
      const statuses = new Map<number, number>();
      const floodStarted = performance.now();
      /** Floods while `during` runs; then the clients' last requests are awaited. */
      async function flooding<T>(during: () => Promise<T>): Promise<T> {
        let stop = false;
        const client = async (n: number) => {
          while (!stop) {
            if (sent >= FLOOD_REQUESTS_MAX || performance.now() - floodStarted > FLOOD_MAX_MS) {
              exhausted = true;
              return;
            }
            sent += 1;
            const wrong = sent % 2 === 0;
            const name = wrong ? (targets[n % targets.length] as string) : uniqueName('flood');
            const response = await signIn(app, name, `guess-${sent}`, '203.0.113.1');
            statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          }
        };
        const clients = Promise.all(Array.from({ length: FLOOD_CLIENTS }, (_, n) => client(n)));
        try {
          // Let the flood fill the hashing queue before the first sample.
          await new Promise((resolve) => setTimeout(resolve, FLOOD_FILL_MS));
          return await during();
        } finally {
          stop = true;
          await clients;
        }
      }
      const sample = async (into: number[]) => {
        for (let i = 0; i < SAMPLES_PER_PHASE; i += 1) into.push(await timedSignIn());
      };
      // Idle and flooded phases alternate, so that the machine's own load drifting (other work
      // on it) biases the comparison neither way.
      const idle: number[] = [];
      const flooded: number[] = [];
      await sample(idle);
      for (let round = 0; round < FLOOD_ROUNDS; round += 1) {
        await flooding(() => sample(flooded));
        await sample(idle);
      }
      const summary = { idle, flooded, sent, exhausted, statuses: Object.fromEntries(statuses) };
      // Every sample ran under the flood: a victim starved until the flood gave up fails here.
      expect(exhausted, JSON.stringify(summary)).toBe(false);
      // The flood was real: it kept hashing throughout (wrong passwords and new names).
      expect(statuses.get(401) ?? 0, JSON.stringify(summary)).toBeGreaterThan(flooded.length);
      expect(statuses.get(200) ?? 0, JSON.stringify(summary)).toBeGreaterThan(flooded.length);
      expect(median(flooded), JSON.stringify(summary)).toBeLessThan(SLOWDOWN_MAX * median(idle));
      await annotate(
        `victim's sign-in, medians: ${median(idle).toFixed(0)} ms idle, ` +
          `${median(flooded).toFixed(0)} ms flooded (${(median(flooded) / median(idle)).toFixed(2)}×); ` +
          `flood: ${sent} sign-ins, ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
