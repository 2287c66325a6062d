// Owns the scoring API's HTTP surface: POST /method with its own body parsing (any content type,
// exact numbers), the {"code", "error"} envelope for every failure, and 405 for other verbs.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../platform/errors.ts';
import {
  ANY_CONTENT_TYPE,
  addTextBodyParser,
  BodyEncodingError,
} from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure } from '../../platform/http/errors.ts';
import { parseJsonKeepingFloats } from '../../platform/http/json.ts';
import { BIRTHDAY_AGE_YEARS_MAX, CLIENT_IDS_MAX, TEXT_LENGTH_MAX } from './fields/fields.ts';
import { scoringErrors } from './scoring.errors.ts';
import { SCORE_PAIRS } from './scoring.requests.ts';
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

// The schemas below only document the declarations of scoring.requests.ts (which validate); a
// client generating requests from them gets exactly the requests those accept, except what JSON
// Schema cannot say: whether a date exists and how far a birthday lies from today.

/** "Empty" as the template defined it, whatever the field's type: null, "", [] or {}. */
const emptyValues = [
  { type: 'null' },
  { type: 'string', maxLength: 0 },
  { type: 'array', maxItems: 0 },
  { type: 'object', maxProperties: 0 },
] as const;
const orEmpty = (schema: object) => ({ anyOf: [schema, ...emptyValues] });
const text = { type: 'string', maxLength: TEXT_LENGTH_MAX };
const date = { type: 'string', pattern: '^[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{4}$' };

/** Each online_score field when it is given a value (not one of the empty values). */
const scoreFields: Record<string, object> = {
  phone: {
    description: '11 digits starting with 7, as a string or an integer',
    anyOf: [
      { type: 'string', pattern: '^7[0-9]{10}$' },
      { type: 'integer', minimum: 70_000_000_000, maximum: 79_999_999_999 },
    ],
  },
  email: { ...text, pattern: '@' },
  first_name: { ...text, minLength: 1 },
  last_name: { ...text, minLength: 1 },
  birthday: {
    ...date,
    description: `DD.MM.YYYY, a real date, not in the future, at most ${BIRTHDAY_AGE_YEARS_MAX} years ago`,
  },
  gender: { type: 'integer', enum: [0, 1, 2] },
};

// Each pair's branch says its fields have values with the fields' own schemas, not with `not`
// over the empty values: generators (openapi-typescript) turn a `not` into a type no value has.
const onlineScoreArguments = {
  type: 'object',
  description: `at least one pair non-empty: ${SCORE_PAIRS.map((p) => p.join('+')).join(', ')}`,
  properties: Object.fromEntries(
    Object.entries(scoreFields).map(([name, schema]) => [name, orEmpty(schema)]),
  ),
  anyOf: SCORE_PAIRS.map(([a, b]) => ({
    required: [a, b],
    properties: { [a]: scoreFields[a], [b]: scoreFields[b] },
  })),
};

const clientsInterestsArguments = {
  type: 'object',
  properties: {
    client_ids: {
      type: 'array',
      minItems: 1,
      maxItems: CLIENT_IDS_MAX,
      items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    },
    date: orEmpty({ ...date, description: 'DD.MM.YYYY, a real date (checked, otherwise unused)' }),
  },
  required: ['client_ids'],
};

const envelopeSchema = {
  type: 'object',
  properties: {
    account: orEmpty({ ...text, description: 'may be missing or empty' }),
    login: orEmpty({ ...text, description: 'required; "admin" for the admin token' }),
    token: orEmpty({ type: 'string', description: 'sha512 hex, see README' }),
    // additionalProperties stated: generators read an object without it as one with no keys.
    arguments: {
      type: 'object',
      additionalProperties: true,
      description: 'the method’s arguments',
    },
    method: { type: 'string', enum: ['online_score', 'clients_interests'] },
  },
  required: ['login', 'token', 'arguments', 'method'],
  oneOf: [
    {
      properties: { method: { enum: ['online_score'] }, arguments: onlineScoreArguments },
      required: ['method'],
    },
    {
      properties: { method: { enum: ['clients_interests'] }, arguments: clientsInterestsArguments },
      required: ['method'],
    },
  ],
};

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
