// The limits on password guessing through app.inject, on the file's in-memory PGlite: failed
// sign-ins per username and per client address (registrations count on the address), shared by
// /api/auth and /api/session, refused with 429, Retry-After and the shop's body before any hash
// (counted by the service's own password_hashes_total), reset by a success, ended by the window;
// and the password hashing queue, which refuses at once beyond its bound and keeps a turn for
// another address while one floods it.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, test } from 'vitest';
import { deleteEndedSignInWindows } from '../../src/features/shop/shop.repository.ts';
import { statement } from '../../src/platform/database.ts';
import { HASHES_IN_FLIGHT_MAX, partySlotsOf } from '../../src/platform/passwords.ts';
import { buildTestApp } from '../support/app.ts';
import { memoryDatabase } from '../support/database.ts';
import { uniqueName } from '../support/shop.ts';

/** The limits of most tests here: small, so that reaching them costs few hashes. */
const PER_USER = 3;
const PER_ADDRESS = 8;
const WINDOW_SECONDS = 60;
/** Each test pays a few dozen hashes at most; a busy 2-core machine takes seconds for them. */
const TEST_TIMEOUT_MS = 60_000;
/** Slack for a busy 2-core machine between a window's start and the test reading its end. */
const CLOCK_SLACK_SECONDS = 5;

let app: FastifyInstance;
beforeAll(async () => {
  ({ app } = await buildTestApp({
    SHOP_SIGN_IN_FAILURES_PER_USER: String(PER_USER),
    SHOP_SIGN_IN_FAILURES_PER_ADDRESS: String(PER_ADDRESS),
    SHOP_SIGN_IN_WINDOW_SECONDS: String(WINDOW_SECONDS),
  }));
});

type Route = '/api/auth' | '/api/session';

function signIn(
  target: FastifyInstance,
  username: string,
  password: string,
  remoteAddress: string,
  url: Route = '/api/auth',
): Promise<LightMyRequestResponse> {
  return target.inject({
    method: 'POST',
    url,
    remoteAddress,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username, password }),
  });
}

/** How many password hashes and checks the app has run, from its own /metrics. */
async function hashes(target: FastifyInstance = app): Promise<number> {
  const text = (await target.inject({ url: '/metrics' })).body;
  const match = /^password_hashes_total (\d+)$/m.exec(text);
  if (!match) throw new Error('no password_hashes_total in /metrics');
  return Number(match[1]);
}

function expectStatus(response: LightMyRequestResponse, status: number): void {
  expect(response.statusCode, response.body).toBe(status);
}

/** Checks a 429 in the shop's body and returns its Retry-After, which the message repeats. */
function expectRefused(response: LightMyRequestResponse, reason: RegExp): number {
  expectStatus(response, 429);
  const body = response.json();
  expect(Object.keys(body)).toEqual(['errors']);
  expect(body.errors).toMatch(reason);
  const header = response.headers['retry-after'];
  expect(header).toMatch(/^\d+$/);
  const retryAfter = Number(header);
  expect(body.errors).toContain(`try again in ${retryAfter} s`);
  return retryAfter;
}

const USER_LIMIT = /^too many failed sign-ins for this username/;
const ADDRESS_LIMIT = /^too many failed sign-ins from this address/;

interface Counter {
  readonly failures: number;
  /** The window's start, in ms since the epoch. */
  readonly started: number;
}

async function counterOf(scope: 'user' | 'address', key: string): Promise<Counter | undefined> {
  const db = await memoryDatabase();
  const [row] = await db.query<Counter>(
    statement(
      'read_sign_in_counter',
      `SELECT failures, (extract(epoch FROM window_started_at) * 1000)::float8 AS started
       FROM shop_sign_in_failures WHERE scope = $1 AND key = $2`,
    ),
    [scope, key],
  );
  return row;
}

/** Moves a counter's window back by `seconds`, as time passing would. */
async function shiftWindow(scope: 'user' | 'address', key: string, seconds: number) {
  const db = await memoryDatabase();
  await db.query(
    statement(
      'shift_sign_in_window',
      `UPDATE shop_sign_in_failures
       SET window_started_at = window_started_at - make_interval(secs => $3::int)
       WHERE scope = $1 AND key = $2`,
    ),
    [scope, key, seconds],
  );
}

async function usersNamed(names: readonly string[]): Promise<number> {
  const db = await memoryDatabase();
  const [row] = await db.query<{ count: number }>(
    statement(
      'count_users_named',
      'SELECT count(*)::int AS count FROM shop_users WHERE username = ANY($1::text[])',
    ),
    [names],
  );
  return row?.count ?? 0;
}

describe('the username limit', { timeout: TEST_TIMEOUT_MS }, () => {
  test(`after ${PER_USER} wrong passwords the next sign-in is a 429 with Retry-After, right password or not, from any address, with no hash`, async () => {
    const name = uniqueName();
    expectStatus(await signIn(app, name, 'right', '192.0.2.1'), 200);
    const before = await hashes();
    for (let i = 0; i < PER_USER; i += 1) {
      const wrong = await signIn(app, name, `wrong-${i}`, '192.0.2.1');
      expectStatus(wrong, 401);
      expect(wrong.json()).toEqual({ errors: 'wrong password' });
    }
    expect(await hashes()).toBe(before + PER_USER);
    const retryAfter = expectRefused(await signIn(app, name, 'wrong', '192.0.2.1'), USER_LIMIT);
    expect(retryAfter).toBeGreaterThan(WINDOW_SECONDS - CLOCK_SLACK_SECONDS);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    // The right password too (even though this process remembers it), and from elsewhere.
    expectRefused(await signIn(app, name, 'right', '192.0.2.1'), USER_LIMIT);
    expectRefused(await signIn(app, name, 'right', '192.0.2.99'), USER_LIMIT);
    expectRefused(await signIn(app, name, 'right', '192.0.2.99', '/api/session'), USER_LIMIT);
    expect(await hashes()).toBe(before + PER_USER);
    // Bad input is still told apart first.
    const bad = await app.inject({
      method: 'POST',
      url: '/api/auth',
      remoteAddress: '192.0.2.1',
      payload: { username: name },
    });
    expectStatus(bad, 400);
  });

  test('parallel wrong guesses cannot all pass a count read before any of them was recorded', async () => {
    const name = uniqueName();
    expectStatus(await signIn(app, name, 'right', '192.0.2.2'), 200);
    const before = await hashes();
    const guesses = Array.from({ length: 16 }, (_, i) =>
      signIn(app, name, `guess-${i}`, `192.0.2.${100 + i}`),
    );
    const statuses = (await Promise.all(guesses)).map((r) => r.statusCode).sort();
    expect(statuses).toEqual([...Array(PER_USER).fill(401), ...Array(16 - PER_USER).fill(429)]);
    expect(await hashes()).toBe(before + PER_USER);
  });

  test("a successful sign-in resets the username's count", async () => {
    const name = uniqueName();
    expectStatus(await signIn(app, name, 'right', '192.0.2.3'), 200);
    for (let i = 0; i < PER_USER - 1; i += 1) {
      expectStatus(await signIn(app, name, 'wrong', '192.0.2.3'), 401);
    }
    expectStatus(await signIn(app, name, 'right', '192.0.2.3'), 200);
    // A whole budget again: without the reset the second of these would be refused.
    for (let i = 0; i < PER_USER; i += 1) {
      expectStatus(await signIn(app, name, 'wrong', '192.0.2.3'), 401);
    }
    expectRefused(await signIn(app, name, 'wrong', '192.0.2.3'), USER_LIMIT);
  });

  test('/api/auth and /api/session spend one budget, and a session sign-in resets it too', async () => {
    const name = uniqueName();
    expectStatus(await signIn(app, name, 'right', '192.0.2.4', '/api/session'), 200);
    expectStatus(await signIn(app, name, 'wrong', '192.0.2.4', '/api/auth'), 401);
    const wrongSession = await signIn(app, name, 'wrong', '192.0.2.4', '/api/session');
    expectStatus(wrongSession, 401);
    expect(wrongSession.cookies).toEqual([]);
    expectStatus(await signIn(app, name, 'right', '192.0.2.4', '/api/session'), 200);
    for (let i = 0; i < PER_USER; i += 1) {
      const url = i % 2 === 0 ? '/api/session' : '/api/auth';
      expectStatus(await signIn(app, name, 'wrong', '192.0.2.4', url), 401);
    }
    const refused = await signIn(app, name, 'right', '192.0.2.4', '/api/session');
    expectRefused(refused, USER_LIMIT);
    expect(refused.cookies).toEqual([]);
    expectRefused(await signIn(app, name, 'right', '192.0.2.4', '/api/auth'), USER_LIMIT);
  });

  test('refused attempts neither count nor extend the window, and the lock ends with it', async () => {
    const name = uniqueName();
    expectStatus(await signIn(app, name, 'right', '192.0.2.5'), 200);
    for (let i = 0; i < PER_USER; i += 1) {
      expectStatus(await signIn(app, name, 'wrong', '192.0.2.5'), 401);
    }
    const locked = await counterOf('user', name);
    expect(locked?.failures).toBe(PER_USER);
    for (let i = 0; i < 3; i += 1) {
      expectRefused(await signIn(app, name, 'wrong', '192.0.2.5'), USER_LIMIT);
    }
    expect(await counterOf('user', name)).toEqual(locked);

    // The window's start moved back by its length: the window is over, as it would be by now.
    await shiftWindow('user', name, WINDOW_SECONDS);
    expectStatus(await signIn(app, name, 'wrong', '192.0.2.5'), 401);
    const fresh = await counterOf('user', name);
    expect(fresh?.failures).toBe(1);
    expect(Number(fresh?.started)).toBeGreaterThan(Number(locked?.started));
    expectStatus(await signIn(app, name, 'right', '192.0.2.5'), 200);
    expect(await counterOf('user', name)).toBeUndefined();

    // Ended windows are swept; live ones stay.
    expectStatus(await signIn(app, name, 'wrong', '192.0.2.6'), 401);
    await shiftWindow('address', '192.0.2.5', WINDOW_SECONDS);
    const db = await memoryDatabase();
    expect(await deleteEndedSignInWindows(db, WINDOW_SECONDS, 1_000)).toBeGreaterThanOrEqual(1);
    expect(await counterOf('address', '192.0.2.5')).toBeUndefined();
    expect(await counterOf('address', '192.0.2.6')).toMatchObject({ failures: 1 });
    expect(await counterOf('user', name)).toMatchObject({ failures: 1 });
  });
});

describe('the address limit', { timeout: TEST_TIMEOUT_MS }, () => {
  test(`${PER_ADDRESS} registrations and failures from one address, over many names, refuse its next sign-in, whoever it is for`, async () => {
    const address = '198.51.100.1';
    const names = Array.from({ length: PER_ADDRESS / 2 }, () => uniqueName());
    for (const name of names) expectStatus(await signIn(app, name, 'right', address), 200);
    for (const name of names) expectStatus(await signIn(app, name, 'wrong', address), 401);
    const before = await hashes();
    const newcomer = uniqueName();
    expectRefused(await signIn(app, newcomer, 'right', address), ADDRESS_LIMIT);
    expectRefused(await signIn(app, names[0] as string, 'right', address), ADDRESS_LIMIT);
    expectRefused(
      await signIn(app, names[1] as string, 'right', address, '/api/session'),
      ADDRESS_LIMIT,
    );
    expect(await hashes()).toBe(before);
    expect(await usersNamed([newcomer])).toBe(0);
    // Each of those users failed once only: from another address they still sign in.
    expectStatus(await signIn(app, names[0] as string, 'right', '198.51.100.2'), 200);
    expectStatus(await signIn(app, newcomer, 'right', '198.51.100.2'), 200);
  });

  test('a flood of new names from one address registers no more than its limit, also all at once', async () => {
    const names = Array.from({ length: 20 }, () => uniqueName('flood'));
    const responses = await Promise.all(
      names.map((name) => signIn(app, name, 'pw', '198.51.100.3')),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(PER_ADDRESS);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - PER_ADDRESS);
    for (const r of responses.filter((r) => r.statusCode === 429)) expectRefused(r, ADDRESS_LIMIT);
    expect(await usersNamed(names)).toBe(PER_ADDRESS);
    expectRefused(await signIn(app, uniqueName(), 'pw', '198.51.100.3'), ADDRESS_LIMIT);
  });

  test('IPv6 clients are counted by their /64, IPv4-mapped ones as IPv4', async () => {
    const { app: tight } = await buildTestApp({ SHOP_SIGN_IN_FAILURES_PER_ADDRESS: '2' });
    const register = (address: string) => signIn(tight, uniqueName(), 'pw', address);
    expectStatus(await register('2001:db8:1:2::1'), 200);
    expectStatus(await register('2001:0db8:0001:0002:0000:0000:0000:00ff'), 200);
    expectRefused(await register('2001:db8:1:2:ffff::1'), ADDRESS_LIMIT);
    expectStatus(await register('2001:db8:1:3::1'), 200);

    expectStatus(await register('::ffff:198.51.100.4'), 200);
    expectStatus(await register('198.51.100.4'), 200);
    expectRefused(await register('::FFFF:198.51.100.4'), ADDRESS_LIMIT);
  });

  test('behind a proxy in HTTP_TRUSTED_PROXIES the client is the X-Forwarded-For hop; otherwise the peer', async () => {
    const balancer = '10.1.2.3';
    const behind = (target: FastifyInstance, client: string) =>
      target.inject({
        method: 'POST',
        url: '/api/auth',
        remoteAddress: balancer,
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': `203.0.113.9, ${client}`,
        },
        payload: JSON.stringify({ username: uniqueName(), password: 'pw' }),
      });
    const limits = { SHOP_SIGN_IN_FAILURES_PER_ADDRESS: '2' };
    const { app: trusting } = await buildTestApp({ ...limits, HTTP_TRUSTED_PROXIES: '10.0.0.0/8' });
    expectStatus(await behind(trusting, '198.51.100.7'), 200);
    expectStatus(await behind(trusting, '198.51.100.7'), 200);
    expectRefused(await behind(trusting, '198.51.100.7'), ADDRESS_LIMIT);
    // Another client behind the same balancer has a budget of its own.
    expectStatus(await behind(trusting, '198.51.100.8'), 200);

    // Unset, the header is not believed: every client behind the balancer is the balancer.
    const { app: plain } = await buildTestApp(limits);
    expectStatus(await behind(plain, '198.51.100.7'), 200);
    expectStatus(await behind(plain, '198.51.100.8'), 200);
    expectRefused(await behind(plain, '198.51.100.9'), ADDRESS_LIMIT);
  });
});

test('the OpenAPI document lists the 429 of both sign-in routes', async () => {
  const doc = (await app.inject({ url: '/docs/json' })).json();
  for (const operation of [doc.paths['/api/auth'].post, doc.paths['/api/session'].post]) {
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '429', '500']);
    expect(operation.responses['429'].description).toMatch(/Retry-After/);
  }
});

describe('the password hashing queue', { timeout: TEST_TIMEOUT_MS }, () => {
  test('beyond its bound a sign-in gets 429 with Retry-After: 1 at once, and another address still gets a slot', async () => {
    const queueMax = 2;
    const { app: small } = await buildTestApp({
      PASSWORD_HASH_QUEUE_MAX: String(queueMax),
      SHOP_SIGN_IN_FAILURES_PER_ADDRESS: '1000',
    });
    const started = Date.now();
    const timed = (request: Promise<LightMyRequestResponse>) =>
      request.then((response) => ({ response, ms: Date.now() - started }));
    const flood = Array.from({ length: 12 }, () =>
      timed(signIn(small, uniqueName('flood'), 'pw', '203.0.113.1')),
    );
    const other = timed(signIn(small, uniqueName('other'), 'pw', '203.0.113.2'));
    const flooded = await Promise.all(flood);
    const { response: otherResponse, ms: otherMs } = await other;
    expectStatus(otherResponse, 200);

    const done = flooded.filter(({ response }) => response.statusCode === 200);
    const refused = flooded.filter(({ response }) => response.statusCode === 429);
    // The flood ran all the slots but one and filled the queue; the other address took the slot
    // left free (with a single slot, none is left: it took the place of the flood's newest).
    const slots = partySlotsOf(HASHES_IN_FLIGHT_MAX);
    expect(done).toHaveLength(slots + queueMax - (slots < HASHES_IN_FLIGHT_MAX ? 0 : 1));
    expect(refused).toHaveLength(12 - done.length);
    for (const { response } of refused) {
      expect(expectRefused(response, /^too many sign-ins are waiting for a password check/)).toBe(
        1,
      );
    }
    // Refused without waiting for any hash: all of them before the last hash finished.
    const lastHashed = Math.max(...done.map(({ ms }) => ms));
    expect(Math.max(...refused.map(({ ms }) => ms))).toBeLessThan(lastHashed);
    // And the other address did not wait behind the flood's queue.
    expect(otherMs).toBeLessThan(lastHashed);
  });
});
