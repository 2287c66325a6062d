// Owns the operations of the service's own OpenAPI document as the fuzz layer drives them: each
// operation's parameters, body, responses and security read from /docs/json, and requests built
// from them, valid ones and ones with exactly one part made invalid (a parameter or the body).

import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { stringifyExact } from '../../support/wallets.ts';
import { type Invalid, invalidValue, type Place, validValue, viable } from './arbitraries.ts';
import { fromOpenApi, isValid, type JsonSchema, type NamedSchemas, typesOf } from './schema.ts';

export type Location = 'path' | 'query' | 'header' | 'cookie';

export interface Parameter {
  readonly name: string;
  readonly in: Location;
  readonly required: boolean;
  readonly schema: JsonSchema;
}

export interface ResponseSpec {
  /** Media types of the documented body; empty when the answer has no body. */
  readonly mediaTypes: readonly string[];
  readonly schema: JsonSchema | null;
  /** Names (lower case) of the headers documented as always present. */
  readonly requiredHeaders: readonly string[];
}

export interface SecurityScheme {
  readonly type: string;
  readonly scheme?: string;
  readonly in?: Location;
  readonly name?: string;
}

export interface Operation {
  /** `METHOD /path/{param}`, as a report names it. */
  readonly key: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: {
    readonly required: boolean;
    readonly mediaType: string;
    readonly schema: JsonSchema;
  } | null;
  /** By status code as the document writes it ("200", "4XX", "default"). */
  readonly responses: ReadonlyMap<string, ResponseSpec>;
  /** Alternatives, each the names of the schemes it needs together; empty: no security. */
  readonly security: readonly (readonly string[])[];
}

export interface ApiDocument {
  readonly operations: readonly Operation[];
  readonly schemes: Readonly<Record<string, SecurityScheme>>;
}

type Raw = Record<string, unknown>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function jsonMedia(
  content: unknown,
  named: NamedSchemas,
): { mediaType: string; schema: JsonSchema } | null {
  if (content === undefined || content === null) return null;
  const entries = Object.entries(content as Raw);
  const [mediaType, media] = entries.find(([type]) => type.includes('json')) ?? entries[0] ?? [];
  if (mediaType === undefined) return null;
  return { mediaType, schema: fromOpenApi((media as Raw | undefined)?.schema ?? {}, named) };
}

/** The service's OpenAPI document, read through the app as a client reads it. */
export async function readDocument(app: FastifyInstance): Promise<ApiDocument> {
  const response = await app.inject({ url: '/docs/json' });
  if (response.statusCode !== 200) throw new Error(`/docs/json answered ${response.statusCode}`);
  const document = response.json() as Raw;
  const components = (document.components ?? {}) as Raw;
  const schemes = (components.securitySchemes ?? {}) as Record<string, SecurityScheme>;
  const named = (components.schemas ?? {}) as NamedSchemas;
  const globalSecurity = (document.security ?? []) as Raw[];
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, Raw>)) {
    for (const method of METHODS) {
      const raw = item[method] as Raw | undefined;
      if (raw === undefined) continue;
      const parameters = ((raw.parameters ?? []) as Raw[]).map((p) => ({
        name: p.name as string,
        in: p.in as Location,
        required: p.required === true,
        schema: fromOpenApi(p.schema, named),
      }));
      const requestBody = raw.requestBody as Raw | undefined;
      const media = requestBody ? jsonMedia(requestBody.content, named) : null;
      const responses = new Map<string, ResponseSpec>();
      for (const [status, spec] of Object.entries((raw.responses ?? {}) as Record<string, Raw>)) {
        const body = jsonMedia(spec.content, named);
        const headers = Object.entries((spec.headers ?? {}) as Record<string, Raw>);
        responses.set(status, {
          mediaTypes: spec.content ? Object.keys(spec.content as Raw) : [],
          schema: body?.schema ?? null,
          requiredHeaders: headers
            .filter(([, h]) => h.required === true)
            .map(([n]) => n.toLowerCase()),
        });
      }
      const security = ((raw.security ?? globalSecurity) as Raw[]).map((alternative) =>
        Object.keys(alternative),
      );
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase() as Operation['method'],
        path,
        parameters,
        body:
          media === null
            ? null
            : {
                required: requestBody?.required === true,
                mediaType: media.mediaType,
                schema: media.schema,
              },
        responses,
        security: security.filter((names) => names.length > 0),
      });
    }
  }
  return { operations, schemes };
}

/** One request to an operation, before it is written out. */
export interface RequestCase {
  readonly path: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** null: no body is sent. */
  readonly body: { readonly value: unknown } | null;
  /** For a case made invalid: which part, and how. */
  readonly what?: string;
  /** A body beyond any body limit: refused whatever the schema says of its content. */
  readonly oversized?: true;
}

/** How much more often a mutation of one part is tried than a missing or oversized body. */
const MUTATION_WEIGHT = 4;

/** Bytes of padding that put a body beyond every limit of the service (1 MiB at most). */
const OVERSIZED_BODY_BYTES = 1024 * 1024 + 1;

function oversized(value: unknown): unknown {
  const padding = 'x'.repeat(OVERSIZED_BODY_BYTES);
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? { ...value, padding }
    : padding;
}

/** The part of a RequestCase a parameter of this location is in. */
const partOf = (location: Exclude<Location, 'cookie'>) =>
  location === 'header' ? ('headers' as const) : location;

const placeOf = (location: Location): Place => (location === 'header' ? 'header' : 'url');

function isNumeric(schema: JsonSchema): boolean {
  const types = typesOf(schema);
  return !types.includes('string') && (types.includes('integer') || types.includes('number'));
}

/** A parameter's value as the text it travels as. */
function parameterText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  return null;
}

/** Whether a parameter's text is valid: numbers as plain decimal integers or decimals. */
export function isValidParameter(parameter: Parameter, text: string): boolean {
  const { schema } = parameter;
  const types = typesOf(schema);
  if (types.includes('string') && isValid(schema, text)) return true;
  if (types.includes('integer') && /^-?\d+$/.test(text)) return isValid(schema, Number(text));
  if (types.includes('number') && /^-?\d+(\.\d+)?$/.test(text))
    return isValid(schema, Number(text));
  if (types.includes('boolean') && (text === 'true' || text === 'false')) return true;
  return false;
}

/** A path segment the router takes as a value: not empty, and not one that moves the path. */
const fitsPath = (text: string) => text !== '' && text !== '.' && text !== '..';

function validParameter(parameter: Parameter): fc.Arbitrary<string> {
  const texts = viable(
    validValue(parameter.schema, placeOf(parameter.in)).map(parameterText),
    (text) =>
      text !== null &&
      (parameter.in !== 'path' || fitsPath(text)) &&
      isValidParameter(parameter, text),
  );
  if (texts === null) throw new Error(`no valid text for the parameter ${parameter.name}`);
  return texts as fc.Arbitrary<string>;
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

function invalidParameter(parameter: Parameter): fc.Arbitrary<Invalid> | null {
  const place = placeOf(parameter.in);
  const invalid = invalidValue(parameter.schema, place, `${parameter.in} ${parameter.name}`);
  if (invalid === null) return null;
  const numeric = isNumeric(parameter.schema);
  return viable(
    invalid.map(({ what, value }) => ({ what, value: parameterText(value) })),
    (candidate) =>
      candidate.value !== null &&
      (parameter.in !== 'path' || fitsPath(candidate.value)) &&
      // Text with digits is a number to lenient parsers ("+5", " 5"), so it is not clearly
      // wrong: a number's invalid text has no digit, or is a plain decimal out of range.
      (!numeric || !/\d/.test(candidate.value) || PLAIN_DECIMAL.test(candidate.value)) &&
      !isValidParameter(parameter, candidate.value),
  ) as fc.Arbitrary<Invalid> | null;
}

function byLocation(values: readonly [Parameter, string | undefined][], location: Location) {
  const out: Record<string, string> = {};
  for (const [parameter, value] of values) {
    if (parameter.in === location && value !== undefined) out[parameter.name] = value;
  }
  return out;
}

/** Requests every part of which the document accepts. */
export function validCase(operation: Operation): fc.Arbitrary<RequestCase> {
  const parameters = operation.parameters.filter((p) => p.in !== 'cookie');
  const values = parameters.map((p) =>
    p.required ? validParameter(p) : fc.option(validParameter(p), { nil: undefined }),
  );
  const body = operation.body
    ? validValue(operation.body.schema).map((value) => ({ value }))
    : fc.constant(null);
  return fc.tuple(fc.tuple(...values), body).map(([texts, sent]) => {
    const pairs = parameters.map((p, i) => [p, texts[i]] as [Parameter, string | undefined]);
    return {
      path: byLocation(pairs, 'path'),
      query: byLocation(pairs, 'query'),
      headers: byLocation(pairs, 'header'),
      body: sent,
    };
  });
}

/**
 * Requests with exactly one part the document refuses: one parameter, or the body (a mutation
 * of it, or none at all where one is required); null when the operation takes nothing to break.
 */
export function invalidCase(operation: Operation): fc.Arbitrary<RequestCase> | null {
  const valid = validCase(operation);
  const sites: fc.WeightedArbitrary<RequestCase>[] = [];
  const site = (arbitrary: fc.Arbitrary<RequestCase>, weight = MUTATION_WEIGHT) =>
    sites.push({ arbitrary, weight });
  for (const parameter of operation.parameters) {
    const invalid = invalidParameter(parameter);
    if (invalid === null || parameter.in === 'cookie') continue;
    const part = partOf(parameter.in);
    site(
      fc.tuple(valid, invalid).map(([request, { what, value }]) => ({
        ...request,
        [part]: { ...request[part], [parameter.name]: value as string },
        what,
      })),
    );
  }
  if (operation.body) {
    const invalid = invalidValue(operation.body.schema);
    if (invalid) {
      site(
        fc.tuple(valid, invalid).map(([request, { what, value }]) => ({
          ...request,
          body: { value },
          what,
        })),
      );
    }
    site(
      valid.map((request) => ({
        ...request,
        body: { value: oversized(request.body?.value) },
        what: 'body: larger than any body limit',
        oversized: true as const,
      })),
      1,
    );
    if (operation.body.required) {
      site(
        valid.map((request) => ({ ...request, body: null, what: 'body: missing (required)' })),
        1,
      );
    }
  }
  return sites.length === 0 ? null : fc.oneof(...sites);
}

/** Whether the document accepts every part of the request. */
export function isValidCase(operation: Operation, request: RequestCase): boolean {
  for (const parameter of operation.parameters) {
    if (parameter.in === 'cookie') continue;
    const text = request[partOf(parameter.in)][parameter.name];
    if (text === undefined ? parameter.required : !isValidParameter(parameter, text)) return false;
  }
  if (operation.body === null) return true;
  if (request.body === null) return !operation.body.required;
  return isValid(operation.body.schema, request.body.value);
}

export interface HttpRequest {
  readonly method: Operation['method'];
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The request as it goes on the wire; `credentials` are extra headers (Authorization, Cookie). */
export function toHttpRequest(
  operation: Operation,
  request: RequestCase,
  credentials: Readonly<Record<string, string>> = {},
): HttpRequest {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(request.path[name] ?? ''),
  );
  const query = new URLSearchParams(request.query as Record<string, string>).toString();
  const headers: Record<string, string> = { ...request.headers, ...credentials };
  if (request.body === null)
    return { method: operation.method, url: `${path}${query ? `?${query}` : ''}`, headers };
  headers['content-type'] = operation.body?.mediaType ?? 'application/json';
  return {
    method: operation.method,
    url: `${path}${query ? `?${query}` : ''}`,
    headers,
    body: stringifyExact(request.body.value),
  };
}
