// The schema-driven fuzz layer, per operation of the service's own OpenAPI document (/docs/json),
// as Schemathesis checks an API: valid requests generated from the document's schemas are
// accepted (or refused only for a documented business reason), requests with one part made
// invalid are rejected with a 4xx, operations with security refuse missing or forged
// credentials with 401, and every answer is never a 5xx and has a documented status, media type
// and body. One app on an in-memory PGlite and the in-process scoring store, a fixed seed.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminToken, userToken } from '../../src/features/scoring/scoring.auth.ts';
import { shopErrors } from '../../src/features/shop/shop.errors.ts';
import { SESSION_COOKIE } from '../../src/features/shop/shop.sessions.ts';
import { walletErrors } from '../../src/features/wallets/wallet.errors.ts';
import { UUID_PATTERN } from '../../src/features/wallets/wallet.requests.ts';
import { buildTestApp, TEST_JWT_SECRET } from '../support/app.ts';
import { ADMIN_SALT, SALT } from '../support/scoring.ts';
import { uniqueName } from '../support/shop.ts';
import { injectSender, walletClient } from '../support/wallets.ts';
import { expectConforming, type HttpResponse, send, Tally } from './support/checks.ts';
import {
  invalidCase,
  isValidCase,
  type Operation,
  type RequestCase,
  readDocument,
  toHttpRequest,
  validCase,
} from './support/openapi.ts';
import { FUZZ_SEED, FUZZ_TEST_TIMEOUT_MS, generousSignInLimits } from './support/settings.ts';

/** Valid requests per operation. */
const VALID_RUNS = 60;
/** Invalid requests per operation. */
const INVALID_RUNS = 150;
/** Requests with missing or forged credentials per secured operation. */
const CREDENTIAL_RUNS = 25;
/** Valid sign-ins per sign-in operation: each registers a user, one scrypt hash (~120 ms). */
const SIGN_IN_RUNS = 10;
/** Largest amount most valid transfers send, so that the pool's users can pay it. */
const SMALL_AMOUNT_MAX = 20;
/** Users (and wallets) that valid requests act on and between. */
const POOL_SIZE = 3;
/** The server's clock: the admin token's hour and the birthdays' "today". */
const NOW = new Date(2025, 5, 15, 12, 30, 0);
const DAY_MS = 86_400_000;
/** Birthdays generated lie within this many days before today (the limit is 70 years). */
const BIRTHDAY_SPAN_DAYS = 69 * 365;

const { app } = await buildTestApp(
  { LOG_LEVEL: 'silent', ...generousSignInLimits() },
  { now: () => new Date(NOW) },
);
await app.ready();
const api = await readDocument(app);
const tally = new Tally();

interface ShopMember {
  readonly username: string;
  readonly token: string;
  readonly session: string;
  readonly csrf: string;
}
const shopPool: ShopMember[] = [];
const walletPool: string[] = [];

async function signInBrowser(username: string, password: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username, password }),
  });
  expect(response.statusCode, response.body).toBe(200);
  const cookie = response.cookies.find((c) => c.name === SESSION_COOKIE);
  if (!cookie) throw new Error('no session cookie');
  return { session: cookie.value, csrf: response.json().csrf_token as string };
}

beforeAll(async () => {
  for (let i = 0; i < POOL_SIZE; i++) {
    const username = uniqueName('fuzz');
    const password = 'fuzz password';
    const auth = await app.inject({
      method: 'POST',
      url: '/api/auth',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username, password }),
    });
    expect(auth.statusCode, auth.body).toBe(200);
    shopPool.push({
      username,
      token: auth.json().token,
      ...(await signInBrowser(username, password)),
    });
  }
  const wallets = walletClient(injectSender(app));
  for (let i = 0; i < POOL_SIZE; i++)
    walletPool.push(await wallets.withBalance(10n ** BigInt(i * 6)));
});

afterAll(() => {
  console.log(`fuzz operations (seed ${FUZZ_SEED}):\n${tally.summary()}`);
});

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length] as T;

// ---------------------------------------------------------------------------------------------
// Credentials: how a request satisfies an operation's security, and how it fails to.

function credentialsFor(operation: Operation, n: number): Record<string, string> {
  if (operation.security.length === 0) return {};
  const member = pick(shopPool, n);
  const alternative = pick(operation.security, n >> 2);
  const headers: Record<string, string> = {};
  for (const scheme of alternative) {
    const spec = api.schemes[scheme];
    if (spec?.type === 'http' && spec.scheme === 'bearer') {
      headers.authorization = `Bearer ${member.token}`;
    } else if (spec?.type === 'apiKey' && spec.in === 'cookie') {
      headers.cookie = `${spec.name}=${member.session}`;
    } else if (spec?.type === 'apiKey' && spec.in === 'header' && spec.name) {
      headers[spec.name.toLowerCase()] = member.csrf;
    } else {
      throw new Error(`no credentials for the security scheme ${scheme}`);
    }
  }
  return headers;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const printable = fc
  .string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 })
  .map((s) => s.replace(/[^\x21-\x7e]/g, 'x'));

/** Credentials that must not let a request in, named for the report. */
function forgedCredentials(operation: Operation): fc.Arbitrary<[string, Record<string, string>]> {
  const kinds = new Set(
    operation.security.flat().map((name) => {
      const spec = api.schemes[name];
      return spec?.type === 'http' ? 'bearer' : `${spec?.in}`;
    }),
  );
  const forged: fc.Arbitrary<[string, Record<string, string>]>[] = [fc.constant(['none', {}])];
  if (kinds.has('bearer')) {
    // Forgeries claim a real user of the pool, so only the forgery itself can be refused.
    const claims = (n: number) => {
      const payload = pick(shopPool, n).token.split('.')[1] ?? '';
      const { sub, name } = JSON.parse(Buffer.from(payload, 'base64url').toString());
      return { sub, name, exp: Math.floor(Date.now() / 1000) + 3600 };
    };
    forged.push(
      printable.map((s) => ['a random bearer token', { authorization: `Bearer ${s}` }]),
      fc.tuple(fc.nat(), fc.constantFrom('Basic', 'Token', 'Bearer', '')).map(([n, scheme]) => [
        'a token under another scheme, or none',
        {
          authorization: `${scheme} ${scheme === 'Bearer' ? '' : pick(shopPool, n).token}`.trim(),
        },
      ]),
      fc.nat().map((n) => [
        'a token signed with another key',
        {
          authorization: `Bearer ${createSigner({ key: randomBytes(32).toString('hex') })(claims(n))}`,
        },
      ]),
      fc.nat().map((n) => [
        'an unsigned token (alg none)',
        {
          authorization: `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims(n))}.`,
        },
      ]),
      fc.nat().map((n) => {
        const [header, , signature] = pick(shopPool, n).token.split('.');
        return [
          'a real token with another user’s payload',
          { authorization: `Bearer ${header}.${base64url(claims(n + 1))}.${signature}` },
        ];
      }),
      fc.nat().map((n) => [
        'an expired token signed with the right key',
        {
          authorization: `Bearer ${createSigner({ key: TEST_JWT_SECRET })({
            ...claims(n),
            exp: Math.floor(Date.now() / 1000) - 3600,
          })}`,
        },
      ]),
    );
  }
  if (kinds.has('cookie')) {
    forged.push(
      printable.map((s) => [
        'a random session cookie',
        { cookie: `${SESSION_COOKIE}=${encodeURIComponent(s)}` },
      ]),
      fc.nat().map((n) => [
        'two session cookies',
        {
          cookie: `${SESSION_COOKIE}=${pick(shopPool, n).session}; ${SESSION_COOKIE}=${pick(shopPool, n + 1).session}`,
        },
      ]),
    );
  }
  if (kinds.has('header')) {
    // A change signed in by cookie needs the CSRF header too: with a wrong one it is forged.
    forged.push(
      fc.tuple(fc.nat(), fc.option(printable, { nil: undefined })).map(([n, csrf]) => {
        const member = pick(shopPool, n);
        const headers: Record<string, string> = { cookie: `${SESSION_COOKIE}=${member.session}` };
        if (csrf !== undefined) headers['x-csrf-token'] = csrf;
        return ['a session cookie without its CSRF token', headers];
      }),
    );
  }
  return fc.oneof(...forged);
}

// ---------------------------------------------------------------------------------------------
// Per-operation knowledge a generator cannot have: which existing things a valid request may
// name, and which refusals of a valid request the document means by "refused change".

interface Hooks {
  /** Makes a valid request act on existing things (a user, a wallet), keeping it valid. */
  readonly refine?: (request: RequestCase, n: number) => RequestCase | Promise<RequestCase>;
  /**
   * Readies an invalid request so that only its broken part can be refused: the scoring token
   * set, an existing wallet named (an unknown one is refused with 404 before all else is read).
   */
  readonly prepare?: (request: RequestCase, n: number) => RequestCase;
  /** Refusals of a valid request that are the documented business rules, not validation. */
  readonly refusals?: (response: HttpResponse) => boolean;
  readonly validRuns?: number;
}

function errorsOf(response: HttpResponse): string {
  try {
    return String((JSON.parse(response.text) as { errors?: unknown }).errors ?? '');
  } catch {
    return '';
  }
}

function detailOf(response: HttpResponse): unknown {
  try {
    return (JSON.parse(response.text) as { detail?: unknown }).detail;
  } catch {
    return undefined;
  }
}

const shopRefusal =
  (...specs: { status: number; message: string }[]) =>
  (response: HttpResponse) =>
    response.status === 429 ||
    specs.some((s) => response.status === s.status && errorsOf(response).startsWith(s.message));

const walletRefusal = (response: HttpResponse) => {
  const detail = detailOf(response);
  if (response.status === 404) return detail === walletErrors.WALLET_NOT_FOUND.message;
  if (response.status === 409) return typeof detail === 'string';
  if (response.status !== 422 || !Array.isArray(detail)) return false;
  // A key reused for another operation; or a `before` that is well-formed but no operation of
  // this wallet's.
  return detail.every(
    (issue) =>
      issue.type === 'idempotency_key_reused' ||
      (issue.type === 'value_error' && issue.loc?.join('.') === 'query.before'),
  );
};

/** A name no earlier request used, made from the generated one (so still valid by its schema). */
function freshName(generated: unknown): string {
  const suffix = `~${uniqueName('').slice(1)}`;
  const kept = typeof generated === 'string' ? [...generated].slice(0, 64 - suffix.length) : [];
  return `${kept.join('')}${suffix}`;
}

function withBody(request: RequestCase, change: (body: Record<string, unknown>) => void) {
  const value = request.body?.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return request;
  const body = { ...(value as Record<string, unknown>) };
  change(body);
  return { ...request, body: { value: body } };
}

/** A real birthday within the limits, written D.M.YYYY with or without zero padding. */
function birthday(n: number): string {
  const date = new Date(NOW.getTime() - (n % BIRTHDAY_SPAN_DAYS) * DAY_MS);
  const pad = (v: number) => (n % 2 === 0 ? String(v).padStart(2, '0') : String(v));
  return `${pad(date.getDate())}.${pad(date.getMonth() + 1)}.${date.getFullYear()}`;
}

const scoringToken = (request: RequestCase) =>
  withBody(request, (body) => {
    if (!('token' in body)) return;
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    body.token =
      body.login === 'admin'
        ? adminToken(NOW, ADMIN_SALT)
        : userToken(text(body.account), text(body.login), SALT);
  });

const hooks: Record<string, Hooks> = {
  'POST /method': {
    // The right token, unless the token is what was broken (then it must stay broken).
    prepare: (request) =>
      request.what?.startsWith('body.token') ? request : scoringToken(request),
    refine: (request, n) =>
      scoringToken(
        withBody(request, (body) => {
          const args = body.arguments as Record<string, unknown> | undefined;
          if (args === undefined || args === null || typeof args !== 'object') return;
          const refined = { ...args };
          if (typeof refined.birthday === 'string' && refined.birthday !== '')
            refined.birthday = birthday(n);
          if (typeof refined.date === 'string' && refined.date !== '')
            refined.date = birthday(n >> 1);
          body.arguments = refined;
        }),
      ),
  },
  'POST /api/auth': {
    refine: (request) => withBody(request, (body) => (body.username = freshName(body.username))),
    refusals: shopRefusal(shopErrors.WRONG_PASSWORD),
    validRuns: SIGN_IN_RUNS,
  },
  'POST /api/session': {
    refine: (request) => withBody(request, (body) => (body.username = freshName(body.username))),
    refusals: shopRefusal(shopErrors.WRONG_PASSWORD),
    validRuns: SIGN_IN_RUNS,
  },
  'POST /api/sendCoin': {
    refine: (request, n) =>
      withBody(request, (body) => {
        if (n % 4 !== 0) body.toUser = pick(shopPool, n >> 2).username;
        // Mostly amounts the pool can pay, so that transfers happen, not only refusals.
        if (n % 3 !== 0) body.amount = 1 + (n % SMALL_AMOUNT_MAX);
      }),
    refusals: shopRefusal(
      shopErrors.UNKNOWN_RECIPIENT,
      shopErrors.SELF_TRANSFER,
      shopErrors.INSUFFICIENT_COINS,
      shopErrors.IDEMPOTENCY_KEY_REUSED,
    ),
  },
  'GET /api/buy/{item}': {
    refusals: shopRefusal(shopErrors.INSUFFICIENT_COINS, shopErrors.IDEMPOTENCY_KEY_REUSED),
  },
  'DELETE /api/session': {
    // Signing out a session of its own, never the pool's.
    refine: async (request, n) => {
      if (n % 2 === 0) return request;
      const { session } = await signInBrowser(pick(shopPool, n).username, 'fuzz password');
      return {
        ...request,
        headers: { ...request.headers, cookie: `${SESSION_COOKIE}=${session}` },
      };
    },
  },
};
/** A pool wallet for three requests in four; a random (unknown) id for the fourth. */
const walletOf = (request: RequestCase, n: number): RequestCase =>
  n % 4 === 0
    ? request
    : { ...request, path: { ...request.path, wallet_id: pick(walletPool, n >> 2) } };
/**
 * Names a pool wallet where the request names a well-formed one (not where it was broken): a
 * UUID as the wallets read it (and the document's pattern says), in any case, hyphens optional.
 */
const UUID = UUID_PATTERN;
const existingWallet = (request: RequestCase, n: number): RequestCase =>
  UUID.test(request.path.wallet_id ?? '')
    ? { ...request, path: { ...request.path, wallet_id: pick(walletPool, n) } }
    : request;
for (const key of [
  'GET /api/v1/wallets/{wallet_id}',
  'POST /api/v1/wallets/{wallet_id}/operation',
]) {
  hooks[key] = { refine: walletOf, prepare: existingWallet, refusals: walletRefusal };
}
hooks['GET /api/v1/wallets/{wallet_id}/operations'] = {
  // A random `before` names no operation of the wallet (a refusal): most requests go without.
  refine: (request, n) => {
    const { before, ...query } = request.query;
    return walletOf({ ...request, query: n % 3 === 0 && before ? request.query : query }, n);
  },
  prepare: existingWallet,
  refusals: walletRefusal,
};
hooks['POST /api/v1/wallet'] = {
  refine: (request, n) =>
    withBody(request, (body) => {
      if (n % 4 === 0) return;
      for (const name of ['walletId', 'valletId'])
        if (name in body) body[name] = pick(walletPool, n >> 2);
    }),
  prepare: (request, n) =>
    withBody(request, (body) => {
      for (const name of ['walletId', 'valletId']) {
        // Only a string is tested: String() of a generated object may throw (no prototype).
        const id = body[name];
        if (typeof id === 'string' && UUID.test(id)) body[name] = pick(walletPool, n);
      }
    }),
  refusals: walletRefusal,
};

// ---------------------------------------------------------------------------------------------

const settings = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns, endOnFailure: false });
const is2xx = (status: number) => status >= 200 && status < 300;

test('the document lists operations of every API', () => {
  const keys = api.operations.map((o) => o.key);
  expect(keys).toContain('POST /method');
  expect(keys).toContain('POST /api/auth');
  expect(keys).toContain('POST /api/v1/wallets/{wallet_id}/operation');
  expect(api.operations.length).toBeGreaterThanOrEqual(14);
});

for (const operation of api.operations) {
  const hook = hooks[operation.key] ?? {};
  describe(operation.key, () => {
    test(
      'valid requests are accepted (or refused for a documented business reason), as documented',
      async () => {
        await fc.assert(
          fc.asyncProperty(validCase(operation), fc.nat(), async (generated, n) => {
            const request = hook.refine ? await hook.refine(generated, n) : generated;
            if (!isValidCase(operation, request)) {
              throw new Error(`the refined request is not valid: ${JSON.stringify(request)}`);
            }
            const http = toHttpRequest(operation, request, credentialsFor(operation, n));
            const response = await send(app, http);
            tally.record(operation, 'valid', response.status);
            const refused = !is2xx(response.status) && !(hook.refusals?.(response) ?? false);
            expectConforming(
              operation,
              http,
              response,
              refused ? [`a valid request was refused with ${response.status}`] : [],
            );
          }),
          settings(hook.validRuns ?? VALID_RUNS),
        );
      },
      FUZZ_TEST_TIMEOUT_MS,
    );

    // An operation with no input to break (no body, no parameters) has no invalid requests, and
    // one open to all has no credentials to forge: those tests are not generated for it.
    const invalid = invalidCase(operation);
    if (invalid !== null)
      test(
        'invalid requests (one part breaking the schema) are rejected with a documented 4xx',
        async () => {
          await fc.assert(
            fc.asyncProperty(invalid, fc.nat(), async (generated, n) => {
              const request = hook.prepare ? hook.prepare(generated, n) : generated;
              fc.pre(request.oversized === true || !isValidCase(operation, request));
              const http = toHttpRequest(operation, request, credentialsFor(operation, n));
              const response = await send(app, http);
              tally.record(operation, 'invalid', response.status);
              // A business refusal (no such wallet, not enough coins) means the data was taken
              // as valid: an invalid request must be refused for what is wrong with it.
              const accepted =
                response.status < 400 ||
                response.status >= 500 ||
                (hook.refusals?.(response) ?? false);
              expectConforming(
                operation,
                http,
                response,
                accepted ? [`an invalid request was answered ${response.status}`] : [],
                request.what,
              );
            }),
            settings(INVALID_RUNS),
          );
        },
        FUZZ_TEST_TIMEOUT_MS,
      );

    if (operation.security.length > 0)
      test(
        'missing or forged credentials are refused with 401',
        async () => {
          await fc.assert(
            fc.asyncProperty(
              validCase(operation),
              fc.nat(),
              forgedCredentials(operation),
              async (generated, n, [what, credentials]) => {
                const request = hook.refine ? await hook.refine(generated, n) : generated;
                const http = toHttpRequest(operation, request, credentials);
                const response = await send(app, http);
                tally.record(operation, 'credentials', response.status);
                expectConforming(
                  operation,
                  http,
                  response,
                  response.status === 401 ? [] : [`${what}: answered ${response.status}, not 401`],
                );
              },
            ),
            settings(CREDENTIAL_RUNS),
          );
        },
        FUZZ_TEST_TIMEOUT_MS,
      );
  });
}
