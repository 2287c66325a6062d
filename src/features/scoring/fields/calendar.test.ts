import { describe, expect, test } from 'vitest';
import { cases } from '../../../../test/support/cases.ts';
import {
  CALENDAR_DATE_PATTERN,
  compareDates,
  daysInMonth,
  formatDate,
  isLeapYear,
  localDate,
  parseDate,
  yearsBefore,
} from './calendar.ts';

describe('isLeapYear', () => {
  cases(
    'knows the Gregorian rule',
    [
      [1900, false],
      [2000, true],
      [2024, true],
      [2023, false],
      [2100, false],
      [2400, true],
      [4, true],
    ] as const,
    ([year, leap]) => {
      expect(isLeapYear(year)).toBe(leap);
    },
  );
});

describe('daysInMonth', () => {
  cases(
    'counts',
    [
      [2023, 1, 31],
      [2023, 2, 28],
      [2024, 2, 29],
      [1900, 2, 28],
      [2000, 2, 29],
      [2023, 3, 31],
      [2023, 4, 30],
      [2023, 5, 31],
      [2023, 6, 30],
      [2023, 7, 31],
      [2023, 8, 31],
      [2023, 9, 30],
      [2023, 10, 31],
      [2023, 11, 30],
      [2023, 12, 31],
    ] as const,
    ([year, month, days]) => {
      expect(daysInMonth(year, month)).toBe(days);
    },
  );

  test('agrees with Date for every month of 1896 to 2104', () => {
    for (let year = 1896; year <= 2104; year++) {
      for (let month = 1; month <= 12; month++) {
        expect(daysInMonth(year, month)).toBe(new Date(Date.UTC(year, month, 0)).getUTCDate());
      }
    }
  });
});

describe('parseDate', () => {
  cases(
    'reads',
    [
      ['01.01.2000', { year: 2000, month: 1, day: 1 }],
      ['1.1.2000', { year: 2000, month: 1, day: 1 }],
      ['29.02.2024', { year: 2024, month: 2, day: 29 }],
      ['31.12.0001', { year: 1, month: 12, day: 31 }],
      ['28.02.1900', { year: 1900, month: 2, day: 28 }],
    ] as const,
    ([text, date]) => {
      expect(parseDate(text)).toEqual(date);
    },
  );

  cases(
    'refuses',
    [
      '29.02.2023',
      '29.02.1900',
      '31.11.2020',
      '32.01.2020',
      '00.01.2020',
      '01.00.2020',
      '01.13.2020',
      '01.01.0000',
      '001.01.2020',
      '01.01.20',
      '01.01.20201',
      '01/01/2020',
      '01.01.2020\n',
      '',
    ],
    (text) => {
      expect(parseDate(text)).toBeNull();
    },
  );
});

describe('CALENDAR_DATE_PATTERN', () => {
  const pattern = new RegExp(CALENDAR_DATE_PATTERN, 'u');
  /** The texts the pattern and parseDate disagree on. */
  const disagreements = (texts: Iterable<string>) =>
    [...texts].filter((text) => pattern.test(text) !== (parseDate(text) !== null));
  /** Every text of 0 to 99 in one or two digits: "0" to "99", and "00" to "09". */
  const numbers = [
    ...Array.from({ length: 100 }, (_, n) => String(n)),
    ...Array.from({ length: 10 }, (_, n) => `0${n}`),
  ];

  test('takes exactly the texts parseDate takes: every day and month text, in some years', () => {
    const years = ['0000', '0001', '0004', '0100', '0400', '1900', '1999', '2000', '2024'];
    const texts = function* () {
      for (const year of [...years, '2100', '2400', '9996', '9999', '123', '12345', '02024']) {
        for (const day of numbers) for (const month of numbers) yield `${day}.${month}.${year}`;
      }
    };
    expect(disagreements(texts())).toEqual([]);
  });

  test('takes 29 February, and a few other days, exactly as parseDate does, in every year', () => {
    const texts = function* () {
      for (let year = 0; year <= 9999; year++) {
        for (const date of ['29.02', '29.2', '28.02', '31.12', '1.1']) {
          yield `${date}.${String(year).padStart(4, '0')}`;
        }
      }
    };
    expect(disagreements(texts())).toEqual([]);
  });

  cases(
    'refuses what is no date at all',
    ['', '1.1.2024 ', ' 1.1.2024', '1-1-2024', '١.١.٢٠٢٤'],
    (text) => {
      expect(pattern.test(text)).toBe(false);
    },
  );
});

describe('formatDate', () => {
  cases(
    'writes DD.MM.YYYY with zero padding',
    [
      [{ year: 2000, month: 1, day: 2 }, '02.01.2000'],
      [{ year: 1999, month: 12, day: 31 }, '31.12.1999'],
      [{ year: 5, month: 6, day: 7 }, '07.06.0005'],
    ] as const,
    ([date, text]) => {
      expect(formatDate(date)).toBe(text);
    },
  );

  cases(
    'round-trips with parseDate',
    ['01.01.2000', '29.02.2024', '31.12.0001', '15.08.1947'],
    (text) => {
      const date = parseDate(text);
      expect(date).not.toBeNull();
      if (date !== null) expect(formatDate(date)).toBe(text);
    },
  );

  test('normalises an unpadded date on the way round', () => {
    const date = parseDate('5.7.1990');
    expect(date === null ? null : formatDate(date)).toBe('05.07.1990');
  });
});

describe('yearsBefore', () => {
  cases(
    'moves back by whole years',
    [
      [{ year: 2026, month: 11, day: 21 }, 70, { year: 1956, month: 11, day: 21 }],
      [{ year: 2028, month: 2, day: 29 }, 70, { year: 1958, month: 2, day: 28 }],
      [{ year: 2028, month: 2, day: 29 }, 4, { year: 2024, month: 2, day: 29 }],
      [{ year: 2000, month: 2, day: 29 }, 100, { year: 1900, month: 2, day: 28 }],
      [{ year: 2024, month: 3, day: 1 }, 1, { year: 2023, month: 3, day: 1 }],
      [{ year: 2024, month: 12, day: 31 }, 0, { year: 2024, month: 12, day: 31 }],
    ] as const,
    ([date, years, expected]) => {
      expect(yearsBefore(date, years)).toEqual(expected);
    },
  );
});

describe('compareDates', () => {
  const d = (year: number, month: number, day: number) => ({ year, month, day });
  cases(
    'orders',
    [
      [d(2000, 1, 1), d(2000, 1, 2), -1],
      [d(2000, 1, 31), d(2000, 2, 1), -1],
      [d(1999, 12, 31), d(2000, 1, 1), -1],
      [d(2000, 2, 1), d(2000, 1, 31), 1],
      [d(2001, 1, 1), d(2000, 12, 31), 1],
      [d(2000, 6, 15), d(2000, 6, 15), 0],
    ] as const,
    ([a, b, sign]) => {
      expect(Math.sign(compareDates(a, b))).toBe(sign);
      expect(Math.sign(compareDates(b, a))).toBe(0 - sign);
    },
  );
});

describe('localDate', () => {
  test('takes the local calendar day of an instant', () => {
    expect(localDate(new Date(2024, 1, 29, 23, 59, 59))).toEqual({ year: 2024, month: 2, day: 29 });
    expect(localDate(new Date(2024, 0, 1, 0, 0, 0))).toEqual({ year: 2024, month: 1, day: 1 });
  });
});
