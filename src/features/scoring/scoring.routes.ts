// Owns the scoring API's HTTP surface: POST /method with its own body parsing (any content type,
// exact numbers), the {"code", "error"} envelope for every failure, and 405 for other verbs.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../platform/errors.ts';
import { errorHandler, type HttpFailure } from '../../platform/http/errors.ts';
import { parseJsonKeepingFloats } from '../../platform/http/json.ts';
import { scoringErrors } from './scoring.errors.ts';
import type { ScoringService } from './scoring.service.ts';

/** Largest /method body accepted; a request with 1,000 ids and long names fits well within it. */
export const SCORING_BODY_LIMIT_BYTES = 64 * 1024;

export interface ScoringRoutesOptions {
  readonly service: ScoringService;
}

/** The scoring API's body for every failure; the HTTP status always equals `code`. */
export function renderEnvelope(failure: HttpFailure) {
  return { code: failure.status, error: failure.message };
}

const envelopeSchema = {
  type: 'object',
  properties: {
    account: { type: 'string', description: 'may be missing or empty' },
    login: { type: 'string', description: 'required; "admin" for the admin token' },
    token: { type: 'string', description: 'sha512 hex, see README' },
    arguments: { type: 'object', additionalProperties: true },
    method: { type: 'string', enum: ['online_score', 'clients_interests'] },
  },
  required: ['login', 'token', 'arguments', 'method'],
} as const;

function responseSchemas() {
  const responses: Record<number, object> = {
    200: {
      description: 'online_score: {"score": number}; clients_interests: {"<id>": [interest, ...]}',
      type: 'object',
      properties: { code: { type: 'integer' }, response: {} },
    },
  };
  for (const spec of Object.values(scoringErrors)) {
    responses[spec.status] = {
      description: spec.message,
      type: 'object',
      properties: { code: { type: 'integer' }, error: { type: 'string' } },
    };
  }
  return responses;
}

export async function scoringRoutes(app: FastifyInstance, options: ScoringRoutesOptions) {
  const { service } = options;
  app.setErrorHandler(errorHandler(renderEnvelope));

  // Clients of the course template post JSON with any content type (curl's default is a form),
  // so every body is read as JSON text here, in this plugin's scope only.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'string', bodyLimit: SCORING_BODY_LIMIT_BYTES },
    (_request, body, done) => {
      try {
        done(null, parseJsonKeepingFloats(body as string));
      } catch {
        done(new AppError(scoringErrors.BAD_REQUEST, 'Bad Request: the body is not valid JSON'));
      }
    },
  );

  app.post(
    '/method',
    {
      schema: {
        summary: 'Scoring API: online_score or clients_interests',
        tags: ['scoring'],
        body: envelopeSchema,
        response: responseSchemas(),
      },
      // The declarative fields validate the body (the order of checks is part of the contract);
      // the schema above only documents it.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const result = await service.handle(request.body);
      request.log.info(result.context, 'scoring method served');
      return { code: 200, response: result.response };
    },
  );

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/method',
    schema: { hide: true },
    handler: async () => {
      throw new AppError(scoringErrors.METHOD_NOT_ALLOWED, 'Method Not Allowed: use POST', {
        allow: 'POST',
      });
    },
  });
}
