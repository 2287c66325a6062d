// Owns the conversion of JSON Schemas into fast-check arbitraries: values a schema accepts, and
// values it refuses, each refused one built by one named mutation of a valid value (a wrong type,
// a missing required field, an extra field, a bound crossed, an enum, pattern or format missed),
// so that a failure says what was wrong with the request that broke the service.
import fc from 'fast-check';
import { isValid, JSON_TYPES, type JsonSchema, typesOf } from './schema.ts';

/**
 * Where a generated text travels: JSON carries any code point (lone surrogates included, as
 * escapes); a URL only well-formed text; a header only printable ASCII without surrounding
 * blanks (HTTP trims them, and Node refuses anything else).
 */
export type Place = 'json' | 'url' | 'header';

/** Longest string generated where a schema sets no maximum. */
const TEXT_LENGTH_DEFAULT_MAX = 24;
/** Most extra properties added to an object whose schema allows them. */
const EXTRA_PROPERTIES_MAX = 2;
/** Most items in an array whose schema sets no maximum. */
const ITEMS_DEFAULT_MAX = 5;
/** Nesting of free-form JSON values (a schema of `{}`, extra properties). */
const FREE_JSON_DEPTH_MAX = 2;
/** Samples taken to decide whether a filtered arbitrary can produce anything at all. */
const VIABILITY_SAMPLES = 25;
/** Fixed seed of those samples, so that the same schema always gets the same generators. */
const VIABILITY_SEED = 20_250_101;
/** How far past a bound an out-of-range number goes. */
const BOUND_OVERSHOOT_MAX = 1_000n;
/** How far past a length limit a too-long string or array goes. */
const LENGTH_OVERSHOOT_MAX = 16;
/** Arrays longer than this are not built to cross a maxItems. */
const ITEMS_OVERSHOOT_LIMIT = 2_000;
/** How far beyond 2^53 an integer with no bound in its schema may go. */
const UNBOUNDED_REACH = 2n ** 64n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Characters that break naive handling more often than random ones do. */
const TRICKY = ['\u0000', '\n', '\t', '"', '\\', '/', '%', '&', '=', '?', '#', 'é', '😀', '\u202e'];
const LONE_SURROGATES = ['\ud800', '\udfff'];

function characters(place: Place): fc.Arbitrary<string> {
  const ascii = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
  if (place === 'header') return ascii;
  const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
  const tricky = place === 'json' ? [...TRICKY, ...LONE_SURROGATES] : TRICKY;
  return fc.oneof(
    { weight: 6, arbitrary: ascii },
    { weight: 2, arbitrary: fc.constantFrom(...tricky) },
    {
      weight: 2,
      arbitrary: place === 'json' ? anyCodePoint : anyCodePoint.filter((c) => c.isWellFormed()),
    },
  );
}

/** Strings of `place`, counted in code points (as JSON Schema counts), with lengths near both ends. */
function text(place: Place, minLength = 0, maxLength?: number): fc.Arbitrary<string> {
  const unit = characters(place);
  const max = maxLength ?? minLength + TEXT_LENGTH_DEFAULT_MAX;
  const shapes = [fc.string({ unit, minLength, maxLength: max })];
  if (maxLength !== undefined && maxLength > minLength + 2) {
    shapes.push(fc.string({ unit, minLength: maxLength - 2, maxLength }));
  }
  const strings = fc.oneof(...shapes);
  return place === 'header' ? strings.filter((s) => s.trim() === s) : strings;
}

/** A free-form JSON value, as a schema of `{}` allows. */
function freeJson(place: Place): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: FREE_JSON_DEPTH_MAX },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
      text(place),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(text(place, 1, 8), tie('value'), { maxKeys: 3 }),
    ),
  })).value;
}

/** `arbitrary.filter(predicate)`, or null when it never passes in a sample (a filter that never
 * passes would make fast-check loop for ever). */
export function viable<T>(
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => boolean,
): fc.Arbitrary<T> | null {
  const samples = fc.sample(arbitrary, { numRuns: VIABILITY_SAMPLES, seed: VIABILITY_SEED });
  return samples.some(predicate) ? arbitrary.filter(predicate) : null;
}

function without(schema: JsonSchema, ...keywords: string[]): JsonSchema {
  const out: Record<string, unknown> = { ...schema };
  for (const keyword of keywords) delete out[keyword];
  return out;
}

const LOWER_BOUNDS = new Set([
  'minimum',
  'exclusiveMinimum',
  'minLength',
  'minItems',
  'minProperties',
]);
const UPPER_BOUNDS = new Set([
  'maximum',
  'exclusiveMaximum',
  'maxLength',
  'maxItems',
  'maxProperties',
]);

/**
 * Both schemas at once, as far as a plain merge goes (properties, required, type, enum, bounds);
 * where it does not (two patterns, two unions), the first one's keyword is kept, and whoever
 * generates from the merge filters by the schemas themselves.
 */
export function merge(a: JsonSchema, b: JsonSchema): JsonSchema {
  const out: Record<string, unknown> = { ...a };
  for (const [keyword, value] of Object.entries(b)) {
    const mine = out[keyword];
    if (mine === undefined) {
      out[keyword] = value;
    } else if (keyword === 'properties') {
      const merged: Record<string, JsonSchema> = { ...(mine as Record<string, JsonSchema>) };
      for (const [name, schema] of Object.entries(value as Record<string, JsonSchema>)) {
        merged[name] = merged[name] ? merge(merged[name], schema) : schema;
      }
      out.properties = merged;
    } else if (keyword === 'required') {
      out.required = [...new Set([...(mine as string[]), ...(value as string[])])];
    } else if (keyword === 'type') {
      out.type = commonTypes(typesOf(a), typesOf(b));
    } else if (keyword === 'enum') {
      const theirs = (value as unknown[]).map((v) => JSON.stringify(v));
      out.enum = (mine as unknown[]).filter((v) => theirs.includes(JSON.stringify(v)));
    } else if (LOWER_BOUNDS.has(keyword)) {
      out[keyword] = Math.max(mine as number, value as number);
    } else if (UPPER_BOUNDS.has(keyword)) {
      out[keyword] = Math.min(mine as number, value as number);
    }
  }
  return out;
}

/** The types both lists allow; an integer is a number. */
function commonTypes(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of a) {
    for (const u of b) {
      if (t === u) out.add(t);
      else if ((t === 'number' && u === 'integer') || (t === 'integer' && u === 'number')) {
        out.add('integer');
      }
    }
  }
  return [...out];
}

/** validValue, or null where the schema accepts nothing (a branch that contradicts its base). */
function attempt(schema: JsonSchema, place: Place): fc.Arbitrary<unknown> | null {
  try {
    return validValue(schema, place);
  } catch {
    return null;
  }
}

function hasAny(schema: JsonSchema, keywords: readonly string[]): boolean {
  return keywords.some((k) => k in schema);
}

const STRING_KEYWORDS = ['minLength', 'maxLength', 'pattern', 'format'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];
const OBJECT_KEYWORDS = ['properties', 'required', 'additionalProperties'];
const ARRAY_KEYWORDS = ['items', 'minItems', 'maxItems'];

/** The types a schema with no `type` still clearly means by its keywords. */
function impliedTypes(schema: JsonSchema): readonly string[] {
  if (schema.type !== undefined) return typesOf(schema);
  if (hasAny(schema, OBJECT_KEYWORDS)) return ['object'];
  if (hasAny(schema, ARRAY_KEYWORDS)) return ['array'];
  if (hasAny(schema, STRING_KEYWORDS)) return ['string'];
  if (hasAny(schema, NUMBER_KEYWORDS)) return ['number'];
  return JSON_TYPES;
}

/** Integer bounds exactly, as bigints; null where there is none. */
function integerBounds(schema: JsonSchema): { min: bigint | null; max: bigint | null } {
  const exact = (n: unknown, up: boolean) =>
    typeof n === 'number' ? BigInt(up ? Math.ceil(n) : Math.floor(n)) : null;
  const min =
    exact(schema.minimum, true) ??
    (typeof schema.exclusiveMinimum === 'number'
      ? BigInt(Math.floor(schema.exclusiveMinimum)) + 1n
      : null);
  const max =
    exact(schema.maximum, false) ??
    (typeof schema.exclusiveMaximum === 'number'
      ? BigInt(Math.ceil(schema.exclusiveMaximum)) - 1n
      : null);
  return { min, max };
}

/** Integers in [min, max]: numbers within 2^53, bigints beyond it. */
function integers(min: bigint | null, max: bigint | null): fc.Arbitrary<number | bigint> {
  const lo = min ?? (max !== null && max < SAFE_MIN ? max - BOUND_OVERSHOOT_MAX : SAFE_MIN);
  const hi = max ?? (min !== null && min > SAFE_MAX ? min + BOUND_OVERSHOOT_MAX : SAFE_MAX);
  const exact = fc.bigInt({ min: lo, max: hi });
  const within = lo >= SAFE_MIN && hi <= SAFE_MAX ? exact.map(Number) : exact;
  // Where the schema sets no bound, JSON still allows any integer: now and then one far beyond.
  const beyond: fc.Arbitrary<number | bigint>[] = [];
  if (max === null) beyond.push(fc.bigInt({ min: hi + 1n, max: hi + UNBOUNDED_REACH }));
  if (min === null) beyond.push(fc.bigInt({ min: lo - UNBOUNDED_REACH, max: lo - 1n }));
  return beyond.length === 0
    ? within
    : fc.oneof(
        { weight: 4, arbitrary: within },
        ...beyond.map((arbitrary) => ({ weight: 1, arbitrary })),
      );
}

function stringValue(schema: JsonSchema, place: Place): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = schema.maxLength as number | undefined;
  let arbitrary: fc.Arbitrary<string>;
  if (schema.format === 'uuid') arbitrary = fc.uuid();
  else if (schema.format === 'date-time') {
    arbitrary = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  } else if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern, 'u');
    const shapes = [fc.stringMatching(pattern)];
    // A pattern that only rules some characters out is met by most text: try ours too, so the
    // characters stringMatching never picks (beyond ASCII) get their turn.
    const filtered = viable(text(place, minLength, maxLength), (s) => pattern.test(s));
    if (filtered) shapes.push(filtered);
    arbitrary = fc.oneof(...shapes);
  } else {
    return text(place, minLength, maxLength);
  }
  const fits = (s: string) => {
    const length = [...s].length;
    return length >= minLength && (maxLength === undefined || length <= maxLength);
  };
  const out = viable(arbitrary, fits);
  if (out === null) throw new Error(`no string fits ${JSON.stringify(schema)}`);
  return out;
}

function objectValue(schema: JsonSchema, place: Place): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  const shapes: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) {
    shapes[name] = validValue(property, place);
  }
  for (const name of required) shapes[name] ??= freeJson(place);
  const record = fc.record(shapes, { requiredKeys: required });
  const extra = schema.additionalProperties;
  if (extra === false) return record;
  const extraValue =
    typeof extra === 'object' && extra !== null
      ? validValue(extra as JsonSchema, place)
      : freeJson(place);
  const extraKey = text(place, 1, 12).filter((k) => !Object.hasOwn(shapes, k));
  const extras = fc.dictionary(extraKey, extraValue, { maxKeys: EXTRA_PROPERTIES_MAX });
  return fc.tuple(record, extras).map(([fields, more]) => ({ ...more, ...fields }));
}

function arrayValue(schema: JsonSchema, place: Place): fc.Arbitrary<unknown[]> {
  const items =
    typeof schema.items === 'object' && schema.items !== null
      ? validValue(schema.items as JsonSchema, place)
      : freeJson(place);
  const minLength = (schema.minItems as number | undefined) ?? 0;
  const maxLength = (schema.maxItems as number | undefined) ?? minLength + ITEMS_DEFAULT_MAX;
  return fc.array(items, { minLength, maxLength });
}

function ofType(schema: JsonSchema, type: string, place: Place): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const { min, max } = integerBounds(schema);
      return integers(min, max);
    }
    case 'number': {
      const min = (schema.minimum ?? schema.exclusiveMinimum) as number | undefined;
      const max = (schema.maximum ?? schema.exclusiveMaximum) as number | undefined;
      return fc
        .double({ noNaN: true, noDefaultInfinity: true, min, max })
        .filter((d) => !Object.is(d, -0));
    }
    case 'string':
      return stringValue(schema, place);
    case 'array':
      return arrayValue(schema, place);
    case 'object':
      return objectValue(schema, place);
    default:
      throw new Error(`unknown JSON type ${type}`);
  }
}

/** Values the schema accepts. */
export function validValue(schema: JsonSchema, place: Place = 'json'): fc.Arbitrary<unknown> {
  // Mutations ask for the same (merged, copied) schemas again and again: built once each.
  const key = `${place} ${JSON.stringify(schema)}`;
  let arbitrary = builtValues.get(key);
  if (arbitrary === undefined) {
    arbitrary = buildValidValue(schema, place);
    builtValues.set(key, arbitrary);
  }
  return arbitrary;
}

const builtValues = new Map<string, fc.Arbitrary<unknown>>();

function buildValidValue(schema: JsonSchema, place: Place): fc.Arbitrary<unknown> {
  const accepted = (value: unknown) => isValid(schema, value);
  const demand = (arbitrary: fc.Arbitrary<unknown> | null) => {
    if (arbitrary === null) throw new Error(`no value fits ${JSON.stringify(schema)}`);
    return arbitrary;
  };
  if (Array.isArray(schema.allOf)) {
    const merged = (schema.allOf as JsonSchema[]).reduce(merge, without(schema, 'allOf'));
    return demand(viable(validValue(merged, place), accepted));
  }
  for (const combinator of ['anyOf', 'oneOf'] as const) {
    if (!Array.isArray(schema[combinator])) continue;
    const base = without(schema, combinator);
    const branches = (schema[combinator] as JsonSchema[])
      .map((branch) => attempt(merge(base, branch), place))
      .map((branch) => branch && viable(branch, accepted))
      .filter((branch) => branch !== null);
    return demand(branches.length === 0 ? null : fc.oneof(...branches));
  }
  if (schema.not !== undefined) {
    return demand(viable(validValue(without(schema, 'not'), place), accepted));
  }
  if (Array.isArray(schema.enum)) return demand(viable(fc.constantFrom(...schema.enum), accepted));
  if (schema.const !== undefined) return fc.constant(schema.const);
  const types = impliedTypes(schema);
  if (types === JSON_TYPES) return freeJson(place);
  // "number" includes the integers; generating them on their own reaches exact bounds.
  const shapes = types.flatMap((t) => (t === 'number' ? ['number', 'integer'] : [t]));
  if (shapes.length === 0) throw new Error(`no type fits ${JSON.stringify(schema)}`);
  const arbitrary = fc.oneof(...shapes.map((t) => ofType({ ...schema, type: t }, t, place)));
  return schema.minProperties !== undefined || schema.maxProperties !== undefined
    ? demand(viable(arbitrary, accepted))
    : arbitrary;
}

/** A value the schema refuses, and what is wrong with it. */
export interface Invalid {
  readonly what: string;
  readonly value: unknown;
}

const labelled = (what: string) => (value: unknown) => ({ what, value }) as Invalid;

/** A value of a JSON type the schema does not allow ("a fraction" where only integers are). */
function wrongTypes(schema: JsonSchema, at: string, place: Place): fc.Arbitrary<Invalid>[] {
  const allowed = new Set(impliedTypes(schema));
  for (const combinator of ['anyOf', 'oneOf'] as const) {
    if (!Array.isArray(schema[combinator])) continue;
    const branchTypes = (schema[combinator] as JsonSchema[]).flatMap((b) =>
      impliedTypes(merge(without(schema, combinator), b)),
    );
    for (const t of allowed) if (!branchTypes.includes(t)) allowed.delete(t);
  }
  if (allowed.has('number')) allowed.add('integer');
  const wrong: fc.Arbitrary<Invalid>[] = [];
  const add = (type: string, arbitrary: fc.Arbitrary<unknown>) =>
    wrong.push(arbitrary.map(labelled(`${at}: wrong type (${type})`)));
  if (!allowed.has('null')) add('null', fc.constant(null));
  if (!allowed.has('boolean')) add('boolean', fc.boolean());
  if (!allowed.has('integer')) add('integer', fc.integer());
  if (!allowed.has('number')) {
    add(
      'fraction',
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    );
  }
  if (!allowed.has('string')) add('string', text(place));
  if (!allowed.has('array')) add('array', fc.array(freeJson(place), { maxLength: 3 }));
  if (!allowed.has('object')) {
    add('object', fc.dictionary(text(place, 1, 8), freeJson(place), { maxKeys: 3 }));
  }
  // All wrong types of one place count as one mutation, so that they do not crowd out the
  // mutations of the places inside it; except the number itself, quoted, which lenient parsers
  // take, so it is the wrong type that tells most.
  const out = wrong.length === 0 ? [] : [fc.oneof(...wrong)];
  if (allowed.has('integer') && !allowed.has('string')) {
    const { min, max } = integerBounds(schema);
    out.push(
      integers(min, max)
        .map(String)
        .map(labelled(`${at}: a number written as a string`)),
    );
  }
  return out;
}

function stringMutations(schema: JsonSchema, at: string, place: Place): fc.Arbitrary<Invalid>[] {
  const out: fc.Arbitrary<Invalid>[] = [];
  const minLength = schema.minLength as number | undefined;
  const maxLength = schema.maxLength as number | undefined;
  if (minLength !== undefined && minLength > 0) {
    out.push(text(place, 0, minLength - 1).map(labelled(`${at}: shorter than ${minLength}`)));
  }
  if (maxLength !== undefined) {
    out.push(
      text(place, maxLength + 1, maxLength + LENGTH_OVERSHOOT_MAX).map(
        labelled(`${at}: longer than ${maxLength}`),
      ),
    );
  }
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern, 'u');
    const missed = viable(text(place, minLength ?? 0, maxLength), (s) => !pattern.test(s));
    if (missed) out.push(missed.map(labelled(`${at}: does not match ${schema.pattern}`)));
  }
  if (typeof schema.format === 'string') {
    const format = { type: 'string', format: schema.format };
    const missed = viable(text(place, 1), (s) => !isValid(format, s));
    if (missed) out.push(missed.map(labelled(`${at}: not a ${schema.format}`)));
  }
  return out;
}

function numberMutations(schema: JsonSchema, at: string): fc.Arbitrary<Invalid>[] {
  const out: fc.Arbitrary<Invalid>[] = [];
  const { min, max } = integerBounds(schema);
  const exact = (n: bigint) => (n >= SAFE_MIN && n <= SAFE_MAX ? Number(n) : n);
  const overshoot = fc.bigInt({ min: 1n, max: BOUND_OVERSHOOT_MAX });
  if (min !== null)
    out.push(overshoot.map((d) => exact(min - d)).map(labelled(`${at}: below ${min}`)));
  if (max !== null)
    out.push(overshoot.map((d) => exact(max + d)).map(labelled(`${at}: above ${max}`)));
  return out;
}

function arrayMutations(
  schema: JsonSchema,
  at: string,
  place: Place,
  whole: JsonSchema,
): fc.Arbitrary<Invalid>[] {
  const out: fc.Arbitrary<Invalid>[] = [];
  const item =
    typeof schema.items === 'object' && schema.items !== null ? (schema.items as JsonSchema) : null;
  const minItems = schema.minItems as number | undefined;
  const maxItems = schema.maxItems as number | undefined;
  const items = item ? validValue(item, place) : freeJson(place);
  if (minItems !== undefined && minItems > 0) {
    out.push(
      fc.array(items, { maxLength: minItems - 1 }).map(labelled(`${at}: fewer than ${minItems}`)),
    );
  }
  if (maxItems !== undefined && maxItems < ITEMS_OVERSHOOT_LIMIT) {
    out.push(
      fc
        .array(items, { minLength: maxItems + 1, maxLength: maxItems + LENGTH_OVERSHOOT_MAX })
        .map(labelled(`${at}: more than ${maxItems} items`)),
    );
  }
  const valid = validValue(whole, place) as fc.Arbitrary<unknown[]>;
  for (const bad of item ? mutations(item, place, `${at}[]`) : []) {
    out.push(
      fc.tuple(valid, bad, fc.nat()).map(([array, invalid, index]) => {
        const copy = [...array];
        copy.splice(index % (copy.length + 1), 0, invalid.value);
        return { what: invalid.what, value: copy };
      }),
    );
  }
  return out;
}

function objectMutations(
  schema: JsonSchema,
  at: string,
  place: Place,
  whole: JsonSchema,
): fc.Arbitrary<Invalid>[] {
  const out: fc.Arbitrary<Invalid>[] = [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const valid = validValue(whole, place) as fc.Arbitrary<Record<string, unknown>>;
  for (const name of (schema.required ?? []) as string[]) {
    out.push(
      valid.map((object) => {
        const { [name]: _dropped, ...rest } = object;
        return { what: `${at}.${name}: missing (required)`, value: rest };
      }),
    );
  }
  if (schema.additionalProperties === false) {
    const key = text(place, 1, 12).filter((k) => !Object.hasOwn(properties, k));
    out.push(
      fc.tuple(valid, key, freeJson(place)).map(([object, name, value]) => ({
        what: `${at}: extra field ${JSON.stringify(name)} (additionalProperties is false)`,
        value: { ...object, [name]: value },
      })),
    );
  }
  for (const [name, property] of Object.entries(properties)) {
    for (const bad of mutations(property, place, `${at}.${name}`)) {
      out.push(
        fc.tuple(valid, bad).map(([object, invalid]) => ({
          what: invalid.what,
          value: { ...object, [name]: invalid.value },
        })),
      );
    }
  }
  return out;
}

/**
 * Every mutation of the schema's values, each a separate arbitrary (of one place, one way), so
 * that a mutation deep inside is as likely as one at the top. `whole` is the schema the place
 * really has, of which `schema` may be one branch: what is mutated is a value valid for it all
 * (a value of one branch of a oneOf may break another rule, and be refused for that instead).
 */
function mutations(
  schema: JsonSchema,
  place: Place,
  at: string,
  whole: JsonSchema = schema,
): fc.Arbitrary<Invalid>[] {
  const out: fc.Arbitrary<Invalid>[] = [...wrongTypes(schema, at, place)];
  for (const combinator of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (!Array.isArray(schema[combinator])) continue;
    const base = without(schema, combinator);
    // Each branch's refusals; and the base's own values that fit no branch (or two of a oneOf).
    for (const branch of schema[combinator] as JsonSchema[]) {
      const merged = merge(base, branch);
      if (attempt(merged, place) !== null) out.push(...mutations(merged, place, at, whole));
    }
    const baseValues = attempt(base, place);
    if (baseValues) {
      out.push(baseValues.map(labelled(`${at}: fits no ${combinator} branch as required`)));
    }
    return out;
  }
  if (schema.not !== undefined) {
    const inside = attempt(schema.not as JsonSchema, place);
    if (inside) out.push(inside.map(labelled(`${at}: matches what "not" forbids`)));
  }
  if (Array.isArray(schema.enum)) {
    const values = schema.enum;
    const other: fc.Arbitrary<unknown> = impliedTypes(schema).includes('string')
      ? text(place)
      : fc.integer();
    out.push(other.map(labelled(`${at}: not one of ${JSON.stringify(values)}`)));
  }
  const types = impliedTypes(schema);
  if (types.includes('string')) out.push(...stringMutations(schema, at, place));
  if (types.includes('integer') || types.includes('number')) {
    out.push(...numberMutations(schema, at));
  }
  if (types.includes('array')) out.push(...arrayMutations(schema, at, place, whole));
  if (types.includes('object')) out.push(...objectMutations(schema, at, place, whole));
  return out;
}

/**
 * Values the schema refuses, each one mutation away from a valid value; null when the schema
 * refuses nothing (`{}`). The caller still checks the whole request against its schema.
 */
export function invalidValue(
  schema: JsonSchema,
  place: Place = 'json',
  at = 'body',
): fc.Arbitrary<Invalid> | null {
  // Filtered here only, against the whole schema: a mutation that never breaks its own place
  // never breaks the whole either, and one that does may still fit another branch up there.
  const refused = (invalid: Invalid) => !isValid(schema, invalid.value);
  const all = mutations(schema, place, at)
    .map((arbitrary) => viable(arbitrary, refused))
    .filter((arbitrary) => arbitrary !== null);
  return all.length === 0 ? null : fc.oneof(...all);
}
