import { describe, expect, test } from 'vitest';
import { cases } from '../../../../test/support/cases.ts';
import { JsonNumber, parseJsonKeepingFloats } from '../../../platform/http/json.ts';
import {
  argumentsField,
  birthdayField,
  CLIENT_IDS_MAX,
  charField,
  clientIdsField,
  dateField,
  emailField,
  type Field,
  genderField,
  isEmpty,
  phoneField,
  TEXT_LENGTH_MAX,
} from './fields.ts';

const rules = { required: true, nullable: false };
const context = { today: { year: 2026, month: 11, day: 21 } };
const leapDay = { today: { year: 2028, month: 2, day: 29 } };

function accepts<T>(field: Field<T>, value: unknown, ctx = context): T {
  const outcome = field.check(value, ctx);
  if (!outcome.ok) throw new Error(`rejected ${JSON.stringify(value)}: ${outcome.reason}`);
  return outcome.value;
}

function rejects(field: Field<unknown>, value: unknown, ctx = context): string {
  const outcome = field.check(value, ctx);
  if (outcome.ok) throw new Error(`accepted ${JSON.stringify(value)}`);
  return outcome.reason;
}

describe('isEmpty', () => {
  cases('counts as empty', [null, '', [], {}], (value) => {
    expect(isEmpty(value)).toBe(true);
  });
  cases('counts as a value', [0, false, ' ', [0], { a: null }, 'x'], (value) => {
    expect(isEmpty(value)).toBe(false);
  });
});

describe('char field', () => {
  const field = charField(rules);
  const snowmen = '☃'.repeat(TEXT_LENGTH_MAX);
  const emoji = '😀'.repeat(TEXT_LENGTH_MAX);
  cases(
    'accepts',
    ['a', 'horns&hoofs', 'Ünïcödé Текст', snowmen, emoji, 'x'.repeat(TEXT_LENGTH_MAX)],
    (v) => {
      expect(accepts(field, v)).toBe(v);
    },
  );
  cases('rejects', [1, 0, true, ['a'], { a: 'b' }, new JsonNumber(1, '1.0')], (v) => {
    expect(rejects(field, v)).toBe('must be a string');
  });
  cases('rejects over the length limit', ['x'.repeat(TEXT_LENGTH_MAX + 1), `${emoji}😀`], (v) => {
    expect(rejects(field, v)).toBe(`must be at most ${TEXT_LENGTH_MAX} characters`);
  });
});

describe('arguments field', () => {
  const field = argumentsField(rules);
  cases('accepts objects', [{ a: 1 }, { phone: '79175002040' }], (v) => {
    expect(accepts(field, v)).toEqual(v);
  });
  cases('rejects non-objects', [[1], 'x', 1, true, new JsonNumber(1, '1.0')], (v) => {
    expect(rejects(field, v)).toBe('must be a JSON object');
  });
});

describe('email field', () => {
  const field = emailField(rules);
  cases('accepts', ['stupnikov@otus.ru', 'a@b', '@', 'почта@пример.рф'], (v) => {
    expect(accepts(field, v)).toBe(v);
  });
  cases('rejects', ['stupnikovotus.ru', 'plain', 1, ['a@b']], (v) => {
    expect(rejects(field, v)).toMatch(/must contain @|must be a string/);
  });
});

describe('phone field', () => {
  const field = phoneField(rules);
  cases(
    'accepts a string or an integer, as digits',
    ['79175002040', 79175002040, 70000000000],
    (v) => {
      expect(accepts(field, v)).toBe(String(v));
    },
  );
  cases(
    'rejects a wrong shape',
    [
      '89175002040',
      89175002040,
      '7917500204',
      '791750020400',
      '7917500204a',
      '+7917500204',
      '٧٩١٧٥٠٠٢٠٤٠',
      ' 79175002040',
      -7917500204,
    ],
    (v) => {
      expect(rejects(field, v)).toBe('must be 11 digits starting with 7');
    },
  );
  cases('rejects other types', [true, ['79175002040'], { p: 1 }, 7.917500204e10 + 0.5], (v) => {
    expect(rejects(field, v)).toBe('must be a string or an integer');
  });
  test('rejects a whole number written as a float (79175002040.0)', () => {
    const body = parseJsonKeepingFloats('{"phone": 79175002040.0}') as { phone: unknown };
    expect(rejects(field, body.phone)).toBe('must be an integer, not a float');
  });
});

describe('date field', () => {
  const field = dateField(rules);
  cases(
    'accepts real dates',
    [
      ['01.01.2000', { year: 2000, month: 1, day: 1 }],
      ['1.1.2000', { year: 2000, month: 1, day: 1 }],
      ['29.02.2000', { year: 2000, month: 2, day: 29 }],
      ['29.02.2024', { year: 2024, month: 2, day: 29 }],
      ['31.12.1999', { year: 1999, month: 12, day: 31 }],
      ['20.07.2017', { year: 2017, month: 7, day: 20 }],
    ],
    ([text, date]) => {
      expect(accepts(field, text)).toEqual(date);
    },
  );
  cases(
    'rejects dates that do not exist or are not DD.MM.YYYY',
    [
      '29.02.2023',
      '29.02.1900',
      '31.04.2020',
      '00.01.2000',
      '01.13.2000',
      '01.00.2000',
      'XXX',
      '2000-01-01',
      '01.01.00',
      '01.01.2000 ',
      '01.01.0000',
      '١.١.٢٠٠٠',
    ],
    (v) => {
      expect(rejects(field, v)).toBe('must be a real calendar date DD.MM.YYYY');
    },
  );
  cases('rejects non-strings', [20000101, true, ['01.01.2000']], (v) => {
    expect(rejects(field, v)).toBe('must be a date string DD.MM.YYYY');
  });
});

describe('birthday field (today is 21.11.2026)', () => {
  const field = birthdayField(rules);
  cases('accepts', ['01.01.2000', '21.11.2026', '21.11.1956', '29.02.2024'], (v) => {
    accepts(field, v);
  });
  cases('rejects future dates', ['22.11.2026', '01.01.2027'], (v) => {
    expect(rejects(field, v)).toBe('must not be in the future');
  });
  cases('rejects more than 70 years ago', ['20.11.1956', '01.01.1890'], (v) => {
    expect(rejects(field, v)).toBe('must be at most 70 years ago');
  });
  cases('rejects dates that do not exist', ['29.02.2023', '31.06.2000'], (v) => {
    expect(rejects(field, v)).toBe('must be a real calendar date DD.MM.YYYY');
  });
  test('on 29.02.2028 the 70-year edge is 28.02.1958, as 1958 has no 29 February', () => {
    accepts(field, '28.02.1958', leapDay);
    expect(rejects(field, '27.02.1958', leapDay)).toBe('must be at most 70 years ago');
    accepts(field, '29.02.2028', leapDay);
    expect(rejects(field, '01.03.2028', leapDay)).toBe('must not be in the future');
  });
});

describe('gender field', () => {
  const field = genderField(rules);
  cases('accepts', [0, 1, 2], (v) => {
    expect(accepts(field, v)).toBe(v);
  });
  cases('rejects', [-1, 3, '1', '0', true, false, 1.5, [1], { g: 1 }], (v) => {
    expect(rejects(field, v)).toBe('must be an integer 0, 1 or 2');
  });
  test('rejects 1.0 although JSON.parse would read it as 1', () => {
    const parsed = parseJsonKeepingFloats('{"gender": 1.0, "other": 1}') as Record<string, unknown>;
    expect(parsed.gender).toBeInstanceOf(JsonNumber);
    expect(rejects(field, parsed.gender)).toBe('must be an integer 0, 1 or 2');
    expect(accepts(field, parsed.other)).toBe(1);
  });
});

describe('client ids field', () => {
  const field = clientIdsField(rules);
  cases(
    'accepts',
    [
      [1, 2, 3],
      [0],
      [Number.MAX_SAFE_INTEGER],
      Array.from({ length: CLIENT_IDS_MAX }, (_, i) => i),
    ],
    (v) => {
      expect(accepts(field, v)).toEqual(v);
    },
  );
  cases('rejects', [{ 1: 2 }, '1', 1, ['1', '2'], [-1], [1.5], [true], [null], [2 ** 53]], (v) => {
    expect(rejects(field, v)).toMatch(/must (be an array|hold only) /);
  });
  test('rejects ids written as floats (1.0)', () => {
    const parsed = parseJsonKeepingFloats('[1, 2.0]');
    expect(rejects(field, parsed)).toBe('must hold only non-negative integers');
  });
  test(`rejects more than ${CLIENT_IDS_MAX} ids`, () => {
    const ids = Array.from({ length: CLIENT_IDS_MAX + 1 }, (_, i) => i);
    expect(rejects(field, ids)).toBe(`must hold at most ${CLIENT_IDS_MAX} ids`);
  });
});
