// Owns the shop's HTTP surface under /api: the four endpoints, the {"errors": "..."} body for
// every failure, and the contract's rule that the only statuses are 200, 400, 401 and 500 (and
// 429 for a sign-in refused before its password is checked).

import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RETRY_AFTER, ref } from '../../platform/docs.ts';
import { AppError } from '../../platform/errors.ts';
import { addTextBodyParser } from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure } from '../../platform/http/errors.ts';
import { distinctHeader } from '../../platform/http/headers.ts';
import { parseJsonKeepingFloats } from '../../platform/http/json.ts';
import type { ShopAuth } from './shop.auth.ts';
import { IDEMPOTENCY_KEY_LENGTH_MAX, SHOP_BODY_LIMIT_BYTES } from './shop.catalog.ts';
import { shopErrors } from './shop.errors.ts';
import {
  browserSessionSchema,
  credentialsSchema,
  infoSchema,
  itemSchema,
  sendCoinSchema,
  sessionUserSchema,
  shopErrorSchema,
  tokenSchema,
} from './shop.openapi.ts';
import {
  IDEMPOTENCY_KEY_PATTERN,
  parseCredentials,
  parseIdempotencyKey,
  parseSendCoin,
} from './shop.requests.ts';
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
      pattern: IDEMPOTENCY_KEY_PATTERN.source,
      description: 'optional, printable ASCII; a retry with the same key replays the first outcome',
    },
  },
} as const;

const replayedHeader = {
  'Idempotent-Replayed': {
    type: 'string',
    enum: ['true'],
    description: 'present when the answer replays the first outcome of this Idempotency-Key',
  },
};
const failure = (description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  ...ref(shopErrorSchema),
});

/** Why any body the shop reads is refused before its fields are looked at. */
const BODY_REFUSED = `the body is not JSON text in UTF-8, is over ${SHOP_BODY_LIMIT_BYTES} bytes, or its Content-Type is not application/json (the contract has no 413 nor 415)`;
const UNAUTHENTICATED =
  'no token nor session cookie; a malformed, forged or expired token, or one of a user that no longer exists; or an unknown or expired session';
const FAILED = failure(
  'an internal failure (the database unreachable, a bug), or the service is shutting down (then with Retry-After)',
  RETRY_AFTER,
);
const SIGN_IN_REFUSED = {
  400: failure(
    `the body is not Credentials (the message names the field and rule); ${BODY_REFUSED}`,
  ),
  401: failure('a wrong password for this username'),
  429: failure(
    'too many failed sign-ins for this username or from this address, or too many sign-ins waiting for a password check (no password was checked); Retry-After says in how many seconds to try again',
    RETRY_AFTER,
  ),
  500: FAILED,
};
/** An answer without a body (the schema Fastify serializes an empty reply with). */
const noBody = (description: string, headers: object) => ({
  description: `${description} (no body)`,
  headers,
  type: 'null',
});
const sessionCookieHeader = {
  'Set-Cookie': {
    type: 'string',
    description: `${SESSION_COOKIE}: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS`,
  },
};

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
        body: ref(credentialsSchema),
        response: {
          200: { description: 'signed in, or registered', ...ref(tokenSchema) },
          ...SIGN_IN_REFUSED,
        },
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
        response: {
          200: { description: 'the user’s coins, inventory and coin history', ...ref(infoSchema) },
          401: failure(UNAUTHENTICATED),
          500: FAILED,
        },
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
        body: ref(sendCoinSchema),
        response: {
          200: noBody('sent', replayedHeader),
          400: failure(
            `the body is not SendCoin, or the Idempotency-Key is malformed (the message says which rule); the recipient is unknown or the sender; not enough coins (nothing changes); the key was used for another request; ${BODY_REFUSED}`,
          ),
          401: failure(`${UNAUTHENTICATED}; or signed in by cookie without its X-CSRF-Token`),
          500: FAILED,
        },
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
        params: { type: 'object', properties: { item: ref(itemSchema) }, required: ['item'] },
        response: {
          200: noBody('bought one', replayedHeader),
          400: failure(
            'an unknown item; not enough coins (nothing changes); a malformed Idempotency-Key, or one used for another request',
          ),
          401: failure(`${UNAUTHENTICATED}; or signed in by cookie without its X-CSRF-Token`),
          500: FAILED,
        },
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
        body: ref(credentialsSchema),
        response: {
          200: {
            description: 'signed in, or registered; any session the browser had is ended',
            headers: sessionCookieHeader,
            ...ref(browserSessionSchema),
          },
          ...SIGN_IN_REFUSED,
        },
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
        response: {
          200: { description: 'the signed-in user', ...ref(sessionUserSchema) },
          401: failure('no session cookie, more than one, or an unknown or expired session'),
          500: FAILED,
        },
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
        response: {
          204: noBody(
            'signed out, also when not signed in; the cookie is cleared',
            sessionCookieHeader,
          ),
          // It reads no body, but one that is sent is parsed as on every shop route.
          400: failure(
            'a body was sent that is not JSON, is too large, or has a Content-Type other than application/json or text/plain',
          ),
          500: FAILED,
        },
      },
    },
    async (request, reply) => {
      for (const token of sessionTokens(request.headers.cookie)) await sessions.close(token);
      reply.clearCookie(SESSION_COOKIE, sessionCookie(request));
      return reply.code(204).send();
    },
  );
}
