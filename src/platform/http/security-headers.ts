// Owns the security headers of every response the service sends: the same few on every API
// answer, error, 404 and document, written once here rather than by each feature. A response
// that needs a policy of its own (the console's page: its Content-Security-Policy) sets it, and
// what it set is kept.
import type { FastifyInstance } from 'fastify';

/**
 * On every response: no MIME sniffing, no framing, no Referer leaking a URL (tokens and ids live
 * in URLs of this service), and an opener policy that keeps other sites' windows apart.
 */
export const BASE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  // frame-ancestors below, and this for browsers that predate it.
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * The policy of responses that are data, not pages (every API answer): nothing in them may load
 * or run anything, should a browser ever render one, and nobody may frame them.
 */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

export interface SecurityHeadersOptions {
  /** Path prefixes of pages that must run without the API's policy (Swagger UI's scripts). */
  readonly pagesUnder: readonly string[];
}

export function installSecurityHeaders(
  app: FastifyInstance,
  { pagesUnder }: SecurityHeadersOptions,
): void {
  // A callback hook, not an async one: it runs on every response, and needs no promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    for (const [name, value] of Object.entries(BASE_SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    const page = pagesUnder.some((prefix) => request.url.startsWith(prefix));
    if (!page && !reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', API_CONTENT_SECURITY_POLICY);
    }
    done(null, payload);
  });
}
