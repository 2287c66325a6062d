// The browser session through app.inject: the sign-in-then-protected-data flow of seed 004 and its
// hostile variants (no, forged, expired and signed-out cookies; changes without or with a wrong
// CSRF token, GET /api/buy among them), on the file's in-memory PGlite.
import type { LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, test } from 'vitest';
import { SESSION_COOKIE, SESSIONS_PER_USER_MAX } from '../../src/features/shop/shop.sessions.ts';
import { statement } from '../../src/platform/database.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { memoryDatabase } from '../support/database.ts';
import { type ShopClient, shopClient, uniqueName } from '../support/shop.ts';

let t: TestApp;
let shop: ShopClient;
beforeAll(async () => {
  t = await buildTestApp({ SHOP_SESSION_TTL_SECONDS: '3600' });
  shop = shopClient(t.app);
});

interface Browser {
  readonly username: string;
  readonly cookie: string;
  readonly csrf: string;
}

function cookieOf(response: LightMyRequestResponse): string {
  const set = response.cookies.find((c) => c.name === SESSION_COOKIE);
  if (!set) throw new Error(`no session cookie in ${JSON.stringify(response.headers)}`);
  return set.value;
}

const signIn = (username: string, password = 'correct horse') =>
  t.app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username, password }),
  });

async function browser(username = uniqueName()): Promise<Browser> {
  const response = await signIn(username);
  expect(response.statusCode, response.body).toBe(200);
  return { username, cookie: cookieOf(response), csrf: response.json().csrf_token };
}

const withCookie = (cookie: string, headers: Record<string, string> = {}) => ({
  cookie: `${SESSION_COOKIE}=${cookie}`,
  ...headers,
});
const whoAmI = (cookie: string) =>
  t.app.inject({ url: '/api/session', headers: withCookie(cookie) });
const coinsOf = async (b: Browser) => (await whoAmI(b.cookie)).json().coins;

function expectUnauthorized(response: LightMyRequestResponse, message: string | RegExp) {
  expect(response.statusCode).toBe(401);
  expect(response.json().errors).toMatch(message);
}

describe('POST /api/session', () => {
  test('signs in (registering a new name) and sets a strict, HttpOnly, expiring cookie', async () => {
    const response = await signIn(uniqueName());
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      message: 'Login successful',
      csrf_token: expect.any(String),
    });
    const set = response.cookies.find((c) => c.name === SESSION_COOKIE);
    expect(set).toMatchObject({ path: '/', httpOnly: true, sameSite: 'Strict', maxAge: 3600 });
    expect(set?.secure).toBeUndefined();
    expect(set?.value).toMatch(/^[\w-]{43}$/);
  });

  test('the cookie is Secure when the request came over HTTPS through a proxy', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      payload: JSON.stringify({ username: uniqueName(), password: 'pw' }),
    });
    expect(response.cookies.find((c) => c.name === SESSION_COOKIE)?.secure).toBe(true);
  });

  test('signing in again ends the session the browser had', async () => {
    const first = await browser();
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: withCookie(first.cookie, { 'content-type': 'application/json' }),
      payload: JSON.stringify({ username: uniqueName(), password: 'pw' }),
    });
    expect(again.statusCode).toBe(200);
    expectUnauthorized(await whoAmI(first.cookie), 'invalid or expired session');
    expect((await whoAmI(cookieOf(again))).statusCode).toBe(200);
  });

  test(`a user holds at most ${SESSIONS_PER_USER_MAX} sessions: signing in past that ends the oldest`, async () => {
    const username = uniqueName();
    const cookies: string[] = [];
    for (let i = 0; i < SESSIONS_PER_USER_MAX + 2; i += 1) {
      cookies.push((await browser(username)).cookie);
    }
    const statuses = [];
    for (const cookie of cookies) statuses.push((await whoAmI(cookie)).statusCode);
    expect(statuses).toEqual([401, 401, ...Array(SESSIONS_PER_USER_MAX).fill(200)]);
    const db = await memoryDatabase();
    const [row] = await db.query<{ count: number }>(
      statement(
        'count_sessions',
        'SELECT count(*)::int AS count FROM shop_sessions s JOIN shop_users u ON u.id = s.user_id WHERE u.username = $1',
      ),
      [username],
    );
    expect(row?.count).toBe(SESSIONS_PER_USER_MAX);
  });

  test('a wrong password is 401 and sets no cookie; bad input is 400', async () => {
    const b = await browser();
    const wrong = await signIn(b.username, 'wrong');
    expectUnauthorized(wrong, 'wrong password');
    expect(wrong.cookies).toEqual([]);
    const bad = await t.app.inject({ method: 'POST', url: '/api/session', payload: '{}' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ errors: expect.any(String) });
  });

  test('the session stores only a hash of the cookie', async () => {
    const b = await browser();
    const db = await memoryDatabase();
    const rows = await db.query<{ token_hash: string }>(
      statement('x', 'SELECT token_hash FROM shop_sessions'),
      [],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.token_hash).not.toBe(b.cookie);
  });
});

describe('GET /api/session: protected data for the cookie only', () => {
  test('the flow of seed 004: sign in, then the protected data with the cookie', async () => {
    const b = await browser();
    const response = await whoAmI(b.cookie);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      user_id: expect.any(Number),
      username: b.username,
      coins: 1000,
    });
  });

  test('two session cookies (one shadowing the other) are refused, whichever is valid', async () => {
    const b = await browser();
    for (const cookie of [
      `${SESSION_COOKIE}=planted; ${SESSION_COOKIE}=${b.cookie}`,
      `${SESSION_COOKIE}=${b.cookie}; ${SESSION_COOKIE}=planted`,
    ]) {
      expectUnauthorized(
        await t.app.inject({ url: '/api/session', headers: { cookie } }),
        'invalid or expired session',
      );
      expectUnauthorized(
        await t.app.inject({ url: '/api/info', headers: { cookie } }),
        'invalid or expired session',
      );
    }
  });

  test('no cookie, a forged one, or an expired one is 401', async () => {
    expectUnauthorized(await t.app.inject({ url: '/api/session' }), 'invalid or expired session');
    expectUnauthorized(await whoAmI('forged-value'), 'invalid or expired session');
    expectUnauthorized(await whoAmI('x'.repeat(10_000)), 'invalid or expired session');
    const b = await browser();
    const db = await memoryDatabase();
    await db.query(
      statement('y', "UPDATE shop_sessions SET expires_at = now() - interval '1 second'"),
      [],
    );
    expectUnauthorized(await whoAmI(b.cookie), 'invalid or expired session');
  });
});

describe('DELETE /api/session', () => {
  test('signs out server-side: the same cookie stops working at once', async () => {
    const b = await browser();
    const out = await t.app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: withCookie(b.cookie),
    });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === SESSION_COOKIE)).toMatchObject({
      value: '',
      maxAge: 0,
    });
    // The browser may keep sending the old value: the server no longer knows it.
    expectUnauthorized(await whoAmI(b.cookie), 'invalid or expired session');
    expectUnauthorized(
      await t.app.inject({ url: '/api/info', headers: withCookie(b.cookie) }),
      'invalid or expired session',
    );
  });

  test('is 204 without a session too', async () => {
    const out = await t.app.inject({ method: 'DELETE', url: '/api/session' });
    expect(out.statusCode).toBe(204);
  });

  // It reads no body, but one sent is parsed as on every shop route: the 4xx its document lists.
  test('a body that is not JSON, or of a type the shop does not read, is 400 and signs nobody out', async () => {
    const b = await browser();
    for (const [type, payload] of [
      ['application/json', '{not json'],
      ['image/png', 'x'],
    ] as const) {
      const out = await t.app.inject({
        method: 'DELETE',
        url: '/api/session',
        headers: withCookie(b.cookie, { 'content-type': type }),
        payload,
      });
      expect({ type, status: out.statusCode }).toEqual({ type, status: 400 });
      expect(out.json().errors).toEqual(expect.any(String));
    }
    expect((await whoAmI(b.cookie)).statusCode).toBe(200);
  });
});

describe('the shop with a session instead of a Bearer token', () => {
  const buy = (b: Browser, item: string, headers: Record<string, string> = {}) =>
    t.app.inject({ url: `/api/buy/${item}`, headers: withCookie(b.cookie, headers) });
  const send = (b: Browser, to: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/sendCoin',
      headers: withCookie(b.cookie, { 'content-type': 'application/json', ...headers }),
      payload: JSON.stringify({ toUser: to, amount: 5 }),
    });

  test('reads /api/info by cookie alone', async () => {
    const b = await browser();
    const info = await t.app.inject({ url: '/api/info', headers: withCookie(b.cookie) });
    expect(info.statusCode).toBe(200);
    expect(info.json().coins).toBe(1000);
  });

  test('buys and sends with the CSRF token', async () => {
    const [a, b] = [await browser(), await browser()];
    expect((await buy(a, 'pen', { 'x-csrf-token': a.csrf })).statusCode).toBe(200);
    expect((await send(a, b.username, { 'x-csrf-token': a.csrf })).statusCode).toBe(200);
    expect(await coinsOf(a)).toBe(1000 - 10 - 5);
    expect(await coinsOf(b)).toBe(1005);
  });

  test('a change by cookie without the CSRF token, or with a wrong one, is 401 and changes nothing', async () => {
    const [a, b] = [await browser(), await browser()];
    const other = await browser();
    const attempts = [
      await buy(a, 'pen'),
      await buy(a, 'pen', { 'x-csrf-token': 'wrong' }),
      await buy(a, 'pen', { 'x-csrf-token': other.csrf }),
      await send(a, b.username),
      await send(a, b.username, { 'x-csrf-token': `${a.csrf}x` }),
    ];
    for (const response of attempts) expectUnauthorized(response, /X-CSRF-Token/);
    expect(await coinsOf(a)).toBe(1000);
    expect(await coinsOf(b)).toBe(1000);
  });

  test('HEAD /api/buy by cookie needs the token too; an empty Authorization header is not a pass', async () => {
    const b = await browser();
    const head = await t.app.inject({
      method: 'HEAD',
      url: '/api/buy/pen',
      headers: withCookie(b.cookie),
    });
    expect(head.statusCode).toBe(401);
    const empty = await t.app.inject({
      url: '/api/buy/pen',
      headers: withCookie(b.cookie, { authorization: '', 'x-csrf-token': b.csrf }),
    });
    expect(empty.statusCode).toBe(401);
    expect(await coinsOf(b)).toBe(1000);
  });

  test('a Bearer token needs no CSRF token, and wins over a cookie', async () => {
    const user = await shop.login();
    const b = await browser();
    const response = await t.app.inject({
      url: '/api/buy/pen',
      headers: withCookie(b.cookie, { authorization: `Bearer ${user.token}` }),
    });
    expect(response.statusCode).toBe(200);
    expect((await shop.infoOf(user)).coins).toBe(990);
    expect(await coinsOf(b)).toBe(1000);
  });
});
