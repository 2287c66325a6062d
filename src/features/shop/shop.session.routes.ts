// Owns the browser session's HTTP surface under /api/session: sign in (the session cookie and
// its CSRF token), the signed-in user, sign out. shopRoutes registers it in the shop's scope, so
// it answers with the shop's error body, statuses and JSON bodies.
import type { FastifyInstance } from 'fastify';
import { ref } from '../../platform/docs.ts';
import { AppError } from '../../platform/errors.ts';
import type { ShopAuth } from './shop.auth.ts';
import { SHOP_BODY_LIMIT_BYTES } from './shop.catalog.ts';
import { shopErrors } from './shop.errors.ts';
import {
  browserSessionSchema,
  credentialsSchema,
  FAILED,
  failure,
  noBody,
  SIGN_IN_REFUSED,
  sessionCookieHeader,
  sessionUserSchema,
} from './shop.openapi.ts';
import { parseCredentials } from './shop.requests.ts';
import { overHttps, SESSION_COOKIE, type Sessions, sessionTokens } from './shop.sessions.ts';

export interface SessionRoutesOptions {
  readonly auth: ShopAuth;
  readonly sessions: Sessions;
  readonly sessionTtlSeconds: number;
}

/** The cookie's attributes for this request (Secure when it came over HTTPS). */
type CookieOptions = (request: Parameters<typeof overHttps>[0]) => {
  readonly path: '/';
  readonly httpOnly: true;
  readonly sameSite: 'strict';
  readonly secure: boolean;
  readonly maxAge: number;
};

export function sessionRoutes(app: FastifyInstance, options: SessionRoutesOptions): void {
  const sessionCookie: CookieOptions = (request) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: overHttps(request),
    maxAge: options.sessionTtlSeconds,
  });
  signInRoute(app, options, sessionCookie);
  whoAmIRoute(app, options.sessions);
  signOutRoute(app, options.sessions, sessionCookie);
}

function signInRoute(
  app: FastifyInstance,
  { auth, sessions }: SessionRoutesOptions,
  sessionCookie: CookieOptions,
): void {
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
}

function whoAmIRoute(app: FastifyInstance, sessions: Sessions): void {
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
}

function signOutRoute(
  app: FastifyInstance,
  sessions: Sessions,
  sessionCookie: CookieOptions,
): void {
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
