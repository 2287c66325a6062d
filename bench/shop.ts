// Owns the shop's side of the bench: the 100,000 users seeded in the bench database and their
// tokens, the requests each shop scenario sends, and what a correct answer looks like.
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../src/platform/passwords.ts';
import { createTokens } from '../src/platform/tokens.ts';
import { autovacuumIsOff, vacuumTables, withClient } from './database.ts';
import type { OpenLoopRequest } from './open-loop.ts';
import { HarnessError } from './processes.ts';
import {
  type Answer,
  type BenchContext,
  describe,
  type RequestSpec,
  type Scenario,
  send,
  urlOf,
} from './scenarios.ts';

/** The assignment's scale: "up to 100 000 users". */
export const SEED_USERS = 100_000;
const SEED_PASSWORD = 'bench-password';
const START_COINS = 1_000;
/** Longer than any bench; the service only checks the expiry claim. */
const TOKEN_TTL_SECONDS = 86_400;

/**
 * shop-auth logs in this many users in turn. Each must pay one scrypt (about 120 ms of a core)
 * before the service remembers it, so the set is warmed explicitly before the load; 32 users cost
 * about 2 s on two cores and stay remembered for SHOP_AUTH_CACHE_TTL_SECONDS (60 s by default),
 * longer than a warm-up and a measurement. A larger set would not change what a remembered login
 * costs (one indexed SELECT, one HMAC, one JWT signature), only the time spent warming it.
 */
export const AUTH_WARM_USERS = 32;
/** The service runs at most 4 scrypts at once (libuv's default thread pool); more only queue. */
const AUTH_WARM_CONCURRENCY = 4;
/** Closed-loop connections of shop-auth-cold: one scrypt per core at a time, no queue. */
export const COLD_AUTH_CONNECTIONS = 2;
/** Cheap merch only, so that no seeded user can run out of coins during a bench. */
const CHEAP_ITEMS = ['socks', 'pen', 'cup'] as const;
/** The mixed workload's shares of /api/info and /api/buy; /api/sendCoin takes the rest. */
const MIXED_INFO_SHARE = 0.8;
const MIXED_BUY_SHARE = 0.1;

export interface ShopUser {
  readonly id: number;
  readonly username: string;
  readonly token: string;
}

export interface ShopFixture {
  /** user1 … user100000, in id order. */
  readonly users: readonly ShopUser[];
  readonly timingsMs: { readonly hash: number; readonly insert: number; readonly tokens: number };
  readonly databaseUrl: string;
  /** The server's autovacuum is off, so the bench analyzes the tables itself (see vacuumShop). */
  readonly autovacuumOff: boolean;
}

/** A signing secret for this bench only; the service and the bench's tokens share it. */
export function benchJwtSecret(): string {
  return randomBytes(48).toString('base64url');
}

/**
 * Seeds the users in one statement and signs a token for each. Call after the service has
 * started: it creates the tables at start-up.
 */
export async function seedShop(url: string, jwtSecret: string): Promise<ShopFixture> {
  let startedAt = performance.now();
  // ONE scrypt hash shared by every seeded user: 100,000 distinct hashes would take hours of
  // CPU at about 120 ms each. Identical hashes are wrong for real accounts (they show who shares
  // a password) but change nothing here: each login still runs a full scrypt verification, and
  // the service remembers verifications per user id.
  const passwordHash = await hashPassword(SEED_PASSWORD);
  const hash = performance.now() - startedAt;
  startedAt = performance.now();
  const rows = await withClient(url, async (client) => {
    await client.query(
      `INSERT INTO shop_users (username, password_hash, balance)
       SELECT 'user' || g, $1, $2 FROM generate_series(1, $3::int) g`,
      [passwordHash, START_COINS, SEED_USERS],
    );
    const result = await client.query<{ id: number; username: string }>(
      'SELECT id, username FROM shop_users ORDER BY id',
    );
    return { users: result.rows, autovacuumOff: await autovacuumIsOff(client) };
  });
  const insert = performance.now() - startedAt;
  if (rows.users.length !== SEED_USERS) {
    throw new HarnessError(`expected ${SEED_USERS} seeded users, found ${rows.users.length}`);
  }
  startedAt = performance.now();
  // Signed here with the service's own module and secret: logging 100,000 users in through the
  // API would cost 100,000 scrypts. The service cannot tell these tokens from its own.
  const tokens = createTokens({ secret: jwtSecret, ttlSeconds: TOKEN_TTL_SECONDS });
  const users = rows.users.map(({ id, username }) => ({
    id,
    username,
    token: tokens.issue({ userId: id, username }),
  }));
  const fixture: ShopFixture = {
    users,
    timingsMs: { hash, insert, tokens: performance.now() - startedAt },
    databaseUrl: url,
    autovacuumOff: rows.autovacuumOff,
  };
  await vacuumShop(fixture);
  return fixture;
}

const SHOP_TABLES = [
  'shop_users',
  'shop_inventory',
  'shop_purchases',
  'shop_transfers',
  'shop_transfer_totals',
] as const;

/** Vacuums the shop's tables where autovacuum is off (see vacuumTables); before each shop load. */
export async function vacuumShop(fixture: ShopFixture): Promise<void> {
  if (fixture.autovacuumOff) await vacuumTables(fixture.databaseUrl, SHOP_TABLES);
}

function fixtureOf(ctx: BenchContext): ShopFixture {
  if (!ctx.shop) throw new HarnessError('the shop fixture was not seeded');
  return ctx.shop;
}

const randomIndex = (length: number) => Math.floor(Math.random() * length);

function randomUser(users: readonly ShopUser[]): ShopUser {
  return users[randomIndex(users.length)] as ShopUser;
}

const bearer = (user: ShopUser) => ({ authorization: `Bearer ${user.token}` });

const loginOf = (user: ShopUser): RequestSpec => ({
  method: 'POST',
  path: '/api/auth',
  body: JSON.stringify({ username: user.username, password: SEED_PASSWORD }),
});

function infoRequest(users: readonly ShopUser[]): OpenLoopRequest {
  return { kind: 'info', method: 'GET', path: '/api/info', headers: bearer(randomUser(users)) };
}

function buyRequest(users: readonly ShopUser[]): OpenLoopRequest {
  const item = CHEAP_ITEMS[randomIndex(CHEAP_ITEMS.length)] ?? 'socks';
  return {
    kind: 'buy',
    method: 'GET',
    path: `/api/buy/${item}`,
    headers: bearer(randomUser(users)),
  };
}

function sendRequest(users: readonly ShopUser[]): OpenLoopRequest {
  const from = randomIndex(users.length);
  // Any other user: an offset of 1 … length − 1 never lands on the sender.
  const to = (from + 1 + randomIndex(users.length - 1)) % users.length;
  return {
    kind: 'send',
    method: 'POST',
    path: '/api/sendCoin',
    headers: bearer(users[from] as ShopUser),
    body: JSON.stringify({ toUser: (users[to] as ShopUser).username, amount: 1 }),
  };
}

/** 80 % /api/info, 10 % /api/buy, 10 % /api/sendCoin, each by a random seeded user. */
export function mixedRequest(users: readonly ShopUser[]): OpenLoopRequest {
  const draw = Math.random();
  if (draw < MIXED_INFO_SHARE) return infoRequest(users);
  if (draw < MIXED_INFO_SHARE + MIXED_BUY_SHARE) return buyRequest(users);
  return sendRequest(users);
}

function expectToken(answer: Answer): string | null {
  const body = answer.body as { token?: unknown } | null;
  return answer.status === 200 && typeof body?.token === 'string' && body.token.length > 0
    ? null
    : `expected 200 with a token, got ${describe(answer)}`;
}

function expectInfo(answer: Answer): string | null {
  const body = answer.body as {
    coins?: unknown;
    inventory?: unknown;
    coinHistory?: { received?: unknown; sent?: unknown };
  } | null;
  const ok =
    answer.status === 200 &&
    Number.isInteger(body?.coins) &&
    Array.isArray(body?.inventory) &&
    Array.isArray(body?.coinHistory?.received) &&
    Array.isArray(body?.coinHistory?.sent);
  return ok ? null : `expected 200 with coins, inventory and coinHistory, got ${describe(answer)}`;
}

function expectEmpty200(answer: Answer): string | null {
  return answer.status === 200 && answer.body === ''
    ? null
    : `expected 200 with an empty body, got ${describe(answer)}`;
}

/** The mixed load's first answer may be any of the three; each is checked as its own kind. */
function expectMixed(answer: Answer): string | null {
  if (answer.status !== 200) return `expected 200, got ${describe(answer)}`;
  return answer.body === '' ? null : expectInfo(answer);
}

const vacuum = (ctx: BenchContext) => vacuumShop(fixtureOf(ctx));

/** Logs every user of the shop-auth set in once, so that the service remembers them all. */
async function warmLogins(ctx: BenchContext): Promise<void> {
  await vacuum(ctx);
  const users = fixtureOf(ctx).users.slice(0, AUTH_WARM_USERS);
  const url = urlOf(ctx, 'shop');
  const startedAt = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < users.length; i = next++) {
      const problem = expectToken(await send(url, loginOf(users[i] as ShopUser)));
      if (problem) throw new HarnessError(`shop-auth warm-up login: ${problem}`);
    }
  };
  await Promise.all(Array.from({ length: AUTH_WARM_CONCURRENCY }, worker));
  ctx.log(
    `shop-auth: ${users.length} logins remembered in ${Math.round(performance.now() - startedAt)} ms`,
  );
}

/**
 * Hands out users that have never logged in, in id order after the shop-auth set, across runs;
 * nothing else in the bench logs in, so each of these pays a full scrypt verification.
 */
const cold = { next: AUTH_WARM_USERS, count: 0, wrapped: false };

function coldLogin(ctx: BenchContext): RequestSpec {
  const { users } = fixtureOf(ctx);
  if (cold.next >= users.length) {
    cold.next = AUTH_WARM_USERS;
    cold.wrapped = true;
  }
  cold.count += 1;
  return loginOf(users[cold.next++] as ShopUser);
}

/** How many cold logins were handed out, and whether they ran out (then some were remembered). */
export function coldLoginsUsed(): { readonly count: number; readonly wrapped: boolean } {
  return { count: cold.count, wrapped: cold.wrapped };
}

export const SHOP_SCENARIOS: readonly Scenario[] = [
  {
    name: 'shop-auth',
    server: 'shop',
    description: `POST /api/auth, right password, ${AUTH_WARM_USERS} users in turn, each remembered by the service`,
    prepare: warmLogins,
    plan: (ctx) => {
      const users = fixtureOf(ctx).users;
      let i = 0;
      return {
        method: 'POST',
        path: '/api/auth',
        next: () => loginOf(users[i++ % AUTH_WARM_USERS] as ShopUser),
      };
    },
    check: expectToken,
  },
  {
    name: 'shop-auth-cold',
    server: 'shop',
    prepare: vacuum,
    description: `POST /api/auth by users never logged in before, ${COLD_AUTH_CONNECTIONS} connections: a full scrypt each`,
    plan: (ctx) => ({ method: 'POST', path: '/api/auth', next: () => coldLogin(ctx) }),
    check: expectToken,
    connections: COLD_AUTH_CONNECTIONS,
  },
  {
    name: 'shop-info',
    server: 'shop',
    prepare: vacuum,
    description: 'GET /api/info by random seeded users',
    plan: (ctx) => {
      const { users } = fixtureOf(ctx);
      return { method: 'GET', path: '/api/info', next: () => infoRequest(users) };
    },
    check: expectInfo,
  },
  {
    name: 'shop-buy',
    server: 'shop',
    prepare: vacuum,
    description: `GET /api/buy/{${CHEAP_ITEMS.join('|')}} by random seeded users`,
    plan: (ctx) => {
      const { users } = fixtureOf(ctx);
      return { method: 'GET', path: '/api/buy/socks', next: () => buyRequest(users) };
    },
    check: expectEmpty200,
  },
  {
    name: 'shop-send',
    server: 'shop',
    prepare: vacuum,
    description: 'POST /api/sendCoin, amount 1, between random distinct seeded users',
    plan: (ctx) => {
      const { users } = fixtureOf(ctx);
      return { method: 'POST', path: '/api/sendCoin', next: () => sendRequest(users) };
    },
    check: expectEmpty200,
  },
  {
    name: 'shop-mixed',
    server: 'shop',
    prepare: vacuum,
    description: '80 % /api/info, 10 % /api/buy, 10 % /api/sendCoin, random seeded users',
    plan: (ctx) => {
      const { users } = fixtureOf(ctx);
      return { method: 'GET', path: '/api/info', next: () => mixedRequest(users) };
    },
    check: expectMixed,
  },
];
