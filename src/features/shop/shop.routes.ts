// Owns the shop's HTTP surface under /api: the four endpoints, the {"errors": "..."} body for
// every failure, and the contract's rule that the only statuses are 200, 400, 401 and 500 (and
// 429 for a sign-in refused before its password is checked).

import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../../platform/errors.ts';
import { addTextBodyParser } from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure } from '../../platform/http/errors.ts';
import { distinctHeader } from '../../platform/http/headers.ts';
import { parseJsonKeepingFloats } from '../../platform/http/json.ts';
import type { ShopAuth } from './shop.auth.ts';
import {
  AMOUNT_MAX,
  IDEMPOTENCY_KEY_LENGTH_MAX,
  ITEMS,
  PASSWORD_LENGTH_MAX,
  SHOP_BODY_LIMIT_BYTES,
  USERNAME_LENGTH_MAX,
} from './shop.catalog.ts';
import { shopErrors } from './shop.errors.ts';
import { parseCredentials, parseIdempotencyKey, parseSendCoin } from './shop.requests.ts';
import { type ChangeResult, REPLAYED, type ShopService } from './shop.service.ts';
import { overHttps, SESSION_COOKIE, type Sessions, sessionTokens } from './shop.sessions.ts';

export interface ShopRoutesOptions {
  readonly auth: ShopAuth;
  readonly service: ShopService;
  readonly sessions: Sessions;
  readonly sessionTtlSeconds: number;
}

/**
 * The contract knows 400, 401 and 500 only: any other client error (a body too large, a wrong
 * content type, an unknown path) is a 400, and any server failure a 500 (with Retry-After kept
 * when the service is shutting down or a dependency is down). The one addition is 429, for a
 * sign-in refused before any password check (too many failures, or a full hashing queue): a 400
 * would tell a client its request was wrong and not to retry it, where Retry-After says when to.
 */
export function shopStatus(status: number): number {
  if (status === 401 || status === 429) return status;
  return status >= 500 ? 500 : 400;
}

export function renderShopErrors(failure: HttpFailure, error?: unknown) {
  // Fastify's own message for this one is a bare "Unsupported Media Type".
  if ((error as { code?: string } | undefined)?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { errors: 'Content-Type must be application/json' };
  }
  return { errors: failure.message };
}

const errorsSchema = {
  type: 'object',
  properties: { errors: { type: 'string' } },
  required: ['errors'],
} as const;

const invalid = (message: string) => new AppError(shopErrors.INVALID_REQUEST, message);

// A Bearer token, or the browser's session cookie (see docs.ts); a change signed in by cookie
// also needs the session's CSRF token.
const signedIn: Record<string, string[]>[] = [{ bearerAuth: [] }, { sessionCookie: [] }];
const signedInChange: Record<string, string[]>[] = [
  { bearerAuth: [] },
  { sessionCookie: [], csrfToken: [] },
];
const idempotencyHeader = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_LENGTH_MAX,
      pattern: '^[\\x20-\\x7e]+$',
      description: 'optional, printable ASCII; a retry with the same key replays the first outcome',
    },
  },
} as const;
// Names as shop.requests.ts takes them: no control characters, and no lone surrogate (it has no
// UTF-8 form); lengths in characters (code points), as JSON Schema counts them.
const username = {
  type: 'string',
  minLength: 1,
  maxLength: USERNAME_LENGTH_MAX,
  pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]*$',
} as const;
const password = {
  type: 'string',
  minLength: 1,
  maxLength: PASSWORD_LENGTH_MAX,
  pattern: '^[^\\ud800-\\udfff]*$',
} as const;
const credentials = {
  type: 'object',
  properties: { username, password },
  required: ['username', 'password'],
} as const;

const infoSchema = {
  type: 'object',
  properties: {
    coins: { type: 'integer' },
    inventory: {
      type: 'array',
      items: {
        type: 'object',
        properties: { type: { type: 'string' }, quantity: { type: 'integer' } },
        required: ['type', 'quantity'],
      },
    },
    coinHistory: {
      type: 'object',
      properties: {
        received: {
          type: 'array',
          items: {
            type: 'object',
            properties: { fromUser: { type: 'string' }, amount: { type: 'integer' } },
            required: ['fromUser', 'amount'],
          },
        },
        sent: {
          type: 'array',
          items: {
            type: 'object',
            properties: { toUser: { type: 'string' }, amount: { type: 'integer' } },
            required: ['toUser', 'amount'],
          },
        },
      },
      required: ['received', 'sent'],
    },
  },
  required: ['coins', 'inventory', 'coinHistory'],
} as const;

function responses(ok: object) {
  return {
    200: ok,
    400: { description: 'invalid request or refused change', ...errorsSchema },
    401: { description: 'wrong password, or a missing, invalid or expired token', ...errorsSchema },
    500: { description: 'internal error', ...errorsSchema },
  };
}
/** The sign-in routes' answers: those of every route, and 429 before any password check. */
function signInResponses(ok: object) {
  return {
    ...responses(ok),
    429: {
      description:
        'too many failed sign-ins for this username or from this address, or too many sign-ins waiting for a password check; Retry-After says in how many seconds to try again',
      ...errorsSchema,
    },
  };
}
const empty = { description: 'done (empty body)', type: 'null' };
/** How much of an unknown URL an error message repeats. */
const URL_SHOWN_MAX = 200;

export async function shopRoutes(app: FastifyInstance, options: ShopRoutesOptions) {
  const { auth, service, sessions } = options;
  // Only to write Set-Cookie: the session cookie is read from the raw header (shop.sessions.ts,
  // which must see every copy of it), so no request pays for parsing cookies.
  await app.register(cookie, { hook: false });
  app.setErrorHandler(errorHandler(renderShopErrors, shopStatus));
  // shop.requests.ts checks bodies exactly, with clear messages; the JSON schemas given to routes
  // document them, and Fastify's own validation (which coerces "10" to 10) is turned off.
  app.setValidatorCompiler(() => () => true);
  // JSON as JSON.parse reads it, but with the text of numbers written with a point or an
  // exponent kept, so that an amount like 2.9999999999999999 (a double rounds it to 3) is refused.
  // Its text is strict UTF-8, so that two names differing in bytes that are not UTF-8 never
  // decode to the same account.
  addTextBodyParser(app, 'application/json', {
    read: (text) => {
      if (text === '') throw invalid('the body must not be empty');
      return parseJsonKeepingFloats(text);
    },
    refuse: (error) =>
      error instanceof AppError ? error : invalid(`the body is not valid JSON: ${error.message}`),
  });

  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, 'no such route');
    const url =
      request.url.length > URL_SHOWN_MAX ? `${request.url.slice(0, URL_SHOWN_MAX)}…` : request.url;
    return reply.code(400).send({ errors: `no such endpoint: ${request.method} ${url}` });
  });

  const replayed = (reply: FastifyReply, result: ChangeResult) => {
    if (result.replayed) reply.headers(REPLAYED);
  };

  app.post(
    '/auth',
    {
      bodyLimit: SHOP_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Log in; an unknown username is registered with 1000 coins',
        operationId: 'signIn',
        tags: ['shop'],
        body: credentials,
        response: signInResponses({ type: 'object', properties: { token: { type: 'string' } } }),
      },
    },
    async (request) => ({ token: await auth.login(parseCredentials(request.body), request.ip) }),
  );

  app.get(
    '/info',
    {
      schema: {
        summary: 'Coins, inventory and coin history',
        operationId: 'getInfo',
        tags: ['shop'],
        security: signedIn,
        response: responses(infoSchema),
      },
    },
    async (request) => service.info(await auth.authenticate(request, false)),
  );

  app.post(
    '/sendCoin',
    {
      bodyLimit: SHOP_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Send coins to another user',
        operationId: 'sendCoin',
        tags: ['shop'],
        security: signedInChange,
        headers: idempotencyHeader,
        body: {
          type: 'object',
          properties: {
            toUser: username,
            amount: { type: 'integer', minimum: 1, maximum: AMOUNT_MAX },
          },
          required: ['toUser', 'amount'],
        },
        response: responses(empty),
      },
    },
    async (request, reply) => {
      const user = await auth.authenticate(request, true);
      const body = parseSendCoin(request.body);
      const key = parseIdempotencyKey(distinctHeader(request.raw, 'idempotency-key'));
      replayed(reply, await service.sendCoin(user, body, key));
      return reply.send();
    },
  );

  app.get<{ Params: { item: string } }>(
    '/buy/:item',
    {
      schema: {
        summary: 'Buy one item of merch',
        operationId: 'buyItem',
        tags: ['shop'],
        security: signedInChange,
        headers: idempotencyHeader,
        params: {
          type: 'object',
          properties: { item: { type: 'string', enum: [...ITEMS.keys()] } },
        },
        response: responses(empty),
      },
    },
    async (request, reply) => {
      const user = await auth.authenticate(request, true);
      const key = parseIdempotencyKey(distinctHeader(request.raw, 'idempotency-key'));
      replayed(reply, await service.buy(user, request.params.item, key));
      return reply.send();
    },
  );

  const sessionCookie = (request: Parameters<typeof overHttps>[0]) =>
    ({
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: overHttps(request),
      maxAge: options.sessionTtlSeconds,
    }) as const;

  app.post(
    '/session',
    {
      bodyLimit: SHOP_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Sign a browser in: sets the session cookie; an unknown username is registered',
        operationId: 'createSession',
        tags: ['session'],
        body: credentials,
        response: signInResponses({
          type: 'object',
          properties: { message: { type: 'string' }, csrf_token: { type: 'string' } },
        }),
      },
    },
    async (request, reply) => {
      const user = await auth.verify(parseCredentials(request.body), request.ip);
      // Signing in again ends the session the browser had (a shared computer's previous user).
      for (const token of sessionTokens(request.headers.cookie)) await sessions.close(token);
      const session = await sessions.open(user.userId);
      reply.setCookie(SESSION_COOKIE, session.token, sessionCookie(request));
      return { message: 'Login successful', csrf_token: session.csrfToken };
    },
  );

  app.get(
    '/session',
    {
      schema: {
        summary: 'The signed-in browser’s user and coins',
        operationId: 'getSession',
        tags: ['session'],
        security: [{ sessionCookie: [] }],
        response: responses({
          type: 'object',
          properties: {
            user_id: { type: 'integer' },
            username: { type: 'string' },
            coins: { type: 'integer' },
          },
        }),
      },
    },
    async (request) => {
      const tokens = sessionTokens(request.headers.cookie);
      const [token] = tokens;
      const session = tokens.length === 1 && token ? await sessions.find(token) : null;
      if (!session) throw new AppError(shopErrors.SESSION_INVALID);
      return { user_id: session.userId, username: session.username, coins: session.coins };
    },
  );

  app.delete(
    '/session',
    {
      schema: {
        summary: 'Sign out: the session ends server-side at once (no CSRF token needed)',
        operationId: 'deleteSession',
        tags: ['session'],
        response: { 204: { description: 'signed out (also when not signed in)', type: 'null' } },
      },
    },
    async (request, reply) => {
      for (const token of sessionTokens(request.headers.cookie)) await sessions.close(token);
      reply.clearCookie(SESSION_COOKIE, sessionCookie(request));
      return reply.code(204).send();
    },
  );
}
