// Owns the scoring API's HTTP surface: POST /method with its own body parsing (any content type,
// exact numbers), the {"code", "error"} envelope for every failure, and 405 for other verbs.
import type { FastifyInstance } from 'fastify';
import { RETRY_AFTER, ref } from '../../platform/docs.ts';
import { AppError } from '../../platform/errors.ts';
import {
  ANY_CONTENT_TYPE,
  addTextBodyParser,
  BodyEncodingError,
} from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure } from '../../platform/http/errors.ts';
import { parseJsonKeepingFloats } from '../../platform/http/json.ts';
import { scoringErrors } from './scoring.errors.ts';
import {
  scoringErrorSchema,
  scoringRequestSchema,
  scoringResponseSchema,
} from './scoring.openapi.ts';
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

/** Why POST /method answers each status of the catalogue; null: it never does. */
const ANSWERED: Record<keyof typeof scoringErrors, string | null> = {
  BAD_REQUEST: 'the body is not JSON text in UTF-8, or not a JSON object',
  FORBIDDEN:
    'the token is not the one of this account and login (nor, for "admin", of this hour); checked before the arguments',
  // Paths other than /method, and other methods on it, are answered in the same envelope.
  NOT_FOUND: null,
  METHOD_NOT_ALLOWED: null,
  PAYLOAD_TOO_LARGE: `the body is over ${SCORING_BODY_LIMIT_BYTES} bytes`,
  INVALID_REQUEST:
    'an envelope field or an argument is invalid (the message names each one and why), or the method is unknown',
  INTERNAL: 'the interests store holds a value that is not a JSON array of strings, or a bug',
  STORE_UNAVAILABLE:
    'clients_interests: the interests store is unreachable (no partial answer is made up); or the service is shutting down',
};

function responseSchemas() {
  const responses: Record<number, object> = {
    200: {
      description:
        'online_score: {"score": number}; clients_interests: {"<id>": [interest, …]}, by the method asked',
      ...ref(scoringResponseSchema),
    },
  };
  for (const [code, why] of Object.entries(ANSWERED)) {
    const { status } = scoringErrors[code as keyof typeof scoringErrors];
    if (why === null) continue;
    responses[status] = {
      description: why,
      ...(status === scoringErrors.STORE_UNAVAILABLE.status ? { headers: RETRY_AFTER } : {}),
      ...ref(scoringErrorSchema),
    };
  }
  return responses;
}

export async function scoringRoutes(app: FastifyInstance, options: ScoringRoutesOptions) {
  const { service } = options;
  app.setErrorHandler(errorHandler(renderEnvelope));

  // Clients of the course template post JSON with any content type (curl's default is a form),
  // so every body is read as JSON text here, in this plugin's scope only.
  addTextBodyParser(app, ANY_CONTENT_TYPE, {
    bodyLimit: SCORING_BODY_LIMIT_BYTES,
    read: parseJsonKeepingFloats,
    refuse: (error) =>
      new AppError(
        scoringErrors.BAD_REQUEST,
        error instanceof BodyEncodingError
          ? 'Bad Request: the body is not UTF-8 text'
          : 'Bad Request: the body is not valid JSON',
      ),
  });

  app.post(
    '/method',
    {
      schema: {
        summary: 'Scoring API: online_score or clients_interests',
        operationId: 'callScoringMethod',
        tags: ['scoring'],
        body: ref(scoringRequestSchema),
        response: responseSchemas(),
      },
      // The declarative fields validate the body (the order of checks is part of the contract);
      // the schema above only documents it.
      validatorCompiler: () => () => true,
      // The answers are written with JSON.stringify, not compiled from the schemas above, which
      // only document them: the 200's oneOf would be matched branch by branch on every answer,
      // on the service's hottest path; the fuzz layer checks each answer against the document.
      serializerCompiler: () => (data) => JSON.stringify(data),
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
        headers: { allow: 'POST' },
      });
    },
  });
}
