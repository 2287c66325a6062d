// Owns cross-origin requests (the Fetch standard's CORS protocol) for the origins CORS_ORIGINS
// allows, and none by default. A request from an allowed origin is answered with
// Access-Control-Allow-Origin naming it; a preflight from one (OPTIONS with Origin and
// Access-Control-Request-Method) gets 204 with the methods and headers the APIs take. Anything
// else passes through untouched: a preflight from another origin meets the path's usual answer
// (405, 404 or 400 in its API's body), which a browser treats as a refusal.
//
// Not @fastify/cors: it answers a bare OPTIONS with a text/plain 400 and adds a wildcard OPTIONS
// route, which would take the 405 with Allow (platform/http/methods.ts) from the APIs' paths.
import type { FastifyInstance } from 'fastify';

/** The methods the APIs route, offered to every allowed origin. */
const ALLOWED_METHODS = 'GET, HEAD, POST, DELETE';
/** Request headers beyond the CORS-safelisted ones that the APIs read. */
const ALLOWED_HEADERS = 'authorization, content-type, idempotency-key, x-csrf-token, x-request-id';
/** Response headers a cross-origin script may read, beyond the safelisted ones. */
const EXPOSED_HEADERS = 'allow, idempotent-replayed, retry-after, x-request-id';
/** How long a browser may reuse a preflight's answer, in seconds. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function installCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  app.addHook('onRequest', (request, reply, done) => {
    // The answer depends on Origin for every request once any origin is allowed (caches).
    reply.header('vary', 'origin');
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return done();
    reply.header('access-control-allow-origin', origin);
    const preflight =
      request.method === 'OPTIONS' &&
      request.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
      return done();
    }
    reply
      .code(204)
      .headers({
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
        'content-length': '0',
      })
      .send();
  });
}
