// Property tests: every field type and every request declaration, against oracles written here
// from the spec rather than from fields.ts, on arbitrary input and on generated valid input.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JsonNumber } from '../../../platform/http/json.ts';
import { clientsInterestsRequest, methodRequest, onlineScoreRequest } from '../scoring.requests.ts';
import type { CalendarDate } from './calendar.ts';
import {
  argumentsField,
  BIRTHDAY_AGE_YEARS_MAX,
  birthdayField,
  CLIENT_IDS_MAX,
  charField,
  clientIdsField,
  dateField,
  emailField,
  type Field,
  type FieldContext,
  genderField,
  phoneField,
  TEXT_LENGTH_MAX,
} from './fields.ts';
import { validateRequest } from './request.ts';

const RUNS = { numRuns: 1_000 };
const REQUEST_RUNS = { numRuns: 500 };
const DAY_MS = 86_400_000;
const rules = { required: true, nullable: false };

// ---------------------------------------------------------------------------------------------
// Oracles: the rules of the spec, stated independently of the code under test.

/** Midnight UTC of a proleptic Gregorian date; setUTCFullYear, unlike Date.UTC, keeps years < 100. */
function utcDay(year: number, month: number, day: number): number {
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  return instant.getTime();
}

function fromUtcDay(ms: number): CalendarDate {
  const instant = new Date(ms);
  return {
    year: instant.getUTCFullYear(),
    month: instant.getUTCMonth() + 1,
    day: instant.getUTCDate(),
  };
}

/** Whether the day exists, by Date arithmetic: a date that does not exist rolls over. */
function dayExists(year: number, month: number, day: number): boolean {
  return year >= 1 && isDeepStrictEqual(fromUtcDay(utcDay(year, month, day)), { year, month, day });
}

/** The earliest birthday accepted on `today`: the same day 70 years before, or the month's end. */
function oldestBirthdayMs({ year, month, day }: CalendarDate): number {
  const then = year - BIRTHDAY_AGE_YEARS_MAX;
  const lastDay = fromUtcDay(utcDay(then, month + 1, 0)).day;
  return utcDay(then, month, Math.min(day, lastDay));
}

const isEmptyValue = (value: unknown): boolean =>
  value === null ||
  value === '' ||
  (Array.isArray(value) && value.length === 0) ||
  (isObjectLiteral(value) && Object.keys(value).length === 0);

function isObjectLiteral(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

type Oracle = (input: unknown, value: unknown, context: FieldContext) => boolean;

const charOracle: Oracle = (input, value) =>
  typeof input === 'string' && Array.from(input).length <= TEXT_LENGTH_MAX && value === input;

/** Tokens have no length limit of their own: a long one is a wrong token, rejected as 403. */
const tokenOracle: Oracle = (input, value) => typeof input === 'string' && value === input;

const emailOracle: Oracle = (input, value, context) =>
  charOracle(input, value, context) && (input as string).includes('@');

const phoneOracle: Oracle = (input, value) =>
  (typeof input === 'string' || (typeof input === 'number' && Number.isSafeInteger(input))) &&
  /^7[0-9]{10}$/.test(String(input)) &&
  value === String(input);

const genderOracle: Oracle = (input, value) =>
  typeof input === 'number' && (input === 0 || input === 1 || input === 2) && value === input;

const dateOracle: Oracle = (input, value) => {
  if (typeof input !== 'string') return false;
  const match = /^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$/.exec(input);
  if (match === null) return false;
  const [day, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return dayExists(year, month, day) && isDeepStrictEqual(value, { year, month, day });
};

const birthdayOracle: Oracle = (input, value, context) => {
  if (!dateOracle(input, value, context)) return false;
  const { year, month, day } = value as CalendarDate;
  const at = utcDay(year, month, day);
  const { today } = context;
  return at <= utcDay(today.year, today.month, today.day) && at >= oldestBirthdayMs(today);
};

const clientIdsOracle: Oracle = (input, value) => {
  if (!Array.isArray(input) || input.length > CLIENT_IDS_MAX) return false;
  for (let i = 0; i < input.length; i++) {
    const id: unknown = input[i];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return false;
  }
  return isDeepStrictEqual(value, input);
};

const argumentsOracle: Oracle = (input, value) => isObjectLiteral(input) && value === input;

// ---------------------------------------------------------------------------------------------
// Generators.

const anything = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: 'binary',
});

const numberLike = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, 1, 2, 3, -1, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53),
);

const jsonFloat = fc
  .oneof(fc.constantFrom(0, 1, 2, 79175002040), fc.integer(), fc.maxSafeNat())
  .map((value) => new JsonNumber(value, `${value}.0`));

const deepArray = (() => {
  let value: unknown = [1];
  for (let i = 0; i < 10_000; i++) value = [value];
  return value;
})();
const deepObject = (() => {
  let value: unknown = { gender: 1 };
  for (let i = 0; i < 10_000; i++) value = { next: value };
  return value;
})();

const hugeValue = fc.constantFrom(
  'x'.repeat(1_000_000),
  '7'.repeat(100_000),
  `${'😀'.repeat(TEXT_LENGTH_MAX)}@`,
  '01.01.2000'.repeat(10_000),
  Array.from({ length: 100_000 }, (_, i) => i),
  deepArray,
  deepObject,
);

const loneSurrogate = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((unit) => String.fromCharCode(unit));
const astral = fc
  .integer({ min: 0x10000, max: 0x10ffff })
  .map((point) => String.fromCodePoint(point));

/** Strings of about TEXT_LENGTH_MAX code points, made of one- or two-unit characters. */
const nearLimitText = fc
  .tuple(
    fc.integer({ min: TEXT_LENGTH_MAX - 2, max: TEXT_LENGTH_MAX + 2 }),
    fc.constantFrom<'binary' | 'binary-ascii'>('binary', 'binary-ascii'),
  )
  .chain(([length, unit]) =>
    fc.oneof(
      fc.string({ unit, minLength: length, maxLength: length }),
      fc.string({ unit: astral, minLength: length, maxLength: length }),
      fc.string({ unit: loneSurrogate, minLength: length, maxLength: length }),
    ),
  );

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: loneSurrogate, maxLength: 4 }),
  nearLimitText,
);

const phoneLike = fc.oneof(
  fc.stringMatching(/^[ +]?[6-8][0-9]{9,11}\s?$/),
  fc.stringMatching(/^7[0-9]{10}$/).map((digits) => `${digits.slice(0, 10)}a`),
  fc.integer({ min: 6e10, max: 8e10 }),
  fc.double({ min: 7e10, max: 8e10 }),
  fc.integer({ min: 7e10, max: 8e10 - 1 }).map((n) => new JsonNumber(n, `${n}.0`)),
  fc.integer({ min: 7e10, max: 8e10 - 1 }).map((n) => [n]),
  fc.constantFrom('٧٩١٧٥٠٠٢٠٤٠', '7917500204０', -79175002040),
);

function formatDate(date: CalendarDate, padded: boolean): string {
  const two = (n: number) => (padded ? String(n).padStart(2, '0') : String(n));
  return `${two(date.day)}.${two(date.month)}.${String(date.year).padStart(4, '0')}`;
}

const dateLike = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 14 }),
      fc.integer({ min: 0, max: 9999 }),
      fc.boolean(),
    )
    .map(([day, month, year, padded]) => formatDate({ year, month, day }, padded)),
  // Month ends, 29 February and century years, where calendars usually go wrong.
  fc
    .tuple(
      fc.constantFrom(28, 29, 30, 31),
      fc.integer({ min: 1, max: 12 }),
      fc.oneof(
        fc.integer({ min: 0, max: 99 }).map((century) => century * 100),
        fc.integer({ min: 0, max: 2499 }).map((quarter) => quarter * 4),
        fc.integer({ min: 1, max: 9999 }),
      ),
    )
    .map(([day, month, year]) => formatDate({ year, month, day }, true)),
);

/** Values that are almost a valid id. */
const badId = fc.oneof(
  fc.constantFrom(-1, -0, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, '1', true, null, [1]),
  numberLike,
  jsonFloat,
);

const idsLike = fc.oneof(
  fc.array(fc.oneof(fc.maxSafeNat(), numberLike, jsonFloat, fc.string(), fc.constant(null)), {
    maxLength: 20,
  }),
  // Valid ids with one bad apple somewhere.
  fc
    .tuple(fc.array(fc.maxSafeNat(), { maxLength: 10 }), badId, fc.nat())
    .map(([ids, bad, at]) => (ids as unknown[]).toSpliced(at % (ids.length + 1), 0, bad)),
  fc.sparseArray(fc.maxSafeNat(), { maxLength: 10 }),
  fc
    .integer({ min: CLIENT_IDS_MAX - 1, max: CLIENT_IDS_MAX + 1 })
    .map((length) => Array.from({ length }, (_, i) => i)),
);

const objectLike = fc.oneof(
  fc.object({ maxDepth: 2 }),
  fc.object({ maxDepth: 1 }).map((o) => Object.assign(Object.create(null) as object, o)),
  fc.constantFrom(new Date(0), new Map([[1, 2]]), new (class Arguments {})(), Object.create({})),
);

/** Any input at all: arbitrary JS values and values shaped like each field's input. */
const anyInput = fc.oneof(
  anything,
  numberLike,
  jsonFloat,
  hugeValue,
  text,
  phoneLike,
  dateLike,
  idsLike,
  objectLike,
);

const todayArb: fc.Arbitrary<CalendarDate> = fc.oneof(
  fc
    .date({
      min: new Date(Date.UTC(1900, 0, 1)),
      max: new Date(Date.UTC(2200, 11, 31)),
      noInvalidDate: true,
    })
    .map((instant) => fromUtcDay(instant.getTime())),
  fc.constantFrom(
    { year: 2028, month: 2, day: 29 },
    { year: 2024, month: 2, day: 29 },
    { year: 2026, month: 11, day: 21 },
    { year: 2000, month: 3, day: 1 },
    { year: 2100, month: 12, day: 31 },
  ),
);
const contextArb: fc.Arbitrary<FieldContext> = todayArb.map((today) => ({ today }));

/** Birthdays `offsetDays` before today, around the 70-year edge and today itself. */
const birthdayNear = (context: FieldContext) => {
  const todayMs = utcDay(context.today.year, context.today.month, context.today.day);
  const spanDays = Math.round((todayMs - oldestBirthdayMs(context.today)) / DAY_MS);
  return fc
    .tuple(
      fc.oneof(
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: spanDays - 3, max: spanDays + 3 }),
        fc.integer({ min: -800, max: spanDays + 800 }),
      ),
      fc.boolean(),
    )
    .map(([offsetDays, padded]) => formatDate(fromUtcDay(todayMs - offsetDays * DAY_MS), padded));
};

/** Valid birthdays for `context`, from today back to the oldest accepted, edges included. */
const validBirthday = (context: FieldContext) => {
  const todayMs = utcDay(context.today.year, context.today.month, context.today.day);
  const spanDays = Math.round((todayMs - oldestBirthdayMs(context.today)) / DAY_MS);
  return fc
    .tuple(
      fc.oneof(fc.constantFrom(0, spanDays), fc.integer({ min: 0, max: spanDays })),
      fc.boolean(),
    )
    .map(([offsetDays, padded]) => {
      const date = fromUtcDay(todayMs - offsetDays * DAY_MS);
      return { input: formatDate(date, padded), expected: date };
    });
};

const validDate = fc
  .tuple(
    fc.date({
      min: new Date(utcDay(1, 1, 1)),
      max: new Date(utcDay(9999, 12, 31)),
      noInvalidDate: true,
    }),
    fc.boolean(),
  )
  .map(([instant, padded]) => {
    const date = fromUtcDay(instant.getTime());
    return { input: formatDate(date, padded), expected: date };
  });

const validText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: TEXT_LENGTH_MAX }),
  fc.string({ unit: 'grapheme-ascii', maxLength: TEXT_LENGTH_MAX }),
  fc.string({ unit: astral, minLength: TEXT_LENGTH_MAX, maxLength: TEXT_LENGTH_MAX }),
);

const validEmail = fc
  .tuple(
    fc.string({ unit: 'binary', maxLength: 127 }),
    fc.string({ unit: 'binary', maxLength: 127 }),
  )
  .map(([local, domain]) => `${local}@${domain}`);

const validPhone = fc.oneof(
  fc.stringMatching(/^7[0-9]{10}$/),
  fc.integer({ min: 70_000_000_000, max: 79_999_999_999 }),
);

const validIds = fc.oneof(
  fc.array(fc.oneof(fc.nat(1_000), fc.maxSafeNat()), { minLength: 1, maxLength: 50 }),
  fc.constant(Array.from({ length: CLIENT_IDS_MAX }, (_, i) => Number.MAX_SAFE_INTEGER - i)),
);

const validArguments = fc.oneof(
  fc.object({ maxDepth: 2 }),
  fc.object({ maxDepth: 1 }).map((o) => Object.assign(Object.create(null) as object, o)),
);

// ---------------------------------------------------------------------------------------------
// Field types.

interface FieldSpec {
  readonly name: string;
  readonly field: Field<unknown>;
  readonly oracle: Oracle;
  /** Inputs close to the rule's edges, to make sure some of the arbitrary inputs are accepted. */
  readonly nearby: (context: FieldContext) => fc.Arbitrary<unknown>;
  /** Valid inputs with the value the field must return for them. */
  readonly valid: (context: FieldContext) => fc.Arbitrary<{ input: unknown; expected: unknown }>;
}

const same = (arbitrary: fc.Arbitrary<unknown>) => () =>
  arbitrary.map((input) => ({ input, expected: input }));

const fieldSpecs: readonly FieldSpec[] = [
  {
    name: 'char',
    field: charField(rules),
    oracle: charOracle,
    nearby: () => text,
    valid: same(validText),
  },
  {
    name: 'email',
    field: emailField(rules),
    oracle: emailOracle,
    nearby: () =>
      fc.oneof(
        text,
        text.map((t) => `${t}@`),
        validEmail,
      ),
    valid: same(validEmail),
  },
  {
    name: 'phone',
    field: phoneField(rules),
    oracle: phoneOracle,
    nearby: () => fc.oneof(phoneLike, validPhone),
    valid: () => validPhone.map((input) => ({ input, expected: String(input) })),
  },
  {
    name: 'date',
    field: dateField(rules),
    oracle: dateOracle,
    nearby: () =>
      fc.oneof(
        dateLike,
        validDate.map(({ input }) => input),
      ),
    valid: () => validDate,
  },
  {
    name: 'birthday',
    field: birthdayField(rules),
    oracle: birthdayOracle,
    nearby: (context) => fc.oneof(birthdayNear(context), dateLike),
    valid: validBirthday,
  },
  {
    name: 'gender',
    field: genderField(rules),
    oracle: genderOracle,
    nearby: () =>
      fc.oneof(
        numberLike,
        jsonFloat,
        fc.constantFrom(0, 1, 2, '0', '1', '2', true, false, [1], new Number(1)),
      ),
    valid: same(fc.constantFrom(0, 1, 2)),
  },
  {
    name: 'client ids',
    field: clientIdsField(rules),
    oracle: clientIdsOracle,
    nearby: () => fc.oneof(idsLike, validIds),
    valid: same(validIds),
  },
  {
    name: 'arguments',
    field: argumentsField(rules),
    oracle: argumentsOracle,
    nearby: () => fc.oneof(objectLike, fc.array(fc.anything(), { maxLength: 3 })),
    valid: same(validArguments),
  },
];

for (const spec of fieldSpecs) {
  describe(`${spec.name} field (property)`, () => {
    const inputs = contextArb.chain((context) =>
      fc.tuple(fc.oneof(anyInput, spec.nearby(context)), fc.constant(context)),
    );

    test('never throws, and always answers ok with a value or a reason', () => {
      fc.assert(
        fc.property(inputs, ([input, context]) => {
          const outcome = spec.field.check(input, context);
          expect(typeof outcome.ok).toBe('boolean');
          if (!outcome.ok) expect(outcome.reason).toMatch(/^must /);
        }),
        RUNS,
      );
    });

    test('accepts only values that obey the rule', () => {
      fc.assert(
        fc.property(inputs, ([input, context]) => {
          const outcome = spec.field.check(input, context);
          return !outcome.ok || spec.oracle(input, outcome.value, context);
        }),
        RUNS,
      );
    });

    test('accepts every valid value, and returns it as documented', () => {
      const valid = contextArb.chain((context) =>
        fc.tuple(spec.valid(context), fc.constant(context)),
      );
      fc.assert(
        fc.property(valid, ([{ input, expected }, context]) => {
          const outcome = spec.field.check(input, context);
          expect(outcome).toEqual({ ok: true, value: expected });
          expect(spec.oracle(input, expected, context)).toBe(true);
        }),
        RUNS,
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Requests: the tables of the spec, with the oracle of each field.

interface ArgumentSpec {
  readonly required: boolean;
  readonly nullable: boolean;
  readonly oracle: Oracle;
  readonly valid: (context: FieldContext) => fc.Arbitrary<unknown>;
}

/** What validateRequest answers, seen without the declaration's own types. */
type Validation =
  | {
      readonly ok: true;
      readonly values: Readonly<Record<string, unknown>>;
      readonly present: readonly string[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

interface RequestSpec {
  readonly name: string;
  readonly validate: (
    input: Readonly<Record<string, unknown>>,
    context: FieldContext,
  ) => Validation;
  readonly arguments: Readonly<Record<string, ArgumentSpec>>;
  /** The rule over the whole request, on the validated values. */
  readonly rule: (values: Readonly<Record<string, unknown>>) => boolean;
}

const optional = { required: false, nullable: true };
const plain = (arbitrary: fc.Arbitrary<unknown>) => () => arbitrary;
const pairs = [
  ['phone', 'email'],
  ['first_name', 'last_name'],
  ['gender', 'birthday'],
] as const;

const requestSpecs: readonly RequestSpec[] = [
  {
    name: 'the method envelope',
    validate: (input, context) => validateRequest(methodRequest, input, context),
    arguments: {
      account: { ...optional, oracle: charOracle, valid: plain(validText) },
      login: { required: true, nullable: true, oracle: charOracle, valid: plain(validText) },
      token: { required: true, nullable: true, oracle: tokenOracle, valid: plain(validText) },
      arguments: {
        required: true,
        nullable: true,
        oracle: argumentsOracle,
        valid: plain(validArguments),
      },
      method: {
        required: true,
        nullable: false,
        oracle: charOracle,
        valid: plain(validText.filter((t) => t !== '')),
      },
    },
    rule: () => true,
  },
  {
    name: 'online_score',
    validate: (input, context) => validateRequest(onlineScoreRequest, input, context),
    arguments: {
      phone: { ...optional, oracle: phoneOracle, valid: plain(validPhone) },
      email: { ...optional, oracle: emailOracle, valid: plain(validEmail) },
      first_name: { ...optional, oracle: charOracle, valid: plain(validText) },
      last_name: { ...optional, oracle: charOracle, valid: plain(validText) },
      birthday: {
        ...optional,
        oracle: birthdayOracle,
        valid: (context) => validBirthday(context).map(({ input }) => input),
      },
      gender: { ...optional, oracle: genderOracle, valid: plain(fc.constantFrom(0, 1, 2)) },
    },
    rule: (values) => pairs.some(([a, b]) => values[a] !== null && values[b] !== null),
  },
  {
    name: 'clients_interests',
    validate: (input, context) => validateRequest(clientsInterestsRequest, input, context),
    arguments: {
      client_ids: {
        required: true,
        nullable: false,
        oracle: clientIdsOracle,
        valid: plain(validIds),
      },
      date: {
        ...optional,
        oracle: dateOracle,
        valid: plain(validDate.map(({ input }) => input)),
      },
    },
    rule: () => true,
  },
];

const emptyValue = fc.constantFrom(null, '', [], {});

/** Whether an accepted validation is the one the spec's table and rule allow. */
function obeysSpec(
  spec: RequestSpec,
  input: Readonly<Record<string, unknown>>,
  values: Readonly<Record<string, unknown>>,
  present: readonly string[],
  context: FieldContext,
): boolean {
  const expectedPresent: string[] = [];
  for (const [name, argument] of Object.entries(spec.arguments)) {
    if (!Object.hasOwn(input, name)) {
      if (argument.required || values[name] !== null) return false;
    } else if (isEmptyValue(input[name])) {
      if (!argument.nullable || values[name] !== null) return false;
    } else {
      if (!argument.oracle(input[name], values[name], context)) return false;
      expectedPresent.push(name);
    }
  }
  return (
    isDeepStrictEqual(Object.keys(values).sort(), Object.keys(spec.arguments).sort()) &&
    isDeepStrictEqual([...present], expectedPresent) &&
    spec.rule(values)
  );
}

for (const spec of requestSpecs) {
  describe(`validateRequest on ${spec.name} (property)`, () => {
    const names = Object.keys(spec.arguments);
    const inputs = contextArb.chain((context) => {
      const perArgument = Object.fromEntries(
        Object.entries(spec.arguments).map(([name, argument]) => [
          name,
          fc.oneof(argument.valid(context), emptyValue, anyInput),
        ]),
      );
      return fc.tuple(
        fc.record(perArgument, { requiredKeys: [] }),
        fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...names, '__proto__')), anyInput, {
          maxKeys: 3,
        }),
        fc.constant(context),
      );
    });

    test('never throws, and reports each problem as a sentence', () => {
      fc.assert(
        fc.property(inputs, ([declared, extra, context]) => {
          const result = spec.validate({ ...extra, ...declared }, context);
          if (!result.ok) {
            expect(result.errors.length).toBeGreaterThan(0);
            for (const error of result.errors) expect(error).toMatch(/^[a-z_]+: \S/);
          }
        }),
        REQUEST_RUNS,
      );
    });

    test('accepts only requests that obey every field rule and the request rule', () => {
      fc.assert(
        fc.property(inputs, ([declared, extra, context]) => {
          const input = { ...extra, ...declared };
          const result = spec.validate(input, context);
          return !result.ok || obeysSpec(spec, input, result.values, result.present, context);
        }),
        REQUEST_RUNS,
      );
    });

    test('ignores keys it does not declare', () => {
      fc.assert(
        fc.property(inputs, ([declared, extra, context]) => {
          const undeclared = Object.fromEntries(
            Object.entries(extra).filter(([key]) => !names.includes(key)),
          );
          const alone = spec.validate(declared, context);
          const mixed = spec.validate({ ...undeclared, ...declared }, context);
          expect(mixed).toEqual(alone);
        }),
        REQUEST_RUNS,
      );
    });
  });
}

describe('validateRequest accepts valid requests (property)', () => {
  const maybe = (arbitrary: fc.Arbitrary<unknown>) =>
    fc.option(fc.oneof(arbitrary, emptyValue), { nil: undefined });

  test('online_score with at least one complete pair', () => {
    const valid = contextArb.chain((context) =>
      fc.tuple(
        fc.constantFrom(...pairs),
        fc.record({
          phone: maybe(validPhone),
          email: maybe(validEmail),
          first_name: maybe(validText),
          last_name: maybe(validText),
          birthday: maybe(validBirthday(context).map(({ input }) => input)),
          gender: maybe(fc.constantFrom(0, 1, 2)),
        }),
        fc.record({
          phone: validPhone,
          email: validEmail,
          first_name: validText.filter((t) => t !== ''),
          last_name: validText.filter((t) => t !== ''),
          birthday: validBirthday(context).map(({ input }) => input),
          gender: fc.constantFrom(0, 1, 2),
        }),
        fc.constant(context),
      ),
    );
    fc.assert(
      fc.property(valid, ([[a, b], optionalArguments, full, context]) => {
        const input: Record<string, unknown> = Object.fromEntries(
          Object.entries(optionalArguments).filter(([, value]) => value !== undefined),
        );
        input[a] = full[a];
        input[b] = full[b];
        const result = validateRequest(onlineScoreRequest, input, context);
        expect(result.ok).toBe(true);
        if (result.ok) {
          const nonEmpty = Object.keys(onlineScoreRequest.fields).filter(
            (name) => Object.hasOwn(input, name) && !isEmptyValue(input[name]),
          );
          expect(result.present).toEqual(nonEmpty);
        }
      }),
      REQUEST_RUNS,
    );
  });

  test('clients_interests with ids and an optional date', () => {
    const valid = fc.tuple(validIds, maybe(validDate.map(({ input }) => input)), contextArb);
    fc.assert(
      fc.property(valid, ([ids, date, context]) => {
        const input = date === undefined ? { client_ids: ids } : { client_ids: ids, date };
        const result = validateRequest(clientsInterestsRequest, input, context);
        expect(result.ok).toBe(true);
        if (result.ok) expect(result.values.client_ids).toEqual(ids);
      }),
      REQUEST_RUNS,
    );
  });
});
