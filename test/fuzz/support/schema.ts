// Owns the fuzz layer's view of OpenAPI 3.0 schemas: each is turned into plain JSON Schema once
// (references to the document's named schemas resolved, nullable, boolean exclusive bounds),
// which both the generators and a real validator (Ajv, with its formats) read, so that "valid"
// means the same thing to the cases generated and to the checks.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

export type JsonSchema = { readonly [keyword: string]: unknown };

// ajv-formats is CommonJS; its default export arrives as the module object or the function.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const ajv = addFormats(new Ajv({ allErrors: true, strict: false, unicodeRegExp: true }));
const compiled = new WeakMap<object, ValidateFunction>();

const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf'] as const;
const SUBSCHEMAS = ['items', 'not', 'additionalProperties'] as const;

/** A document's named schemas (components.schemas), which its `$ref`s point into. */
export type NamedSchemas = Readonly<Record<string, unknown>>;

const NAMED_SCHEMA_REF = '#/components/schemas/';

/** The named schema a `$ref` points to; a reference outside the document is not followed. */
function resolved(reference: string, named: NamedSchemas): unknown {
  const name = reference.startsWith(NAMED_SCHEMA_REF)
    ? reference.slice(NAMED_SCHEMA_REF.length)
    : undefined;
  if (name === undefined || !Object.hasOwn(named, name)) {
    throw new Error(`the document has no schema for the reference ${reference}`);
  }
  return named[name];
}

/**
 * The JSON Schema an OpenAPI 3.0 schema object means: a `$ref` is the named schema it points to
 * (OpenAPI 3.0 ignores its siblings), `nullable: true` adds null to `type` (and to `enum`, as a
 * nullable enum accepts null in OpenAPI 3.0.3), and the boolean forms of
 * `exclusiveMinimum`/`exclusiveMaximum` become the numeric bounds of JSON Schema.
 */
export function fromOpenApi(
  schema: unknown,
  named: NamedSchemas = {},
  seen: ReadonlySet<string> = new Set(),
): JsonSchema {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return {};
  const reference = (schema as { $ref?: unknown }).$ref;
  if (typeof reference === 'string') {
    // Generated values must be finite: a schema that contains itself has no place here yet.
    if (seen.has(reference)) throw new Error(`the schema ${reference} refers to itself`);
    return fromOpenApi(resolved(reference, named), named, new Set([...seen, reference]));
  }
  const inner = (value: unknown) => fromOpenApi(value, named, seen);
  const out: Record<string, unknown> = { ...(schema as Record<string, unknown>) };
  if (out.nullable === true && out.type !== undefined) {
    const types = Array.isArray(out.type) ? out.type : [out.type];
    if (!types.includes('null')) out.type = [...types, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  delete out.nullable;
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] !== 'boolean') continue;
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else {
      delete out[flag];
    }
  }
  if (out.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, unknown>).map(([k, v]) => [k, inner(v)]),
    );
  }
  for (const key of SUBSCHEMAS) {
    if (typeof out[key] === 'object' && out[key] !== null) out[key] = inner(out[key]);
  }
  for (const key of SUBSCHEMA_LISTS) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map(inner);
  }
  return out;
}

/**
 * The schema as a validator of parsed JSON sees it: a bound beyond 2^53 is read as a double, as
 * the JSON text of any number is, so an exclusive one there becomes inclusive (2^63 − 1 and 2^63
 * are the same double); the generators still keep such bounds exactly, with bigints.
 */
function forDoubles(schema: JsonSchema): JsonSchema {
  const out: Record<string, unknown> = { ...schema };
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    const value = out[flag];
    if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value)) {
      out[bound] = value;
      delete out[flag];
    }
  }
  if (out.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, JsonSchema>).map(([k, v]) => [
        k,
        forDoubles(v),
      ]),
    );
  }
  for (const key of SUBSCHEMAS) {
    if (typeof out[key] === 'object' && out[key] !== null) {
      out[key] = forDoubles(out[key] as JsonSchema);
    }
  }
  for (const key of SUBSCHEMA_LISTS) {
    if (Array.isArray(out[key])) out[key] = (out[key] as JsonSchema[]).map(forDoubles);
  }
  return out;
}

function validatorOf(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(forDoubles(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

/** JSON as it travels: bigints (integers beyond 2^53) become the doubles a parser reads. */
function asParsedJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(asParsedJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asParsedJson(v)]));
  }
  return value;
}

/** Whether a JSON value (bigints allowed) is valid against the schema. */
export function isValid(schema: JsonSchema, value: unknown): boolean {
  return validatorOf(schema)(asParsedJson(value)) === true;
}

/** The validator's complaints, one line each; empty when the value is valid. */
export function problemsOf(schema: JsonSchema, value: unknown): string[] {
  const validate = validatorOf(schema);
  if (validate(asParsedJson(value)) === true) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'} ${JSON.stringify(e.params)}`,
  );
}

/** The JSON types a schema's `type` allows; all of them when it names none. */
export function typesOf(schema: JsonSchema): readonly string[] {
  const { type } = schema;
  if (type === undefined) return JSON_TYPES;
  return (Array.isArray(type) ? type : [type]) as string[];
}

export const JSON_TYPES = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];
