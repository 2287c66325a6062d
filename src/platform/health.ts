// Owns liveness, readiness and draining: /healthz says the process serves HTTP; /readyz asks every
// store the service depends on, so a load balancer sends traffic only where it can be served; and
// while the app closes, answers close their connections so that shutdown does not wait for them,
// and requests that still arrive are refused in the body style of the route they asked for. The
// two routes are documented, with the named schemas of their reports (Health, Readiness).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { type NamedSchema, PLATFORM_TAG, RETRY_AFTER, ref, type SchemaRef } from './docs.ts';
import { AppError, defineErrors } from './errors.ts';

export const healthErrors = defineErrors({
  SHUTTING_DOWN: {
    status: 503,
    message: 'Service Unavailable: shutting down',
    retryAfterSeconds: 1,
  },
});

/** What /readyz reports, overall and of each dependency's parts. */
const READINESS = ['ready', 'not ready', 'closing'] as const;
const PART_STATES = ['up', 'down'] as const;

export const healthSchema = {
  $id: 'Health',
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] } },
  required: ['status'],
} as const satisfies NamedSchema;

export const readinessSchema = {
  $id: 'Readiness',
  type: 'object',
  properties: {
    status: {
      type: 'string',
      enum: [...READINESS],
      description: 'ready only when every required part of every dependency is up',
    },
    checks: {
      type: 'object',
      description: 'each dependency (database, scoring) with the state of each of its parts',
      additionalProperties: {
        type: 'object',
        additionalProperties: { type: 'string', enum: [...PART_STATES] },
      },
    },
  },
  required: ['status', 'checks'],
} as const satisfies NamedSchema;

export const healthSchemas: readonly NamedSchema[] = [healthSchema, readinessSchema];

/** Options of the platform's own routes. */
export interface PlatformRoutesOptions {
  /** The body of the app's error envelope, which the platform's routes fail in. */
  readonly failure: SchemaRef;
}

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves to the dependency's parts and whether each is up; `required` parts decide. */
  check(): Promise<Readonly<Record<string, { readonly up: boolean; readonly required: boolean }>>>;
}

/**
 * Installs draining on `app` (the root); returns the plugin of /healthz and /readyz, for the
 * caller to register (where it covers their paths' other methods).
 */
export function installHealth(
  app: FastifyInstance,
  checks: readonly ReadinessCheck[],
): FastifyPluginAsync<PlatformRoutesOptions> {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A request in flight at close arrived on a keep-alive connection, which would otherwise stay
  // open after its answer and hold the server's close until the keep-alive timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // A new request on a kept-alive connection during close goes through the route's own error
  // handler, so each API answers in its own envelope (Fastify's built-in 503 has none of them).
  app.addHook('onRequest', (_request, _reply, done) => {
    done(closing ? new AppError(healthErrors.SHUTTING_DOWN) : undefined);
  });

  return async (scope, { failure }) => {
    const shuttingDown = { description: 'the service is shutting down', headers: RETRY_AFTER };
    scope.get(
      '/healthz',
      {
        schema: {
          summary: 'Liveness: the process serves HTTP',
          operationId: 'getHealth',
          tags: [PLATFORM_TAG],
          response: {
            200: { description: 'alive', ...ref(healthSchema) },
            503: { ...shuttingDown, ...failure },
          },
        },
      },
      async () => ({ status: 'ok' }),
    );
    scope.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: every store the service depends on answers',
          operationId: 'getReadiness',
          tags: [PLATFORM_TAG],
          response: {
            200: { description: 'ready to serve', ...ref(readinessSchema) },
            // Not `description`: beside a oneOf, @fastify/swagger would copy it into the schema.
            503: {
              'x-response-description':
                'a required part of a dependency is down (the report says which), or the service is shutting down (then the report, or the error envelope with Retry-After, as the request came before or during the close)',
              oneOf: [ref(readinessSchema), failure],
            },
          },
        },
      },
      async (_request, reply) => {
        const results = await Promise.all(
          checks.map(async (c) => [c.name, await c.check()] as const),
        );
        const report: Record<string, Record<string, string>> = {};
        let ready = !closing;
        for (const [name, parts] of results) {
          report[name] = {};
          for (const [part, state] of Object.entries(parts)) {
            report[name][part] = state.up ? 'up' : 'down';
            if (state.required && !state.up) ready = false;
          }
        }
        reply.code(ready ? 200 : 503);
        return { status: closing ? 'closing' : ready ? 'ready' : 'not ready', checks: report };
      },
    );
  };
}
