// Owns the OpenAPI document and its UI at /docs, built from the routes' own schemas; it must be
// installed before any documented route is registered.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Where Swagger UI and the document (`/docs/json`) are served. */
export const DOCS_PREFIX = '/docs';

export async function installDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'coinworks',
        description: 'Scoring API, merch shop and wallets in one service',
        version,
        license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
      },
      // Relative: the document describes the service that serves it, wherever it runs.
      servers: [{ url: '/', description: 'this service' }],
      // Open unless an operation says otherwise: the scoring API's token is in its body, the
      // wallets have no authentication, and signing in needs none.
      security: [],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // The browser session's cookie and its CSRF header; the names are the shop's
          // (SESSION_COOKIE in shop.sessions.ts), written here as the platform imports no feature.
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'coinworks_session' },
          csrfToken: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
}
