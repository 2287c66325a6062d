import { describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import { isPlainObject, isWholeNumberText, JsonFloat, parseJsonKeepingFloats } from './json.ts';

const parsedValue = (text: string): unknown =>
  (parseJsonKeepingFloats(`{"v": ${text}}`) as { v: unknown }).v;

describe('parseJsonKeepingFloats', () => {
  cases('keeps a float at the top level too', ['1.0', ' 2e0', '-3.0'], (text) => {
    const parsed = parseJsonKeepingFloats(text);
    expect(parsed).toBeInstanceOf(JsonFloat);
    expect((parsed as JsonFloat).source).toBe(text.trim());
  });

  cases(
    'keeps a whole number written as a float as a JsonFloat',
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
      expect(parsed).toBeInstanceOf(JsonFloat);
      expect(parsed).toEqual(new JsonFloat(value, source));
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
      ids: [1, new JsonFloat(2, '2.0'), [new JsonFloat(3, '3e0')]],
      deep: { gender: new JsonFloat(1, '1.0'), date: '01.01.2000', n: 1 },
    });
  });

  test('keeps floats written after any JSON whitespace', () => {
    expect(parseJsonKeepingFloats('[\n\t 1.0 ,\r\n2.0]')).toEqual([
      new JsonFloat(1, '1.0'),
      new JsonFloat(2, '2.0'),
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

  test('JSON.stringify prints a JsonFloat as its number', () => {
    const parsed = parseJsonKeepingFloats('{"a": 1.0, "b": [2e0]}');
    expect(JSON.stringify(parsed)).toBe('{"a":1,"b":[2]}');
    expect(JSON.stringify(new JsonFloat(-20, '-2.0E+1'))).toBe('-20');
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
      new JsonFloat(1, '1.0'),
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
    ['abc', false],
  ] as const)('%s → %s', ([source, whole]) => {
    expect(isWholeNumberText(source)).toBe(whole);
  });
});
