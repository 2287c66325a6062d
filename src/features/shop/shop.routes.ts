// Owns the shop's HTTP surface under /api: its four endpoints (the browser session's are in
// shop.session.routes.ts, in the same scope), the {"errors": "..."} body for every failure, the
// exact JSON bodies, and the contract's rule that the only statuses are 200, 400, 401 and 500
// (and 429 for a sign-in refused before its password is checked).

import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { IDEMPOTENT_REPLAYED, ref } from '../../platform/docs.ts';
import { AppError } from '../../platform/errors.ts';
import { addTextBodyParser } from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure } from '../../platform/http/errors.ts';
import { distinctHeader, REPLAYED_HEADER } from '../../platform/http/headers.ts';
import { parseJsonKeepingFloats } from '../../platform/http/json.ts';
import type { ShopAuth } from './shop.auth.ts';
import { SHOP_BODY_LIMIT_BYTES } from './shop.catalog.ts';
import { shopErrors } from './shop.errors.ts';
import {
  BODY_REFUSED,
  credentialsSchema,
  FAILED,
  failure,
  idempotencyHeader,
  infoSchema,
  itemSchema,
  noBody,
  SIGN_IN_REFUSED,
  sendCoinSchema,
  signedIn,
  signedInChange,
  tokenSchema,
  UNAUTHENTICATED,
} from './shop.openapi.ts';
import { parseCredentials, parseIdempotencyKey, parseSendCoin } from './shop.requests.ts';
import type { ChangeResult, ShopService } from './shop.service.ts';
import { sessionRoutes } from './shop.session.routes.ts';
import type { Sessions } from './shop.sessions.ts';

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

/** How much of an unknown URL an error message repeats. */
const URL_SHOWN_MAX = 200;

export async function shopRoutes(app: FastifyInstance, options: ShopRoutesOptions) {
  // Only to write Set-Cookie: the session cookie is read from the raw header (shop.sessions.ts,
  // which must see every copy of it), so no request pays for parsing cookies.
  await app.register(cookie, { hook: false });
  installShopHttp(app);
  signInRoute(app, options.auth);
  infoRoute(app, options);
  sendCoinRoute(app, options);
  buyRoute(app, options);
  sessionRoutes(app, options);
}

/** The scope's errors, bodies and unknown paths, as the contract has them. */
function installShopHttp(app: FastifyInstance): void {
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
}

function replayed(reply: FastifyReply, result: ChangeResult): void {
  if (result.replayed) reply.headers(REPLAYED_HEADER);
}

function signInRoute(app: FastifyInstance, auth: ShopAuth): void {
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
}

function infoRoute(app: FastifyInstance, { auth, service }: ShopRoutesOptions): void {
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
}

function sendCoinRoute(app: FastifyInstance, { auth, service }: ShopRoutesOptions): void {
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
          200: noBody('sent', IDEMPOTENT_REPLAYED),
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
}

function buyRoute(app: FastifyInstance, { auth, service }: ShopRoutesOptions): void {
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
          200: noBody('bought one', IDEMPOTENT_REPLAYED),
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
}
