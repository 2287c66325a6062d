// Owns JSON parsing that keeps what JSON.parse loses: whether a whole number was written as a
// float (`1.0`, `1e0`), which typed clients (Python, Go) treat as a different type from `1`.

/** A JSON number written with a fraction or exponent whose value is whole, e.g. `1.0`. */
export class JsonFloat {
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

// A number token starts the text or follows `:`, `,` or `[` (after optional whitespace). Strings
// can make this match too ("a, 1.5"); that only costs the slower exact parse, never a wrong answer.
const FLOAT_TOKEN = /(?:^|[:,[])\s*-?\d+[.eE]/;

interface ReviverContext {
  source?: string;
}

function reviveFloat(this: unknown, _key: string, value: unknown, context?: ReviverContext) {
  if (typeof value === 'number' && Number.isInteger(value) && context?.source) {
    const source = context.source;
    if (source.includes('.') || source.includes('e') || source.includes('E')) {
      return new JsonFloat(value, source);
    }
  }
  return value;
}

/**
 * Parses JSON like JSON.parse, except that whole numbers written as floats become JsonFloat, so
 * integer fields can reject them. Throws SyntaxError on invalid JSON.
 */
export function parseJsonKeepingFloats(text: string): unknown {
  if (!FLOAT_TOKEN.test(text)) return JSON.parse(text);
  // Node 24 passes the token's source text to the reviver (TC39 JSON.parse source text access).
  return JSON.parse(text, reviveFloat as (this: unknown, key: string, value: unknown) => unknown);
}

const NUMBER_TEXT = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Whether a JSON number's source text denotes a whole number exactly (`1.0` and `120e-1` yes,
 * `2.9999999999999999` no), which its double value cannot tell: that one rounds to 3. The
 * digits after the decimal point, once the exponent has moved it, must all be zeros.
 */
export function isWholeNumberText(source: string): boolean {
  const match = NUMBER_TEXT.exec(source);
  if (!match) return false;
  const [, whole = '', fraction = '', exponent = '0'] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  return /^0*$/.test(digits.slice(Math.max(0, point)));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
