import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import type { OnlineScoreArguments } from './scoring.requests.ts';
import {
  computeScore,
  parseCachedScore,
  SCORE_KEY_PREFIX,
  scoreCacheKey,
} from './scoring.score.ts';

const NONE: OnlineScoreArguments = {
  phone: null,
  email: null,
  first_name: null,
  last_name: null,
  birthday: null,
  gender: null,
};
const birthday = { year: 1990, month: 7, day: 5 };
const FULL: OnlineScoreArguments = {
  phone: '79175002040',
  email: 'stupnikov@otus.ru',
  first_name: 'Ivan',
  last_name: 'Ivanov',
  birthday,
  gender: 1,
};

const args = (overrides: Partial<OnlineScoreArguments>): OnlineScoreArguments => ({
  ...NONE,
  ...overrides,
});

/** The documented key, built without the module: netstrings of the six parts, SHA-256 hex. */
function documentedKey(parts: readonly string[]): string {
  const netstrings = parts.map((part) => `${new TextEncoder().encode(part).length}:${part},`);
  return `uid:${createHash('sha256').update(netstrings.join('')).digest('hex')}`;
}

describe('computeScore', () => {
  cases(
    'scores',
    [
      [{}, 0],
      [{ phone: '79175002040' }, 1.5],
      [{ email: 'a@b' }, 1.5],
      [{ phone: '79175002040', email: 'a@b' }, 3],
      [{ first_name: 'a' }, 0],
      [{ last_name: 'b' }, 0],
      [{ first_name: 'a', last_name: 'b' }, 0.5],
      [{ birthday }, 0],
      [{ gender: 1 }, 0],
      [{ birthday, gender: 1 }, 1.5],
      [{ birthday, gender: 2 }, 1.5],
      [{ birthday, gender: 0 }, 0],
      [{ phone: '79175002040', email: 'a@b', birthday, gender: 0 }, 3],
    ] as const,
    ([overrides, score]) => {
      expect(computeScore(args(overrides))).toBe(score);
    },
  );

  test('gives at most 5, for every argument present', () => {
    expect(computeScore(FULL)).toBe(5);
  });
});

describe('scoreCacheKey', () => {
  test('is the documented layout: uid: + SHA-256 of netstrings in a fixed order', () => {
    expect(scoreCacheKey(FULL)).toBe(
      documentedKey(['Ivan', 'Ivanov', '79175002040', '05.07.1990', 'stupnikov@otus.ru', '1']),
    );
  });

  test('counts UTF-8 bytes, not characters, in each netstring', () => {
    const key = scoreCacheKey(args({ first_name: 'Ёж', last_name: '😀', gender: 0 }));
    expect(key).toBe(documentedKey(['Ёж', '😀', '', '', '', '0']));
    const byChars = `2:Ёж,1:😀,0:,0:,0:,1:0,`;
    expect(key).not.toBe(`uid:${createHash('sha256').update(byChars).digest('hex')}`);
  });

  test('hashes missing parts as empty strings', () => {
    expect(scoreCacheKey(NONE)).toBe(documentedKey(['', '', '', '', '', '']));
  });

  test('starts with uid: followed by 64 lowercase hex digits', () => {
    expect(SCORE_KEY_PREFIX).toBe('uid:');
    expect(scoreCacheKey(FULL)).toMatch(/^uid:[0-9a-f]{64}$/);
  });

  test('is stable for equal arguments built separately', () => {
    expect(scoreCacheKey({ ...FULL, birthday: { year: 1990, month: 7, day: 5 } })).toBe(
      scoreCacheKey(FULL),
    );
  });

  cases(
    'tells apart arguments that differ in',
    [
      ['name split', { first_name: 'ab', last_name: '' }, { first_name: 'a', last_name: 'b' }],
      ['name split', { first_name: 'ab' }, { first_name: 'a', last_name: 'b' }],
      ['name swap', { first_name: 'a', last_name: 'b' }, { first_name: 'b', last_name: 'a' }],
      ['gender', { birthday, gender: 0 }, { birthday, gender: 2 }],
      ['gender', { birthday, gender: 1 }, { birthday, gender: 2 }],
      ['email', { phone: '79175002040', email: 'a@b' }, { phone: '79175002040', email: 'a@c' }],
      ['email', { phone: '79175002040', email: 'a@b' }, { phone: '79175002040' }],
      ['phone', { phone: '79175002040' }, { phone: '79175002041' }],
      ['birthday', { birthday, gender: 1 }, { birthday: { ...birthday, day: 6 }, gender: 1 }],
      ['part position', { first_name: 'a' }, { last_name: 'a' }],
      [
        'separator in a part',
        { first_name: 'a,', last_name: 'b' },
        { first_name: 'a', last_name: ',b' },
      ],
    ] as const,
    ([, a, b]) => {
      expect(scoreCacheKey(args(a))).not.toBe(scoreCacheKey(args(b)));
    },
  );

  cases(
    'treats a missing part like an empty one',
    ['first_name', 'last_name', 'phone', 'email'] as const,
    (name) => {
      expect(scoreCacheKey(args({ [name]: '' }))).toBe(scoreCacheKey(NONE));
    },
  );
});

describe('parseCachedScore', () => {
  cases(
    'reads a finite number',
    [
      ['3', 3],
      ['3.0', 3],
      ['0', 0],
      ['1.5', 1.5],
      ['-1.5', -1.5],
      ['1e2', 100],
      ['-1E-2', -0.01],
      ['5', 5],
      ['12', 12],
      ['3.25', 3.25],
      ['25e-1', 2.5],
      ['1e10', 1e10],
    ] as const,
    ([text, score]) => {
      expect(parseCachedScore(text)).toBe(score);
    },
  );

  cases(
    'refuses anything else',
    [
      '',
      ' 3',
      '3 ',
      'abc',
      'NaN',
      'Infinity',
      '-Infinity',
      '1e999',
      '0x10',
      '3.',
      '.5',
      '+3',
      '1_0',
      '3\n',
    ],
    (text) => {
      expect(parseCachedScore(text)).toBeNull();
    },
  );
});
