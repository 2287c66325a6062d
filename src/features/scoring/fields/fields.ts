// Owns the scoring API's field types: each says what a present, non-empty value must be. Whether
// a field may be missing or empty is declared per use (required / nullable), as in the template.
import { isPlainObject, JsonNumber } from '../../../platform/http/json.ts';
import { codePointsWithin } from '../../../platform/text.ts';
import { type CalendarDate, compareDates, parseDate, yearsBefore } from './calendar.ts';

/** Longest accepted string in any text field, in characters. */
export const TEXT_LENGTH_MAX = 256;
/** Most ids accepted in one clients_interests request. */
export const CLIENT_IDS_MAX = 1_000;
/** A birthday may lie at most this many years before today. */
export const BIRTHDAY_AGE_YEARS_MAX = 70;
/** What an email must contain; nothing more is asked of it. */
export const EMAIL_MARK = '@';
/** The genders, as the integers the template used (0: unknown). */
export const GENDERS = [0, 1, 2] as const;

/** A phone is this many digits, the first ones PHONE_PREFIX, as a string or an integer. */
const PHONE_DIGITS = 11;
const PHONE_PREFIX = '7';
export const PHONE_PATTERN = new RegExp(
  `^${PHONE_PREFIX}[0-9]{${PHONE_DIGITS - PHONE_PREFIX.length}}$`,
);
/** The integers whose decimal digits PHONE_PATTERN takes. */
export const PHONE_INTEGERS = {
  min: Number(PHONE_PREFIX.padEnd(PHONE_DIGITS, '0')),
  max: Number(PHONE_PREFIX.padEnd(PHONE_DIGITS, '9')),
} as const;

export interface FieldContext {
  /** Today in the server's calendar; birthdays are judged against it. */
  readonly today: CalendarDate;
}

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export interface FieldRules {
  /** The key must be present. */
  readonly required: boolean;
  /** The value may be empty: null, "", [] or {}. */
  readonly nullable: boolean;
}

export interface Field<T> extends FieldRules {
  /** What a valid value is, for error messages and documentation. */
  readonly expects: string;
  /** Checks a present, non-empty value. */
  check(value: unknown, context: FieldContext): Outcome<T>;
}

export type Gender = (typeof GENDERS)[number];

/** Empty as the template defined it: null, "", [] or {}; 0 and false are values. */
export function isEmpty(value: unknown): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isPlainObject(value) && Object.keys(value).length === 0;
}

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const fail = <T>(reason: string): Outcome<T> => ({ ok: false, reason });

function field<T>(rules: FieldRules, expects: string, check: Field<T>['check']): Field<T> {
  return Object.freeze({ required: rules.required, nullable: rules.nullable, expects, check });
}

function checkText(value: unknown): Outcome<string> {
  if (typeof value !== 'string') return fail('must be a string');
  if (!codePointsWithin(value, TEXT_LENGTH_MAX)) {
    return fail(`must be at most ${TEXT_LENGTH_MAX} characters`);
  }
  return ok(value);
}

/** A JSON integer: not a string, not a boolean, and not written as a float (`1.0`). */
function isJsonInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

export function charField(rules: FieldRules): Field<string> {
  return field(rules, 'a string', checkText);
}

/**
 * A string of any length: a token that is too long is a wrong token (403), not a malformed
 * request; the body limit bounds it.
 */
export function tokenField(rules: FieldRules): Field<string> {
  return field(rules, 'a string', (value) =>
    typeof value === 'string' ? ok(value) : fail('must be a string'),
  );
}

export function argumentsField(rules: FieldRules): Field<Record<string, unknown>> {
  return field(rules, 'a JSON object', (value) =>
    isPlainObject(value) ? ok(value) : fail('must be a JSON object'),
  );
}

export function emailField(rules: FieldRules): Field<string> {
  return field(rules, `a string containing ${EMAIL_MARK}`, (value) => {
    const text = checkText(value);
    if (!text.ok) return text;
    return text.value.includes(EMAIL_MARK) ? text : fail(`must contain ${EMAIL_MARK}`);
  });
}

/** Accepts a string or an integer; the value is always the 11 digits as a string. */
export function phoneField(rules: FieldRules): Field<string> {
  return field(rules, '11 digits starting with 7, as a string or an integer', (value) => {
    let digits: string;
    if (typeof value === 'string') digits = value;
    else if (isJsonInteger(value)) digits = String(value);
    else
      return fail(
        value instanceof JsonNumber
          ? 'must be an integer, not a float'
          : 'must be a string or an integer',
      );
    return PHONE_PATTERN.test(digits) ? ok(digits) : fail('must be 11 digits starting with 7');
  });
}

function checkDate(value: unknown): Outcome<CalendarDate> {
  if (typeof value !== 'string') return fail('must be a date string DD.MM.YYYY');
  const date = parseDate(value);
  return date === null ? fail('must be a real calendar date DD.MM.YYYY') : ok(date);
}

export function dateField(rules: FieldRules): Field<CalendarDate> {
  return field(rules, 'a date DD.MM.YYYY', checkDate);
}

export function birthdayField(rules: FieldRules): Field<CalendarDate> {
  return field(
    rules,
    `a date DD.MM.YYYY, not in the future, at most ${BIRTHDAY_AGE_YEARS_MAX} years ago`,
    (value, { today }) => {
      const date = checkDate(value);
      if (!date.ok) return date;
      if (compareDates(date.value, today) > 0) return fail('must not be in the future');
      if (compareDates(date.value, yearsBefore(today, BIRTHDAY_AGE_YEARS_MAX)) < 0) {
        return fail(`must be at most ${BIRTHDAY_AGE_YEARS_MAX} years ago`);
      }
      return date;
    },
  );
}

export function genderField(rules: FieldRules): Field<Gender> {
  return field(rules, 'an integer 0, 1 or 2', (value) =>
    GENDERS.includes(value as Gender) ? ok(value as Gender) : fail('must be an integer 0, 1 or 2'),
  );
}

export function clientIdsField(rules: FieldRules): Field<readonly number[]> {
  return field(
    rules,
    `a non-empty array of at most ${CLIENT_IDS_MAX} non-negative integers`,
    (value) => {
      if (!Array.isArray(value)) return fail('must be an array of non-negative integers');
      if (value.length > CLIENT_IDS_MAX) return fail(`must hold at most ${CLIENT_IDS_MAX} ids`);
      for (const id of value) {
        if (!isJsonInteger(id) || id < 0) return fail('must hold only non-negative integers');
      }
      return ok(value as number[]);
    },
  );
}
