// Owns JSON parsing that keeps what JSON.parse loses, the source text of numbers: whether a whole
// number was written as a float (`1.0`, `1e0`), which typed clients (Python, Go) treat as a
// different type from `1`, and every digit of a number a double cannot hold (beyond 2^53, or
// `1.0000000000000001`), for exact money. Bodies without such numbers cost one plain JSON.parse.
import assert from 'node:assert/strict';

/** A JSON number kept with the text it was written as; JSON.stringify prints its double. */
export class JsonNumber {
  /** The double JSON.parse makes of it (rounded, when the text has more digits than it holds). */
  readonly value: number;
  readonly source: string;
  constructor(value: number, source: string) {
    this.value = value;
    this.source = source;
  }
  toJSON(): number {
    return this.value;
  }
}

/** Which numbers a parse keeps as JsonNumber, from their double and their source text. */
type Keep = (value: number, source: string) => boolean;

const INTEGER_TEXT = /^-?\d+$/;
/** A whole number written with a point or an exponent (`1.0`, `2.5e1`). */
const wholeFloat: Keep = (value, source) => Number.isInteger(value) && !INTEGER_TEXT.test(source);
/** A number a double may not hold as written: with a point or an exponent, or beyond 2^53. */
const inexact: Keep = (value, source) => !Number.isSafeInteger(value) || !INTEGER_TEXT.test(source);

// A number token starts the text or follows `:`, `,` or `[` (after optional whitespace). Strings
// can make this match too ("a, 1.5"); that only costs the slower exact parse, never a wrong answer.
const FLOAT_TOKEN = /(?:^|[:,[])\s*-?\d+[.eE]/;

type Reviver = (key: string, value: unknown, context?: { source?: string }) => unknown;

/** JSON.parse, with the numbers `keep` picks as JsonNumber. Throws SyntaxError on invalid JSON. */
function parseKeeping(text: string, keep: Keep): unknown {
  // Node 24 passes each primitive's source text to the reviver (TC39 JSON.parse source text
  // access), so no hand-written parser is needed.
  const reviver: Reviver = (_key, value, context) =>
    typeof value === 'number' && context?.source !== undefined && keep(value, context.source)
      ? new JsonNumber(value, context.source)
      : value;
  return JSON.parse(text, reviver as Parameters<typeof JSON.parse>[1]);
}

/**
 * Parses JSON like JSON.parse, except that whole numbers written as floats become JsonNumber, so
 * integer fields can reject them. Throws SyntaxError on invalid JSON.
 */
export function parseJsonKeepingFloats(text: string): unknown {
  if (!FLOAT_TOKEN.test(text)) return JSON.parse(text);
  return parseKeeping(text, wholeFloat);
}

/**
 * Parses JSON so that numbers a double may not hold exactly (beyond 2^53, or written with a
 * fraction or an exponent) come back as JsonNumber with their source text, so that 1.0 is still
 * 1 but 1.0000000000000001 is not. A body whose numbers are all plain safe integers is parsed
 * once, by plain JSON.parse; an unsafe one is looked for among its top-level members only, where
 * an amount is (a nested one is rounded, and refused as a wrong type anyway).
 */
export function parseJsonExact(text: string): unknown {
  if (FLOAT_TOKEN.test(text)) return parseKeeping(text, inexact);
  const value: unknown = JSON.parse(text);
  return hasUnsafeNumber(value) ? parseKeeping(text, inexact) : value;
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
/** An exponent this large puts any nonzero integer beyond 10^64, far past any amount. */
const EXPONENT_SHOWN_MAX = 64;

/**
 * The exact integer a JSON number's text denotes, 'fraction' when it has a nonzero fractional
 * part, or 'huge' when its magnitude is beyond 10^64 (so it is never expanded).
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

/**
 * Whether a JSON number's source text denotes a whole number exactly (`1.0` and `120e-1` yes,
 * `2.9999999999999999` no), which its double value cannot tell: that one rounds to 3.
 */
export function isWholeNumberText(source: string): boolean {
  return integerOfNumberText(source) !== 'fraction';
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
