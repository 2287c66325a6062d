// Owns the scoring API's named schemas in the OpenAPI document: the envelope, each method's
// arguments and answer, and the error body. They only document the declarations of
// scoring.requests.ts (which validate), built from the constants those use: a client generating
// requests from them gets exactly the requests those accept, except what JSON Schema cannot say
// (how far a birthday lies from today, and whether a number was written as `1` or `1.0`).
import { type NamedSchema, ref } from '../../platform/docs.ts';
import { CALENDAR_DATE_PATTERN } from './fields/calendar.ts';
import {
  CLIENT_IDS_MAX,
  EMAIL_MARK,
  GENDERS,
  PHONE_INTEGERS,
  PHONE_PATTERN,
  TEXT_LENGTH_MAX,
} from './fields/fields.ts';
import {
  clientsInterestsRequest,
  onlineScoreRequest,
  SCORE_PAIRS,
  SCORING_METHODS,
  type ScoringMethod,
} from './scoring.requests.ts';

/** "Empty" as the template defined it, whatever the field's type: null, "", [] or {}. */
const emptyValues = [
  { type: 'null' },
  { type: 'string', maxLength: 0 },
  { type: 'array', maxItems: 0 },
  { type: 'object', maxProperties: 0 },
] as const;
/** A field that may be missing or empty, described by what its declaration expects. */
const orEmpty = (schema: object, description: string) => ({
  description: `${description}; or empty (null, "", [] or {})`,
  anyOf: [schema, ...emptyValues],
});
const text = { type: 'string', maxLength: TEXT_LENGTH_MAX };
const date = { type: 'string', pattern: CALENDAR_DATE_PATTERN };
/** JSON Schema sees values, not texts: an integer written `1.0` or `1e0` is refused all the same. */
const AS_WRITTEN = 'an integer written without a decimal point or exponent';
const declared = onlineScoreRequest.fields;

/** Each online_score field when it is given a value (not one of the empty values). */
const scoreFields: Record<string, object> = {
  phone: {
    anyOf: [
      { type: 'string', pattern: PHONE_PATTERN.source },
      { type: 'integer', minimum: PHONE_INTEGERS.min, maximum: PHONE_INTEGERS.max },
    ],
  },
  email: { ...text, pattern: EMAIL_MARK },
  first_name: { ...text, minLength: 1 },
  last_name: { ...text, minLength: 1 },
  // The day's bounds depend on the server's today, which no schema can say.
  birthday: date,
  gender: { type: 'integer', enum: [...GENDERS] },
};
const scoreNotes: Record<string, string> = {
  phone: ` (${AS_WRITTEN})`,
  email: `, at most ${TEXT_LENGTH_MAX} characters`,
  first_name: `, at most ${TEXT_LENGTH_MAX} characters`,
  last_name: `, at most ${TEXT_LENGTH_MAX} characters`,
  birthday: ' (a real date; day and month in one or two digits), by the server’s calendar',
  gender: ` (${AS_WRITTEN}; 0 is a value, not empty)`,
};

// Each pair's branch says its fields have values with the fields' own schemas, not with `not`
// over the empty values: generators (openapi-typescript) turn a `not` into a type no value has.
export const onlineScoreArgumentsSchema = {
  $id: 'OnlineScoreArguments',
  type: 'object',
  description: `Each field may be missing or empty (null, "", [] or {}); at least one pair must have both values: ${SCORE_PAIRS.map((p) => p.join('+')).join(', ')}. Other fields are ignored.`,
  properties: Object.fromEntries(
    Object.entries(scoreFields).map(([name, schema]) => [
      name,
      orEmpty(schema, `${declared[name as keyof typeof declared].expects}${scoreNotes[name]}`),
    ]),
  ),
  anyOf: SCORE_PAIRS.map(([a, b]) => ({
    required: [a, b],
    properties: { [a]: scoreFields[a], [b]: scoreFields[b] },
  })),
} as const satisfies NamedSchema;

export const clientsInterestsArgumentsSchema = {
  $id: 'ClientsInterestsArguments',
  type: 'object',
  description: 'Other fields are ignored.',
  properties: {
    client_ids: {
      type: 'array',
      minItems: 1,
      maxItems: CLIENT_IDS_MAX,
      items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      description: `${clientsInterestsRequest.fields.client_ids.expects} (${AS_WRITTEN}); an id given twice is answered once`,
    },
    date: orEmpty(
      date,
      `${clientsInterestsRequest.fields.date.expects} (a real date; day and month in one or two digits), otherwise unused`,
    ),
  },
  required: ['client_ids'],
} as const satisfies NamedSchema;

const argumentsOf: Record<ScoringMethod, NamedSchema> = {
  online_score: onlineScoreArgumentsSchema,
  clients_interests: clientsInterestsArgumentsSchema,
};

export const scoringRequestSchema = {
  $id: 'ScoringRequest',
  type: 'object',
  description:
    'Checked in this order: the envelope (422), the token (403), then the arguments (422). Other fields are ignored.',
  properties: {
    account: orEmpty(text, `may be missing; a string of at most ${TEXT_LENGTH_MAX} characters`),
    login: orEmpty(
      text,
      `a string of at most ${TEXT_LENGTH_MAX} characters; "admin" for the admin`,
    ),
    token: orEmpty(
      { type: 'string' },
      'sha512 hex of account + login + salt; for "admin", of the hour (YYYYMMDDHH) + admin salt',
    ),
    // additionalProperties stated: generators read an object without it as one with no keys.
    arguments: {
      type: 'object',
      additionalProperties: true,
      description: 'the method’s arguments',
    },
    method: { type: 'string', enum: [...SCORING_METHODS] },
  },
  required: ['login', 'token', 'arguments', 'method'],
  oneOf: SCORING_METHODS.map((method) => ({
    properties: { method: { enum: [method] }, arguments: ref(argumentsOf[method]) },
    required: ['method'],
  })),
} as const satisfies NamedSchema;

export const onlineScoreResultSchema = {
  $id: 'OnlineScoreResult',
  type: 'object',
  properties: { score: { type: 'number', description: 'the integer 42 for the admin' } },
  required: ['score'],
} as const satisfies NamedSchema;

export const clientsInterestsResultSchema = {
  $id: 'ClientsInterestsResult',
  type: 'object',
  description: 'Each requested id, as a string key, with its interests ([] when none are stored).',
  additionalProperties: { type: 'array', items: { type: 'string' } },
} as const satisfies NamedSchema;

export const scoringResponseSchema = {
  $id: 'ScoringResponse',
  type: 'object',
  properties: {
    code: { type: 'integer', enum: [200] },
    response: { oneOf: [ref(onlineScoreResultSchema), ref(clientsInterestsResultSchema)] },
  },
  required: ['code', 'response'],
} as const satisfies NamedSchema;

export const scoringErrorSchema = {
  $id: 'ScoringError',
  type: 'object',
  description: 'Every failure of the scoring API, and of any path no API owns.',
  properties: {
    code: { type: 'integer', description: 'the HTTP status' },
    error: { type: 'string', description: 'what was wrong; a 422 names every invalid field' },
  },
  required: ['code', 'error'],
} as const satisfies NamedSchema;

export const scoringSchemas: readonly NamedSchema[] = [
  scoringRequestSchema,
  onlineScoreArgumentsSchema,
  clientsInterestsArgumentsSchema,
  scoringResponseSchema,
  onlineScoreResultSchema,
  clientsInterestsResultSchema,
  scoringErrorSchema,
];
