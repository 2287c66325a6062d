// Owns the OpenAPI document and its UI at /docs, built from the routes' own schemas: the named
// schemas every API registers here (components.schemas, under their own `$id`s), and the few
// facts of the document no route schema can say. It must be installed before any documented
// route is registered.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Where Swagger UI and the document (`/docs/json`) are served. */
export const DOCS_PREFIX = '/docs';

/** A schema with a name: registered once (installDocs), and referenced by that name (ref). */
export interface NamedSchema {
  readonly $id: string;
  readonly [keyword: string]: unknown;
}

/** A route schema's reference to a named schema; the document writes #/components/schemas/$id. */
export interface SchemaRef {
  readonly $ref: string;
}

export function ref(schema: NamedSchema): SchemaRef {
  return { $ref: `${schema.$id}#` };
}

/** The Retry-After header of an answer, as a route's response schema lists its headers. */
export const RETRY_AFTER = {
  'Retry-After': { type: 'integer', description: 'seconds to wait before trying again' },
} as const;

/** The optional Idempotency-Key request header, with the key's rules and what a retry gets. */
export function idempotencyKeyHeader(
  key: { readonly lengthMax: number; readonly pattern: RegExp },
  replays: string,
) {
  return {
    type: 'object',
    properties: {
      'idempotency-key': {
        type: 'string',
        minLength: 1,
        maxLength: key.lengthMax,
        pattern: key.pattern.source,
        description: `optional, printable ASCII; a retry with the same key replays ${replays}`,
      },
    },
  } as const;
}

/** The answer header saying it replays the first outcome of its Idempotency-Key. */
export const IDEMPOTENT_REPLAYED = {
  'Idempotent-Replayed': {
    type: 'string',
    enum: ['true'],
    description: 'present when the answer replays the first outcome of this Idempotency-Key',
  },
} as const;

/**
 * Set to true on a route's schema when its body may be left out: @fastify/swagger writes every
 * documented body as required (Fastify's own validation would require one).
 */
export const OPTIONAL_BODY = 'x-optional-body';

/** The tag of the platform's own operations, apart from the APIs'. */
export const PLATFORM_TAG = 'platform';

/** The tags operations are grouped by, in the order Swagger UI shows them. */
const TAGS = [
  { name: 'scoring', description: 'The scoring API: POST /method, every answer in {"code", …}' },
  { name: 'shop', description: 'The merch shop: sign in, coins, transfers and purchases' },
  { name: 'session', description: 'The shop’s browser session: a cookie instead of a token' },
  { name: 'wallets', description: 'Wallets with exact integer balances (FastAPI-style errors)' },
  { name: PLATFORM_TAG, description: 'Liveness, readiness and metrics, for operators' },
];

type Operations = Record<string, Record<string, Record<string, unknown>>>;

const EXCLUSIVE_BOUNDS = [
  ['exclusiveMinimum', 'minimum'],
  ['exclusiveMaximum', 'maximum'],
] as const;

/**
 * The schemas are JSON Schema (draft 7, as Fastify compiles them), where an exclusive bound is a
 * number; OpenAPI 3.0 writes it as the bound with a flag. Rewrites every one in `node`.
 */
function exclusiveBoundsAsFlags(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) exclusiveBoundsAsFlags(item);
    return;
  }
  const schema = node as Record<string, unknown>;
  for (const [flag, bound] of EXCLUSIVE_BOUNDS) {
    if (typeof schema[flag] !== 'number') continue;
    schema[bound] = schema[flag];
    schema[flag] = true;
  }
  for (const value of Object.values(schema)) exclusiveBoundsAsFlags(value);
}

/** Each operation marked OPTIONAL_BODY gets a body that is not required, and loses the mark. */
function optionalBodies(paths: Operations): void {
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      if (operation[OPTIONAL_BODY] !== true) continue;
      delete operation[OPTIONAL_BODY];
      const body = operation.requestBody as { required?: boolean } | undefined;
      if (body) body.required = false;
    }
  }
}

export async function installDocs(
  app: FastifyInstance,
  version: string,
  schemas: readonly NamedSchema[],
): Promise<void> {
  // At the root, so that every scope's routes (and their serializers) can reference them.
  for (const schema of schemas) app.addSchema(schema);
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
      tags: TAGS,
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
    // A named schema keeps its `$id` as its name in components.schemas (the default numbers
    // them def-0, def-1, …, which a client generator would turn into type names).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      // A copy: nothing of the routes' own schemas is changed.
      const openapi = structuredClone(document.openapiObject);
      optionalBodies((openapi.paths ?? {}) as Operations);
      exclusiveBoundsAsFlags(openapi.paths);
      exclusiveBoundsAsFlags(openapi.components);
      return openapi;
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
}
