// Owns exact money in JSON: request bodies are parsed so that integers beyond 2^53 keep every
// digit, at no cost to bodies without such numbers, and amounts are read as bigint.
import assert from 'node:assert/strict';

/** The largest balance and amount: PostgreSQL's bigint, 2^63 − 1. */
export const MONEY_MAX = 2n ** 63n - 1n;

/** A JSON number too large or too long for a double, kept as the text it was written as. */
export class JsonNumberText {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

type Reviver = (key: string, value: unknown, context?: { source?: string }) => unknown;

// JSON.parse's reviver is given each primitive's source text (Node 22+, V8's implementation of
// the TC39 "JSON.parse source text access" proposal), so no hand-written parser is needed.
const keepInexactNumbers: Reviver = (_key, value, context) =>
  typeof value === 'number' &&
  context?.source !== undefined &&
  (!Number.isSafeInteger(value) || !INTEGER_TEXT.test(context.source))
    ? new JsonNumberText(context.source)
    : value;

const INTEGER_TEXT = /^-?\d+$/;
/** A digit followed by a decimal point or an exponent: a number a double may have rounded. */
const INEXACT_HINT = /\d[.eE]/;

/**
 * Parses a JSON text; numbers a double may not hold exactly (beyond 2^53, or written with a
 * fraction or an exponent) come back as JsonNumberText with their source text, so that 1.0 is
 * still 1 but 1.0000000000000001 is not. The common body, whose numbers are all plain small
 * integers, is parsed once by plain JSON.parse.
 */
export function parseJsonExact(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (!INEXACT_HINT.test(text) && !hasUnsafeNumber(value)) return value;
  return JSON.parse(text, keepInexactNumbers as Parameters<typeof JSON.parse>[1]);
}

/** Whether a top-level field or element of a body is a number a double cannot hold exactly. */
function hasUnsafeNumber(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  for (const field of Object.values(value)) {
    if (typeof field === 'number' && !Number.isSafeInteger(field)) return true;
  }
  return false;
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** An exponent this large puts any nonzero integer far beyond MONEY_MAX; no need to expand it. */
const EXPONENT_SHOWN_MAX = 64;

/**
 * The exact integer a JSON number's text denotes, 'fraction' when it has a nonzero fractional
 * part, or 'huge' when its magnitude is beyond anything money can be (so it is never expanded).
 */
export function integerOfNumberText(source: string): bigint | 'fraction' | 'huge' {
  const match = NUMBER_TEXT.exec(source);
  // Only JSON.parse's source texts come here, and every JSON number matches.
  assert(match, `not a JSON number: ${source}`);
  const [, sign, whole, fraction = '', exponentText] = match as unknown as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, '');
  const exponent = Number(exponentText ?? 0) - fraction.length;
  if (digits === '0') return 0n;
  if (exponent >= 0) {
    if (digits.length + exponent > EXPONENT_SHOWN_MAX) return 'huge';
    return BigInt(`${sign}${digits}${'0'.repeat(exponent)}`);
  }
  // The digits are not all zeros (that was 0n above): a zero fraction leaves one digit kept at least.
  if (!/^0*$/.test(digits.slice(exponent))) return 'fraction';
  return BigInt(`${sign}${digits.slice(0, exponent)}`);
}
