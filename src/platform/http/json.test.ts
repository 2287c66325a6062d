import { AssertionError } from 'node:assert';
import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import {
  integerOfNumberText,
  isPlainObject,
  isWholeNumberText,
  JsonNumber,
  parseJsonExact,
  parseJsonKeepingFloats,
} from './json.ts';

const parsedValue = (text: string): unknown =>
  (parseJsonKeepingFloats(`{"v": ${text}}`) as { v: unknown }).v;

describe('parseJsonKeepingFloats', () => {
  cases('keeps a float at the top level too', ['1.0', ' 2e0', '-3.0'], (text) => {
    const parsed = parseJsonKeepingFloats(text);
    expect(parsed).toBeInstanceOf(JsonNumber);
    expect((parsed as JsonNumber).source).toBe(text.trim());
  });

  cases(
    'keeps a whole number written as a float as a JsonNumber',
    [
      ['1.0', 1],
      ['1e0', 1],
      ['1E0', 1],
      ['-2.0E+1', -20],
      ['2.50e1', 25],
      ['100e-2', 1],
      ['79175002040.0', 79175002040],
    ] as const,
    ([source, value]) => {
      const parsed = parsedValue(source);
      expect(parsed).toBeInstanceOf(JsonNumber);
      expect(parsed).toEqual(new JsonNumber(value, source));
    },
  );

  cases(
    'leaves integers and fractions as plain numbers',
    [
      ['1', 1],
      ['0', 0],
      ['-7', -7],
      ['79175002040', 79175002040],
      ['1.5', 1.5],
      ['-0.25', -0.25],
      ['1e-1', 0.1],
    ] as const,
    ([source, value]) => {
      expect(parsedValue(source)).toBe(value);
    },
  );

  cases(
    'leaves strings that look like floats alone',
    ['"1.0"', '"01.01.2000"', '"a, 1.0"', '"[1e0"', '":2.0"'],
    (source) => {
      expect(parsedValue(source)).toBe(JSON.parse(source));
    },
  );

  test('finds floats nested in arrays and objects, and leaves their neighbours alone', () => {
    const parsed = parseJsonKeepingFloats(
      '{"ids": [1, 2.0, [3e0]], "deep": {"gender": 1.0, "date": "01.01.2000", "n": 1}}',
    );
    expect(parsed).toEqual({
      ids: [1, new JsonNumber(2, '2.0'), [new JsonNumber(3, '3e0')]],
      deep: { gender: new JsonNumber(1, '1.0'), date: '01.01.2000', n: 1 },
    });
  });

  test('keeps floats written after any JSON whitespace', () => {
    expect(parseJsonKeepingFloats('[\n\t 1.0 ,\r\n2.0]')).toEqual([
      new JsonNumber(1, '1.0'),
      new JsonNumber(2, '2.0'),
    ]);
  });

  test('parses documents without floats exactly as JSON.parse', () => {
    const text = '{"a": [1, "x", null, true, {"b": -3}], "c": "1.0"}';
    expect(parseJsonKeepingFloats(text)).toEqual(JSON.parse(text));
  });

  cases(
    'throws SyntaxError on invalid JSON',
    ['', '{', '{"a": 1.0', "{'a': 1}", '[1.0,]', 'NaN'],
    (text) => {
      expect(() => parseJsonKeepingFloats(text)).toThrow(SyntaxError);
    },
  );

  test('JSON.stringify prints a JsonNumber as its number', () => {
    const parsed = parseJsonKeepingFloats('{"a": 1.0, "b": [2e0]}');
    expect(JSON.stringify(parsed)).toBe('{"a":1,"b":[2]}');
    expect(JSON.stringify(new JsonNumber(-20, '-2.0E+1'))).toBe('-20');
  });

  cases(
    'keeps a __proto__ key as an own property without touching any prototype',
    [
      '{"__proto__": {"polluted": 1.0}}',
      '{"__proto__": {"polluted": true}}',
      '[{"__proto__": {"polluted": 1}}]',
    ],
    (text) => {
      const parsed = parseJsonKeepingFloats(text);
      const object = (Array.isArray(parsed) ? parsed[0] : parsed) as Record<string, unknown>;
      expect(Object.hasOwn(object, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
      expect(object.polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    },
  );
});

describe('isPlainObject', () => {
  test('accepts an object literal', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject({ a: 1 })).toBe(true);
  });

  test('accepts an object without a prototype', () => {
    expect(isPlainObject(Object.create(null))).toBe(true);
  });

  test('accepts what JSON.parse builds for an object', () => {
    expect(isPlainObject(JSON.parse('{"a": {}}'))).toBe(true);
  });

  cases(
    'rejects',
    [
      [],
      [1],
      null,
      undefined,
      0,
      'x',
      true,
      new Date(0),
      new JsonNumber(1, '1.0'),
      new Map(),
      new (class {})(),
    ],
    (value) => {
      expect(isPlainObject(value)).toBe(false);
    },
  );

  test('rejects an object whose prototype is another plain object', () => {
    expect(isPlainObject(Object.create({}))).toBe(false);
  });
});

describe('isWholeNumberText', () => {
  test.for([
    ['1', true],
    ['-7', true],
    ['1.0', true],
    ['1.000000000000000000000', true],
    ['120e-1', true],
    ['0.3e1', true],
    ['1e400', true],
    ['0.0', true],
    ['2.9999999999999999', false],
    ['1.0000000000000000000000000000001', false],
    ['3e-1', false],
    ['1.5', false],
    ['125e-2', false],
  ] as const)('%s → %s', ([source, whole]) => {
    expect(isWholeNumberText(source)).toBe(whole);
  });
});

// parseJsonExact and integerOfNumberText: exact money (the wallets' amounts, up to 2^63 − 1).

/** The largest amount, PostgreSQL's bigint (the wallets' MONEY_MAX). */
const MONEY_MAX = 2n ** 63n - 1n;
/** A number as parseJsonExact keeps it: its double and its exact text. */
const jsonNumber = (source: string) => new JsonNumber(Number(source), source);

/** The value of the body's `amount` field after parseJsonExact. */
const amountOf = (text: string): unknown => (parseJsonExact(text) as { amount: unknown }).amount;

describe('parseJsonExact', () => {
  cases(
    'returns what JSON.parse returns for a body without unsafe numbers',
    [
      '{"operation_type":"DEPOSIT","amount":42}',
      '{"operationType":"WITHDRAW","amount":"9223372036854775807"}',
      '{"amount":-9007199254740991,"max":9007199254740991,"zero":0,"minus_zero":-0}',
      '{"nested":{"a":[1,2,{"b":3}]},"s":"1e400","t":true,"n":null}',
      '{}',
      '[1,2,3]',
      '5',
      '"text"',
      'null',
      'true',
    ],
    (text) => {
      const parsed = parseJsonExact(text);
      expect(parsed).toStrictEqual(JSON.parse(text));
      expect(JSON.stringify(parsed)).toBe(JSON.stringify(JSON.parse(text)));
    },
  );

  cases(
    'parses a body whose numbers are all plain safe integers once, with plain JSON.parse',
    [
      '{"operation_type":"DEPOSIT","amount":42}',
      '{"amount":-9007199254740991}',
      '[1,2]',
      '7',
      'null',
    ],
    (text) => {
      const parse = vi.spyOn(JSON, 'parse');
      try {
        parseJsonExact(text);
        expect(parse.mock.calls).toEqual([[text]]);
      } finally {
        parse.mockRestore();
      }
    },
  );

  test('keeps the unsafe numbers of a top-level array too', () => {
    expect(parseJsonExact('[9007199254740993,1]')).toStrictEqual([
      jsonNumber('9007199254740993'),
      1,
    ]);
  });

  test('keeps numbers written with a fraction or an exponent as their text, however small', () => {
    const parsed = parseJsonExact('{"a":1,"b":10.0,"c":1e3,"d":9007199254740991}');
    expect(parsed).toStrictEqual({
      a: 1,
      b: jsonNumber('10.0'),
      c: jsonNumber('1e3'),
      d: 9007199254740991,
    });
  });

  cases(
    'keeps a fraction a double would round away, so that it is refused, not rounded',
    ['4503599627370496.5', '1.0000000000000001', '123456789012345.00000001'],
    (source) => {
      const amount = amountOf(`{"amount":${source}}`);
      expect(amount).toStrictEqual(jsonNumber(source));
      expect(integerOfNumberText(source)).toBe('fraction');
    },
  );

  cases(
    "keeps an object's unsafe number as a JsonNumber holding its exact source text",
    [
      '9223372036854775807',
      '9223372036854775808',
      '9007199254740993',
      '9007199254740992',
      '-9007199254740993',
      '1e400',
      '-1e400',
      '1E+400',
      '1.5',
      '-0.25',
      '1e-2',
      '123456789012345678901234567890',
    ],
    (source) => {
      const amount = amountOf(`{"operation_type":"DEPOSIT","amount": ${source} }`);
      expect(amount).toBeInstanceOf(JsonNumber);
      expect((amount as JsonNumber).source).toBe(source);
    },
  );

  test('keeps the other fields of a body with an unsafe number as they were', () => {
    const parsed = parseJsonExact(
      '{"operation_type":"DEPOSIT","amount":9223372036854775807,"small":7,"list":[1,"x"]}',
    );
    expect(parsed).toStrictEqual({
      operation_type: 'DEPOSIT',
      amount: jsonNumber('9223372036854775807'),
      small: 7,
      list: [1, 'x'],
    });
  });

  test('keeps every unsafe number of a body, each with its own text', () => {
    const parsed = parseJsonExact('{"a":9007199254740993,"b":1e400,"c":2.50}') as Record<
      string,
      JsonNumber
    >;
    expect(parsed.a?.source).toBe('9007199254740993');
    expect(parsed.b?.source).toBe('1e400');
    expect(parsed.c?.source).toBe('2.50');
  });

  cases(
    'throws a SyntaxError for invalid JSON',
    [
      '',
      ' ',
      '{',
      '{"amount":}',
      "{'amount':1}",
      '{"amount":1,}',
      '{"amount":01}',
      '{"amount":NaN}',
      '{"amount":Infinity}',
      '{"amount":+1}',
      '{"amount":.5}',
      '{"amount":9223372036854775807',
      '{"amount":1}x',
    ],
    (text) => {
      expect(() => parseJsonExact(text)).toThrow(SyntaxError);
    },
  );
});

/** A table's expected result: digits stand for that bigint (the table helper cannot print one). */
const bigintOr = (expected: string): bigint | string =>
  /^-?\d+$/.test(expected) ? BigInt(expected) : expected;

describe('integerOfNumberText', () => {
  cases(
    'reads the exact integer (as bigint), fraction or hugeness a number text denotes',
    [
      ['0', '0'],
      ['-0', '0'],
      ['0.0', '0'],
      ['0e400', '0'],
      ['-0.000e-7', '0'],
      ['10', '10'],
      ['-5', '-5'],
      ['1e3', '1000'],
      ['1E3', '1000'],
      ['1e+3', '1000'],
      ['1.50e1', '15'],
      ['0.50e1', '5'],
      ['100e-2', '1'],
      ['1234500e-2', '12345'],
      ['10.0', '10'],
      ['-2.0E+1', '-20'],
      ['0.5', 'fraction'],
      ['1e-2', 'fraction'],
      ['1.5', 'fraction'],
      ['-1.5', 'fraction'],
      ['12345e-5', 'fraction'],
      ['1e-400', 'fraction'],
      ['9007199254740993', '9007199254740993'],
      ['9223372036854775807', '9223372036854775807'],
      ['9223372036854775808', '9223372036854775808'],
      ['-9223372036854775808', '-9223372036854775808'],
      ['92233720368547758.07e2', '9223372036854775807'],
      [`0.${'0'.repeat(9)}1e70`, `1${'0'.repeat(60)}`],
      ['1e400', 'huge'],
      ['-1e400', 'huge'],
      ['1e99999999999999999999', 'huge'],
      ['1'.repeat(70), 'huge'],
      [`-${'9'.repeat(70)}`, 'huge'],
    ] as const,
    ([source, expected]) => {
      expect(integerOfNumberText(source)).toBe(bigintOr(expected));
    },
  );

  cases(
    'a text that is not a JSON number is a bug of its caller, never read as an amount',
    ['', 'abc', '1x', 'x1', '1.', '.5', '+1', '1e', '--1'],
    (source) => {
      expect(() => integerOfNumberText(source)).toThrow(AssertionError);
    },
  );

  test('reads a 64-digit integer exactly rather than calling it huge', () => {
    const source = `1${'2'.repeat(63)}`;
    expect(integerOfNumberText(source)).toBe(BigInt(source));
  });
});

describe('parseJsonExact and integerOfNumberText together', () => {
  test('any amount from 0 to 2^63 − 1 survives parsing exactly', () => {
    const amounts = fc.oneof(
      fc.bigInt({ min: 0n, max: MONEY_MAX }),
      fc.bigInt({ min: 2n ** 53n - 8n, max: 2n ** 53n + 8n }),
      fc.bigInt({ min: MONEY_MAX - 8n, max: MONEY_MAX }),
    );
    fc.assert(
      fc.property(amounts, (n) => {
        const amount = amountOf(`{"amount":${n}}`);
        if (n <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(amount).toBe(Number(n));
        } else {
          expect(amount).toBeInstanceOf(JsonNumber);
          expect((amount as JsonNumber).source).toBe(String(n));
          expect(integerOfNumberText((amount as JsonNumber).source)).toBe(n);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  test('an integer written with a fraction or a negative exponent reads as that integer', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -MONEY_MAX, max: MONEY_MAX }),
        fc.integer({ min: 1, max: 30 }),
        (n, zeros) => {
          expect(integerOfNumberText(`${n}.${'0'.repeat(zeros)}`)).toBe(n);
          expect(integerOfNumberText(`${n}${'0'.repeat(zeros)}e-${zeros}`)).toBe(n);
          expect(integerOfNumberText(`${n}.${'0'.repeat(zeros - 1)}1`)).toBe('fraction');
        },
      ),
      { numRuns: 500 },
    );
  });
});
